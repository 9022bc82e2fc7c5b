"""The shipped character tables must equal what `tokenizers` does, code point by code point."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import normalizers, pre_tokenizers
from tokenizers.pre_tokenizers import Whitespace

from engine.lexicon.unicode import PUNCT, SPACE, WORD, char_tables, lowercase, pretokenize

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("gen", ROOT / "tools" / "gen_unicode_tables.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_tables_match_installed_tokenizers():
    gen = _generator()
    cps = gen.all_codepoints()
    classes = gen.classify(cps)
    t = char_tables()
    expected = np.zeros(len(t.cls), dtype=np.uint8)
    for c, k in classes.items():
        expected[c] = {gen.WORD: WORD, gen.PUNCT: PUNCT, gen.SPACE: SPACE}[k]
    mask = np.ones(len(t.cls), dtype=bool)
    mask[0xD800:0xE000] = False  # surrogates never occur in valid UTF-8
    assert np.array_equal(t.cls[mask], expected[mask])
    lower = gen.lowercase(cps)
    for c, mapped in lower.items():
        got = t.lower[c]
        if len(mapped) == 1:
            assert got == mapped[0], hex(c)
        else:
            assert [x for x in t.expansions[-got - 1] if x >= 0] == mapped, hex(c)


def test_pretokenize_matches_tokenizers():
    pre = pre_tokenizers.Whitespace()
    norm = normalizers.Lowercase()
    for text in ["Hello, world!! It's Mr. Smith — “quoted” 3.5 e.g.",
                 "İstanbul ΣΑΣ naïve 😀x", "a\u00a0b\u2028c", "x_y __ 12ab"]:
        ours = [t for t, _ in pretokenize(text)]
        theirs = [t for t, _ in pre.pre_tokenize_str(norm.normalize_str(text))]
        assert ours == theirs
    assert lowercase("ΣΑΣ") == "σασ"  # per code point: no final-sigma rule, like tokenizers


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(max_codepoint=127), max_size=12) | st.sampled_from(
    ["Nurse", "X_y9", "African-American", "Mrs.", " a", "", "İ", "a b"]))
def test_pretokenize_single_word_fast_path_equals_tokenizers(text):
    """Lexicon forms that are one ASCII word skip the general loop: same tokens."""
    theirs = Whitespace().pre_tokenize_str(normalizers.Lowercase().normalize_str(text))
    assert [t for t, _ in pretokenize(text)] == [t for t, _ in theirs]
