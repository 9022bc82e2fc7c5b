"""Lexicons as data: gender classes with their terms, and targets (occupations) with their forms.

A lexicon is a JSON file (format ``tracebias-lexicon/1``, documented in docs/lexicons.md) or
the name of a built-in one shipped in ``engine/data/lexicons``:

* ``tracing-bias`` — exactly the Dolma/OLMo study's lists: 17 female and 16 male terms,
  219 occupations in singular form.
* ``default`` — the same plus plural and inflected forms, and the WinoBias / Winogender
  occupations, each with US labour statistics (% women) where known.

Matching (tokenization, case, multi-word forms) is engine.lexicon.matcher's job; this module only
loads, validates and fingerprints the data.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

GENDERS = ("female", "male")
FORMAT = "tracebias-lexicon/1"


class LexiconError(ValueError):
    """A lexicon that cannot be found or is not valid."""


@dataclass(frozen=True)
class Target:
    name: str
    forms: tuple[str, ...]
    sector: str | None = None
    pct_female: float | None = None
    stats_source: str | None = None

    def to_json(self) -> dict:
        d = {"name": self.name, "forms": list(self.forms)}
        for k in ("sector", "pct_female", "stats_source"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        return d


@dataclass(frozen=True)
class Lexicon:
    name: str
    version: str
    genders: dict[str, tuple[str, ...]]
    targets: tuple[Target, ...]
    description: str = ""
    attribution: str = ""

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "attribution": self.attribution,
            "genders": {g: list(self.genders[g]) for g in GENDERS},
            "targets": [t.to_json() for t in self.targets],
        }

    def sha256(self) -> str:
        """Digest of the canonical JSON form: equal content, equal digest, on any machine."""
        blob = json.dumps(self.to_json(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    @property
    def gender_terms(self) -> tuple[tuple[str, str], ...]:
        """((gender, surface form), ...): female terms first, then male, in file order."""
        return tuple((g, f) for g in GENDERS for f in self.genders[g])

    def target(self, name: str) -> Target:
        for t in self.targets:
            if t.name == name:
                return t
        raise KeyError(f"lexicon {self.name!r} has no target {name!r}")


def _norm(form: str) -> str:
    return re.sub(r"\s+", " ", form.strip().lower())


def lexicon_from_dict(d: dict, origin: str = "<dict>") -> Lexicon:
    def fail(msg: str):
        raise LexiconError(f"{origin}: {msg}")

    if not isinstance(d, dict):
        fail("a lexicon must be a JSON object")
    if d.get("format") != FORMAT:
        fail(f"'format' must be {FORMAT!r} (got {d.get('format')!r})")
    for key in ("name", "version", "genders", "targets"):
        if key not in d:
            fail(f"missing key {key!r}")
    genders = d["genders"]
    if not isinstance(genders, dict) or sorted(genders) != sorted(GENDERS):
        fail(f"'genders' must have exactly the classes {list(GENDERS)} "
             f"(got {sorted(genders) if isinstance(genders, dict) else genders!r})")
    seen: dict[str, str] = {}

    def check_form(form, owner: str) -> str:
        if not isinstance(form, str) or not form.strip():
            fail(f"{owner} has an empty or non-text form {form!r}")
        key = _norm(form)
        if key in seen:
            fail(f"form {form!r} of {owner} is already listed for {seen[key]}")
        seen[key] = owner
        return form.strip()

    gender_terms = {}
    for g in GENDERS:
        terms = genders[g]
        if not isinstance(terms, list) or not terms:
            fail(f"gender class {g!r} needs a non-empty list of terms")
        gender_terms[g] = tuple(check_form(t, f"gender {g!r}") for t in terms)
    targets = d["targets"]
    if not isinstance(targets, list) or not targets:
        fail("'targets' must be a non-empty list")
    names: set[str] = set()
    out = []
    for i, t in enumerate(targets):
        if not isinstance(t, dict) or not isinstance(t.get("name"), str) or not t["name"].strip():
            fail(f"target #{i + 1} needs a 'name'")
        name = t["name"].strip()
        if name in names:
            fail(f"duplicate target name {name!r}")
        names.add(name)
        forms = t.get("forms", [name])
        if not isinstance(forms, list) or not forms:
            fail(f"target {name!r} needs a non-empty 'forms' list")
        pct = t.get("pct_female")
        if pct is not None and (not isinstance(pct, (int, float)) or not 0 <= pct <= 100):
            fail(f"target {name!r}: pct_female must be a number in [0, 100] (got {pct!r})")
        out.append(Target(
            name=name,
            forms=tuple(check_form(f, f"target {name!r}") for f in forms),
            sector=t.get("sector"),
            pct_female=float(pct) if pct is not None else None,
            stats_source=t.get("stats_source"),
        ))
    return Lexicon(name=str(d["name"]), version=str(d["version"]), genders=gender_terms,
                   targets=tuple(out), description=str(d.get("description", "")),
                   attribution=str(d.get("attribution", "")))


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
    return lexicon_from_dict(data, str(path))
