"""The DataFrame API: co-occurrence tables of any Spark DataFrame with a text column.

    from engine.spark import cooccurrence
    docs = spark.read.schema("id string, text string, source string") \
        .json("s3a://bucket/dolma/documents/*.json.gz")       # or .parquet(...): no schema
    result = cooccurrence(docs, lexicon="tracing-bias", windows=["sentence", "10"])
    result["cooccurrence"].show()            # a Spark DataFrame per output table
    result.write("s3a://bucket/tracebias/run1")  # the same files as `tracebias count --out`

How it counts: each partition runs the engine's own accumulators (engine.count.counting.
ShardCounter, the numba kernels on the Arrow buffers Spark hands to ``mapInArrow``), one per
input file split, and emits every table of its documents as rows of one union schema (the
"partials", tagged with ``table_name``; a split's summed tables as one PACKED row when they are
large, unpacked by combine_packed). The partials are reduced by Spark, never on the driver:
``sum`` tables by ``groupBy(key).sum()``, ``rejects`` by concatenation, ``shards`` by summing per
(shard, source) and ``contexts`` by keeping the K rows of smallest priority per key (a window
function). Bootstrap replicate weights and context priorities derive from document ids, not from
positions, so the result does not depend on partitioning: it equals `tracebias count` of the same
documents row for row (tests/spark).

Which file a document came from (the ``shard`` column of ``shards``, ``rejects`` and
``contexts``) is ``input_file_name()`` when the DataFrame reads files (``file:///...``, as the
local runner writes it), else ``""``. A document's ``row`` (in ``contexts``) and a reject's
``line`` are its position in its file as the DataFrame delivers it, exact across file splits
(each split reports its row count and splits are offset by the rows of the splits before them):
equal to the local runner's for Parquet, and for JSON Lines without blank lines when read with
``spark.read.json`` (which skips blank lines; the spark-submit job reads lines itself and is exact
in every case, see docs/spark.md). Filter rows before ``cooccurrence`` only if you do not need
those positions.

Rows whose ``text`` is null become rejects ("missing text"), as do texts that are not valid UTF-8;
``source`` null is ``""``; ``id`` may be a string or an integer (``12`` -> ``"12"``). A JSON line
that ``spark.read.json`` cannot parse arrives as a row of nulls and is a "missing text" reject:
Spark's JSON reader does not say why (use the job, or ``spark.read.text``, for exact reasons).
"""
from __future__ import annotations

import dataclasses
import os
from functools import lru_cache
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.count import tables as TB
from engine.count.config import DEFAULT_CONTEXTS, CountConfig, fingerprint_of
from engine.run.process import keep_freed_memory

TABLE_NAME = "table_name"  # the column that tells which table a partial row belongs to
SPLIT = "__split__"  # table_name of the per-split bookkeeping rows
PRIORITY_FLIP = 1 << 63  # uint64 priority -> order-preserving signed int64 (Spark has no uint64)
# bookkeeping columns besides the tables' own: the split of a row, and per-split totals
EXTRA_FIELDS = [pa.field("file", pa.string()), pa.field("block", pa.int64()), pa.field("split_rows", pa.int64()),
                pa.field("split_lines", pa.int64()), pa.field("filtered_out", pa.int64()),
                pa.field("fatal", pa.string()), pa.field("fingerprint", pa.string()),
                pa.field("payload", pa.binary())]
PACKED = "__tables__"  # table_name of a row holding one whole file's summed tables and contexts
ROW_TABLES = ("shards", "rejects")  # tables a whole file's task always sends as rows (small)


def _union_schema() -> pa.Schema:
    """Every table's columns in one column set, after TABLE_NAME (a column shared by tables
    has one type)."""
    fields: dict[str, pa.Field] = {TABLE_NAME: pa.field(TABLE_NAME, pa.string())}
    for t in TB.TABLES:
        for f in t.schema:
            if f.name in fields and fields[f.name].type != f.type:
                raise TypeError(f"column {f.name} has two types across tables")
            fields.setdefault(f.name, f.with_nullable(True))
    return pa.schema(list(fields.values()))


PARTIAL_SCHEMA = _union_schema()


def _arrow_partial_schema() -> pa.Schema:
    fields = []
    for f in PARTIAL_SCHEMA:
        if f.name == "priority":
            f = pa.field("priority", pa.int64())
        fields.append(f.with_nullable(True))
    return pa.schema(fields + EXTRA_FIELDS)


ARROW_PARTIAL = _arrow_partial_schema()


