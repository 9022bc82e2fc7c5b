"""The reference path: the counting semantics written plainly on top of `tokenizers`.

Slow (Python per token) and independent of the fast path's tables and kernels: it uses the
`tokenizers` Lowercase normalizer and Whitespace pre-tokenizer directly (with their alignment
to the original text, for the case rules), matches forms by trying every span length, and
computes every window by filtering mention lists. Tests require the fast path to give identical
tables on generated text (hypothesis, random K-group lexicons) and on real Wikipedia shards. It
is also the "tokenizers-based pipeline" measured by ``make bench``.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Sequence

from tokenizers import PreTokenizedString, normalizers, pre_tokenizers

from engine.count.windows import Window
from engine.lexicon import Lexicon

_NORMALIZER = normalizers.Lowercase()
_PRE = pre_tokenizers.Whitespace()
ABBREVIATIONS = ("mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs")


@lru_cache(maxsize=1 << 16)
def _is_word(token: str) -> bool:
    # A word token (\w+) glues to a following letter; a punctuation token does not.
    return len(_PRE.pre_tokenize_str(token + "a")) == 1


@dataclass
class Token:
    text: str  # lowercased
    original: str  # the text as written
    is_word: bool
    word_pos: int  # index among words (-1 for punctuation)
    sentence: int
    paragraph: int


def tokenize(text: str, abbreviations: Iterable[str] = ABBREVIATIONS) -> list[Token]:
    abbrev = set(abbreviations)
    pts = PreTokenizedString(text)
    pts.normalize(lambda n: n.lowercase())
    _PRE.pre_tokenize(pts)
    splits = pts.get_splits(offset_referential="original", offset_type="char")
    out: list[Token] = []
    sentence = 0
    wpos = 0
    newlines_seen = 0
    newline_pos = [i for i, ch in enumerate(text) if ch == "\n"]
    last_para = 0
    for tok, (a, b), _ in splits:
        while newlines_seen < len(newline_pos) and newline_pos[newlines_seen] < a:
            newlines_seen += 1
        para = newlines_seen
        if para != last_para:
            sentence += para - last_para  # every newline ends a sentence
            last_para = para
        word = _is_word(tok)
        out.append(Token(tok, text[a:b], word, wpos if word else -1, sentence, para))
        if word:
            wpos += 1
        elif any(c in tok for c in ".!?"):
            prev = out[-2] if len(out) >= 2 else None
            after_abbrev = (tok == "." and prev is not None and prev.is_word
                            and prev.text in abbrev and prev.paragraph == para)
            if not after_abbrev:
                sentence += 1
    return out


def form_paths(form: str) -> list[tuple[str, ...]]:
    """Token sequences a form matches: its words, and for a hyphenated form its words joined
    by "-" tokens."""
    toks = [t for t, _ in _PRE.pre_tokenize_str(_NORMALIZER.normalize_str(form))]
    if toks and toks[-1] == ".":
        toks = toks[:-1]
    words = tuple(t for t in toks if t != "-")
    paths = [words]
    if "-" in toks:
        joined: list[str] = []
        for i, w in enumerate(words):
            if i:
                joined.append("-")
            joined.append(w)
        paths.append(tuple(joined))
    return paths


def _changes(ch: str) -> bool:
    return _NORMALIZER.normalize_str(ch) != ch


def case_passes(rule: str, original: str) -> bool:
    if rule == "lower":
        return not any(_changes(ch) for ch in original)
    if rule == "capitalised":
        return bool(original) and _changes(original[0])
    if rule == "title":
        return bool(original) and _changes(original[0]) and not any(
            _changes(ch) for ch in original[1:])
    return True


@dataclass
class Mention:
    kind: str  # "group" | "target"
    label: str  # target name (targets)
    entries: list  # [(axis, group, form)] passing their case rule (groups)
    first: int  # word positions
    last: int
    sentence: int
    paragraph: int


def _lexicon_paths(lexicon: Lexicon) -> dict:
    paths: dict[tuple[str, ...], dict] = {}
    for axis in lexicon.axes:
        for group in axis.groups:
            for form, rule in zip(group.forms, group.cases):
                for p in form_paths(form):
                    paths.setdefault(p, {"kind": "group", "entries": []})["entries"].append(
                        (axis.name, group.name, form, rule))
    for t in lexicon.targets:
        for form, rule in zip(t.forms, t.cases):
            for p in form_paths(form):
                paths[p] = {"kind": "target", "target": t.name, "rule": rule}
    return paths


def find_mentions(tokens: Sequence[Token], lexicon: Lexicon, paths=None) -> list[Mention]:
    paths = paths or _lexicon_paths(lexicon)
    longest = max((len(p) for p in paths), default=1)
    out: list[Mention] = []
    i = 0
    while i < len(tokens):
        found = None
        for n in range(min(longest, len(tokens) - i), 0, -1):
            span = tokens[i: i + n]
            if span[-1].paragraph != span[0].paragraph:
                continue
            if not (span[0].is_word and span[-1].is_word):
                continue
            if not all(t.is_word or t.text == "-" for t in span):
                continue
            entry = paths.get(tuple(t.text for t in span))
            if entry is None:
                continue
            original = "".join(t.original for t in span)
            if entry["kind"] == "target":
                if case_passes(entry["rule"], original):
                    found = (n, Mention("target", entry["target"], [], span[0].word_pos,
                                        span[-1].word_pos, span[0].sentence, span[0].paragraph))
            else:
                ok = [(a, g, f) for a, g, f, r in entry["entries"] if case_passes(r, original)]
                if ok:
                    found = (n, Mention("group", "", ok, span[0].word_pos, span[-1].word_pos,
                                        span[0].sentence, span[0].paragraph))
            if found:
                break
        if found is None:
            i += 1
            continue
        n, m = found
        out.append(m)
        i += n
    return out


@dataclass
class ReferenceCounts:
    target_units: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    group: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    terms: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    cooc: dict = field(default_factory=lambda: defaultdict(lambda: [0] * 6))
    representation: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    group_documents: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    axis_documents: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    docs: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))

    def as_plain(self) -> dict[str, dict]:
        return {name: {k: tuple(v) for k, v in getattr(self, name).items()}
                for name in ("target_units", "group", "terms", "cooc", "representation",
                             "group_documents", "axis_documents", "docs")}


def _add_unit(out: ReferenceCounts, lexicon: Lexicon, source: str, window: str, target: str,
              context: list[Mention]) -> None:
    per_axis: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    gender_terms: dict[tuple[str, str], int] = defaultdict(int)
    gender = lexicon.gender_axis.name if lexicon.gender_axis else None
    for m in context:
        for a, g, f in m.entries:
            per_axis[a][g] += 1
            if a == gender:
                gender_terms[(g, f)] += 1
    for axis in lexicon.axes:
        present = per_axis.get(axis.name, {})
        row = out.target_units[(source, window, axis.name, target)]
        row[0] += 1
        row[1] += not present
        row[2] += len(present) >= 2
        for g, n in present.items():
            grow = out.group[(source, window, axis.name, target, g)]
            grow[0] += 1
            grow[1] += len(present) == 1
            grow[2] += n
    if gender:
        present = per_axis.get(gender, {})
        f, m = present.get("female", 0), present.get("male", 0)
        row = out.cooc[(source, window, target)]
        row[0] += 1
        row[1] += m > 0 and f == 0
        row[2] += f > 0 and m == 0
        row[3] += f > 0 and m > 0
        row[4] += m
        row[5] += f
        for (g, form), n in gender_terms.items():
            t = out.terms[(source, window, target, g, form)]
            t[0] += n
            t[1] += 1


def count_document(text: str, source: str, lexicon: Lexicon, windows: Sequence[Window],
                   out: ReferenceCounts, abbreviations: Iterable[str] = ABBREVIATIONS,
                   paths=None) -> None:
    abbrev = set(abbreviations)
    for a in lexicon.axes:
        for g in a.groups:
            abbrev |= {form_paths(f)[0][-1] for f in g.forms if f.rstrip().endswith(".")}
    abbrev |= {form_paths(f)[0][-1] for t in lexicon.targets for f in t.forms
               if f.rstrip().endswith(".")}
    tokens = tokenize(text, abbrev)
    d = out.docs[source]
    d[0] += 1
    d[1] += len(text.encode("utf-8"))
    d[2] += sum(t.is_word for t in tokens)
    mentions = find_mentions(tokens, lexicon, paths)
    groups = [m for m in mentions if m.kind == "group"]
    targets = [m for m in mentions if m.kind == "target"]
    seen = set()
    for m in groups:
        for a, g, f in m.entries:
            for table, key in ((out.representation, (source, a, g, f)),
                               (out.group_documents, (source, a, g)),
                               (out.axis_documents, (source, a))):
                row = table[key]
                row[1] += 1
                if (id(table), key) not in seen:
                    seen.add((id(table), key))
                    row[0] += 1
    for w in windows:
        if w.kind == "words":
            for t in targets:
                ctx = [g for g in groups if g.last >= t.first - w.k and g.first <= t.last + w.k]
                _add_unit(out, lexicon, source, w.label, t.label, ctx)
            continue
        key = {"sentence": lambda m: m.sentence, "paragraph": lambda m: m.paragraph,
               "document": lambda m: 0}[w.kind]
        units: dict = {}
        for t in targets:
            units.setdefault(key(t), {})[t.label] = None  # ordered set of targets per context
        for ctx_key, names in units.items():
            ctx = [g for g in groups if key(g) == ctx_key]
            for name in names:
                _add_unit(out, lexicon, source, w.label, name, ctx)


def reference_count(docs: Iterable[tuple[str, str]], lexicon: Lexicon,
                    windows: Sequence[Window]) -> ReferenceCounts:
    """Count (text, source) pairs with the reference semantics."""
    out = ReferenceCounts()
    paths = _lexicon_paths(lexicon)
    for text, source in docs:
        count_document(text, source, lexicon, windows, out, paths=paths)
    return out


def fast_as_plain(tables: dict) -> dict[str, dict]:
    """The fast path's Arrow tables in the reference's dict layout (for tests and benchmarks)."""
    def rows(name):
        return tables[name].to_pylist() if name in tables else []

    out = {
        "target_units": {(r["source"], r["window_label"], r["axis"], r["target"]):
                         (r["units"], r["units_none"], r["units_multi"])
                         for r in rows("target_units")},
        "group": {(r["source"], r["window_label"], r["axis"], r["target"], r["group_name"]):
                  (r["units_with"], r["units_only"], r["mentions"])
                  for r in rows("group_cooccurrence")},
        "terms": {(r["source"], r["window_label"], r["occupation"], r["gender"], r["term"]):
                  (r["term_count"], r["units_with_term"]) for r in rows("term_cooccurrence")},
        "cooc": {(r["source"], r["window_label"], r["occupation"]):
                 (r["units"], r["male_only"], r["female_only"], r["female_and_male"],
                  r["male_terms"], r["female_terms"]) for r in rows("cooccurrence")},
        "representation": {(r["source"], r["axis"], r["group_name"], r["term"]):
                           (r["documents"], r["mentions"]) for r in rows("representation")},
        "group_documents": {(r["source"], r["axis"], r["group_name"]):
                            (r["documents"], r["mentions"]) for r in rows("group_documents")},
        "axis_documents": {(r["source"], r["axis"]): (r["documents"], r["mentions"])
                           for r in rows("axis_documents")},
        "docs": {r["source"]: (r["documents"], r["bytes"], r["words"])
                 for r in rows("shards") if r["documents"]},
    }
    return out
