"""The contexts table's text (left context, match, right context) built by numba equals the
Arrow-compute construction it replaced, on random text with every UTF-8 width and newlines."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.count.counting import _NEWLINE, _gather, _matching_rows, _snippet_ranges

ALPHABET = st.sampled_from(["a", "b", " ", "\n", ".", "é", "ß", "€", "中", "😀", "𝔘"])
# mostly ASCII, as English text is: long ASCII runs next to a match take _snippet_ranges' fast path
ASCII_MOSTLY = st.sampled_from(["a"] * 6 + ["b", " ", " ", "\n", ".", "é", "😀"])


def _reference(doc_texts: list[str], mentions: list[tuple[int, int, int]], chars: int):
    """What the contexts table held before: 4 * chars bytes each side cut at character
    boundaries, then the last / first `chars` characters (pyarrow.compute), newlines marked."""
    left, matched, right, starts, lengths = [], [], [], [], []
    for d, a, b in mentions:
        text = doc_texts[d]
        raw = text.encode()
        bs, be = len(text[:a].encode()), len(text[:b].encode())
        lo = max(0, bs - 4 * chars)
        while lo < bs and (raw[lo] & 0xC0) == 0x80:
            lo += 1
        hi = min(len(raw), be + 4 * chars)
        while hi > be and hi < len(raw) and (raw[hi] & 0xC0) == 0x80:
            hi -= 1
        left.append(raw[lo:bs].decode())
        right.append(raw[be:hi].decode())
        matched.append(text[a:b])
        starts.append(a)
        lengths.append(b - a)
    mark = " \u23ce "
    left = pc.replace_substring(pc.utf8_slice_codeunits(pa.array(left, pa.string()),
                                                        start=-chars), "\n", mark)
    right = pc.replace_substring(pc.utf8_slice_codeunits(pa.array(right, pa.string()),
                                                         start=0, stop=chars), "\n", mark)
    return left.to_pylist(), matched, right.to_pylist(), starts, lengths


def _strings(buf, off):
    return pa.StringArray.from_buffers(len(off) - 1, pa.py_buffer(off), pa.py_buffer(buf))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(ALPHABET, min_size=1, max_size=60), min_size=1, max_size=4),
       st.data(), st.integers(1, 12))
def test_snippets_equal_the_arrow_construction(docs, data, chars):
    _check_snippets(docs, data, chars)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(ASCII_MOSTLY, min_size=30, max_size=200), min_size=1, max_size=3),
       st.data(), st.integers(1, 16))
def test_snippets_in_mostly_ascii_text_equal_the_arrow_construction(docs, data, chars):
    _check_snippets(docs, data, chars)


def _check_snippets(docs, data, chars):
    mentions = []
    for d, text in enumerate(docs):
        for _ in range(data.draw(st.integers(0, 3))):
            a = data.draw(st.integers(0, len(text) - 1))
            b = data.draw(st.integers(a + 1, len(text)))
            mentions.append((d, a, b))
    if not mentions:
        return
    raw = [t.encode() for t in docs]
    offsets = np.cumsum([0] + [len(r) for r in raw]).astype(np.int64)
    buf = np.frombuffer(b"".join(raw), dtype=np.uint8)
    d = np.array([m[0] for m in mentions], np.int64)
    bs = np.array([offsets[m[0]] + len(docs[m[0]][:m[1]].encode()) for m in mentions], np.int64)
    be = np.array([offsets[m[0]] + len(docs[m[0]][:m[2]].encode()) for m in mentions], np.int64)
    ls, re_, cs, cl = _snippet_ranges(buf, offsets, d, bs, be, chars)
    left, matched, right, starts, lengths = _reference(docs, mentions, chars)
    assert _strings(*_gather(buf, ls, bs, _NEWLINE)).to_pylist() == left
    assert _strings(*_gather(buf, bs, be, np.zeros(0, np.uint8))).to_pylist() == matched
    assert _strings(*_gather(buf, be, re_, _NEWLINE)).to_pylist() == right
    assert cs.tolist() == starts and cl.tolist() == lengths



_triples = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(0, 5)),
                    max_size=40)


@settings(max_examples=200, deadline=None)
@given(_triples, _triples)
def test_matching_rows_is_the_inner_join(alive, found):
    """Kept reservoir entries x extracted rows on (kind, key, priority), duplicates included
    (a corpus with repeated documents ties priorities): the same rows as Arrow's inner join."""
    def table(rows, extra=False):
        cols = {n: np.array([r[i] for r in rows], np.int64).reshape(-1)
                for i, n in enumerate(("kind", "key", "priority"))}
        if extra:
            cols["row"] = np.arange(len(rows), dtype=np.int64)
        return pa.table(cols)
    a, f = table(alive), table(found, extra=True)
    got = _matching_rows(*(a[n].to_numpy() for n in ("kind", "key", "priority")),
                         *(f[n].to_numpy() for n in ("kind", "key", "priority")))
    want = a.join(f, ["kind", "key", "priority"], join_type="inner", use_threads=False)
    assert sorted(got.tolist()) == sorted(want["row"].to_pylist())
    assert got.tolist() == sorted(got.tolist())  # in extraction order


_ctx_rows = st.lists(st.tuples(st.sampled_from(["target", "group", "pair"]),
                               st.sampled_from(["nurse", "pilot", ""]),
                               st.sampled_from(["gender", ""]), st.sampled_from(["f", "m", ""]),
                               st.integers(0, 6), st.sampled_from(["d1", "d2"]),
                               st.integers(0, 3)), max_size=60)


@settings(max_examples=200, deadline=None)
@given(_ctx_rows, st.integers(1, 4))
def test_bottom_k_keeps_the_first_k_of_each_key_in_the_full_order(rows, k):
    """The reduction of contexts partials (heap pre-selection, then a sort of the candidates)
    against the plain definition: sort every row by key, priority and document, keep the first
    k of each key. Small domains make priority ties (repeated documents) common."""
    from engine.count import tables as TB
    from engine.count.counting import bottom_k

    spec = TB.spec("contexts")
    cols = {name: [] for name in spec.schema.names}
    for i, (kind, target, axis, grp, prio, doc, row) in enumerate(rows):
        vals = {"key_kind": kind, "target": target, "axis": axis, "group_name": grp,
                "priority": prio, "doc_id": doc, "source": "s", "shard": "x", "row": row,
                "char_start": i % 5, "char_end": i % 5 + 1, "left_context": f"l{i}",
                "matched": "m", "right_context": f"r{i}"}
        for name in cols:
            cols[name].append(vals[name])
    table = pa.table(cols, schema=spec.schema)
    got = bottom_k(table, spec, k)
    order = list(spec.key) + ["doc_id", "shard", "row", "char_start"]
    full = table.take(pc.sort_indices(table, sort_keys=[(c, "ascending") for c in order]))
    keep, seen = [], {}
    for i, r in enumerate(full.select(list(spec.key[:-1])).to_pylist()):
        key = tuple(r.values())
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= k:
            keep.append(i)
    want = full.take(pa.array(keep, pa.int64()))
    assert got.select(order).equals(want.select(order))
    assert sorted(got["left_context"].to_pylist()) == sorted(want["left_context"].to_pylist())