def spark_partial_schema():
    """The Spark StructType of the partial rows (ARROW_PARTIAL)."""
    from pyspark.sql import types as T

    conv = {pa.string(): T.StringType(), pa.int64(): T.LongType(), pa.int32(): T.IntegerType(),
            pa.binary(): T.BinaryType()}
    return T.StructType([T.StructField(f.name, conv[f.type], True) for f in ARROW_PARTIAL])


# ---- on the executors --------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _task_config(spec: str, fingerprint: str, base_dir: str) -> CountConfig:
    """The driver's CountConfig, rebuilt once per Python worker; files it names (tokenizer,
    attribute folders) resolved where this executor can read them; the fingerprint checked.
    A Python worker counts and nothing else: it keeps the memory it frees (engine.run.process)."""
    keep_freed_memory()
    config = CountConfig.from_json(spec)
    changes = {}
    if config.tokenizer:
        changes["tokenizer"] = _local_file(config.tokenizer, base_dir)
    if config.filters:
        changes["filters"] = tuple(
            dataclasses.replace(f, root=_local_dir(f.root, base_dir)) for f in config.filters)
    if changes:
        resolved = dataclasses.replace(config, **changes)
        # the fingerprint knows the tokenizer by content and filters by their specification as
        # the driver wrote it: the driver's specification, the content this executor reads
        object.__setattr__(resolved, "_fingerprint",
                           fingerprint_of(config.to_dict(lexicon=False), resolved))
        config = resolved
    if config.fingerprint() != fingerprint:
        raise RuntimeError(f"this executor computes configuration fingerprint "
                           f"{config.fingerprint()}, the driver {fingerprint}: engine versions or "
                           f"shipped files differ between driver and executors")
    return config


def _local_file(path: str, base_dir: str) -> str:
    """A file the driver named, on this executor: the path itself, relative to the driver's
    working directory, or the copy Spark shipped (SparkContext.addFile)."""
    if "://" not in path:
        for p in (path, os.path.join(base_dir, path)):
            if os.path.isfile(p):
                return p
    try:
        from pyspark import SparkFiles

        p = SparkFiles.get(os.path.basename(path))
        if os.path.isfile(p):
            return p
    except Exception:  # noqa: BLE001 - not in a Spark task
        pass
    return path


def _local_dir(path: str, base_dir: str) -> str:
    if "://" in path or os.path.isabs(path):
        return path
    return os.path.join(base_dir, path)


def _to_partial(tables: dict[str, pa.Table], shard: str | None, block: int
                ) -> pa.RecordBatch | None:
    """One split's tables as rows of the union schema (``shard`` None: rows of no one file)."""
    parts = []
    for name, t in tables.items():
        if not t.num_rows:
            continue
        n = t.num_rows
        cols = {}
        for f in ARROW_PARTIAL:
            if f.name == TABLE_NAME:
                cols[f.name] = pa.array([name] * n, pa.string()) if n < 64 else \
                    pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int8)),
                                                   [name]).cast(pa.string())
            elif f.name == "priority" and f.name in t.column_names:
                cols[f.name] = pc.bit_wise_xor(t[f.name].combine_chunks(),
                                               pa.scalar(PRIORITY_FLIP, pa.uint64())).view(pa.int64())
            elif f.name == "block":
                cols[f.name] = pa.array(np.full(n, block, np.int64))
            elif f.name == "file":
                cols[f.name] = pa.nulls(n, pa.string()) if shard is None else \
                    pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int8)),
                                                   [shard]).cast(pa.string())
            elif f.name in t.column_names:
                c = t[f.name].combine_chunks()
                cols[f.name] = c.cast(f.type) if c.type != f.type else c
            else:
                cols[f.name] = pa.nulls(n, f.type)
        parts.append(pa.RecordBatch.from_pydict(cols, schema=ARROW_PARTIAL))
    if not parts:
        return None
    return pa.Table.from_batches(parts).combine_chunks().to_batches()[0] if len(parts) > 1 \
        else parts[0]


def _split_row(shard: str, block: int, rows: int, lines: int, filtered: int, fingerprint: str,
               fatal: str | None = None) -> pa.RecordBatch:
    return _one_row({TABLE_NAME: SPLIT, "file": shard, "block": block, "split_rows": rows,
                     "split_lines": lines, "filtered_out": filtered, "fatal": fatal,
                     "fingerprint": fingerprint})


def _one_row(values: dict) -> pa.RecordBatch:
    """One row of the union schema: ``values`` by column name, nulls elsewhere."""
    return pa.RecordBatch.from_pydict(
        {f.name: pa.array([values[f.name]], f.type) if f.name in values else pa.nulls(1, f.type)
         for f in ARROW_PARTIAL}, schema=ARROW_PARTIAL)


