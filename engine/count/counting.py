"""Per-shard counting: Arrow batches -> numba kernels -> accumulators -> Arrow tables.

``ShardCounter`` owns the accumulators of one unit of work (a shard, a Spark partition, any set
of batches); ``count_shard`` streams a shard through it; ``reduce_tables`` combines partial tables
into final ones. All counts are integers and every table is sorted by its key (engine.count.
tables), so results are byte-identical whatever the partitioning or the order of partials.

Accumulators (engine.count.kernels hash maps, keyed by source id and a packed key):
    unit   (s, window, target)            -> units, then B replicate units
    axis   (s, window, target, axis)      -> units where the axis has >= 1 group, >= 2 groups
    group  (s, window, target, column)    -> units_with, units_only, mentions, B with, B only
    term   (s, window, target, gterm)     -> term_count, units_with_term (binary gender axis)
    repr   (s, kind << 56 | id)           -> documents, mentions (labels, columns, axes)
    ctx    (reservoir kind, key)          -> bottom-K sampled mentions (the contexts table)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from engine import __version__
from engine.corpus.shards import DocBatch, Reject, ShardRef, read_shard
from engine.corpus.jsonscan import count_newlines
from engine.corpus.unaligned import HIGH, load8, spread, store8
from engine.count import kernels as K
from engine.count import tables as TB
from engine.count.bootstrap import POISSON_CDF
from engine.count.config import SEMANTICS_VERSION, CountConfig
from engine.lexicon.unicode import char_tables

_PAIR_GATES_MAX = 1 << 22  # (target, column) contexts gates kept as a dense array up to this
SNIPPET_CHARS = 80  # characters of context kept on each side of a sampled mention
_NO_BYTES = np.zeros(0, dtype=np.uint8)
_U1, _U7, _U56 = np.uint64(1), np.uint64(7), np.uint64(56)
_ONES = spread(1)  # x * _ONES >> 56: the sum of x's bytes (each 0 or 1 here)
_NEWLINE = np.frombuffer(" \u23ce ".encode(), dtype=np.uint8)  # a newline in a context


@njit(cache=True, nogil=True)
def _matching_rows(a_kind, a_key, a_prio, f_kind, f_key, f_prio):
    """Rows of the extracted contexts (f_*) whose (kind, key, priority) a kept reservoir entry
    (a_*) has, each repeated once per such entry, in extraction order: the inner join of the
    two on those three columns (kept entries are few, extracted rows a few times more)."""
    order = np.argsort(a_prio, kind="mergesort")
    ap = a_prio[order]
    out = np.empty(f_prio.shape[0], np.int64)
    n = 0
    for i in range(f_prio.shape[0]):
        j = np.searchsorted(ap, f_prio[i])
        while j < ap.shape[0] and ap[j] == f_prio[i]:
            x = order[j]
            if a_kind[x] == f_kind[i] and a_key[x] == f_key[i]:
                if n == out.shape[0]:  # kept entries with the same triple: repeated rows
                    grown = np.empty(2 * n + 1, np.int64)
                    grown[:n] = out
                    out = grown
                out[n] = i
                n += 1
            j += 1
    return out[:n]


@njit(cache=True, nogil=True, inline="always")
def _chars_between(data, a, b):
    """UTF-8 characters in data[a:b] (0 when b <= a): the bytes that do not continue a
    sequence (10xxxxxx), 8 bytes at a time (a plain loop here did not vectorise: 1.5x slower,
    2026-11-26)."""
    n = 0
    while a + 8 <= b:
        x = load8(data, a)
        cont = x & ~(x << _U1) & HIGH  # bit 7 of each continuation byte
        n += 8 - np.int64(((cont >> _U7) * _ONES) >> _U56)
        a += 8
    while a < b:
        if (data[a] & 0xC0) != 0x80:
            n += 1
        a += 1
    return n


@njit(cache=True, nogil=True, inline="always")
def _ascii_run(data, a, b):
    """True when data[a:b] is all ASCII (b - a a multiple of 8), 8 bytes at a time."""
    x = np.uint64(0)
    while a < b:
        x |= load8(data, a)
        a += 8
    return (x & HIGH) == np.uint64(0)


@njit(cache=True, nogil=True)
def _snippet_ranges(data, offsets, d, bs, be, chars):
    """Per entry: where its left context starts and its right context ends (at most ``chars``
    characters within ``4 * chars`` bytes of the match, cut at character boundaries), and the
    character offset and length of the match in its document (one pass over each document
    that has entries). Text is valid UTF-8: characters are the bytes that do not continue a
    sequence: where the ``chars`` bytes next to the match are all ASCII (most English text),
    they are the ``chars`` characters, found 8 bytes at a time."""
    n = d.shape[0]
    width = 4 * chars
    span = (chars + 7) // 8 * 8  # bytes tested for ASCII, a multiple of 8 (>= chars)
    ls = np.empty(n, np.int64)
    re_ = np.empty(n, np.int64)
    cs = np.empty(n, np.int64)
    cl = np.empty(n, np.int64)
    order = np.argsort(d * (np.int64(1) << 40) + bs)
    cur_d = -1
    pos = 0
    n_chars = 0
    for i in order:
        doc = d[i]
        start = offsets[doc]
        end = offsets[doc + 1]
        if doc != cur_d:
            cur_d = doc
            pos = start
            n_chars = 0
        n_chars += _chars_between(data, pos, bs[i])
        pos = max(pos, bs[i])
        cs[i] = n_chars
        cl[i] = _chars_between(data, bs[i], be[i])
        if bs[i] - span >= start and _ascii_run(data, bs[i] - span, bs[i]):
            ls[i] = bs[i] - chars  # chars ASCII bytes: chars characters (width >= chars)
        else:
            ls[i] = _back_chars(data, start, bs[i], chars, width)
        if be[i] + span <= end and _ascii_run(data, be[i], be[i] + span):
            re_[i] = be[i] + chars
        else:
            re_[i] = _forward_chars(data, be[i], end, chars, width)
    return ls, re_, cs, cl


@njit(cache=True, nogil=True)
def _back_chars(data, start, a, chars, width):
    """Where the (at most) ``chars`` characters before byte a start, within ``width`` bytes of
    it and not before the document's ``start`` (that limit moved past continuation bytes)."""
    lim = max(start, a - width)
    while lim < a and (data[lim] & 0xC0) == 0x80:
        lim += 1
    k = 0
    while a > lim and k < chars:  # back one character at a time
        a -= 1
        while a > lim and (data[a] & 0xC0) == 0x80:
            a -= 1
        k += 1
    return a


