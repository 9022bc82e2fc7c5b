"""Lexicons as data: axes of named groups of people, and targets (occupations, attributes, ...).

A lexicon is a JSON file (formats ``tracebias-lexicon/2`` and ``/1``, documented in
docs/lexicons.md) or the name of a built-in one shipped in ``engine/data/lexicons``.

* An **axis** (gender, religion, race_ethnicity, ...) has 2 to 64 named **groups**; a group is a
  list of forms (words or multi-word phrases). The same form may belong to groups of different
  axes, never to two groups of one axis.
* A **target** has forms too, an optional ``set`` (a named category such as ``career`` or
  ``positive``), optional labour statistics and an optional ``reference``: per axis, the
  real-world distribution over its groups (``{"gender": {"female": 0.874, "male": 0.126}}``).
* A form matches case-insensitively as consecutive words, with an optional final ``.``; a form
  written with hyphens (``African-American``) also matches with spaces. A form may carry a case
  rule: ``any`` (the default), ``capitalised`` (the text's first letter must be a capital, e.g.
  ``Miss``) or ``lower`` (every letter lowercase, e.g. ``teller`` against the surname ``Teller``).
  A lexicon with ``"case": "as-written"`` gives every plain form written with a capital initial
  the rule ``capitalised``.

A ``tracebias-lexicon/1`` file (``genders`` + ``targets``) loads as one axis ``gender`` with the
groups ``female`` and ``male``, each target's ``pct_female`` becoming its reference. The same
holds in a v2 file with that axis: a target with ``pct_female`` and no ``gender`` reference
gets ``{"female": pct/100, "male": (100-pct)/100}``.

Every rule the loader checks is listed in docs/lexicons.md; each error names the offending
entry (file, axis/group or target, form).

Matching itself (tokenization, the hash table and trie) is engine.lexicon.matcher's job; this
module loads, validates, combines and fingerprints the data.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from engine.lexicon.cache import cached
from engine.lexicon.unicode import pretokenize

GENDERS = ("female", "male")
FORMAT = "tracebias-lexicon/2"
FORMAT_V1 = "tracebias-lexicon/1"
CASE_RULES = ("any", "lower", "capitalised", "title")
CASE_MODES = ("any", "as-written")
MIN_GROUPS, MAX_GROUPS = 2, 64


class LexiconError(ValueError):
    """A lexicon that cannot be found or is not valid."""


def form_words(form: str) -> tuple[tuple[str, ...], bool]:
    """(lowercased words, written with hyphens) of a lexicon form.

    ``"Mrs."`` -> (("mrs",), False); ``"African-American"`` -> (("african", "american"), True).
    A form is words separated by spaces or single hyphens, optionally ending in one ".".
    """
    toks = pretokenize(form)
    if toks and not toks[-1][1] and toks[-1][0] == ".":
        toks = toks[:-1]
    if not toks:
        raise LexiconError(f"form {form!r} has no words")
    words: list[str] = []
    hyphen = False
    for i, (t, is_word) in enumerate(toks):
        if is_word:
            words.append(t)
            continue
        between = 0 < i < len(toks) - 1 and toks[i - 1][1] and toks[i + 1][1]
        if t == "-" and between:
            hyphen = True
            continue
        raise LexiconError(
            f"form {form!r} contains punctuation {t!r}: forms are words separated by spaces or "
            "single hyphens (a single trailing '.' is allowed)")
    return tuple(words), hyphen


def _first_letter_upper(form: str) -> bool:
    for ch in form:
        if ch.isalpha():
            return ch != ch.lower()
    return False


@dataclass(frozen=True)
class Group:
    name: str
    forms: tuple[str, ...]  # as written
    cases: tuple[str, ...]  # the case rule of each form (CASE_RULES)
    description: str = ""


@dataclass(frozen=True)
class Axis:
    name: str
    groups: tuple[Group, ...]
    description: str = ""

    @property
    def group_names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.groups)

    def group(self, name: str) -> Group:
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(f"axis {self.name!r} has no group {name!r}")

    @property
    def is_binary_gender(self) -> bool:
        return self.name == "gender" and self.group_names == GENDERS


@dataclass(frozen=True)
class Target:
    name: str
    forms: tuple[str, ...]
    sector: str | None = None
    pct_female: float | None = None
    stats_source: str | None = None
    set: str | None = None
    cases: tuple[str, ...] = ()
    # per axis, the real-world distribution over its groups: {axis: {group: share}}
    reference: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self.cases:
            object.__setattr__(self, "cases", ("any",) * len(self.forms))


@dataclass(frozen=True)
class Lexicon:
    name: str
    version: str
    axes: tuple[Axis, ...]
    targets: tuple[Target, ...]
    description: str = ""
    attribution: str = ""
    license: str = ""
    case: str = "any"  # how plain forms were read: "any" or "as-written"

    # ---- the binary-gender view (v1 lexicons, and any lexicon with that axis) ----------------
    @property
    def gender_axis(self) -> Axis | None:
        return next((a for a in self.axes if a.is_binary_gender), None)

    @property
    def has_binary_gender(self) -> bool:
        return self.gender_axis is not None

    @property
    def genders(self) -> dict[str, tuple[str, ...]]:
        a = self.gender_axis
        return {g.name: g.forms for g in a.groups} if a else {}

    @property
    def gender_terms(self) -> tuple[tuple[str, str], ...]:
        """((gender, surface form), ...): female terms first, then male, in file order."""
        a = self.gender_axis
        return tuple((g.name, f) for g in a.groups for f in g.forms) if a else ()

    # ---------------------------------------------------------------------------------------
    def axis(self, name: str) -> Axis:
        for a in self.axes:
            if a.name == name:
                return a
        raise KeyError(f"lexicon {self.name!r} has no axis {name!r}")

    def target(self, name: str) -> Target:
        for t in self.targets:
            if t.name == name:
                return t
        raise KeyError(f"lexicon {self.name!r} has no target {name!r}")

    @property
    def target_sets(self) -> tuple[str, ...]:
        return tuple(sorted({t.set for t in self.targets if t.set}))

    def to_json(self) -> dict:
        """The canonical ``tracebias-lexicon/2`` form (what ``lexicon show --json`` prints): a
        new dict every call, parsed from the text built once (``_json_text``)."""
        return json.loads(self._json_text)

    @cached_property
    def _json_text(self) -> str:
        return json.dumps(self._build_json(), ensure_ascii=False)

    def _build_json(self) -> dict:
        def forms(fs, cases):
            out = []
            for f, c in zip(fs, cases):
                implied = "capitalised" if self.case == "as-written" and _first_letter_upper(f) \
                    else "any"
                out.append(f if c == implied else {"form": f, "case": c})
            return out

        d = {"format": FORMAT, "name": self.name, "version": self.version,
             "description": self.description, "attribution": self.attribution}
        if self.license:
            d["license"] = self.license
        if self.case != "any":
            d["case"] = self.case
        d["axes"] = [{"name": a.name, **({"description": a.description} if a.description else {}),
                      "groups": [{"name": g.name,
                                  **({"description": g.description} if g.description else {}),
                                  "forms": forms(g.forms, g.cases)} for g in a.groups]}
                     for a in self.axes]
        targets = []
        for t in self.targets:
            e = {"name": t.name, "forms": forms(t.forms, t.cases)}
            for k in ("set", "sector", "pct_female", "stats_source"):
                if getattr(t, k) is not None:
                    e[k] = getattr(t, k)
            if t.reference:
                e["reference"] = {a: dict(v) for a, v in t.reference.items()}
            targets.append(e)
        d["targets"] = targets
        return d

    @cached_property
    def canonical_json(self) -> str:
        """The canonical text: ``to_json()`` with sorted keys, no spaces, UTF-8 as written (a
        run's lexicon.json). Built once: a 6,800-target lexicon takes a tenth of a second."""
        return json.dumps(self.to_json(), sort_keys=True, ensure_ascii=False,
                          separators=(",", ":"))

    def sha256(self) -> str:
        """Digest of the canonical text: equal content, equal digest, on any machine."""
        return self._sha256

    @cached_property
    def _sha256(self) -> str:
        return hashlib.sha256(self.canonical_json.encode("utf-8")).hexdigest()

    # ---- combining -------------------------------------------------------------------------
    def with_targets(self, other: "Lexicon") -> "Lexicon":
        """This lexicon's axes crossed with ``other``'s targets (e.g. holistic-bias x occupations).

        A target keeps its ``reference`` for an axis only when both lexicons have that axis with
        the same groups (a % women statistic says nothing about an axis {female, male,
        neutral}); ``pct_female`` and the other fields stay. A form that is a group term here
        and a target there is an error that lists every such form.
        """
        groups_of = {a.name: a.group_names for a in self.axes}
        theirs = {a.name: a.group_names for a in other.axes}
        clashes = []
        terms = {}
        for a in self.axes:
            for g in a.groups:
                for f in g.forms:
                    terms.setdefault(form_words(f)[0], f"{a.name}/{g.name}")
        for t in other.targets:
            for f in t.forms:
                owner = terms.get(form_words(f)[0])
                if owner:
                    clashes.append(f"{f!r} (target {t.name!r}, group {owner})")
        if clashes:
            more = f" and {len(clashes) - 10} more" if len(clashes) > 10 else ""
            raise LexiconError(
                f"the axes of {self.name!r} and the targets of {other.name!r} share "
                f"{len(clashes)} form{'s' if len(clashes) > 1 else ''}: "
                f"{', '.join(clashes[:10])}{more}; a form is either a group term or a target: "
                "leave its axis out (--axis) or remove the form from one of the lexicons")
        targets = tuple(Target(t.name, t.forms, t.sector, t.pct_female, t.stats_source, t.set,
                               t.cases, {k: v for k, v in t.reference.items()
                                         if k in groups_of and groups_of[k] == theirs.get(k)})
                        for t in other.targets)
        lex = Lexicon(name=f"{self.name}+{other.name}", version=f"{self.version}+{other.version}",
                      axes=self.axes, targets=targets,
                      description=f"axes of {self.name}, targets of {other.name}",
                      attribution=" ".join(x for x in (self.attribution, other.attribution) if x),
                      license=" / ".join(x for x in (self.license, other.license) if x))
        return lexicon_from_dict(lex.to_json(), lex.name)  # re-validated: no form in both

    def select_axes(self, names) -> "Lexicon":
        names = list(names)
        unknown = [n for n in names if n not in {a.name for a in self.axes}]
        if unknown:
            raise LexiconError(f"lexicon {self.name!r} has no axis {', '.join(map(repr, unknown))}; "
                               f"axes: {', '.join(a.name for a in self.axes)}")
        axes = tuple(a for a in self.axes if a.name in names)
        targets = tuple(Target(t.name, t.forms, t.sector, t.pct_female, t.stats_source, t.set,
                               t.cases, {k: v for k, v in t.reference.items() if k in names})
                        for t in self.targets)
        return Lexicon(f"{self.name}[{','.join(a.name for a in axes)}]", self.version, axes,
                       targets, self.description, self.attribution, self.license, self.case)


# ---- loading and validation ------------------------------------------------------------------
class _Checker:
    def __init__(self, origin: str, case_mode: str):
        self.origin = origin
        self.case_mode = case_mode
        self.group_forms: dict[tuple[str, tuple[str, ...]], str] = {}  # (axis, words) -> owner
        self.any_group_form: dict[tuple[str, ...], str] = {}
        self.target_forms: dict[tuple[str, ...], str] = {}

    def fail(self, msg: str):
        raise LexiconError(f"{self.origin}: {msg}")

    def form(self, item, owner: str) -> tuple[str, str, tuple[str, ...]]:
        """(text, case rule, words) of one form entry (a string or {"form", "case"})."""
        case = None
        if isinstance(item, dict):
            extra = set(item) - {"form", "case"}
            if extra:
                self.fail(f"{owner}: a form object takes 'form' and 'case' (got {sorted(extra)})")
            case = item.get("case")
            item = item.get("form")
            if case is not None and case not in CASE_RULES:
                self.fail(f"{owner}: form {item!r} has case {case!r}; use one of "
                          f"{', '.join(CASE_RULES)}")
        if not isinstance(item, str) or not item.strip():
            self.fail(f"{owner} has an empty or non-text form {item!r}")
        text = re.sub(r"\s+", " ", item.strip())
        try:
            words, _ = form_words(text)
        except LexiconError as e:
            self.fail(f"{owner}: {e}")
        if case is None:
            case = "capitalised" if self.case_mode == "as-written" and _first_letter_upper(text) \
                else "any"
        return text, case, words

    def group_form(self, item, axis: str, group: str):
        text, case, words = self.form(item, f"group {axis}/{group}")
        prev = self.group_forms.get((axis, words))
        if prev is not None:
            self.fail(f"form {text!r} of group {axis}/{group} is already listed for {prev} "
                      "(a form belongs to at most one group of an axis)")
        self.group_forms[(axis, words)] = f"group {axis}/{group} ({text!r})"
        self.any_group_form.setdefault(words, f"group {axis}/{group} ({text!r})")
        return text, case

    def target_form(self, item, target: str):
        text, case, words = self.form(item, f"target {target!r}")
        if words in self.target_forms:
            self.fail(f"form {text!r} of target {target!r} is already listed for "
                      f"{self.target_forms[words]}")
        if words in self.any_group_form:
            self.fail(f"form {text!r} of target {target!r} is also a group term: "
                      f"{self.any_group_form[words]}")
        self.target_forms[words] = f"target {target!r} ({text!r})"
        return text, case


_KEYS = {
    "lexicon": ("format", "name", "version", "description", "attribution", "license", "case",
                "axes", "targets"),
    "axis": ("name", "description", "groups"),
    "group": ("name", "description", "forms"),
    "target": ("name", "forms", "set", "sector", "pct_female", "stats_source", "reference"),
}


def _item_name(item, what: str, seen: list, duplicate: str, ck) -> str:
    """The stripped 'name' of a lexicon item (an axis, a group); fails when it is missing or
    already used by an item in ``seen`` (``duplicate``: the message, with {!r} for the name)."""
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) \
            or not item["name"].strip():
        ck.fail(f"{what} needs a 'name'")
    name = item["name"].strip()
    if name in {x.name for x in seen}:
        ck.fail(duplicate.format(name))
    return name


