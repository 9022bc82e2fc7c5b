"""`tracebias lexicon list|show`."""
from __future__ import annotations

import argparse

from engine.cli.common import die as _die


def cmd_lexicon_show(args: argparse.Namespace) -> int:
    from engine.lexicon import LexiconError, load_lexicon

    try:
        lex = load_lexicon(args.name)
    except LexiconError as e:
        _die(str(e))
    if args.json:
        import json

        print(json.dumps(lex.to_json(), indent=2, ensure_ascii=False))
        return 0
    print(f"lexicon {lex.name} v{lex.version}  sha256 {lex.sha256()[:16]}")
    if lex.description:
        print(lex.description)
    for g, terms in lex.genders.items():
        print(f"\n{g} terms ({len(terms)}): {', '.join(terms)}")
    print(f"\noccupations ({len(lex.targets)}):")
    print(f"  {'name':<28}{'% female':>9}  {'sector':<40} forms")
    for t in lex.targets:
        pct = f"{t.pct_female:.1f}" if t.pct_female is not None else "-"
        print(f"  {t.name:<28}{pct:>9}  {(t.sector or '-')[:40]:<40} {', '.join(t.forms)}")
    return 0


def cmd_lexicon_list(args: argparse.Namespace) -> int:
    from engine.lexicon import builtin_names, load_lexicon

    for name in builtin_names():
        lex = load_lexicon(name)
        print(f"{name:<16} v{lex.version:<6} {len(lex.gender_terms):>4} gender terms "
              f"{len(lex.targets):>4} occupations  {lex.description[:60]}")
    return 0


def register(sub) -> None:
    lx = sub.add_parser("lexicon", help="inspect lexicons")
    lsub = lx.add_subparsers(dest="lexicon_command", required=True)
    show = lsub.add_parser("show", help="print a lexicon")
    show.add_argument("name", help="built-in name or JSON file")
    show.add_argument("--json", action="store_true", help="print the lexicon file format")
    show.set_defaults(func=cmd_lexicon_show)
    lsub.add_parser("list", help="list built-in lexicons").set_defaults(func=cmd_lexicon_list)