def canonical_url(path: str) -> str:
    """Hadoop's ``file:/x`` as the local runner (fsspec) writes it: ``file:///x``."""
    if path.startswith("file:/") and not path.startswith("file:///"):
        return "file:///" + path[len("file:/"):].lstrip("/")
    return path


def _run_keys(batch: pa.RecordBatch) -> list[tuple[tuple[str, int], int, int]]:
    """((shard, block), start, end) of the runs of rows of one file split in a batch (found
    with Arrow: runs are long)."""
    shard = batch.column("shard")
    block = batch.column("block")
    n = batch.num_rows
    if n == 0:
        return []
    change = np.zeros(n, dtype=bool)
    change[0] = True
    if n > 1:
        s_diff = pc.not_equal(shard.slice(1), shard.slice(0, n - 1)).to_numpy(zero_copy_only=False)
        b_diff = pc.not_equal(block.slice(1), block.slice(0, n - 1)).to_numpy(zero_copy_only=False)
        change[1:] = s_diff | b_diff
    starts = np.flatnonzero(change).tolist() + [n]
    keys = []
    for a, b in zip(starts[:-1], starts[1:]):
        keys.append(((shard[a].as_py() or "", int(block[a].as_py() or 0)), a, b))
    return keys


class _Split:
    """The state of one file split in a partition: its counter and positions."""

    def __init__(self, config: CountConfig, shard: str, block: int, rel: str | None):
        from engine.count.counting import ShardCounter

        self.config = config
        self.shard = canonical_url(shard)
        self.block = block
        self.counter = ShardCounter(config, shard=self.shard)
        self.rows = 0  # rows (documents and rejected rows) seen in this split
        self.lines = 0  # lines seen (lines mode: blank lines too)
        self.row_pos = [0]
        self.keep = None  # attribute-filter mask over the file's rows (block 0 only)
        if config.filters and rel is not None:
            from engine.corpus.shards import ShardRef
            from engine.count.counting import filter_keep

            self.keep = filter_keep(config, ShardRef(self.shard, rel, 0))

    def add(self, item) -> None:
        from engine.count.counting import add_filtered

        add_filtered(self.counter, item, self.keep, self.config)

    def finish(self, fingerprint: str, whole: bool = False, fatal: str | None = None
               ) -> Iterator[pa.RecordBatch]:
        """The split's partial rows: ``shards`` and ``rejects`` as rows, the other tables as
        one PACKED row when they hold PACK_MIN_ROWS rows or more; ``contexts`` stays rows
        unless the split is a ``whole`` file (its rows are positioned by the split's offset in
        its file, see _positioned); then the bookkeeping row."""
        tables = self.counter.tables(sort=False)
        packed = {n: t for n, t in tables.items()
                  if t.num_rows and n not in ROW_TABLES and (whole or n != "contexts")}
        if sum(t.num_rows for t in packed.values()) < PACK_MIN_ROWS:
            packed = {}
        b = _to_partial({n: t for n, t in tables.items() if n not in packed}, self.shard,
                        self.block)
        if b is not None:
            yield b
        if packed:
            yield _packed_row(self.shard, self.block, packed)
        yield _split_row(self.shard, self.block, self.rows, self.lines,
                         self.counter.filtered_out, fingerprint, fatal)


def _lines_to_chunk(lines: pa.Array, strip_bom: bool) -> memoryview:
    """Lines (without newlines) as one buffer of newline-terminated lines."""
    joined = pc.binary_join_element_wise(lines.cast(pa.binary()), pa.scalar(b"", pa.binary()),
                                         pa.scalar(b"\n", pa.binary()))
    offs = np.frombuffer(joined.buffers()[1], dtype=np.int32)[joined.offset: joined.offset + 2]
    start = int(offs[0])
    end = int(np.frombuffer(joined.buffers()[1], dtype=np.int32)[joined.offset + len(joined)])
    data = memoryview(joined.buffers()[2])[start:end]
    if strip_bom and bytes(data[:3]) == b"\xef\xbb\xbf":
        data = data[3:]
    return data