def _known_keys(obj: dict, kind: str, what: str, ck: _Checker) -> None:
    """A misspelt key ("refrence") is an error, not silently ignored (v2 files only)."""
    extra = sorted(str(k) for k in obj if k not in _KEYS[kind])
    if extra:
        ck.fail(f"{what} has unknown key{'s' if len(extra) > 1 else ''} "
                f"{', '.join(map(repr, extra))} (a {kind} takes {', '.join(_KEYS[kind])})")


def _str_or_none(v, what: str, ck: _Checker):
    if v is not None and not isinstance(v, str):
        ck.fail(f"{what} must be a string (got {v!r})")
    return v


def _v1_to_v2(d: dict, ck: _Checker) -> dict:
    genders = d.get("genders")
    if not isinstance(genders, dict) or sorted(genders) != sorted(GENDERS):
        ck.fail(f"'genders' must have exactly the classes {list(GENDERS)} "
                f"(got {sorted(genders) if isinstance(genders, dict) else genders!r})")
    targets = []
    for t in d.get("targets") if isinstance(d.get("targets"), list) else []:
        if isinstance(t, dict):
            t = dict(t)
            pct = t.get("pct_female")
            if isinstance(pct, (int, float)) and not isinstance(pct, bool) and 0 <= pct <= 100:
                t["reference"] = {"gender": {"female": pct / 100, "male": (100 - pct) / 100}}
        targets.append(t)
    return {**{k: v for k, v in d.items() if k not in ("genders", "format", "targets")},
            "axes": [{"name": "gender",
                      "groups": [{"name": g, "forms": genders[g]} for g in GENDERS]}],
            "targets": targets, "_v1": True}


