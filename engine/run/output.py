"""Output layout, Parquet schemas, atomic writes and the run manifest.

An output directory (any fsspec URL) holds::

    manifest.json                  what was counted, how, with which versions; written last
    cooccurrence.parquet           per (source, window, occupation): units and gender contexts
    term_cooccurrence.parquet      per (source, window, occupation, gender term)
    shards.parquet                 per (shard, source): documents, bytes, words, rejects
    rejects.parquet                every rejected line: shard, line, reason, raw sample
    bootstrap.parquet              with --bootstrap B: replicate counts per (source, window,
                                   occupation, replicate)
    partials/<shard key>/          the same four tables for one shard, plus _SUCCESS.json

Every file is written to a temporary name and renamed into place, and a shard's _SUCCESS.json
marker is written after its tables, so a crash never leaves a file that reads as complete.
The schema is documented in docs/data-format.md.
"""
from __future__ import annotations

import io
import json
import uuid

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

_WINDOW_FIELDS = [
    pa.field("window", pa.string(), nullable=False),
    pa.field("window_kind", pa.string(), nullable=False),
    pa.field("window_k", pa.int32()),
]
COOC_SCHEMA = pa.schema(
    [pa.field("source", pa.string(), nullable=False), *_WINDOW_FIELDS,
     pa.field("occupation", pa.string(), nullable=False)]
    + [pa.field(n, pa.int64(), nullable=False)
       for n in ("units", "male_only", "female_only", "both", "male_terms", "female_terms")]
)
TERM_SCHEMA = pa.schema(
    [pa.field("source", pa.string(), nullable=False), *_WINDOW_FIELDS,
     pa.field("occupation", pa.string(), nullable=False),
     pa.field("gender", pa.string(), nullable=False),
     pa.field("term", pa.string(), nullable=False),
     pa.field("term_count", pa.int64(), nullable=False),
     pa.field("units_with_term", pa.int64(), nullable=False)]
)
SHARD_SCHEMA = pa.schema(
    [pa.field("shard", pa.string(), nullable=False), pa.field("source", pa.string(), nullable=False)]
    + [pa.field(n, pa.int64(), nullable=False) for n in ("documents", "bytes", "words", "rejects")]
)
REJECT_SCHEMA = pa.schema([
    pa.field("shard", pa.string(), nullable=False),
    pa.field("line", pa.int64(), nullable=False),
    pa.field("reason", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("sample", pa.binary(), nullable=False),
])
BOOT_SCHEMA = pa.schema(
    [pa.field("source", pa.string(), nullable=False), *_WINDOW_FIELDS,
     pa.field("occupation", pa.string(), nullable=False),
     pa.field("replicate", pa.int32(), nullable=False)]
    + [pa.field(n, pa.int64(), nullable=False) for n in ("units", "female_only", "male_only")]
)
TABLES = ("cooccurrence", "term_cooccurrence", "shards", "rejects")
BOOTSTRAP_TABLE = "bootstrap"
MARKER = "_SUCCESS.json"


class OutputDir:
    """An output directory on any fsspec filesystem."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(self.url)

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def exists(self, *parts: str) -> bool:
        return self.fs.exists(self.path(*parts))

    def _atomic_write(self, rel: tuple[str, ...], data: bytes) -> None:
        final = self.path(*rel)
        parent = final.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        tmp = f"{parent}/.tmp-{uuid.uuid4().hex}-{final.rsplit('/', 1)[1]}"
        with self.fs.open(tmp, "wb") as f:
            f.write(data)
        self.fs.mv(tmp, final)

    def write_table(self, table: pa.Table, *rel: str) -> None:
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd", use_dictionary=True)
        self._atomic_write(rel, buf.getvalue())

    def read_table(self, *rel: str) -> pa.Table:
        with self.fs.open(self.path(*rel), "rb") as f:
            return pq.read_table(f)

    def write_json(self, obj, *rel: str) -> None:
        self._atomic_write(rel, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())

    def read_json(self, *rel: str):
        with self.fs.open(self.path(*rel), "rb") as f:
            return json.loads(f.read())

    def remove(self, *rel: str) -> None:
        p = self.path(*rel)
        if self.fs.exists(p):
            self.fs.rm(p, recursive=True)