def count_partition(batches: Iterator[pa.RecordBatch], spec: str, fingerprint: str,
                    base_dir: str, mode: str, rels: dict | None = None
                    ) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: batches of (payload columns, shard, block) -> partial rows.

    ``mode`` "lines": a ``value`` column of JSON Lines text lines (spark.read.text), parsed by
    the engine's own reader (exact lines, rows and reject reasons); "docs": ``text``, ``source``,
    ``id`` columns (any DataFrame), checked by the Parquet reader's per-document rules.
    """
    from engine.corpus.shards import parse_chunk

    config = _task_config(spec, fingerprint, base_dir)
    rels = rels or {}
    split: _Split | None = None
    for batch in batches:
        for (shard, block), a, b in _run_keys(batch):
            if split is None or (split.shard, split.block) != (canonical_url(shard), block):
                if split is not None:
                    yield from split.finish(fingerprint)
                split = _Split(config, shard, block, rels.get(canonical_url(shard))
                               if block == 0 else None)
                if config.filters and block != 0:
                    raise RuntimeError(f"{shard} was split by Spark; attribute filters need "
                                       "whole files (the job reads such files itself)")
            part = batch.slice(a, b - a)
            if mode == "lines":
                lines = part.column("value")
                chunk = _lines_to_chunk(lines, strip_bom=block == 0 and split.lines == 0)
                for item in parse_chunk(chunk, split.shard, split.lines + 1, split.row_pos):
                    split.add(item)
                split.lines += len(lines)
                split.rows = split.row_pos[0]
            else:
                for item in _documents(part, split.rows, split.shard):
                    split.add(item)
                split.rows += part.num_rows
                split.lines = split.rows
    if split is not None:
        yield from split.finish(fingerprint)


def _documents(part: pa.RecordBatch, row0: int, shard: str):
    """DocBatch / Reject of a batch of documents, by the Parquet reader's per-document rules
    (engine.corpus.parquet)."""
    from engine.corpus.parquet import document_batches

    cols = {"text": part.column("text")}
    for c in ("id", "source"):
        if c in part.schema.names:
            cols[c] = part.column(c)
    yield from document_batches(pa.RecordBatch.from_pydict(cols), row0, shard)


def _count_file(config: CountConfig, url: str, rel: str, ref, fingerprint: str):
    """One whole file through engine.corpus.shards.read_shard, counted, as partial rows."""
    from engine.corpus.shards import Reject, read_shard

    split = _Split(config, url, 0, rel)
    fatal = None
    for item in read_shard(ref, config.batch_bytes):
        if isinstance(item, Reject):
            item = dataclasses.replace(item, shard=split.shard)
            if item.line == 0 and item.reason.startswith(("cannot open", "read error")):
                fatal = item.reason
        split.add(item)
    yield from split.finish(fingerprint, whole=True, fatal=fatal)


def _packed_row(shard: str, block: int, tables: dict[str, pa.Table]) -> pa.RecordBatch:
    """One row holding a file split's tables in ``payload`` (engine.run.output's partial file
    format, uncompressed: Spark's Parquet writer compresses it). A file's tables as rows of the
    union schema cost the JVM about 0.25 CPU seconds per 30,000 rows to convert and write, on
    the cores the Python workers count on; one binary value costs it next to nothing
    (combine_packed turns the values back into rows, a partition's files summed first)."""
    from engine.run.output import partial_file_bytes

    return _one_row({TABLE_NAME: PACKED, "file": shard, "block": block,
                     "payload": partial_file_bytes(tables, {}, compress=False)})


# a file with fewer rows than this sends them as rows: a packed row costs about 60 KB of Arrow
# IPC framing however small its tables (8 streams with their schemas), and unpacking it about
# 1 ms of Python; 30,000 rows cost the JVM about 0.25 s as rows (about 8 us a row)
PACK_MIN_ROWS = 2000


def combine_packed(batches: Iterator[pa.RecordBatch], spec: str) -> Iterator[pa.RecordBatch]:
    """mapInArrow body of the reduction: ``payload`` values of PACKED rows (one file split's
    tables each) -> the partition's tables reduced by the local runner's running totals
    (engine.run.base.RunningTotals: sums; the contexts' bottom K per key, which Spark's window
    then reduces across partitions: the bottom K of a union is the bottom K of its parts'
    bottom K; REDUCE_CHUNK files held at most) as rows of the union schema, with no file (only
    a whole file's split packs its contexts, whose rows are file-relative already; a split of
    a file Spark divided sends them as rows). ``spec``: the configuration
    (CountConfig.to_json)."""
    from engine.run.base import RunningTotals
    from engine.run.output import read_partial_bytes

    acc = RunningTotals(CountConfig.from_json(spec))
    n = 0
    for batch in batches:
        payload = batch.column("payload")
        for i in range(batch.num_rows):
            acc.add(str(n), {}, read_partial_bytes(payload[i].as_buffer())[1])
            n += 1
    b = _to_partial(acc.final(), None, 0) if n else None
    if b is not None:
        yield b


def count_files_partition(batches: Iterator[pa.RecordBatch], spec: str, fingerprint: str,
                          base_dir: str, tasks: list[list[dict]]) -> Iterator[pa.RecordBatch]:
    """mapInArrow body of the engine reader: ``id`` rows (``spark.range``) naming entries of
    ``tasks`` (lists of files: url, fs_url, rel, size) -> each file read whole by
    engine.corpus.shards.read_shard (fsspec), counted, as partial rows, one file after the
    other (the JVM writes a file's rows while the next one is counted)."""
    from engine.corpus.shards import ShardRef

    config = _task_config(spec, fingerprint, base_dir)
    for batch in batches:
        for i in batch.column("id").to_pylist():
            for r in tasks[i]:
                ref = ShardRef(r["fs_url"], r["rel"], int(r["size"]))
                yield from _count_file(config, r["url"], r["rel"], ref, fingerprint)


def count_bytes_partition(batches: Iterator[pa.RecordBatch], spec: str, fingerprint: str,
                          base_dir: str, rels: dict) -> Iterator[pa.RecordBatch]:
    """mapInArrow body over ``spark.read.format("binaryFile")`` rows (path, content): Spark read
    each whole file (its filesystem, its scheduling); the engine's own reader inflates (ISA-L
    gzip, zstd) and parses it from memory, exactly as the local runner reads it."""
    import uuid

    import fsspec

    from engine.corpus.shards import ShardRef

    config = _task_config(spec, fingerprint, base_dir)
    mem = fsspec.filesystem("memory")
    for batch in batches:
        paths = batch.column("path")
        contents = batch.column("content")
        for i in range(batch.num_rows):
            url = canonical_url(paths[i].as_py())
            name = f"/tracebias-{uuid.uuid4().hex}/{url.rsplit('/', 1)[-1]}"
            buf = contents[i].as_buffer()
            mem.pipe_file(name, buf)  # no copy of the bytes beyond Arrow's
            try:
                ref = ShardRef(f"memory://{name}", rels.get(url, url.rsplit("/", 1)[-1]),
                               len(buf))
                yield from _count_file(config, url, ref.rel, ref, fingerprint)
            finally:
                mem.rm(name.rsplit("/", 1)[0], recursive=True)


def bytes_partials(spark, paths: list[str], config: CountConfig, rels: dict):
    """Partial rows of whole files read by Spark (``binaryFile``) and parsed by the engine."""
    _prepare_session(spark, config)
    df = spark.read.format("binaryFile").load(paths).select("path", "content")
    spec, fp, base = config.to_json(), config.fingerprint(), os.getcwd()

    def run(batches):
        return count_bytes_partition(batches, spec, fp, base, rels)

    return df.mapInArrow(run, spark_partial_schema())


# ---- on the driver -----------------------------------------------------------------------------

def _prepare_session(spark, config: CountConfig) -> None:
    """Ship the files executors need (the tokenizer) with the job."""
    if config.tokenizer and "://" not in config.tokenizer:
        sc = spark.sparkContext
        path = os.path.abspath(config.tokenizer)
        shipped = getattr(sc, "_tracebias_files", set())
        if path not in shipped:
            sc.addFile(path)
            shipped.add(path)
            sc._tracebias_files = shipped


def partials(df, config: CountConfig, *, mode: str = "docs", text_col: str = "text",
             source_col: str | None = "source", id_col: str | None = "id",
             shard_col: str | None = "auto", rels: dict | None = None):
    """The partial rows (ARROW_PARTIAL) of a DataFrame: one mapInArrow over its partitions."""
    from pyspark.sql import functions as F

    spark = df.sparkSession
    _prepare_session(spark, config)
    names = set(df.columns)
    if mode == "lines":
        cols = [F.col("value")]
    else:
        if text_col not in names:
            raise ValueError(f"no text column {text_col!r} in the DataFrame "
                             f"(columns: {', '.join(df.columns)})")
        cols = [F.col(text_col).alias("text")]
        if source_col and source_col in names:
            cols.append(F.col(source_col).alias("source"))
        if id_col and id_col in names:
            cols.append(F.col(id_col).alias("id"))
    if shard_col == "auto":
        shard = F.input_file_name()
        block = F.expr("input_file_block_start()")
    elif shard_col:
        shard, block = F.col(shard_col).cast("string"), F.lit(0).cast("long")
    else:
        shard, block = F.lit(""), F.lit(0).cast("long")
    src = df.select(*cols, F.coalesce(shard, F.lit("")).alias("shard"),
                    F.greatest(F.coalesce(block.cast("long"), F.lit(0)), F.lit(0)).alias("block"))
    spec, fp, base = config.to_json(), config.fingerprint(), os.getcwd()

    def run(batches):
        return count_partition(batches, spec, fp, base, mode, rels)

    return src.mapInArrow(run, spark_partial_schema())


TASKS_PER_CORE = 2  # engine-read tasks per core in a wave (the files shared out among them)


def file_partials(spark, files: list[dict], config: CountConfig):
    """Partial rows of files read by the engine's own reader in tasks: local JSON Lines files
    under ``--reader auto`` (the engine streams and inflates them while it counts, no copy
    through the JVM), files Spark's reader cannot take (a damaged compressed stream, a scheme
    only fsspec knows) and files counted with attribute filters that Spark would split. No
    shuffle: task ``i`` reads the files of entry ``i`` of a list shipped with the job
    (file_tasks: TASKS_PER_CORE tasks per core, files shared out largest first)."""
    _prepare_session(spark, config)
    rows = [{"url": f["url"], "fs_url": f.get("fs_url") or f["url"], "rel": f["rel"],
             "size": int(f.get("size") or 0)} for f in files]
    tasks = file_tasks(rows, TASKS_PER_CORE * max(1, spark.sparkContext.defaultParallelism))
    df = spark.range(0, len(tasks), 1, numPartitions=max(1, len(tasks)))
    spec, fp, base = config.to_json(), config.fingerprint(), os.getcwd()

    def run(batches):
        return count_files_partition(batches, spec, fp, base, tasks)

    return df.mapInArrow(run, spark_partial_schema())


def file_tasks(files: list[dict], tasks: int) -> list[list[dict]]:
    """``files`` (with ``size`` and ``url``) shared out among at most ``tasks`` tasks: each file,
    largest first, to the task with the fewest bytes so far (ties: the lower task); tasks in
    order of their bytes, largest first, each with its files largest first. A task has a fixed
    cost (about 0.1-0.2 s of the JVM's and the Python worker's on 2 cores, 2026-11-26: 16
    Wikipedia shards on local[2] were counted in 4.9-5.3 s as 16 tasks, 4.0-4.1 s as 4)."""
    order = sorted(files, key=lambda r: (-r["size"], r["url"]))
    n = max(1, min(tasks, len(order)))
    bins: list[list[dict]] = [[] for _ in range(n)]
    load = [0] * n
    for r in order:
        i = min(range(n), key=lambda j: (load[j], j))
        bins[i].append(r)
        load[i] += r["size"]
    keep = [i for i in range(n) if bins[i]]
    return [bins[i] for i in sorted(keep, key=lambda i: (-load[i], i))]


def _split_offsets(parts):
    """(shard, block) -> row and line offsets of each split within its file."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy("file").orderBy("block").rowsBetween(Window.unboundedPreceding, -1)
    return (parts.filter(F.col(TABLE_NAME) == SPLIT)
            .groupBy("file", "block").agg(F.sum("split_rows").alias("r"),
                                          F.sum("split_lines").alias("l"))
            .select("file", "block",
                    F.coalesce(F.sum("r").over(w), F.lit(0)).alias("row_offset"),
                    F.coalesce(F.sum("l").over(w), F.lit(0)).alias("line_offset")))


def _positioned(parts, name: str):
    """Rows of one table with rows and lines made file-relative (offsets of earlier splits)."""
    from pyspark.sql import functions as F

    t = parts.filter(F.col(TABLE_NAME) == name)
    offsets = _split_offsets(parts)
    t = t.join(offsets, ["file", "block"], "left")
    if name == "contexts":
        t = t.withColumn("row", F.when(F.col("row") >= 0, F.col("row") + F.coalesce(
            F.col("row_offset"), F.lit(0))).otherwise(F.col("row")))
    if name == "rejects":
        t = t.withColumn("line", F.when(F.col("line") > 0, F.col("line") + F.coalesce(
            F.col("line_offset"), F.lit(0))).otherwise(F.col("line")))
    return t


def _priority_out(col):
    """The signed, order-preserving priority back to its unsigned value (as decimal(20,0):
    Spark has no unsigned 64-bit type)."""
    from pyspark.sql import functions as F

    # the signed value is priority - 2**63 (the top bit flipped)
    return (col.cast("decimal(20,0)") + F.expr(f"CAST('{PRIORITY_FLIP}' AS DECIMAL(20,0))")) \
        .cast("decimal(20,0)")


_CAST = {pa.int64(): "long", pa.int32(): "int", pa.string(): "string", pa.binary(): "binary"}


def _summed(specs) -> tuple[list[str], list[str]]:
    """The union of the key columns and of the value columns of tables reduced by summing."""
    keys, values = [], []
    for spec in specs:
        keys += [k for k in spec.key if k not in keys]
        values += [v for v in spec.values if v not in values]
    return keys, values


def checkpoint_schema():
    """The Spark schema of the job's checkpointed partial rows: the partial rows and the wave.
    Read with it, checkpoints written before a column existed read it as null."""
    from pyspark.sql import types as T

    return T.StructType(spark_partial_schema().fields + [T.StructField("wave", T.StringType())])


def unpacked(parts, config: CountConfig, packed: bool = True, persisted: list | None = None,
             persist: bool = True):
    """The partial rows with every PACKED row turned back into rows: each partition's packed
    files reduced together in Python (combine_packed), once. ``packed`` False: there are none
    (no Python worker needed). The rows read as rows and the unpacked rows are persisted unless
    ``persist`` is False (appended to ``persisted``, for the caller to unpersist), since every
    table's reduction reads them; the packed values themselves are not cached (on 2 cores,
    2026-11-26: caching the 360,000 rows of 12 large shards, before they were packed, took
    their reduction from 5.7-6.0 s to 8.3-9.0 s; re-reading the checkpoints of 250 tiny shards
    for every table, and a Python stage with nothing to unpack, took theirs from 6.2-6.7 s to
    9.3-9.7 s)."""
    from pyspark.sql import functions as F

    cols = [f.name for f in ARROW_PARTIAL]
    rest = parts.filter(F.col(TABLE_NAME) != PACKED).select(*cols)
    out = [rest]
    if packed:
        spec = config.to_json()

        def run(batches):
            return combine_packed(batches, spec)

        out.append(parts.filter(F.col(TABLE_NAME) == PACKED).select("payload")
                   .mapInArrow(run, spark_partial_schema()))
    if persist:
        out = [df.persist() for df in out]
    if persisted is not None:
        persisted.extend(out)
    return out[0] if len(out) == 1 else out[0].unionByName(out[1])


def reduce_sums(parts, specs):
    """Every summed table (and ``shards``, summed per shard and source: a file may come in
    several splits) in ONE aggregation over the partial rows: the group key is the table name
    and the union of the tables' key columns (a table's rows hold nulls in the others)."""
    from pyspark.sql import functions as F

    keys, values = _summed(specs)
    return (parts.filter(F.col(TABLE_NAME).isin([s.name for s in specs]))
            .groupBy(TABLE_NAME, *keys).agg(*[F.sum(v).alias(v) for v in values]))


def reduce_table(parts, spec: TB.TableSpec, config: CountConfig, sums=None):
    """One final table from partial rows, reduced by Spark (see module doc); not yet sorted.
    ``sums``: reduce_sums' result, when the summed tables were reduced together."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if spec.reduce == "sum" or spec.name == "shards":
        t = (sums if sums is not None else reduce_sums(parts, [spec])) \
            .filter(F.col(TABLE_NAME) == spec.name)
    elif spec.reduce == "bottom_k":
        t = _positioned(parts, spec.name)
        order = [F.col("priority").asc(), F.col("doc_id").asc(), F.col("shard").asc(),
                 F.col("row").asc(), F.col("char_start").asc()]
        w = Window.partitionBy(*spec.key[:-1]).orderBy(*order)
        t = t.withColumn("_rank", F.row_number().over(w)).filter(F.col("_rank") <= config.contexts)
        t = t.withColumn("priority", _priority_out(F.col("priority")))
    else:  # rejects: concatenated
        t = _positioned(parts, spec.name)
    return t.select(*[F.col("priority") if f.name == "priority"
                      else F.col(f.name).cast(_CAST[f.type]).alias(f.name)
                      for f in spec.schema])