def lexicon_from_dict(d: dict, origin: str = "<dict>") -> Lexicon:
    """The lexicon a JSON object describes, checked (LexiconError names ``origin``); large
    lexicons come from the disk cache after their first use (engine.lexicon.cache)."""
    if not isinstance(d, dict):
        raise LexiconError(f"{origin}: a lexicon must be a JSON object")
    try:
        payload = json.dumps(d, sort_keys=True, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError):  # not JSON data: checked (and refused) the long way
        return _lexicon_from_dict(d, origin)
    return cached("lexicon", payload, lambda: _lexicon_from_dict(d, origin))


def _lexicon_from_dict(d: dict, origin: str) -> Lexicon:
    fmt = d.get("format")
    if fmt not in (FORMAT, FORMAT_V1):
        raise LexiconError(f"{origin}: 'format' must be {FORMAT!r} or {FORMAT_V1!r} "
                           f"(got {fmt!r})")
    case_mode = d.get("case", "any")
    ck = _Checker(origin, case_mode)
    if case_mode not in CASE_MODES:
        ck.fail(f"'case' must be one of {', '.join(CASE_MODES)} (got {case_mode!r})")
    for key in ("name", "version", "genders" if fmt == FORMAT_V1 else "axes", "targets"):
        if key not in d:
            ck.fail(f"missing key {key!r}")
    if not isinstance(d["name"], str) or not d["name"].strip():
        ck.fail(f"'name' must be a non-empty string (got {d['name']!r})")
    if isinstance(d["version"], bool) or not isinstance(d["version"], (str, int, float)) \
            or not str(d["version"]).strip():
        ck.fail(f"'version' must be a non-empty string (got {d['version']!r})")
    v1 = fmt == FORMAT_V1
    if v1:
        d = _v1_to_v2(d, ck)
    else:
        _known_keys(d, "lexicon", "the lexicon", ck)

    axes_in = d["axes"]
    if not isinstance(axes_in, list) or not axes_in:
        ck.fail("'axes' must be a non-empty list")
    axes: list[Axis] = []
    for i, a in enumerate(axes_in):
        aname = _item_name(a, f"axis #{i + 1}", axes, "duplicate axis name {!r}", ck)
        if not v1:
            _known_keys(a, "axis", f"axis {aname!r}", ck)
        groups_in = a.get("groups")
        if not isinstance(groups_in, list) or not MIN_GROUPS <= len(groups_in) <= MAX_GROUPS:
            n = len(groups_in) if isinstance(groups_in, list) else groups_in
            ck.fail(f"axis {aname!r} needs {MIN_GROUPS} to {MAX_GROUPS} groups (got {n!r})")
        groups: list[Group] = []
        for j, g in enumerate(groups_in):
            gname = _item_name(g, f"group #{j + 1} of axis {aname!r}", groups,
                               "duplicate group name {!r} in axis " + repr(aname), ck)
            if not v1:
                _known_keys(g, "group", f"group {aname}/{gname}", ck)
            forms_in = g.get("forms")
            if not isinstance(forms_in, list) or not forms_in:
                if v1:
                    ck.fail(f"gender class {gname!r} needs a non-empty list of terms")
                ck.fail(f"group {aname}/{gname} needs a non-empty 'forms' list")
            fc = [ck.group_form(f, aname, gname) for f in forms_in]
            groups.append(Group(gname, tuple(t for t, _ in fc), tuple(c for _, c in fc),
                                str(g.get("description", ""))))
        axes.append(Axis(aname, tuple(groups), str(a.get("description", ""))))
    by_axis = {a.name: a for a in axes}
    gender_axis = by_axis.get("gender") if by_axis.get("gender") and \
        by_axis["gender"].is_binary_gender else None

    targets_in = d["targets"]
    if not isinstance(targets_in, list) or (v1 and not targets_in):
        ck.fail("'targets' must be a non-empty list" if v1 else "'targets' must be a list")
    names: set[str] = set()
    targets: list[Target] = []
    for i, t in enumerate(targets_in):
        if not isinstance(t, dict) or not isinstance(t.get("name"), str) or not t["name"].strip():
            ck.fail(f"target #{i + 1} needs a 'name'")
        name = t["name"].strip()
        if name in names:
            ck.fail(f"duplicate target name {name!r}")
        names.add(name)
        if not v1:
            _known_keys(t, "target", f"target {name!r}", ck)
        forms_in = t.get("forms", [name])
        if not isinstance(forms_in, list) or not forms_in:
            ck.fail(f"target {name!r} needs a non-empty 'forms' list")
        pct = t.get("pct_female")
        if pct is not None and (not isinstance(pct, (int, float)) or isinstance(pct, bool)
                                or not 0 <= pct <= 100):
            ck.fail(f"target {name!r}: pct_female must be a number in [0, 100] (got {pct!r})")
        fc = [ck.target_form(f, name) for f in forms_in]
        reference = _reference(t.get("reference"), name, by_axis, ck)
        if pct is not None and gender_axis is not None and "gender" not in reference:
            # as in a v1 file: % women is the reference of the binary gender axis
            reference["gender"] = {"female": pct / 100, "male": (100 - pct) / 100}
        targets.append(Target(
            name=name, forms=tuple(x for x, _ in fc), cases=tuple(c for _, c in fc),
            sector=_str_or_none(t.get("sector"), f"target {name!r}: sector", ck),
            pct_female=float(pct) if pct is not None else None,
            stats_source=_str_or_none(t.get("stats_source"), f"target {name!r}: stats_source", ck),
            set=_str_or_none(t.get("set"), f"target {name!r}: set", ck),
            reference=reference))
    return Lexicon(name=str(d["name"]), version=str(d["version"]), axes=tuple(axes),
                   targets=tuple(targets), description=str(d.get("description", "")),
                   attribution=str(d.get("attribution", "")), license=str(d.get("license", "")),
                   case=case_mode)


