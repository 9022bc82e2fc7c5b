"""`tracebias lexicon list|show`: what the built-in (or any) lexicons hold."""
from __future__ import annotations

import argparse
import shutil
import textwrap

from engine.cli.common import die as _die

AUTO_ALL_TARGETS = 300  # `show` lists every target up to this many, else --limit per set
DEFAULT_LIMIT = 40
FORMS_SHOWN = 20


def _width() -> int:
    return max(60, min(shutil.get_terminal_size((100, 24)).columns, 120))


def _wrap(text: str, indent: str = "  ", first: str | None = None) -> str:
    """Wrapped at word boundaries (never mid-word, whatever the terminal width)."""
    return textwrap.fill(text, width=_width(), initial_indent=indent if first is None else first,
                         subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False)


def _form(form: str, case: str) -> str:
    return form if case == "any" else f"{form}[{case}]"


def _forms(forms, cases, limit: int | None) -> str:
    shown = [_form(f, c) for f, c in zip(forms, cases)]
    if limit is not None and len(shown) > limit:
        return ", ".join(shown[:limit]) + f", ... (+{len(shown) - limit} more)"
    return ", ".join(shown)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _targets_summary(lex) -> str:
    sets = lex.target_sets
    if not lex.targets:
        return "none"
    if not sets:
        return f"{len(lex.targets)}, no target sets"
    per = ", ".join(f"{s} {sum(t.set == s for t in lex.targets)}" for s in sets)
    unset = sum(t.set is None for t in lex.targets)
    return (f"{len(lex.targets)} in {_plural(len(sets), 'set')}: {per}"
            + (f", no set {unset}" if unset else ""))


def _axis_summary(a) -> str:
    if len(a.groups) <= 3:
        return f"{a.name} ({', '.join(a.group_names)})"
    return f"{a.name} ({len(a.groups)} groups)"


def _load(args: argparse.Namespace):
    from engine.lexicon import LexiconError, resolve_lexicon

    try:
        return resolve_lexicon(args.name, getattr(args, "targets", None),
                               getattr(args, "axis", None) or None)
    except LexiconError as e:
        _die(str(e))


def cmd_lexicon_list(args: argparse.Namespace) -> int:
    from engine.lexicon import LexiconError, builtin_names, load_lexicon

    for i, name in enumerate(builtin_names()):
        try:
            lex = load_lexicon(name)
        except LexiconError as e:
            _die(str(e))
        if i:
            print()
        print(f"{name}  v{lex.version}")
        print(_wrap("; ".join(_axis_summary(a) for a in lex.axes), indent="    ",
                    first="  axes: "))
        print(_wrap(_targets_summary(lex), indent="    ", first="  targets: "))
        print(_wrap(lex.license or "not stated", indent="    ", first="  licence: "))
        if lex.description:
            print(_wrap(lex.description))
    return 0


def cmd_lexicon_show(args: argparse.Namespace) -> int:
    lex = _load(args)
    if args.json:
        import json

        print(json.dumps(lex.to_json(), indent=2, ensure_ascii=False))
        return 0
    forms_limit = None if args.all else FORMS_SHOWN
    print(f"lexicon {lex.name} v{lex.version}  sha256 {lex.sha256()[:16]}")
    if lex.description:
        print(_wrap(lex.description, indent=""))
    print(_wrap(lex.license or "not stated", indent="    ", first="licence: "))
    if lex.attribution:
        print(_wrap(lex.attribution, indent="    ", first="source: "))
    print(f"case: {lex.case}" + ("  (forms written with a capital initial match only "
                                   "capitalised)" if lex.case == "as-written" else ""))
    print("forms marked [lower] match only all-lowercase text, [capitalised] only text with a "
          "capital initial, [title] only a capital initial followed by lowercase")
    for a in lex.axes:
        n_forms = sum(len(g.forms) for g in a.groups)
        print(f"\naxis {a.name}: {_plural(len(a.groups), 'group')}, {_plural(n_forms, 'form')}")
        if a.description:
            print(_wrap(a.description))
        w = min(max(len(g.name) for g in a.groups) + 6, 36)
        for g in a.groups:
            label = f"{g.name} ({len(g.forms)})"
            print(_wrap(_forms(g.forms, g.cases, forms_limit), indent=" " * (w + 2),
                        first=f"  {label:<{w}}" if len(label) < w else f"  {label}\n" + " " * (w + 2)))
    print(f"\ntargets: {_targets_summary(lex)}")
    if not lex.targets:
        return 0
    limit = None if args.all else (args.limit if args.limit is not None else
                                   (None if len(lex.targets) <= AUTO_ALL_TARGETS
                                    else DEFAULT_LIMIT))
    groups = [(s, [t for t in lex.targets if t.set == s]) for s in lex.target_sets]
    if any(t.set is None for t in lex.targets):
        groups.append((None, [t for t in lex.targets if t.set is None]))
    has_stats = any(t.pct_female is not None or t.sector for t in lex.targets)
    for s, ts in groups:
        if s is not None or len(groups) > 1:
            print(f"\nset {s or '(none)'}: {_plural(len(ts), 'target')}")
        shown = ts if limit is None else ts[:limit]
        if has_stats:
            print(f"  {'name':<28}{'% female':>9}  {'sector':<40} forms")
            for t in shown:
                pct = f"{t.pct_female:.1f}" if t.pct_female is not None else "-"
                sector = t.sector or "-"
                if len(sector) > 40:
                    sector = sector[:39].rsplit(" ", 1)[0] + "…"
                print(f"  {t.name:<28}{pct:>9}  {sector:<40} {_forms(t.forms, t.cases, None)}")
        else:
            names = [t.name if list(t.forms) == [t.name] and t.cases[0] == "any"
                     else f"{t.name} ({_forms(t.forms, t.cases, forms_limit)})" for t in shown]
            print(_wrap(", ".join(names)))
        if len(shown) < len(ts):
            print(f"  ... +{len(ts) - len(shown)} more (--all lists every target)")
    return 0


def register(sub) -> None:
    lx = sub.add_parser("lexicon", help="inspect lexicons: built-ins, axes, groups, targets",
                        description="Inspect lexicons (docs/lexicons.md): the built-ins, or any "
                        "lexicon file.")
    lsub = lx.add_subparsers(dest="lexicon_command", required=True)
    ls = lsub.add_parser("list", help="list the built-in lexicons with their axes, target sets, "
                         "licence and description")
    ls.set_defaults(func=cmd_lexicon_list)
    show = lsub.add_parser("show", help="print a lexicon: axes, groups and their forms, targets "
                           "by set", description="Print a lexicon. With --targets and --axis it "
                           "shows the combination `tracebias count` would use.")
    show.add_argument("name", help="built-in name (see `tracebias lexicon list`) or JSON file")
    show.add_argument("--targets", metavar="LEXICON",
                      help="take the targets from this lexicon instead (as `count --targets`)")
    show.add_argument("--axis", action="append", metavar="NAME",
                      help="keep only this axis (repeatable; as `count --axis`)")
    show.add_argument("--json", action="store_true",
                      help="print the canonical tracebias-lexicon/2 JSON (what a run records)")
    show.add_argument("--all", action="store_true",
                      help="list every form and every target (no truncation)")
    show.add_argument("--limit", type=int, metavar="N",
                      help=f"targets listed per set (default: all up to {AUTO_ALL_TARGETS} "
                      f"targets, else {DEFAULT_LIMIT})")
    show.set_defaults(func=cmd_lexicon_show)
