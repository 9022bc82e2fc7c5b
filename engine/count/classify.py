"""Classify texts (model generations) with the same lexicon and kernels as the corpus.

Each text is one context: m and f are the numbers of male- and female-term mentions found by
the numba tokenizer/matcher (engine.count.kernels), exactly as in a corpus document. The class is
``female`` (f > 0, m = 0), ``male`` (m > 0, f = 0), ``both`` or ``none``.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
from numba import njit

from engine.count.counting import arrow_string_buffers
from engine.count.kernels import KNOWN_COLS, TARGET_COLS, _ascii_class, doc_mentions
from engine.lexicon.matcher import CompiledLexicon
from engine.lexicon.unicode import char_tables

CLASSES = ("none", "female", "male", "both")


@njit(cache=True, nogil=True)
def _gender_counts(data, offsets, cls, lower, expansions, ht_hash, ht_id, vocab_bytes, vocab_off,
                   is_abbrev, trie_next, trie_term, term_kind, term_target, term_gterm, out):
    known = np.empty((1024, KNOWN_COLS), dtype=np.int64)
    gm = np.empty((64, 6), dtype=np.int64)
    om = np.empty((64, TARGET_COLS), dtype=np.int64)
    enc = np.empty(4, dtype=np.uint8)
    subs = np.empty(3, dtype=np.int64)
    ascii_class = _ascii_class(cls, lower)
    for d in range(offsets.shape[0] - 1):
        known, _, gm, n_gm, om, n_om = doc_mentions(
            data, offsets[d], offsets[d + 1], cls, lower, expansions, ht_hash, ht_id, vocab_bytes,
            vocab_off, is_abbrev, trie_next, trie_term, term_kind, term_target, term_gterm, known,
            gm, om, enc, subs, ascii_class)
        for q in range(n_gm):
            out[d, gm[q, 1]] += 1  # column 0 female, 1 male


def gender_counts(texts: pa.Array, compiled: CompiledLexicon) -> np.ndarray:
    """int64[n, 2]: female- and male-term mentions in each text (nulls count as empty)."""
    texts = texts.fill_null("") if texts.null_count else texts
    data, offsets = arrow_string_buffers(texts)
    out = np.zeros((len(texts), 2), dtype=np.int64)
    t = char_tables()
    c = compiled
    _gender_counts(data, offsets, t.cls, t.lower, t.expansions, c.ht_hash, c.ht_id,
                   c.vocab_bytes, c.vocab_off, c.is_abbrev, c.trie_next, c.trie_term,
                   c.term_kind, c.term_target, c.term_gterm, out)
    return out


def classify(counts: np.ndarray) -> np.ndarray:
    f = counts[:, 0] > 0
    m = counts[:, 1] > 0
    return np.array(CLASSES, dtype=object)[f * 1 + m * 2]
