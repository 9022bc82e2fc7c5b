"""Dolma attributes for mitigation at the data stage, and attribute filters for counting.

`tracebias tag INPUT... --out attributes/<name>/` writes, for every shard, an attribute file at
the same relative path with the same rows in the same order (Dolma's layout), one JSON object
per document: ``{"id", "source", "attributes": {...}}``. Attributes (character offsets into
``text``; Dolma span format ``[start, end, score]``):

    <name>__female_context / __male_context / __both_context / __no_gender_context
        spans of occupation mentions whose context (default: the sentence) holds only female,
        only male, both or no gender terms (score 1.0)
    <name>__occ__<occupation>   spans of that occupation; score = context class
                                (0 none, 1 female, 2 male, 3 both)
    <name>__mentions, __female_context_mentions, __male_context_mentions,
    <name>__both_context_mentions, __female_terms, __male_terms
        document-level counts as [[0, len(text), count]]
    <name>__<axis>__<group>_context / <name>__<axis>__no_group_context
        for every other axis of a K-group lexicon: spans of target mentions whose window holds
        that group (a mention appears under each group present), or no group of the axis;
        only non-empty lists are written

The gender attributes exist when the lexicon has the binary gender axis (every v1 lexicon).
Every window kind works, model tokens included (``--window tokens:5 --tokenizer FILE``: spans
are the character offsets of the first and last token). The window logic is the counter's
(engine.count.kernels.window_ranges), so a tagged class is exactly the class its unit counts as.

A rejected line keeps its row: ``{"id": null, "attributes": {}, "rejected": reason}``.

Attribute filters restrict counting to documents whose attribute passes a threshold, e.g.
``--filter attributes/toxicity:toxicity<0.5``: the value is the scalar, or the largest span
score of a span list (0 for an empty list); a document without the attribute is excluded.
"""
from __future__ import annotations

import gzip
import json
import operator
import re
import uuid
from dataclasses import dataclass

import fsspec
import numpy as np
from numba import njit

from engine.corpus.shards import DocBatch, Reject, ShardRef, compression_of, read_shard
from engine.count import kernels as K
from engine.count.counting import arrow_string_buffers, kernel_chars
from engine.count.model_tokens import token_mentions
from engine.count.windows import Window
from engine.lexicon.matcher import CompiledLexicon

CLASS_NAMES = ("no_gender", "female", "male", "both")
_TAG_COLS = 5  # [doc, byte start (or first token), byte end (or last token), target, column or -1]


@njit(cache=True, nogil=True)
def _emit(out, n, d, bs, be, t, c):
    if n >= out.shape[0]:
        out = K._grow(out, n + 1)
    out[n, 0] = d
    out[n, 1] = bs
    out[n, 2] = be
    out[n, 3] = t
    out[n, 4] = c
    return out, n + 1


@njit(cache=True, nogil=True)
def _count_columns(gm, n_gm, ent_start, ent_case, ent_col, cols):
    """cols[c] += the mentions of group column c among one document's group mentions."""
    for q in range(n_gm):
        p = gm[q, K.G_PATH]
        for e in range(ent_start[p], ent_start[p + 1]):
            if K.case_ok(ent_case[e], gm[q, K.G_BITS]):
                cols[ent_col[e]] += 1


