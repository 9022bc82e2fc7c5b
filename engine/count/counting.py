"""Per-shard counting: Arrow batches -> numba kernel -> accumulators -> Arrow tables.

``ShardCounter`` owns the accumulators of one shard; ``count_shard`` streams a shard through it.
``reduce_tables`` sums partial tables (from shards, workers, Spark tasks) into the final ones.
All counts are integers and every table is sorted by its keys, so results are byte-identical
whatever the partitioning or the order in which partials arrive.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine import __version__
from engine.count.kernels import COOC_STATS, DOC_STATS, TERM_STATS, count_batch
from engine.lexicon import Lexicon
from engine.lexicon.matcher import DEFAULT_ABBREVIATIONS, CompiledLexicon, compile_lexicon
from engine.count.bootstrap import POISSON_CDF
from engine.run.output import BOOT_SCHEMA, COOC_SCHEMA, REJECT_SCHEMA, SHARD_SCHEMA, TERM_SCHEMA
from engine.corpus.shards import DEFAULT_BATCH_BYTES, DocBatch, Reject, ShardRef, read_shard
from engine.lexicon.unicode import char_tables
from engine.count.windows import DEFAULT_WINDOWS, Window, normalize_windows

# Bump when the meaning of a count changes; part of the resume fingerprint.
SEMANTICS_VERSION = 1


@dataclass(frozen=True)
class CountConfig:
    lexicon: Lexicon
    windows: tuple[Window, ...] = DEFAULT_WINDOWS
    abbreviations: tuple[str, ...] = DEFAULT_ABBREVIATIONS
    batch_bytes: int = DEFAULT_BATCH_BYTES
    bootstrap: int = 0  # replicates B of the document-level Poisson bootstrap (0 = off)
    filters: tuple = ()  # engine.count.tagging.AttributeFilter: count only documents that pass all
    tokenizer: str | None = None  # tokenizer.json for tokens:k windows (engine.count.model_tokens)

    def __post_init__(self) -> None:
        object.__setattr__(self, "windows", normalize_windows(self.windows))
        if self.bootstrap < 0:
            raise ValueError("bootstrap replicates must be >= 0")
        has_tokens = any(w.kind == "tokens" for w in self.windows)
        if has_tokens and not self.tokenizer:
            raise ValueError("tokens:k windows need --tokenizer PATH/tokenizer.json")
        if self.tokenizer and not has_tokens:
            raise ValueError("--tokenizer is used by tokens:k windows; add e.g. --window tokens:10")

    @cached_property
    def token_matcher(self):
        from engine.count.model_tokens import compile_token_matcher

        return compile_token_matcher(self.lexicon, self.compiled, self.tokenizer)

    @cached_property
    def compiled(self) -> CompiledLexicon:
        return compile_lexicon(self.lexicon, self.abbreviations)

    def fingerprint(self) -> str:
        """Identifies what a count means: same fingerprint, interchangeable partial results."""
        return self._fingerprint

    @cached_property
    def _fingerprint(self) -> str:
        blob = json.dumps({
            "semantics": SEMANTICS_VERSION,
            "lexicon": self.lexicon.sha256(),
            "windows": [w.label for w in self.windows],
            "abbreviations": sorted(self.abbreviations),
            "bootstrap": self.bootstrap,
            "filters": [f.label() for f in self.filters],
            "tokenizer": self.token_matcher.sha256 if self.tokenizer else None,
        }, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


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
    offsets = np.frombuffer(bufs[1], dtype=odt)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return data, offsets.astype(np.int64)


@dataclass
class ShardCounter:
    """Accumulators for one unit of work (a shard, or any set of batches)."""

    config: CountConfig
    sources: dict[str, int] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    filtered_out: int = 0  # documents excluded by attribute filters

    def __post_init__(self) -> None:
        c = self.config.compiled
        nw = len(self.config.windows)
        self.cooc = np.zeros((0, nw, c.n_targets, len(COOC_STATS)), dtype=np.int64)
        self.terms = np.zeros((0, nw, c.n_targets, c.n_gender_terms, len(TERM_STATS)), np.int64)
        self.doc_stats = np.zeros((0, len(DOC_STATS)), dtype=np.int64)
        self.rep = np.zeros((0, nw, c.n_targets, self.config.bootstrap, 3), dtype=np.int64)
        labels = [w.kind for w in self.config.windows]
        self._w_sent = labels.index("sentence") if "sentence" in labels else -1
        self._w_para = labels.index("paragraph") if "paragraph" in labels else -1
        self._w_doc = labels.index("document") if "document" in labels else -1
        word = [(i, w.k) for i, w in enumerate(self.config.windows) if w.kind == "words"]
        self._ks = np.array([k for _, k in word], dtype=np.int64)
        self._k_win = np.array([i for i, _ in word], dtype=np.int64)
        tok = [(i, w.k) for i, w in enumerate(self.config.windows) if w.kind == "tokens"]
        self._tok_ks = np.array([k for _, k in tok], dtype=np.int64)
        self._tok_win = np.array([i for i, _ in tok], dtype=np.int64)

    def _source_ids(self, names: list[str]) -> np.ndarray:
        new = [n for n in names if n not in self.sources]
        for n in new:
            self.sources[n] = len(self.sources)
        if new:
            grow = len(self.sources) - self.cooc.shape[0]
            self.cooc = np.concatenate([self.cooc, np.zeros((grow,) + self.cooc.shape[1:], np.int64)])
            self.terms = np.concatenate([self.terms, np.zeros((grow,) + self.terms.shape[1:], np.int64)])
            self.doc_stats = np.concatenate([self.doc_stats, np.zeros((grow, 3), np.int64)])
            self.rep = np.concatenate([self.rep, np.zeros((grow,) + self.rep.shape[1:], np.int64)])
        return np.array([self.sources[n] for n in names], dtype=np.int32)

    def add_texts(self, text: pa.Array, source: pa.Array, ids: pa.Array | None = None) -> None:
        if len(text) == 0:
            return
        if self.config.bootstrap:
            if ids is None:
                raise ValueError("bootstrap replicates need document ids")
            id_data, id_offsets = arrow_string_buffers(ids.fill_null("") if ids.null_count else ids)
        else:
            id_data, id_offsets = _NO_BYTES, _NO_OFFSETS
        enc = pc.dictionary_encode(source)
        ids = self._source_ids([str(s) for s in enc.dictionary.to_pylist()])
        doc_src = ids[enc.indices.to_numpy(zero_copy_only=False)].astype(np.int32)
        data, offsets = arrow_string_buffers(text)
        c = self.config.compiled
        t = char_tables()
        count_batch(
            data, offsets, doc_src,
            t.cls, t.lower, t.expansions,
            c.ht_hash, c.ht_id, c.vocab_bytes, c.vocab_off, c.is_abbrev,
            c.trie_next, c.trie_term, c.term_kind, c.term_target, c.term_gterm,
            self._w_sent, self._w_para, self._w_doc, self._ks, self._k_win,
            self.cooc, self.terms, self.doc_stats,
            id_data, id_offsets, POISSON_CDF, self.rep,
        )
        if self._tok_ks.size:
            from engine.count.model_tokens import count_token_windows

            tm = self.config.token_matcher
            ids, tok_offsets = tm.encode_batch(text.to_pylist())
            count_token_windows(ids, tok_offsets, doc_src, tm.edge_start, tm.edge_tok,
                                tm.edge_child, tm.node_term, c.term_kind, c.term_target,
                                c.term_gterm, self._tok_ks, self._tok_win, self.cooc, self.terms,
                                id_data, id_offsets, POISSON_CDF, self.rep)

    def add(self, item: DocBatch | Reject) -> None:
        if isinstance(item, Reject):
            self.rejects.append(item)
        else:
            self.add_texts(item.text, item.source, item.id)

    # ---- results as Arrow tables -------------------------------------------------------
    def _window_cols(self, widx: np.ndarray) -> dict:
        ws = self.config.windows
        idx = pa.array(widx, pa.int64())
        return {
            "window": pa.array([w.label for w in ws], pa.string()).take(idx),
            "window_kind": pa.array([w.kind for w in ws], pa.string()).take(idx),
            "window_k": pa.array([w.k for w in ws], pa.int32()).take(idx),
        }

    def cooc_table(self) -> pa.Table:
        src_names = np.array(sorted(self.sources, key=self.sources.get), dtype=object)
        targets = np.array(self.config.compiled.target_names, dtype=object)
        s, w, t = np.nonzero(self.cooc[..., 0])
        vals = self.cooc[s, w, t]
        cols = {"source": pa.array(src_names[s].tolist() if len(s) else [], pa.string()),
                **self._window_cols(w),
                "occupation": pa.array(targets[t].tolist() if len(t) else [], pa.string())}
        for i, name in enumerate(COOC_STATS):
            cols[name] = pa.array(vals[:, i], pa.int64())
        return sort_table(pa.table(cols, schema=COOC_SCHEMA), COOC_KEYS)

    def term_table(self) -> pa.Table:
        src_names = np.array(sorted(self.sources, key=self.sources.get), dtype=object)
        c = self.config.compiled
        targets = np.array(c.target_names, dtype=object)
        genders = np.array([g for g, _ in c.gender_terms], dtype=object)
        forms = np.array([f for _, f in c.gender_terms], dtype=object)
        s, w, t, g = np.nonzero(self.terms[..., 0])
        vals = self.terms[s, w, t, g]
        cols = {"source": pa.array(src_names[s].tolist() if len(s) else [], pa.string()),
                **self._window_cols(w),
                "occupation": pa.array(targets[t].tolist() if len(t) else [], pa.string()),
                "gender": pa.array(genders[g].tolist() if len(g) else [], pa.string()),
                "term": pa.array(forms[g].tolist() if len(g) else [], pa.string())}
        for i, name in enumerate(TERM_STATS):
            cols[name] = pa.array(vals[:, i], pa.int64())
        return sort_table(pa.table(cols, schema=TERM_SCHEMA), TERM_KEYS)

    def shard_table(self, shard: str) -> pa.Table:
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
            for j, k in enumerate(DOC_STATS):
                rows[k].append(int(ds[j]))
            rows["rejects"].append(rej.get(n, 0))
        return sort_table(pa.table(rows, schema=SHARD_SCHEMA), SHARD_KEYS)

    def reject_table(self) -> pa.Table:
        rows = {"shard": [r.shard for r in self.rejects], "line": [r.line for r in self.rejects],
                "reason": [r.reason for r in self.rejects],
                "source": [r.source for r in self.rejects],
                "sample": [r.sample for r in self.rejects]}
        return sort_table(pa.table(rows, schema=REJECT_SCHEMA), REJECT_KEYS)

    def bootstrap_table(self) -> pa.Table:
        src_names = np.array(sorted(self.sources, key=self.sources.get), dtype=object)
        targets = np.array(self.config.compiled.target_names, dtype=object)
        s, w, t = np.nonzero(self.cooc[..., 0])  # every unit row, all replicates (zeros kept)
        nb = self.config.bootstrap
        s, w, t = np.repeat(s, nb), np.repeat(w, nb), np.repeat(t, nb)
        b = np.tile(np.arange(nb), len(s) // nb if nb else 0)
        vals = self.rep[s, w, t, b]
        cols = {"source": pa.array(src_names[s].tolist() if len(s) else [], pa.string()),
                **self._window_cols(w),
                "occupation": pa.array(targets[t].tolist() if len(t) else [], pa.string()),
                "replicate": pa.array(b, pa.int32())}
        for i, name in enumerate(("units", "female_only", "male_only")):
            cols[name] = pa.array(vals[:, i], pa.int64())
        return sort_table(pa.table(cols, schema=BOOT_SCHEMA), BOOT_KEYS)

    def tables(self, shard: str) -> dict[str, pa.Table]:
        out = {"cooccurrence": self.cooc_table(), "term_cooccurrence": self.term_table(),
               "shards": self.shard_table(shard), "rejects": self.reject_table()}
        if self.config.bootstrap:
            out["bootstrap"] = self.bootstrap_table()
        return out


COOC_KEYS = ("source", "window_kind", "window_k", "occupation")
TERM_KEYS = ("source", "window_kind", "window_k", "occupation", "gender", "term")
SHARD_KEYS = ("shard", "source")
REJECT_KEYS = ("shard", "line", "reason")
BOOT_KEYS = ("source", "window_kind", "window_k", "occupation", "replicate")
TABLE_KEYS = {"cooccurrence": COOC_KEYS, "term_cooccurrence": TERM_KEYS, "shards": SHARD_KEYS,
              "rejects": REJECT_KEYS, "bootstrap": BOOT_KEYS}
_SCHEMAS = {"cooccurrence": COOC_SCHEMA, "term_cooccurrence": TERM_SCHEMA,
            "shards": SHARD_SCHEMA, "rejects": REJECT_SCHEMA, "bootstrap": BOOT_SCHEMA}
_NO_BYTES = np.zeros(0, dtype=np.uint8)
_NO_OFFSETS = np.zeros(1, dtype=np.int64)


def sort_table(table: pa.Table, keys) -> pa.Table:
    if table.num_rows == 0:
        return table
    return table.sort_by([(k, "ascending") for k in keys])


def count_shard(shard: ShardRef, config: CountConfig, on_bytes=None) -> ShardCounter:
    counter = ShardCounter(config)
    keep = None
    for f in config.filters:  # attribute files are row-aligned with the shard (Dolma layout)
        m = f.mask(shard)
        keep = m if keep is None else keep & m
    for item in read_shard(shard, config.batch_bytes, on_bytes=on_bytes):
        if keep is not None and isinstance(item, DocBatch):
            if item.rows.size and item.rows.max() >= len(keep):
                raise ValueError(f"attribute files for {shard.rel} have fewer rows than the shard")
            mask = keep[item.rows]
            counter.filtered_out += int((~mask).sum())
            item = DocBatch(item.text.filter(mask), item.source.filter(mask), item.first_line,
                            item.id.filter(mask), item.rows[mask])
        counter.add(item)
    return counter


def reduce_tables(name: str, parts: list[pa.Table]) -> pa.Table:
    """Sum partial tables of one kind into the final table (deterministic, sorted)."""
    schema = _SCHEMAS[name]
    parts = [p.select(schema.names).cast(schema) for p in parts if p.num_rows]
    if not parts:
        return schema.empty_table()
    table = pa.concat_tables(parts)
    keys = TABLE_KEYS[name]
    if name in ("shards", "rejects"):
        return sort_table(table, keys)
    # window label is determined by (kind, k); group on all descriptive columns
    group = [c for c in schema.names if pa.types.is_string(schema.field(c).type)
             or c in ("window_k", "replicate")]
    values = [c for c in schema.names if c not in group]
    agg = table.group_by(group, use_threads=False).aggregate([(v, "sum") for v in values])
    agg = agg.rename_columns([c[:-4] if c.endswith("_sum") else c for c in agg.column_names])
    return sort_table(agg.select(schema.names).cast(schema), keys)


def engine_versions() -> dict[str, str]:
    import numba
    import tokenizers

    return {"tracebias": __version__, "numba": numba.__version__, "pyarrow": pa.__version__,
            "numpy": np.__version__, "tokenizers": tokenizers.__version__,
            "semantics": str(SEMANTICS_VERSION)}