@njit(cache=True, nogil=True)
def _forward_chars(data, b, end, chars, width):
    """Where the (at most) ``chars`` characters from byte b end, within ``width`` bytes of it
    and not past the document's ``end`` (that limit moved back to a character's first byte when
    it is inside the document)."""
    lim = min(end, b + width)
    while lim > b and lim < end and (data[lim] & 0xC0) == 0x80:
        lim -= 1
    k = 0
    while b < lim and k < chars:
        b += 1
        while b < lim and (data[b] & 0xC0) == 0x80:
            b += 1
        k += 1
    return b


@njit(cache=True, nogil=True)
def _gather(data, a, b, newline):
    """The byte ranges data[a[i]:b[i]] concatenated, with int32 Arrow offsets; every newline
    byte written as the bytes ``newline`` instead (empty: kept as it is)."""
    extra = newline.shape[0] - 1 if newline.shape[0] else 0
    off = np.zeros(a.shape[0] + 1, np.int32)
    plain = np.ones(a.shape[0], np.bool_)  # no newline to replace: one slice copy
    for i in range(a.shape[0]):
        n = b[i] - a[i]
        if extra:
            nl = count_newlines(data[a[i]:b[i]], b[i] - a[i])
            n += extra * nl
            plain[i] = nl == 0
        off[i + 1] = off[i] + n
    buf = np.empty(off[-1] + 8, np.uint8)  # + 8: a word copied whole may pass the end
    limit = data.shape[0] - 8
    for i in range(a.shape[0]):
        if plain[i]:  # 8 bytes at a time; bytes past b[i] are overwritten by the next range
            o = off[i]
            x = a[i]
            while x < b[i] and x <= limit:
                store8(buf, o, load8(data, x))
                x += 8
                o += 8
            while x < b[i]:
                buf[o] = data[x]
                x += 1
                o += 1
            continue
        o = off[i]
        for x in range(a[i], b[i]):
            c = data[x]
            if c == 10:
                for y in range(newline.shape[0]):
                    buf[o] = newline[y]
                    o += 1
            else:
                buf[o] = c
                o += 1
    return buf[:off[-1]], off