@njit(cache=True, nogil=True)
def _tag_batch(data, offsets, C, T, kind, k, doc_cols):
    """Rows [doc, byte start, byte end, target, column] per target mention (column -1) and per
    group column present in its window; doc_cols[d, c] += mentions of column c in document d."""
    known = np.empty((1024, K.KNOWN_COLS), dtype=np.int64)
    gm = np.empty((64, K.GM_COLS), dtype=np.int64)
    om = np.empty((64, K.OM_COLS), dtype=np.int64)
    enc = np.empty(4, dtype=np.uint8)
    subs = np.empty(3, dtype=np.int64)
    S = K.scratch_kernel(T)
    ent_start, ent_case, ent_col = T.path_ent_start, T.ent_case, T.ent_col
    out = np.empty((256, _TAG_COLS), dtype=np.int64)
    n = 0
    for d in range(offsets.shape[0] - 1):
        known, _, gm, n_gm, om, n_om = K.doc_mentions(data, offsets[d], offsets[d + 1], C, T,
                                                      known, gm, om, enc, subs)
        _count_columns(gm, n_gm, ent_start, ent_case, ent_col, doc_cols[d])
        S = K.ensure_scratch(S, n_om)
        K.window_ranges(kind, k, om, n_om, gm, n_gm, S)
        lo, hi, touched = S.lo, S.hi, S.touched_col
        for q in range(n_om):
            bs = om[q, K.O_BS] - offsets[d]
            be = om[q, K.O_BE] - offsets[d]
            out, n = _emit(out, n, d, bs, be, om[q, K.O_TARGET], -1)
            n_tc, _, _ = K.collect_groups(lo[q], hi[q], gm, T, S)
            for i in range(n_tc):
                out, n = _emit(out, n, d, bs, be, om[q, K.O_TARGET], touched[i])
    return out[:n]


@njit(cache=True, nogil=True)
def _tag_tokens(ids, offsets, edge_start, edge_tok, edge_child, node_path, node_bits, T, k,
                doc_cols):
    """The same for ±k model-token windows: byte columns hold the first and last token."""
    gm = np.zeros((64, K.GM_COLS), dtype=np.int64)
    om = np.zeros((64, K.OM_COLS), dtype=np.int64)
    S = K.scratch_kernel(T)
    ent_start, ent_case, ent_col = T.path_ent_start, T.ent_case, T.ent_col
    out = np.empty((256, _TAG_COLS), dtype=np.int64)
    n = 0
    for d in range(offsets.shape[0] - 1):
        gm, n_gm, om, n_om = token_mentions(ids, offsets[d], offsets[d + 1], edge_start, edge_tok,
                                            edge_child, node_path, node_bits, T, gm, om)
        _count_columns(gm, n_gm, ent_start, ent_case, ent_col, doc_cols[d])
        S = K.ensure_scratch(S, n_om)
        K.window_ranges(K.WK_POSITIONAL, k, om, n_om, gm, n_gm, S)
        lo, hi, touched = S.lo, S.hi, S.touched_col
        for q in range(n_om):
            first = om[q, K.O_FIRST]
            last = om[q, K.O_LAST]
            out, n = _emit(out, n, d, first, last, om[q, K.O_TARGET], -1)
            n_tc, _, _ = K.collect_groups(lo[q], hi[q], gm, T, S)
            for i in range(n_tc):
                out, n = _emit(out, n, d, first, last, om[q, K.O_TARGET], touched[i])
    return out[:n]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def tag_batch(batch: DocBatch, compiled: CompiledLexicon, window: Window, name: str,
              token_matcher=None) -> list[dict]:
    """Dolma attribute rows for the documents of one batch."""
    c = compiled
    T = c.tables
    texts = batch.text
    data, offsets = arrow_string_buffers(texts)
    doc_cols = np.zeros((len(texts), max(c.n_columns, 1)), dtype=np.int64)
    if window.kind == "tokens":
        ids, tok_offsets, encs = token_matcher.encode(texts.to_pylist())
        rows = _tag_tokens(ids, tok_offsets, token_matcher.edge_start, token_matcher.edge_tok,
                           token_matcher.edge_child, token_matcher.node_path,
                           token_matcher.node_bits, T, window.k, doc_cols)
    else:
        encs = None
        rows = _tag_batch(data, offsets, kernel_chars(), T, window.code, window.k or 0, doc_cols)
    gender = c.axis_names[c.gender_axis] if c.gender_axis >= 0 else None
    gcols = c.columns_of_axis(gender) if gender else []
    by_doc: dict[int, dict] = {}
    for d, a, b, t, col in rows.tolist():
        by_doc.setdefault(d, {}).setdefault((a, b, t), []).append(col)
    ids = batch.id.to_pylist()
    sources = batch.source.to_pylist()
    out = []
    for d in range(len(ids)):
        start, end = int(offsets[d]), int(offsets[d + 1])
        raw = data[start:end].tobytes()
        ascii_only = raw.isascii()
        n_chars = end - start if ascii_only else len(raw.decode("utf-8"))

        def span(a, b):
            if encs is not None:  # token positions -> character offsets from the encoding
                return encs[d].offsets[a][0], encs[d].offsets[b][1]
            if ascii_only:
                return a, b
            return len(raw[:a].decode("utf-8")), len(raw[:b].decode("utf-8"))

        attrs: dict[str, list] = {}
        if gender:
            attrs.update({f"{name}__{cn}_context": [] for cn in CLASS_NAMES})
        n_class = [0, 0, 0, 0]
        mentions = 0
        for (a, b, t), cols in by_doc.get(d, {}).items():
            s, e = span(a, b)
            mentions += 1
            present = set(cols) - {-1}
            if gender:
                cl = (1 if gcols[0] in present else 0) + (2 if gcols[1] in present else 0)
                n_class[cl] += 1
                attrs[f"{name}__{CLASS_NAMES[cl]}_context"].append([s, e, 1.0])
                attrs.setdefault(f"{name}__occ__{_slug(c.target_names[t])}", []).append(
                    [s, e, float(cl)])
            for ai, axis in enumerate(c.axis_names):
                if axis == gender:
                    continue
                axis_cols = [x for x in present if c.group_columns[x][0] == axis]
                if not axis_cols:
                    attrs.setdefault(f"{name}__{_slug(axis)}__no_group_context", []).append(
                        [s, e, 1.0])
                for x in axis_cols:
                    attrs.setdefault(f"{name}__{_slug(axis)}__{_slug(c.group_columns[x][1])}"
                                     "_context", []).append([s, e, 1.0])
        attrs[f"{name}__mentions"] = [[0, n_chars, mentions]]
        if gender:
            for j, key in enumerate(("female_context_mentions", "male_context_mentions",
                                     "both_context_mentions")):
                attrs[f"{name}__{key}"] = [[0, n_chars, n_class[j + 1]]]
            attrs[f"{name}__female_terms"] = [[0, n_chars, int(doc_cols[d, gcols[0]])]]
            attrs[f"{name}__male_terms"] = [[0, n_chars, int(doc_cols[d, gcols[1]])]]
        out.append({"id": ids[d], "source": sources[d], "attributes": attrs})
    return out