def sort_columns(spec: TB.TableSpec):
    from pyspark.sql import functions as F

    keys = list(spec.key)
    if spec.name == "rejects":
        keys += ["source", "sample"]
    if spec.name == "contexts":
        keys += ["doc_id", "shard", "row", "char_start"]
    return [F.col(k).asc_nulls_last() for k in keys]


class CountResult(dict):
    """{table name: Spark DataFrame} of a count, sorted by each table's key; ``persisted``: the
    cached DataFrames they are reduced from (the mapInArrow output, its rows with the packed
    ones unpacked; ``unpersist()`` frees them)."""

    def __init__(self, tables: dict, persisted: list, config: CountConfig):
        super().__init__(tables)
        self.persisted = persisted
        self.config = config

    def to_arrow(self, name: str) -> pa.Table:
        """One table collected to the driver with the local runner's exact schema."""
        return to_local_schema(self[name].toArrow(), TB.spec(name))

    def write(self, out: str, **kw):
        from engine.spark.job import write_result

        return write_result(self, out, **kw)

    def unpersist(self) -> None:
        for df in self.persisted:
            df.unpersist()


def to_local_schema(t: pa.Table, spec: TB.TableSpec) -> pa.Table:
    """A table read from Spark (or its Parquet) with the local runner's schema."""
    cols = []
    for f in spec.schema:
        c = t[f.name]
        if f.name == "priority":
            c = pa.chunked_array([pa.array([int(x) for x in ch.to_pylist()], pa.uint64())
                                  for ch in c.chunks], pa.uint64())
        cols.append(c.cast(f.type))
    return pa.table(cols, schema=spec.schema)


