"""Classify texts (model generations) with the same lexicon and kernels as the corpus.

Each text is one context. ``group_counts`` gives, per text, the mentions of every group column
of the lexicon (``compiled.group_columns``: (axis, group) pairs) found by the numba
tokenizer/matcher (engine.count.kernels.doc_mentions), exactly as in a corpus document, case
rules included. Per axis a text is then ``none`` (no group), the one group present, or
``multi`` (two or more groups); for the binary gender axis the classes are ``female``,
``male``, ``both`` and ``none`` as in the study.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from engine.count.counting import arrow_string_buffers, kernel_chars
from engine.count.kernels import group_counts_batch
from engine.lexicon.matcher import CompiledLexicon

CLASSES = ("none", "female", "male", "both")


def group_counts(texts: pa.Array, compiled: CompiledLexicon) -> np.ndarray:
    """int64[n_texts, n_columns]: mentions of each group column in each text (nulls = empty)."""
    texts = texts.fill_null("") if texts.null_count else texts
    data, offsets = arrow_string_buffers(texts)
    out = np.zeros((len(texts), max(compiled.n_columns, 1)), dtype=np.int64)
    group_counts_batch(data, offsets, kernel_chars(), compiled.tables, out)
    return out[:, :compiled.n_columns]


def axis_classes(counts: np.ndarray, compiled: CompiledLexicon, axis: str) -> np.ndarray:
    """Per text, the axis's class: the group name present alone, 'multi' or 'none'."""
    cols = compiled.columns_of_axis(axis)
    if not cols:
        raise KeyError(f"lexicon {compiled.lexicon_name!r} has no axis {axis!r}")
    sub = counts[:, cols] > 0
    n = sub.sum(axis=1)
    names = np.array([compiled.group_columns[c][1] for c in cols], dtype=object)
    out = np.where(n == 0, "none", np.where(n >= 2, "multi", names[sub.argmax(axis=1)]))
    return out.astype(object)


def gender_counts(texts: pa.Array, compiled: CompiledLexicon) -> np.ndarray:
    """int64[n, 2]: female- and male-term mentions in each text (the binary gender axis)."""
    if compiled.gender_axis < 0:
        raise KeyError(f"lexicon {compiled.lexicon_name!r} has no binary gender axis")
    cols = compiled.columns_of_axis(compiled.axis_names[compiled.gender_axis])
    return group_counts(texts, compiled)[:, cols]


def classify(counts: np.ndarray) -> np.ndarray:
    f = counts[:, 0] > 0
    m = counts[:, 1] > 0
    return np.array(CLASSES, dtype=object)[f * 1 + m * 2]
