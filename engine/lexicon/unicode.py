"""Character tables shared by the fast (numba) and reference tokenizers.

Semantics (documented in docs/tokenization.md): text is lowercased code point by code point
exactly like the `tokenizers` ``Lowercase`` normalizer, then split like its ``Whitespace``
pre-tokenizer, i.e. the regex ``\\w+|[^\\w\\s]+`` with Rust's Unicode classes. Tokens of word
characters are *words*, the others *punctuation*.

The classes and the lowercase map were read off `tokenizers` itself by
``tools/gen_unicode_tables.py`` and ship as ``engine/data/unicode_tables.json``; a test
checks them against the installed `tokenizers`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

PUNCT, WORD, SPACE = 0, 1, 2
N_CODEPOINTS = 0x110000


@dataclass(frozen=True)
class CharTables:
    """Dense lookup tables indexed by code point.

    ``cls[cp]`` is PUNCT, WORD or SPACE. ``lower[cp]`` is the lowercase code point, or
    ``-(i + 1)`` when lowercasing expands to several code points, listed in
    ``expansions[i]`` (padded with -1).
    """

    cls: np.ndarray  # uint8[N_CODEPOINTS]
    lower: np.ndarray  # int32[N_CODEPOINTS]
    expansions: np.ndarray  # int32[n, 3]
    tokenizers_version: str


@cache
def char_tables() -> CharTables:
    raw = json.loads(resources.files("engine").joinpath("data/unicode_tables.json").read_text())
    cls = np.zeros(N_CODEPOINTS, dtype=np.uint8)
    for a, b in raw["word_ranges"]:
        cls[a : b + 1] = WORD
    for a, b in raw["space_ranges"]:
        cls[a : b + 1] = SPACE
    lower = np.arange(N_CODEPOINTS, dtype=np.int32)
    exps: list[list[int]] = []
    for cp, mapped in raw["lowercase"]:
        if len(mapped) == 1:
            lower[cp] = mapped[0]
        else:
            if len(mapped) > 3:
                raise ValueError(f"lowercase expansion of U+{cp:04X} longer than 3")
            exps.append(mapped + [-1] * (3 - len(mapped)))
            lower[cp] = -len(exps)
    expansions = np.array(exps or [[-1, -1, -1]], dtype=np.int32)
    return CharTables(cls, lower, expansions, raw["tokenizers_version"])


def lowercase(text: str) -> str:
    """Lowercase like the `tokenizers` Lowercase normalizer (per code point, no final sigma)."""
    t = char_tables()
    out = []
    for ch in text:
        m = int(t.lower[ord(ch)])
        if m >= 0:
            out.append(chr(m))
        else:
            out.extend(chr(c) for c in t.expansions[-m - 1] if c >= 0)
    return "".join(out)


@cache
def _ascii_word_chars() -> frozenset[str]:
    t = char_tables()
    return frozenset(chr(b) for b in range(128) if t.cls[t.lower[b]] == WORD
                     and t.cls[b] == WORD)


def pretokenize(text: str) -> list[tuple[str, bool]]:
    """Reference pretokenizer in plain Python: [(token, is_word), ...] of the lowercased text.

    Slow; used for lexicon terms and tests. Newlines are dropped like any whitespace; callers
    that need line structure split on "\\n" first.
    """
    # one ASCII word (most lexicon forms): the general loop gives the same single token
    if text.isascii() and text and _ascii_word_chars().issuperset(text):
        return [(text.lower(), True)]
    t = char_tables()
    cls = t.cls
    tokens: list[tuple[str, bool]] = []
    cur: list[str] = []
    cur_cls = SPACE
    for ch in lowercase(text):
        c = int(cls[ord(ch)])
        if c != cur_cls or c == SPACE:
            if cur:
                tokens.append(("".join(cur), cur_cls == WORD))
                cur = []
            cur_cls = c
        if c != SPACE:
            cur.append(ch)
    if cur:
        tokens.append(("".join(cur), cur_cls == WORD))
    return tokens