def _reference(ref, target: str, axes: dict[str, Axis], ck: _Checker) -> dict:
    if ref is None:
        return {}
    if not isinstance(ref, dict):
        ck.fail(f"target {target!r}: 'reference' must be an object {{axis: {{group: share}}}}")
    out = {}
    for axis, dist in ref.items():
        if axis not in axes:
            ck.fail(f"target {target!r}: reference names axis {axis!r}, which the lexicon does "
                    f"not have (axes: {', '.join(axes)})")
        if not isinstance(dist, dict) or not dist:
            ck.fail(f"target {target!r}: reference[{axis!r}] must be an object {{group: share}}")
        groups = set(axes[axis].group_names)
        shares = {}
        for g, v in dist.items():
            if g not in groups:
                ck.fail(f"target {target!r}: reference[{axis!r}] names group {g!r}, not a group "
                        f"of that axis ({', '.join(axes[axis].group_names)})")
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v <= 1 \
                    or math.isnan(v):
                ck.fail(f"target {target!r}: reference[{axis!r}][{g!r}] must be a share in "
                        f"[0, 1] (got {v!r})")
            shares[g] = float(v)
        total = sum(shares.values())
        if abs(total - 1) > 0.005:
            ck.fail(f"target {target!r}: the shares of reference[{axis!r}] sum to {total:.4f}, "
                    "not 1")
        out[axis] = shares
    return out


