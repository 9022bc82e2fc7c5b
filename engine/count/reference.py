"""The reference path: the counting semantics written plainly on top of `tokenizers`.

Slow (Python per token) and independent of the fast path's tables and kernels: it uses the
`tokenizers` Lowercase normalizer and Whitespace pre-tokenizer directly. Tests require the fast
path to give identical counts on generated text (hypothesis) and on real Wikipedia shards.
It is also the "tokenizers-based pipeline" measured by ``make bench``.
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Sequence

from tokenizers import normalizers, pre_tokenizers

from engine.lexicon import Lexicon
from engine.count.windows import Window

_NORMALIZER = normalizers.Lowercase()
_PRE = pre_tokenizers.Whitespace()
ABBREVIATIONS = ("mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs")


@lru_cache(maxsize=1 << 16)
def _is_word(token: str) -> bool:
    # A word token (\w+) glues to a following letter; a punctuation token does not.
    return len(_PRE.pre_tokenize_str(token + "a")) == 1


@dataclass
class Token:
    text: str
    is_word: bool
    word_pos: int  # index among words (-1 for punctuation)
    sentence: int
    paragraph: int


def tokenize(text: str, abbreviations: Iterable[str] = ABBREVIATIONS) -> list[Token]:
    abbrev = set(abbreviations)
    norm = _NORMALIZER.normalize_str(text)
    newlines = [i for i, ch in enumerate(norm) if ch == "\n"]
    out: list[Token] = []
    sentence = 0
    last_para = 0
    wpos = 0
    for tok, (a, _b) in _PRE.pre_tokenize_str(norm):
        para = bisect.bisect_left(newlines, a)
        if para != last_para:
            sentence += para - last_para  # every newline ends a sentence
            last_para = para
        word = _is_word(tok)
        out.append(Token(tok, word, wpos if word else -1, sentence, para))
        if word:
            wpos += 1
        elif any(c in tok for c in ".!?"):
            prev = out[-2] if len(out) >= 2 else None
            after_abbrev = (
                tok == "." and prev is not None and prev.is_word and prev.text in abbrev
                and prev.paragraph == para
            )
            if not after_abbrev:
                sentence += 1
    return out


def form_words(form: str) -> tuple[str, ...]:
    toks = [t for t, _ in _PRE.pre_tokenize_str(_NORMALIZER.normalize_str(form))]
    if toks and toks[-1] == ".":
        toks = toks[:-1]
    return tuple(toks)


@dataclass
class Mention:
    kind: str  # "female" | "male" | "target"
    label: str  # gender surface form, or target name
    first: int  # word positions
    last: int
    sentence: int
    paragraph: int


def find_mentions(tokens: Sequence[Token], lexicon: Lexicon) -> list[Mention]:
    forms: dict[tuple[str, ...], tuple[str, str]] = {}
    for gender, form in lexicon.gender_terms:
        forms[form_words(form)] = (gender, form)
    for target in lexicon.targets:
        for form in target.forms:
            forms[form_words(form)] = ("target", target.name)
    longest = max(len(f) for f in forms)
    out: list[Mention] = []
    i = 0
    while i < len(tokens):
        found = None
        for n in range(min(longest, len(tokens) - i), 0, -1):
            span = tokens[i : i + n]
            if not all(t.is_word for t in span) or span[-1].paragraph != span[0].paragraph:
                continue
            key = tuple(t.text for t in span)
            if key in forms:
                found = (n, forms[key])
                break
        if found is None:
            i += 1
            continue
        n, (kind, label) = found
        span = tokens[i : i + n]
        out.append(Mention(kind, label, span[0].word_pos, span[-1].word_pos, span[0].sentence,
                           span[0].paragraph))
        i += n
    return out


@dataclass
class ReferenceCounts:
    cooc: dict = field(default_factory=lambda: defaultdict(lambda: [0] * 6))
    terms: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    docs: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))

    def add_unit(self, source: str, window: str, target: str, context: list[Mention]) -> None:
        m = sum(1 for g in context if g.kind == "male")
        f = sum(1 for g in context if g.kind == "female")
        row = self.cooc[(source, window, target)]
        row[0] += 1
        row[1] += m > 0 and f == 0
        row[2] += f > 0 and m == 0
        row[3] += f > 0 and m > 0
        row[4] += m
        row[5] += f
        for g in context:
            self.terms[(source, window, target, g.kind, g.label)][0] += 1
        for kind, label in {(g.kind, g.label) for g in context}:
            self.terms[(source, window, target, kind, label)][1] += 1

    def as_plain(self) -> tuple[dict, dict, dict]:
        return (
            {k: tuple(v) for k, v in self.cooc.items()},
            {k: tuple(v) for k, v in self.terms.items()},
            {k: tuple(v) for k, v in self.docs.items()},
        )


def count_document(text: str, source: str, lexicon: Lexicon, windows: Sequence[Window],
                   out: ReferenceCounts, abbreviations: Iterable[str] = ABBREVIATIONS) -> None:
    abbrev = set(abbreviations) | {
        form_words(f)[-1] for _, f in lexicon.gender_terms if f.rstrip().endswith(".")
    }
    tokens = tokenize(text, abbrev)
    n_words = sum(t.is_word for t in tokens)
    d = out.docs[source]
    d[0] += 1
    d[1] += len(text.encode("utf-8"))
    d[2] += n_words
    mentions = find_mentions(tokens, lexicon)
    genders = [m for m in mentions if m.kind != "target"]
    targets = [m for m in mentions if m.kind == "target"]
    for w in windows:
        if w.kind == "words":
            for t in targets:
                ctx = [g for g in genders if g.last >= t.first - w.k and g.first <= t.last + w.k]
                out.add_unit(source, w.label, t.label, ctx)
            continue
        key = {"sentence": lambda m: m.sentence, "paragraph": lambda m: m.paragraph,
               "document": lambda m: 0}[w.kind]
        for ctx_key, names in _group_targets(targets, key).items():
            ctx = [g for g in genders if key(g) == ctx_key]
            for name in names:
                out.add_unit(source, w.label, name, ctx)


def _group_targets(targets: list[Mention], key) -> dict:
    groups: dict = {}
    for t in targets:
        groups.setdefault(key(t), {})[t.label] = None  # ordered set
    return groups


def reference_count(docs: Iterable[tuple[str, str]], lexicon: Lexicon,
                    windows: Sequence[Window]) -> ReferenceCounts:
    """Count (text, source) pairs with the reference semantics."""
    out = ReferenceCounts()
    for text, source in docs:
        count_document(text, source, lexicon, windows, out)
    return out