def reduce_all(parts, config: CountConfig, sort: bool = True, persist: bool = False,
               persisted: list | None = None) -> dict:
    """{table: DataFrame} of every table the configuration produces. ``persist``: keep the one
    aggregation of the summed tables (small) in memory for the tables read from it (appended
    to ``persisted``, for the caller to unpersist)."""
    from pyspark import StorageLevel

    specs = TB.produced(config.lexicon.has_binary_gender, config.bootstrap, config.contexts)
    sums = reduce_sums(parts, [s for s in specs if s.reduce == "sum" or s.name == "shards"])
    if persist:  # in a few partitions: each table's write scans them all
        n = max(1, parts.sparkSession.sparkContext.defaultParallelism)
        sums = sums.coalesce(n).persist(StorageLevel.MEMORY_AND_DISK)
        if persisted is not None:
            persisted.append(sums)
    out = {}
    for spec in specs:
        t = reduce_table(parts, spec, config, sums)
        out[spec.name] = t.orderBy(*sort_columns(spec)) if sort else t
    return out


def cooccurrence(df, lexicon="default", windows=None, *, text_col: str = "text",
                 source_col: str | None = "source", id_col: str | None = "id",
                 shard_col: str | None = "auto", bootstrap: int = 0,
                 contexts: int = DEFAULT_CONTEXTS, tokenizer: str | None = None,
                 targets: str | None = None, axis=None, config: CountConfig | None = None,
                 persist: bool = True) -> CountResult:
    """Count the co-occurrence tables of ``df`` (any DataFrame with a text column).

    ``lexicon``: a built-in name, a lexicon JSON file or a Lexicon; ``windows``: labels as on
    the command line (default: all six); ``targets``/``axis``: as ``--targets``/``--axis``;
    ``bootstrap``, ``contexts``, ``tokenizer``: as ``tracebias count`` (the tokenizer file is
    shipped to the executors). Or pass a ready ``config`` (engine.count.config.CountConfig).
    ``shard_col``: "auto" (the input file), a column naming each row's shard, or None.
    Returns a CountResult: {table name: DataFrame}, the tables ``tracebias count`` writes.
    """
    from pyspark import StorageLevel

    if config is None:
        from engine.count.config import CountOptions
        from engine.lexicon import Lexicon

        if isinstance(lexicon, Lexicon):
            from engine.count.windows import DEFAULT_WINDOWS

            config = CountConfig(lexicon, tuple(windows) if windows else DEFAULT_WINDOWS,
                                 bootstrap=bootstrap, contexts=contexts, tokenizer=tokenizer)
        else:
            config = CountOptions(lexicon=lexicon, targets=targets,
                                  axis=list(axis or []), window=[str(w) for w in windows or []],
                                  bootstrap=bootstrap, contexts=contexts,
                                  tokenizer=tokenizer).to_config()
    if config.filters:
        raise ValueError("attribute filters work on files (the spark-submit job); on a "
                         "DataFrame, filter its rows before counting")
    parts = partials(df, config, text_col=text_col, source_col=source_col, id_col=id_col,
                     shard_col=shard_col)
    held = []
    if persist:  # counted once: the packed and the other rows are both read from it
        parts = parts.persist(StorageLevel.MEMORY_AND_DISK)
        held.append(parts)
    rows = unpacked(parts, config, persisted=held, persist=persist)
    return CountResult(reduce_all(rows, config), held, config)