def tag_shard(shard: ShardRef, out_root: str, compiled: CompiledLexicon, window: Window,
              name: str, token_matcher=None) -> tuple[int, int]:
    """Write the attribute file of one shard (atomically); return (documents, rejected rows)."""
    fs, root = fsspec.core.url_to_fs(out_root.rstrip("/"))
    final = f"{root}/{shard.rel}"
    parent = final.rsplit("/", 1)[0]
    fs.makedirs(parent, exist_ok=True)
    tmp = f"{parent}/.tmp-{uuid.uuid4().hex}"
    pending: dict[int, str] = {}
    next_row = 0
    docs = rejected = 0
    comp = compression_of(shard.rel)
    try:
        with fs.open(tmp, "wb") as raw:
            out = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if comp == "gzip" else raw
            if comp == "zstd":
                import zstandard

                out = zstandard.ZstdCompressor().stream_writer(raw)

            def flush():
                nonlocal next_row
                while next_row in pending:
                    out.write(pending.pop(next_row).encode("utf-8"))
                    next_row += 1

            for item in read_shard(shard):
                if isinstance(item, Reject):
                    if item.row >= 0:
                        pending[item.row] = json.dumps({"id": None, "attributes": {},
                                                        "rejected": item.reason}) + "\n"
                        rejected += 1
                else:
                    for row, attrs in zip(item.rows.tolist(),
                                          tag_batch(item, compiled, window, name, token_matcher)):
                        pending[row] = json.dumps(attrs, ensure_ascii=False) + "\n"
                        docs += 1
                flush()
            flush()
            if pending:
                raise RuntimeError(f"{shard.rel}: rows {sorted(pending)[:5]} have no predecessor; "
                                   "attribute rows would not align with the documents")
            if out is not raw:
                out.close()
        fs.mv(tmp, final)
    finally:
        if fs.exists(tmp):
            fs.rm(tmp)
    return docs, rejected


