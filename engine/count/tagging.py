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
from pathlib import Path

import fsspec
import numpy as np
from numba import njit

from engine.count.counting import arrow_string_buffers
from engine.count.kernels import KNOWN_COLS, TARGET_COLS, _ascii_class, doc_mentions
from engine.lexicon.matcher import CompiledLexicon
from engine.corpus.shards import DocBatch, Reject, ShardRef, compression_of, read_shard
from engine.lexicon.unicode import char_tables
from engine.count.windows import Window

CLASS_NAMES = ("no_gender", "female", "male", "both")
_MODES = {"sentence": 0, "paragraph": 1, "document": 2, "words": 3}


@njit(cache=True, nogil=True)
def _tag_batch(data, offsets, cls, lower, expansions, ht_hash, ht_id, vocab_bytes, vocab_off,
               is_abbrev, trie_next, trie_term, term_kind, term_target, term_gterm, mode, k,
               doc_counts):
    """Mentions [doc, byte start, byte end, target, class] and per-doc counts
    [mentions, female-context, male-context, both-context, female terms, male terms]."""
    known = np.empty((1024, KNOWN_COLS), dtype=np.int64)
    gm = np.empty((64, 6), dtype=np.int64)
    om = np.empty((64, TARGET_COLS), dtype=np.int64)
    enc = np.empty(4, dtype=np.uint8)
    subs = np.empty(3, dtype=np.int64)
    ascii_class = _ascii_class(cls, lower)
    out = np.empty((256, 5), dtype=np.int64)
    n_out = 0
    for d in range(offsets.shape[0] - 1):
        known, _, gm, n_gm, om, n_om = doc_mentions(
            data, offsets[d], offsets[d + 1], cls, lower, expansions, ht_hash, ht_id, vocab_bytes,
            vocab_off, is_abbrev, trie_next, trie_term, term_kind, term_target, term_gterm, known,
            gm, om, enc, subs, ascii_class)
        for q in range(n_gm):
            doc_counts[d, 4 + gm[q, 1]] += 1
        for q in range(n_om):
            f = 0
            m = 0
            for r in range(n_gm):
                if mode == 0:
                    inside = gm[r, 4] == om[q, 3]
                elif mode == 1:
                    inside = gm[r, 5] == om[q, 4]
                elif mode == 2:
                    inside = True
                else:
                    inside = gm[r, 3] >= om[q, 1] - k and gm[r, 2] <= om[q, 2] + k
                if inside:
                    if gm[r, 1] == 1:
                        m += 1
                    else:
                        f += 1
            c = (1 if f > 0 else 0) + (2 if m > 0 else 0)
            if n_out == out.shape[0]:
                bigger = np.empty((2 * n_out, 5), dtype=np.int64)
                bigger[:n_out] = out
                out = bigger
            out[n_out, 0] = d
            out[n_out, 1] = om[q, 5] - offsets[d]
            out[n_out, 2] = om[q, 6] - offsets[d]
            out[n_out, 3] = om[q, 0]
            out[n_out, 4] = c
            n_out += 1
            doc_counts[d, 0] += 1
            if c > 0:
                doc_counts[d, c] += 1
    return out[:n_out]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def tag_batch(batch: DocBatch, compiled: CompiledLexicon, window: Window, name: str) -> list[dict]:
    """Dolma attribute rows for the documents of one batch."""
    data, offsets = arrow_string_buffers(batch.text)
    counts = np.zeros((len(batch.text), 6), dtype=np.int64)
    t = char_tables()
    c = compiled
    mentions = _tag_batch(data, offsets, t.cls, t.lower, t.expansions, c.ht_hash, c.ht_id,
                          c.vocab_bytes, c.vocab_off, c.is_abbrev, c.trie_next, c.trie_term,
                          c.term_kind, c.term_target, c.term_gterm, _MODES[window.kind],
                          window.k or 0, counts)
    ids = batch.id.to_pylist()
    sources = batch.source.to_pylist()
    by_doc: dict[int, list] = {}
    for d, bs, be, target, cl in mentions.tolist():
        by_doc.setdefault(d, []).append((bs, be, target, cl))
    rows = []
    for d in range(len(ids)):
        a, b = int(offsets[d]), int(offsets[d + 1])
        raw = data[a:b].tobytes()
        ascii_only = raw.isascii()
        n_chars = b - a if ascii_only else len(raw.decode("utf-8"))
        attrs = {f"{name}__{cn}_context": [] for cn in CLASS_NAMES}
        for bs, be, target, cl in by_doc.get(d, []):
            s, e = (bs, be) if ascii_only else (len(raw[:bs].decode("utf-8")),
                                                len(raw[:be].decode("utf-8")))
            attrs[f"{name}__{CLASS_NAMES[cl]}_context"].append([s, e, 1.0])
            attrs.setdefault(f"{name}__occ__{_slug(c.target_names[target])}", []).append(
                [s, e, float(cl)])
        for j, key in enumerate(("mentions", "female_context_mentions", "male_context_mentions",
                                 "both_context_mentions", "female_terms", "male_terms")):
            attrs[f"{name}__{key}"] = [[0, n_chars, int(counts[d, j])]]
        rows.append({"id": ids[d], "source": sources[d], "attributes": attrs})
    return rows


def tag_shard(shard: ShardRef, out_root: str, compiled: CompiledLexicon, window: Window,
              name: str) -> tuple[int, int]:
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
                for row, attrs in zip(item.rows.tolist(), tag_batch(item, compiled, window, name)):
                    pending[row] = json.dumps(attrs, ensure_ascii=False) + "\n"
                    docs += 1
            flush()
        flush()
        if out is not raw:
            out.close()
    fs.mv(tmp, final)
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

    def mask(self, shard: ShardRef) -> np.ndarray:
        """bool per row of the shard: True when the document passes."""
        path = f"{self.root.rstrip('/')}/{shard.rel}"
        values = []
        with fsspec.open(path, "rb", compression="infer") as f:
            for line in f:
                if not line.strip():
                    continue
                attrs = (json.loads(line).get("attributes") or {})
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
