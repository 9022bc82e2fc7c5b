"""Derive the tokenizer's character tables from the `tokenizers` library itself.

The fast path (numba kernels over UTF-8 bytes) must split text exactly like the reference
path: the `tokenizers` Lowercase normalizer followed by the Whitespace pre-tokenizer
(regex ``\\w+|[^\\w\\s]+`` with Rust's Unicode classes). Rather than re-deriving Rust's
``\\w``/``\\s`` from Python's (slightly different) Unicode database, we ask `tokenizers`
how it treats every code point and ship the answer as data:

    engine/data/unicode_tables.json

Run:  .venv/bin/python tools/gen_unicode_tables.py
The test suite checks the shipped tables against the installed `tokenizers`.
"""
from __future__ import annotations

import json
from pathlib import Path

from tokenizers import __version__ as tokenizers_version
from tokenizers import normalizers, pre_tokenizers

WORD, PUNCT, SPACE = 1, 0, 2  # PUNCT is the default class, not stored


def all_codepoints() -> list[int]:
    return [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def classify(cps: list[int]) -> dict[int, int]:
    """Class of each code point under the Whitespace pre-tokenizer."""
    ws = pre_tokenizers.Whitespace()
    # " c!" per code point: a word char gives tokens "c", "!"; punctuation merges into "c!";
    # whitespace leaves only "!".
    s = "".join(" " + chr(c) + "!" for c in cps)
    starts = {}
    for tok, (a, b) in ws.pre_tokenize_str(s):
        starts[a] = b - a
    out = {}
    for i, c in enumerate(cps):
        pos = 3 * i + 1
        n = starts.get(pos)
        if n is None:
            out[c] = SPACE
        elif n == 1:
            out[c] = WORD
        else:
            out[c] = PUNCT
    return out


def lowercase(cps: list[int]) -> dict[int, list[int]]:
    lc = normalizers.Lowercase()
    pieces = lc.normalize_str("\n".join(chr(c) for c in cps if c != 0x0A)).split("\n")
    src = [c for c in cps if c != 0x0A]
    assert len(pieces) == len(src)
    return {c: [ord(x) for x in p] for c, p in zip(src, pieces) if p != chr(c)}


def runs(classes: dict[int, int], cls: int) -> list[list[int]]:
    out: list[list[int]] = []
    for c in sorted(k for k, v in classes.items() if v == cls):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def main() -> None:
    cps = all_codepoints()
    classes = classify(cps)
    lower = lowercase(cps)
    data = {
        "generated_by": "tools/gen_unicode_tables.py",
        "tokenizers_version": tokenizers_version,
        "semantics": "Lowercase normalizer + Whitespace pre-tokenizer (\\w+|[^\\w\\s]+)",
        "word_ranges": runs(classes, WORD),
        "space_ranges": runs(classes, SPACE),
        "lowercase": sorted([c, m] for c, m in lower.items()),
    }
    path = Path(__file__).resolve().parents[1] / "engine" / "data" / "unicode_tables.json"
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"wrote {path}: {len(data['word_ranges'])} word ranges, {len(data['space_ranges'])} space "
          f"ranges, {len(lower)} lowercase mappings "
          f"({sum(len(m) > 1 for m in lower.values())} expanding)")


if __name__ == "__main__":
    main()