# ---- attribute filters for counting --------------------------------------------------------
_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
        "==": operator.eq, "!=": operator.ne}


@dataclass(frozen=True)
class AttributeFilter:
    root: str  # attribute directory (same relative paths as the documents)
    key: str
    op: str
    value: float

    @classmethod
    def parse(cls, spec: str) -> "AttributeFilter":
        m = re.fullmatch(r"(.+):([^:<>=!]+)(<=|>=|==|!=|<|>)([-+0-9.eE]+)", spec.strip())
        if not m:
            raise ValueError(f"bad filter {spec!r}: use ATTR_DIR:KEY<0.5 (ops < <= > >= == !=)")
        return cls(m.group(1), m.group(2), m.group(3), float(m.group(4)))

    def label(self) -> str:
        return f"{self.root}:{self.key}{self.op}{self.value:g}"

    def spec(self) -> str:
        """The text this filter was parsed from (its one serialisation)."""
        return f"{self.root}:{self.key}{self.op}{self.value!r}"

    def check(self, shards=None) -> None:
        """Fail before any work: the attribute folder exists, holds a file for every shard
        (one listing), and its first file has the key."""
        fs, root = fsspec.core.url_to_fs(self.root.rstrip("/"))
        if not fs.isdir(root):
            raise ValueError(f"--filter {self.label()}: attribute folder {self.root} not found")
        files = sorted(fs.find(root))
        if not files:
            raise ValueError(f"--filter {self.label()}: attribute folder {self.root} is empty")
        if shards is not None:
            have = {f[len(root):].lstrip("/") for f in files}
            missing = [s.rel for s in shards if s.rel not in have]
            if missing:
                raise ValueError(f"--filter {self.label()}: no attribute file for "
                                 f"{len(missing)} shard(s), e.g. {self.root.rstrip('/')}/"
                                 f"{missing[0]}")
        keys: set[str] = set()
        with fs.open(files[0], "rb", compression="infer") as f:
            for i, line in enumerate(f):
                if i >= 1000:
                    break
                try:
                    keys |= set((json.loads(line).get("attributes") or {}))
                except (ValueError, AttributeError):
                    continue
        if self.key not in keys:
            import difflib

            close = difflib.get_close_matches(self.key, sorted(keys), n=3)
            raise ValueError(f"--filter {self.label()}: attribute {self.key!r} is not in "
                             f"{files[0]}" + (f"; did you mean {', '.join(map(repr, close))}?"
                                              if close else f" (it has: "
                                              f"{', '.join(sorted(keys)[:8]) or 'no attributes'})"))

    def mask(self, shard: ShardRef) -> np.ndarray:
        """bool per row of the shard: True when the document passes."""
        path = f"{self.root.rstrip('/')}/{shard.rel}"
        values = []
        with fsspec.open(path, "rb", compression="infer") as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    attrs = (json.loads(line).get("attributes") or {})
                except (ValueError, AttributeError):
                    attrs = {}  # an unreadable attribute row: the document does not pass
                values.append(_attribute_value(attrs.get(self.key)))
        v = np.array(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return _OPS[self.op](v, self.value) & ~np.isnan(v)


def _attribute_value(v) -> float:
    if v is None:
        return float("nan")
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, list):
        scores = [s[2] for s in v if isinstance(s, list) and len(s) >= 3]
        return float(max(scores)) if scores else 0.0
    return float("nan")