def _builtin_dir():
    return resources.files("engine").joinpath("data/lexicons")


def builtin_names() -> list[str]:
    return sorted(p.name[: -len(".json")] for p in _builtin_dir().iterdir()
                  if p.name.endswith(".json"))


def load_lexicon(name_or_path: str | os.PathLike) -> Lexicon:
    """Load a built-in lexicon by name, or a lexicon JSON file by path."""
    s = str(name_or_path)
    if s in builtin_names():
        ref = _builtin_dir().joinpath(f"{s}.json")
        return lexicon_from_dict(json.loads(ref.read_text(encoding="utf-8")), f"built-in {s!r}")
    path = Path(s)
    if not path.is_file():
        raise LexiconError(f"no built-in lexicon and no file named {s!r}; built-in lexicons: "
                           f"{', '.join(builtin_names())}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise LexiconError(f"{path}: not valid JSON ({e})") from None
    except UnicodeDecodeError as e:
        raise LexiconError(f"{path}: not UTF-8 text ({e})") from None
    return lexicon_from_dict(data, str(path))


def resolve_lexicon(lexicon: str, targets: str | None = None, axes=None) -> Lexicon:
    """What the CLI's ``--lexicon NAME [--targets NAME] [--axis A ...]`` mean."""
    lex = load_lexicon(lexicon)
    if axes:
        lex = lex.select_axes(axes)
    if targets:
        lex = lex.with_targets(load_lexicon(targets))
    return lex