def arrow_string_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Zero-copy (data bytes, int64 offsets) views of a string / large_string Arrow array."""
    if arr.null_count:
        raise ValueError("text column must not contain nulls")
    if pa.types.is_string(arr.type):
        odt = np.int32
    elif pa.types.is_large_string(arr.type):
        odt = np.int64
    else:
        raise TypeError(f"expected a string array, got {arr.type}")
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=odt)[arr.offset: arr.offset + len(arr) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else _NO_BYTES
    return data, offsets.astype(np.int64)


_CHARS = None


def kernel_chars() -> K.CharArrays:
    global _CHARS
    if _CHARS is None:
        _CHARS = K.char_arrays(char_tables())
    return _CHARS


@lru_cache(maxsize=256)
def _dictionary(names: tuple[str, ...]) -> pa.Array:
    return pa.array(list(names), pa.string())


def _strings(names, idx: np.ndarray) -> pa.Array:
    """names[idx] as an Arrow string array (a take from the names as one Arrow array, kept
    across calls: no Python object per row; a third of the time of building a dictionary
    array each call and casting it, which a small shard's tables did 34 times)."""
    return _dictionary(tuple(names)).take(np.asarray(idx, dtype=np.int64))


def _map_rows(m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source ids, packed keys, values) of the used slots of a kernel map."""
    keys, vals, _ = m
    used = keys[:, 0] >= 0
    return keys[used, 0], keys[used, 1], vals[used]


@dataclass
class ShardCounter:
    """Accumulators for one unit of work (a shard, a Spark partition, any set of batches)."""

    config: CountConfig
    shard: str = ""  # shard name recorded in the contexts and shards tables
    sources: dict[str, int] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    filtered_out: int = 0  # documents excluded by attribute filters

    def __post_init__(self) -> None:
        cfg = self.config
        c = cfg.compiled
        T = c.tables
        B = cfg.bootstrap
        self.maps = (K.new_map(256, 1 + B), K.new_map(64, 2), K.new_map(256, 3 + 2 * B),
                     K.new_map(64, 2))
        self.m_repr = K.new_map(256, 2)
        self.K = cfg.contexts
        self.m_ctx = K.new_map(64 if self.K else 2, K.CTX_PRIO + 5 * self.K)
        # contexts gates (kernels._offer_contexts): targets, group columns, then one per
        # (target, column) pair while that stays small (a 6,778 x 67 lexicon: 3.6 MB)
        n_gates = c.n_targets + c.n_columns
        if self.K and c.n_targets * c.n_columns <= _PAIR_GATES_MAX:
            n_gates += c.n_targets * c.n_columns
        self.ctx_gate = np.full(max(1, n_gates), np.iinfo(np.int64).max, dtype=np.int64)
        self.doc_stats = np.zeros((0, 3), dtype=np.int64)
        self.S = K.scratch(T.n_cols, T.n_axes, T.n_gterms, T.n_labels, T.n_targets)
        windows = cfg.windows
        self.W = self._window_arrays([i for i, w in enumerate(windows) if w.kind != "tokens"])
        self.TW = self._window_arrays([i for i, w in enumerate(windows) if w.kind == "tokens"])
        cw = cfg.context_window
        self.ctx_w = [i for i, w in enumerate(windows) if w.kind != "tokens"].index(
            windows.index(cw)) if cw is not None else -1
        self.batch_no = 0
        self._ctx_chunks: list[pa.Table] = []  # text of reservoir entries, per batch
        self._ctx_rows = 0

    def _window_arrays(self, idx: list[int]) -> K.WindowArrays:
        ws = self.config.windows
        return K.WindowArrays(np.array([ws[i].code for i in idx], dtype=np.int64),
                              np.array([ws[i].k or 0 for i in idx], dtype=np.int64),
                              np.array(idx, dtype=np.int64))

    def _source_ids(self, names: list[str]) -> np.ndarray:
        for n in names:
            if n not in self.sources:
                self.sources[n] = len(self.sources)
        if len(self.sources) > self.doc_stats.shape[0]:
            grow = len(self.sources) - self.doc_stats.shape[0]
            self.doc_stats = np.concatenate([self.doc_stats, np.zeros((grow, 3), np.int64)])
        return np.array([self.sources[n] for n in names], dtype=np.int32)

    @property
    def documents(self) -> int:
        return int(self.doc_stats[:, 0].sum())

    def add_texts(self, text: pa.Array, source: pa.Array, ids: pa.Array | None = None,
                  rows: np.ndarray | None = None) -> None:
        """Count a batch of documents (text and source: string arrays without nulls)."""
        if len(text) == 0:
            return
        if ids is None:
            ids = pa.nulls(len(text), pa.string())
        ids = ids.fill_null("") if ids.null_count else ids
        if pa.types.is_large_string(ids.type):
            ids = ids.cast(pa.string())
        id_data, id_offsets = arrow_string_buffers(ids)
        enc = pc.dictionary_encode(source)
        src_ids = self._source_ids([str(s) for s in enc.dictionary.to_pylist()])
        doc_src = src_ids[enc.indices.to_numpy(zero_copy_only=False)].astype(np.int32)
        data, offsets = arrow_string_buffers(text)
        cfg = self.config
        T = cfg.compiled.tables
        self.batch_no += 1
        self.maps, self.m_repr, self.m_ctx, self.S = K.count_batch(
            data, offsets, doc_src, id_data, id_offsets, kernel_chars(), T, self.W, self.maps,
            self.m_repr, self.m_ctx, self.ctx_gate, self.doc_stats, POISSON_CDF, cfg.bootstrap,
            self.K,
            self.ctx_w, self.batch_no, self.S)
        if self.K:
            self._extract_contexts(data, offsets, ids, source, rows)
        if self.TW.kind.size:
            from engine.count.model_tokens import count_token_windows

            self.maps, self.S = count_token_windows(self, text, doc_src, id_data, id_offsets)

    def add(self, item: DocBatch | Reject) -> None:
        if isinstance(item, Reject):
            self.rejects.append(item)
        else:
            self.add_texts(item.text, item.source, item.id, item.rows)

    # ---- contexts: turn the reservoir entries of this batch into text ----------------------
    def _extract_contexts(self, data, offsets, ids, source, rows) -> None:
        """Text of the reservoir entries this batch put in (vectorised: numba for the byte
        ranges and character offsets, Arrow for the strings)."""
        keys, vals, _ = self.m_ctx
        k = self.K
        P = K.CTX_PRIO
        used = np.nonzero(keys[:, 0] >= 0)[0]
        if used.size == 0:
            return
        filled = vals[used, K.CTX_FILLED]
        batch = vals[used, P + k: P + 2 * k]
        hit, r = np.nonzero((batch == self.batch_no) & (np.arange(k)[None, :] < filled[:, None]))
        if hit.size == 0:
            return
        slot = used[hit]
        d = vals[slot, P + 2 * k + r]
        bs = vals[slot, P + 3 * k + r]
        be = vals[slot, P + 4 * k + r]
        ls, re_, char_start, char_len = _snippet_ranges(data, offsets, d, bs, be,
                                                        SNIPPET_CHARS)

        def strings(a, b, newline=_NO_BYTES):
            buf, off = _gather(data, a, b, newline)
            return pa.StringArray.from_buffers(len(a), pa.py_buffer(off), pa.py_buffer(buf))

        d_idx = pa.array(d)
        chunk = pa.table({
            "kind": keys[slot, 0], "key": keys[slot, 1], "priority": vals[slot, P + r],
            "doc_id": ids.take(d_idx), "source": source.take(d_idx),
            "row": rows[d] if rows is not None else np.full(len(d), -1, np.int64),
            "char_start": char_start, "char_end": char_start + char_len,
            "left_context": strings(ls, bs, _NEWLINE), "matched": strings(bs, be),
            "right_context": strings(be, re_, _NEWLINE)})
        self._ctx_chunks.append(chunk)
        self._ctx_rows += chunk.num_rows
        if self._ctx_rows > 4 * max(1, int(filled.sum())) + 100_000:
            self._ctx_chunks = [self._ctx_survivors()]  # drop rows replaced since
            self._ctx_rows = self._ctx_chunks[0].num_rows

    def _ctx_survivors(self) -> pa.Table:
        keys, vals, _ = self.m_ctx
        k = self.K
        used = np.nonzero(keys[:, 0] >= 0)[0]
        filled = vals[used, K.CTX_FILLED]
        slot_i, r = np.nonzero(np.arange(k)[None, :] < filled[:, None])
        slot = used[slot_i]
        alive = pa.table({"kind": keys[slot, 0], "key": keys[slot, 1],
                          "priority": vals[slot, K.CTX_PRIO + r]})
        found = pa.concat_tables(self._ctx_chunks) if self._ctx_chunks else None
        if found is None or alive.num_rows == 0:
            return (found or alive).slice(0, 0) if found is not None else alive
        if found.num_rows == alive.num_rows:
            # each kept entry's text was extracted once, in the batch that put it in, so found
            # holds every kept entry; as many rows means none was replaced since (the common
            # case of a shard that is one batch)
            return found
        col = lambda t, name: t[name].to_numpy()  # noqa: E731
        rows = _matching_rows(col(alive, "kind"), col(alive, "key"), col(alive, "priority"),
                              col(found, "kind"), col(found, "key"), col(found, "priority"))
        return found.take(pa.array(rows))

    # ---- results as Arrow tables -----------------------------------------------------------
    def _names(self):
        src = np.array(sorted(self.sources, key=self.sources.get), dtype=object)
        return src if len(src) else np.array([""], dtype=object)

    def _wcols(self, w: np.ndarray) -> dict:
        ws = self.config.windows
        kk = np.array([x.k if x.k is not None else -1 for x in ws], dtype=np.int32)[w]
        return {"window_label": _strings([x.label for x in ws], w),
                "window_kind": _strings([x.kind for x in ws], w),
                "window_k": pa.array(kk, pa.int32(), mask=kk < 0)}

    def _src(self, s: np.ndarray) -> pa.Array:
        return _strings(self._names(), s)

    def _table(self, spec: TB.TableSpec, cols: dict) -> pa.Table:
        return pa.table(cols, schema=spec.schema)

    def table(self, name: str) -> pa.Table:
        """One output table (engine.count.tables) for this unit of work."""
        return self.tables()[TB.spec(name).name]

    def tables(self, sort: bool = True) -> dict[str, pa.Table]:
        """Every table this configuration produces, for this unit of work; ``sort=False`` leaves
        rows in the accumulators' (deterministic) order, for partial tables that reduce_tables
        sorts anyway (sorting the bootstrap tables of every shard cost a third of a run)."""
        out = self._tables()
        if sort:
            out = {name: TB.sort_table(t, TB.spec(name).key) for name, t in out.items()}
        return out

    def _tables(self) -> dict[str, pa.Table]:
        cfg = self.config
        c = cfg.compiled
        T = c.tables
        B = cfg.bootstrap
        m_unit, m_axis, m_group, m_term = self.maps
        axes = np.array(c.axis_names, dtype=object)
        col_axis = T.col_axis
        group_names = [g for _, g in c.group_columns]
        out: dict[str, pa.Table] = {}

        us, up, uv = _map_rows(m_unit)
        uw, ut = up >> K.SHIFT_WINDOW, (up >> K.SHIFT_TARGET) & 0xFFFFFFFF

        # target_units: every unit key x every axis
        na = len(c.axis_names)
        rs, rp = np.repeat(us, na), np.repeat(up, na)
        ra = np.tile(np.arange(na, dtype=np.int64), len(us))
        slots = K.map_lookup(m_axis, rs, rp | ra)
        anyv = np.where(slots >= 0, m_axis[1][np.maximum(slots, 0), K.AXIS_ANY], 0)
        multi = np.where(slots >= 0, m_axis[1][np.maximum(slots, 0), K.AXIS_MULTI], 0)
        units = np.repeat(uv[:, K.UNIT_UNITS], na)
        out["target_units"] = self._table(TB.TARGET_UNITS, {
            "source": self._src(rs), **self._wcols(rp >> K.SHIFT_WINDOW),
            "axis": _strings(axes, ra), "target": _strings(c.target_names, (rp >> K.SHIFT_TARGET) & 0xFFFFFFFF),
            "units": units, "units_none": units - anyv, "units_multi": multi})

        gs, gp, gv = _map_rows(m_group)
        gw, gt, gc = gp >> K.SHIFT_WINDOW, (gp >> K.SHIFT_TARGET) & 0xFFFFFFFF, gp & (K.MAX_X - 1)
        out["group_cooccurrence"] = self._table(TB.GROUP_COOCCURRENCE, {
            "source": self._src(gs), **self._wcols(gw), "axis": _strings(axes, col_axis[gc]),
            "target": _strings(c.target_names, gt), "group_name": _strings(group_names, gc),
            "units_with": gv[:, K.GROUP_WITH], "units_only": gv[:, K.GROUP_ONLY],
            "mentions": gv[:, K.GROUP_MENTIONS]})
        if B:
            rep = np.arange(B, dtype=np.int32)
            out["group_bootstrap"] = self._table(TB.GROUP_BOOTSTRAP, {
                "source": self._src(np.repeat(gs, B)), **self._wcols(np.repeat(gw, B)),
                "axis": _strings(axes, np.repeat(col_axis[gc], B)),
                "target": _strings(c.target_names, np.repeat(gt, B)),
                "group_name": _strings(group_names, np.repeat(gc, B)),
                "replicate": np.tile(rep, len(gs)),
                "units_with": gv[:, 3:3 + B].reshape(-1),
                "units_only": gv[:, 3 + B:3 + 2 * B].reshape(-1)})

        rs_, rk, rv = _map_rows(self.m_repr)
        kind, rid = rk >> K.SHIFT_WINDOW, rk & (K.MAX_X - 1)
        lab = kind == K.REPR_LABEL
        lab_col = T.label_col[rid[lab]]
        out["representation"] = self._table(TB.REPRESENTATION, {
            "source": self._src(rs_[lab]), "axis": _strings(axes, col_axis[lab_col]),
            "group_name": _strings(group_names, lab_col),
            "term": _strings([x.form for x in c.labels], rid[lab]),
            "documents": rv[lab, K.REPR_DOCUMENTS], "mentions": rv[lab, K.REPR_MENTIONS]})
        col = kind == K.REPR_COLUMN
        out["group_documents"] = self._table(TB.GROUP_DOCUMENTS, {
            "source": self._src(rs_[col]), "axis": _strings(axes, col_axis[rid[col]]),
            "group_name": _strings(group_names, rid[col]),
            "documents": rv[col, K.REPR_DOCUMENTS], "mentions": rv[col, K.REPR_MENTIONS]})
        ax = kind == K.REPR_AXIS
        out["axis_documents"] = self._table(TB.AXIS_DOCUMENTS, {
            "source": self._src(rs_[ax]), "axis": _strings(axes, rid[ax]),
            "documents": rv[ax, K.REPR_DOCUMENTS], "mentions": rv[ax, K.REPR_MENTIONS]})

        if c.gender_axis >= 0:
            out.update(self._gender_tables(us, up, uv, uw, ut))
        if self.K:
            out["contexts"] = self._contexts_table()
        out["shards"] = self.shard_table()
        out["rejects"] = self.reject_table()
        return out

    def _gender_tables(self, us, up, uv, uw, ut) -> dict[str, pa.Table]:
        cfg = self.config
        c = cfg.compiled
        B = cfg.bootstrap
        m_unit, m_axis, m_group, m_term = self.maps
        fcol, mcol = c.columns_of_axis(c.axis_names[c.gender_axis])
        fs = K.map_lookup(m_group, us, up | fcol)
        ms = K.map_lookup(m_group, us, up | mcol)
        xs = K.map_lookup(m_axis, us, up | c.gender_axis)
        gv = m_group[1]

        def val(slots, table, col):
            return np.where(slots >= 0, table[np.maximum(slots, 0), col], 0)

        tgt = _strings(c.target_names, ut)
        out = {"cooccurrence": self._table(TB.COOCCURRENCE, {
            "source": self._src(us), **self._wcols(uw), "occupation": tgt,
            "units": uv[:, K.UNIT_UNITS], "male_only": val(ms, gv, K.GROUP_ONLY),
            "female_only": val(fs, gv, K.GROUP_ONLY),
            "female_and_male": val(xs, m_axis[1], K.AXIS_MULTI),
            "male_terms": val(ms, gv, K.GROUP_MENTIONS),
            "female_terms": val(fs, gv, K.GROUP_MENTIONS)})}
        ts, tp, tv = _map_rows(m_term)
        tg = tp & (K.MAX_X - 1)
        out["term_cooccurrence"] = self._table(TB.TERM_COOCCURRENCE, {
            "source": self._src(ts), **self._wcols(tp >> K.SHIFT_WINDOW),
            "occupation": _strings(c.target_names, (tp >> K.SHIFT_TARGET) & 0xFFFFFFFF),
            "gender": _strings([g for g, _ in c.gender_terms], tg),
            "term": _strings([f for _, f in c.gender_terms], tg),
            "term_count": tv[:, K.TERM_COUNT], "units_with_term": tv[:, K.TERM_UNITS]})
        if B:
            def reps(slots, first):
                block = gv[np.maximum(slots, 0), first:first + B]
                return np.where((slots >= 0)[:, None], block, 0).reshape(-1)

            out["bootstrap"] = self._table(TB.BOOTSTRAP, {
                "source": self._src(np.repeat(us, B)), **self._wcols(np.repeat(uw, B)),
                "occupation": _strings(c.target_names, np.repeat(ut, B)),
                "replicate": np.tile(np.arange(B, dtype=np.int32), len(us)),
                "units": uv[:, 1:1 + B].reshape(-1),
                "female_only": reps(fs, 3 + B), "male_only": reps(ms, 3 + B)})
        return out

    def _contexts_table(self) -> pa.Table:
        c = self.config.compiled
        t = self._ctx_survivors()
        if t.num_rows == 0 or "doc_id" not in t.column_names:
            return TB.CONTEXTS.empty()
        kind = t["kind"].to_numpy()
        key = t["key"].to_numpy()
        target = np.where(kind == K.CTX_TARGET, key,
                          np.where(kind == K.CTX_PAIR, key >> K.SHIFT_TARGET, -1))
        col = np.where(kind == K.CTX_GROUP, key,
                       np.where(kind == K.CTX_PAIR, key & (K.MAX_X - 1), -1))
        targets = [""] + list(c.target_names)
        axes = [""] + [a for a, _ in c.group_columns]
        groups = [""] + [g for _, g in c.group_columns]
        cols = {
            "key_kind": _strings(["target", "group", "pair"], kind),
            "target": _strings(targets, target + 1),
            "axis": _strings(axes, col + 1), "group_name": _strings(groups, col + 1),
            "priority": t["priority"].cast(pa.uint64()),
            "doc_id": t["doc_id"], "source": t["source"],
            "shard": pa.repeat(pa.scalar(self.shard, pa.string()), t.num_rows),
            "row": t["row"], "char_start": t["char_start"], "char_end": t["char_end"],
            "left_context": t["left_context"], "matched": t["matched"],
            "right_context": t["right_context"]}
        return self._table(TB.CONTEXTS, cols)

    def shard_table(self, shard: str | None = None) -> pa.Table:
        shard = self.shard if shard is None else shard
        rej: dict[str, int] = {}
        for r in self.rejects:
            rej[r.source] = rej.get(r.source, 0) + 1
        names = sorted(set(self.sources) | set(rej))
        rows = {"shard": [], "source": [], "documents": [], "bytes": [], "words": [], "rejects": []}
        for n in names:
            i = self.sources.get(n)
            ds = self.doc_stats[i] if i is not None else np.zeros(3, np.int64)
            rows["shard"].append(shard)
            rows["source"].append(n)
            for j, key in enumerate(("documents", "bytes", "words")):
                rows[key].append(int(ds[j]))
            rows["rejects"].append(rej.get(n, 0))
        return self._table(TB.SHARDS, rows)

    def reject_table(self) -> pa.Table:
        rs = self.rejects
        return self._table(TB.REJECTS, {
            "shard": [r.shard for r in rs], "line": [r.line for r in rs],
            "reason": [r.reason for r in rs], "source": [r.source for r in rs],
            "sample": [r.sample for r in rs]})


def filter_keep(config: CountConfig, shard: ShardRef):
    """The rows of ``shard`` every attribute filter of ``config`` keeps (a boolean array over the
    shard's rows; attribute files are row-aligned with the shard, the Dolma layout), or None
    without filters."""
    keep = None
    for f in config.filters:
        m = f.mask(shard)
        keep = m if keep is None else keep & m
    return keep


def add_filtered(counter: "ShardCounter", item, keep, config: CountConfig) -> None:
    """Count ``item`` (a DocBatch or Reject) into ``counter``, keeping only the documents
    ``keep`` (from filter_keep) passes; documents past the attribute files' rows are a reject."""
    if keep is not None and isinstance(item, DocBatch):
        if item.rows.size and item.rows.max() >= len(keep):
            counter.rejects.append(Reject(
                counter.shard, 0, f"attribute files of {config.filters[0].root} have "
                f"{len(keep)} rows, fewer than the shard; documents past row {len(keep)} "
                "were not counted"))
            ok = item.rows < len(keep)
            item = DocBatch(item.text.filter(ok), item.source.filter(ok), item.first_line,
                            item.id.filter(ok), item.rows[ok])
        mask = keep[item.rows]
        counter.filtered_out += int((~mask).sum())
        item = DocBatch(item.text.filter(mask), item.source.filter(mask), item.first_line,
                        item.id.filter(mask), item.rows[mask])
    counter.add(item)


def count_shard(shard: ShardRef, config: CountConfig, on_bytes=None) -> ShardCounter:
    counter = ShardCounter(config, shard=shard.url)
    keep = filter_keep(config, shard)
    for item in read_shard(shard, config.batch_bytes, on_bytes=on_bytes):
        add_filtered(counter, item, keep, config)
    return counter


# ---- reduction -------------------------------------------------------------------------------
def reduce_tables(name: str, parts: list[pa.Table], contexts: int = 0) -> pa.Table:
    """Combine partial tables of one kind into the final table (deterministic, sorted);
    ``contexts`` is K of the contexts reservoir (bottom_k tables)."""
    spec = TB.spec(name)
    schema = spec.schema
    parts = [p.select(schema.names).cast(schema) for p in parts if p.num_rows]
    if not parts:
        return schema.empty_table()
    table = pa.concat_tables(parts)
    if spec.reduce == "bottom_k":
        return bottom_k(table, spec, contexts)
    if spec.reduce == "concat" or len(parts) == 1:  # one partial table is already reduced
        return TB.sort_table(table, spec.key)
    keys = list(spec.key)
    agg = table.group_by(keys, use_threads=False).aggregate([(v, "sum") for v in spec.values])
    agg = agg.rename_columns([c[:-4] if c.endswith("_sum") else c for c in agg.column_names])
    return TB.sort_table(agg.select(schema.names).cast(schema), spec.key)


@njit(cache=True, nogil=True)
def _bottom_k_candidates(group, priority, k):
    """Rows whose priority is at most the k-th smallest of their group (``group``: codes
    0..n-1): every row a bottom-k of the group can keep, ties included, in one pass with a
    k-slot max-heap per group."""
    n_groups = group.max() + 1 if group.shape[0] else 0
    heap = np.empty((n_groups, k), np.uint64)
    filled = np.zeros(n_groups, np.int64)
    for i in range(group.shape[0]):
        g = group[i]
        p = priority[i]
        h = heap[g]
        n = filled[g]
        if n < k:  # sift up
            j = n
            filled[g] = n + 1
            while j > 0 and h[(j - 1) >> 1] < p:
                h[j] = h[(j - 1) >> 1]
                j = (j - 1) >> 1
            h[j] = p
        elif p < h[0]:  # replace the largest, sift down
            j = 0
            while True:
                c = 2 * j + 1
                if c >= k:
                    break
                if c + 1 < k and h[c + 1] > h[c]:
                    c += 1
                if h[c] <= p:
                    break
                h[j] = h[c]
                j = c
            h[j] = p
    keep = np.empty(group.shape[0], np.bool_)
    for i in range(group.shape[0]):
        g = group[i]
        keep[i] = filled[g] < k or priority[i] <= heap[g, 0]
    return keep


def _dense(codes: np.ndarray) -> np.ndarray:
    """codes renumbered 0..n-1 (n distinct values; first come, first numbered)."""
    return pc.dictionary_encode(pa.array(codes)).indices.to_numpy().astype(np.int64)


def bottom_k(table: pa.Table, spec: TB.TableSpec, k: int) -> pa.Table:
    """Keep, per reservoir key, the rows of smallest priority (ties broken by document).
    A one-pass heap per key first drops every row that cannot be kept (most of them, when many
    shards offer their own k rows for a key), so the full sort and the gather run over the
    candidates only."""
    if table.num_rows == 0:
        return table.select(spec.schema.names).cast(spec.schema)
    group = np.zeros(table.num_rows, np.int64)
    for c in spec.key[:-1]:  # equal values, equal codes (nulls: -1); no Python object per row
        enc = pc.dictionary_encode(table[c].combine_chunks())
        codes = enc.indices.fill_null(-1).to_numpy().astype(np.int64)
        group = _dense(group) if int(group.max()) >= (1 << 62) // (len(enc.dictionary) + 1) \
            else group
        group = group * (len(enc.dictionary) + 1) + codes + 1
    group = _dense(group)
    prio = table[spec.key[-1]].combine_chunks().to_numpy()
    cand = np.nonzero(_bottom_k_candidates(group, prio.astype(np.uint64), k))[0]
    order = list(spec.key) + ["doc_id", "shard", "row", "char_start"]
    sub = table.select(order).take(pa.array(cand))
    idx = pc.sort_indices(sub, sort_keys=[(c, "ascending") for c in order]).to_numpy()
    g = group[cand][idx]
    new = np.ones(len(idx), dtype=bool)
    new[1:] = g[1:] != g[:-1]
    first = np.nonzero(new)[0]
    rank = np.arange(len(idx)) - first[np.cumsum(new) - 1]
    return table.take(pa.array(cand[idx[rank < k]])).select(spec.schema.names).cast(spec.schema)


def engine_versions() -> dict[str, str]:
    import numba
    import tokenizers

    return {"tracebias": __version__, "numba": numba.__version__, "pyarrow": pa.__version__,
            "numpy": np.__version__, "tokenizers": tokenizers.__version__,
            "semantics": str(SEMANTICS_VERSION)}
