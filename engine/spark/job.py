"""The spark-submit job: a thin wrapper over the DataFrame API (engine.spark.dataframe).

    spark-submit --master spark://HOST:7077 --archives dist/tracebias-env.tar.gz#environment \\
        --conf spark.pyspark.python=./environment/bin/python \\
        jobs/count_cooccurrence.py INPUT... --out DIR [every `tracebias count` option] [--force]

What it does, all through Spark (its readers, its Hadoop FileSystem and its writers):

1. **Lists** the inputs once (Spark's file index: path, size, modification time); files without a
   shard suffix are skipped and said so; a path that does not exist fails before any work.
2. **Skips files already counted**: the output directory keeps per-file checkpoints under
   ``_checkpoints/<fingerprint>/<wave>/`` (the partial rows of every file, tagged with its URL,
   and ``files.json`` naming each file with its size and modification time, written last). A
   file counts as done when a checkpoint holds it with the same size and modification time and
   the same configuration fingerprint; a changed or removed file's rows are left out and a
   changed file is counted again; new files are counted. ``--force`` starts over.
3. **Counts the rest in waves** of files (``--wave-files``; a killed driver loses at most the
   wave in progress). JSON Lines files are read whole, either by Spark (``binaryFile``: its
   filesystem and its configuration; the default for remote schemes; up to what executor
   memory allows, ``whole_file_limit``) and inflated and parsed by the engine's own reader in
   ``mapInArrow``, or (``--reader auto`` for local file paths, ``--reader engine`` for all)
   streamed by the engine's reader in tasks (a wave's files shared out among 2 tasks per core,
   largest first); either way exactly the local runner's
   reader: lines, rows, reject reasons, damaged streams. Larger files Spark reads go through
   ``spark.read.text`` and the engine's line parser; Parquet through ``spark.read.parquet``. A
   file Spark's line reader fails on (a damaged gzip member) is read again by the engine's
   reader in a task, so its damage becomes a reject with shard and line instead of a failed
   job; so are files counted with ``--filter`` that Spark could split (large uncompressed JSON
   Lines, Parquet), since attribute files are matched by row.
4. **Reduces** every checkpoint with Spark aggregations and **writes** each table as one Parquet
   file with Spark's writer (``<table>.parquet``, the local runner's layout), then
   ``lexicon.json`` and ``manifest.json`` last (the local runner's manifest format).

`tracebias spark-count ...` builds this command for you. docs/spark.md has the details.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

import pyarrow as pa

from engine.count import tables as TB
from engine.count.config import CountConfig
from engine.run.output import LEXICON_FILE, MANIFEST, lexicon_file_bytes

CHECKPOINTS = "_checkpoints"
FILES = "files.json"
WHOLE_FILE_MAX = 1 << 30  # JSON Lines files up to this size are read whole (binaryFile)
WHOLE_FILE_COPIES = 10  # binaryFile holds a file up to about this many times in executor memory
PACKED_BATCH_ROWS = 16  # packed files (one file's tables each) per Arrow batch of the reduction
_READ_FAILED = re.compile(r"(?:error while reading file|FAILED_READ_FILE[^ ]*\] .*? file) (\S+?)\.?(?:\s|$)")


def parse_args(argv: list[str]) -> argparse.Namespace:
    from engine.count.config import add_count_arguments

    p = argparse.ArgumentParser(prog="count_cooccurrence.py",
                                description="Count co-occurrences with Spark (the tables and "
                                            "manifest of `tracebias count`).")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="shard files, directories or globs Spark can read (s3a://, hdfs://, "
                        "file paths; .json.gz, .json.zst, .jsonl, .parquet)")
    p.add_argument("--out", required=True, help="output directory (any Hadoop filesystem)")
    add_count_arguments(p)
    add_job_arguments(p)
    return p.parse_args(argv)


READERS = ("auto", "spark", "engine")


def add_job_arguments(p: argparse.ArgumentParser) -> None:
    """The job's own flags (beside every `tracebias count` option), declared once for the
    spark-submit job and `tracebias spark-count`."""
    p.add_argument("--force", action="store_true",
                   help="forget the checkpoints of earlier runs and count everything again")
    p.add_argument("--wave-files", type=_at_least_one, default=None, metavar="N",
                   help="files per checkpoint wave (default: 8 per core, or 1/20 of the "
                        "files when that is more)")
    p.add_argument("--reader", choices=READERS, default="auto",
                   help="who reads JSON Lines shards: spark (binaryFile, Spark's "
                        "filesystem and its configuration), engine (the engine's reader in the "
                        "task, fsspec), auto (default: engine for local and NFS file paths, "
                        "where it streams while it counts, spark for every other scheme)")


def _at_least_one(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {n})")
    return n


def job_argv(args: argparse.Namespace) -> list[str]:
    """The job flags of parsed ``args`` as a command line (for spark-submit)."""
    out = ["--force"] if args.force else []
    if args.wave_files:
        out += ["--wave-files", str(args.wave_files)]
    if args.reader != "auto":
        out += ["--reader", args.reader]
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from engine.corpus.shards import InputError
    from engine.count.config import ConfigError, CountOptions
    from engine.lexicon import LexiconError
    from engine.run.output import OutputError

    try:
        config = CountOptions.from_args(args).to_config()
    except (ConfigError, LexiconError, ValueError, OSError) as e:
        print(f"count_cooccurrence: error: {e}", file=sys.stderr)
        return 2
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("tracebias-count").getOrCreate()
    try:
        summary = run_job(spark, args.inputs, args.out, config, force=args.force,
                          wave_files=args.wave_files, reader=args.reader,
                          log=lambda m: print(m, flush=True))
        from engine.run.base import format_summary

        print(format_summary(summary), flush=True)
    except (InputError, OutputError, ValueError) as e:
        print(f"count_cooccurrence: error: {e}", file=sys.stderr)
        return 2
    finally:
        spark.stop()
    return 0


# ---- listing -----------------------------------------------------------------------------------

@dataclass
class InputFile:
    url: str  # canonical (file:///x for local files, as the local runner names them)
    path: str  # as Spark names it (file:/x)
    rel: str  # relative to the input root it was found under
    size: int
    mtime: float  # POSIX seconds

    @property
    def key(self) -> str:
        from engine.corpus.shards import ShardRef

        return ShardRef(self.url, self.rel, self.size).key

    @property
    def format(self) -> str:
        from engine.corpus.shards import format_of

        return format_of(self.url)

    @property
    def compression(self) -> str:
        from engine.corpus.shards import compression_of

        return compression_of(self.url)

    def ident(self) -> dict:
        return {"url": self.url, "rel": self.rel, "size": self.size, "mtime": self.mtime}


def list_files(spark, inputs: list[str]) -> tuple[list[InputFile], list[tuple[str, str]]]:
    """One listing per input with Spark's file index (binaryFile metadata only: file contents are
    not read): shards with size and modification time, and the files left out and why."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    from engine.corpus.shards import SUFFIXES, InputError, is_ambiguous
    from engine.spark.dataframe import canonical_url
    from engine.spark.hfs import HadoopFS

    if not inputs:
        raise InputError("no input given")
    found: dict[str, InputFile] = {}
    skipped: list[tuple[str, str]] = []
    for inp in inputs:
        magic = any(ch in inp for ch in "*?[")
        hfs = None
        if not magic:
            hfs = HadoopFS(spark, inp)
            if not hfs.exists():
                raise InputError(f"input not found: {inp}")
            status = hfs.fs.getFileStatus(hfs.root)
            is_dir = bool(status.isDirectory())
            root = hfs.url if is_dir else hfs.url.rsplit("/", 1)[0]
            if not is_dir and not inp.lower().endswith(SUFFIXES):
                raise InputError(f"not a shard name (expected one of {', '.join(SUFFIXES)}): "
                                 f"{inp}")
            why = (_not_json_lines(hfs, int(status.getLen()))
                   if not is_dir and is_ambiguous(inp) else None)
            if why:
                raise InputError(f"{inp} is {why}; rename it to .jsonl if it really is JSON "
                                 "Lines")
        else:
            first = min(i for i, ch in enumerate(inp) if ch in "*?[")
            root = HadoopFS(spark, inp[:first].rsplit("/", 1)[0] or ".").url
            is_dir = False
        reader = spark.read.format("binaryFile")
        if not magic and is_dir:
            reader = reader.option("recursiveFileLookup", "true")
        try:
            listed = reader.load(hfs.url if hfs else inp)
            rows = listed.select(
                "path", "length", F.col("modificationTime").cast("double").alias("mtime")
            ).collect()
        except AnalysisException as e:
            if "PATH_NOT_FOUND" in str(e) or "does not exist" in str(e):
                raise InputError(f"input pattern matches no file: {inp}" if magic
                                 else f"input not found: {inp}") from None
            raise
        # Spark's scans skip empty files; the file index still lists them (no second listing)
        have = {canonical_url(r.path) for r in rows}
        for p in listed.inputFiles():
            if canonical_url(p) not in have:
                st = HadoopFS(spark, p)
                status = st.fs.getFileStatus(st.root)
                rows.append(_Row(st.url, int(status.getLen()),
                                 status.getModificationTime() / 1000.0))
        kept = 0
        for r in sorted(rows, key=lambda r: r.path):
            url = canonical_url(r.path)
            rel = _relative(r.path, root)
            if not url.lower().endswith(SUFFIXES):
                skipped.append((url, "not a shard name"))
                continue
            if (magic or is_dir) and is_ambiguous(url):  # as the local listing: JSON, not Lines
                why = _not_json_lines(HadoopFS(spark, r.path), int(r.length))
                if why:
                    skipped.append((url, why))
                    continue
            found.setdefault(url, InputFile(url, r.path, rel, int(r.length), float(r.mtime)))
            kept += 1
        if not kept:
            raise InputError(f"input pattern matches no shard: {inp}" if magic
                             else f"input directory holds no shard ({', '.join(SUFFIXES)}): {inp}")
    files = sorted(found.values(), key=lambda f: (f.rel, f.url))
    return files, skipped


def _not_json_lines(hfs, size: int) -> str | None:
    """Why an uncompressed ``.json`` file is not JSON Lines of documents (the local listing's
    rule, engine.corpus.shards.sniff_json_head), from its first bytes; None if it may be."""
    from engine.corpus.shards import SNIFF_BYTES, sniff_json_head

    try:
        return sniff_json_head(hfs.read_head(SNIFF_BYTES + 1, size))
    except Exception:  # noqa: BLE001 - unreadable: counting it reports the problem as a reject
        return None


@dataclass
class _Row:
    path: str
    length: int
    mtime: float


def _relative(path: str, root: str) -> str:
    from engine.spark.dataframe import canonical_url

    p, r = canonical_url(path), canonical_url(root).rstrip("/")
    if p.startswith(r + "/"):
        return p[len(r) + 1:]
    return p.rsplit("/", 1)[-1]


def fsspec_url(url: str) -> str:
    """The URL fsspec opens for a Hadoop one (s3a:// and s3n:// are s3:// there)."""
    return re.sub(r"^s3[an]://", "s3://", url)


# ---- checkpoints -------------------------------------------------------------------------------

@dataclass
class Wave:
    name: str
    files: dict[str, dict]  # url -> ident + status, documents, rejects
    meta: dict = field(default_factory=dict)


def load_waves(hfs, fingerprint: str, log) -> list[Wave]:
    """Finished waves of this configuration (their files.json exists); unfinished ones are
    removed, as are the checkpoints of other configurations."""
    waves = []
    for e in hfs.list(CHECKPOINTS):
        if e["dir"] and e["name"] != fingerprint:
            hfs.delete(CHECKPOINTS, e["name"])
    for e in sorted(hfs.list(CHECKPOINTS, fingerprint), key=lambda e: e["name"]):
        if not e["dir"]:
            continue
        try:
            meta = hfs.read_json(CHECKPOINTS, fingerprint, e["name"], FILES)
        except Exception:  # noqa: BLE001 - no files.json: a wave that did not finish
            log(f"checkpoint {e['name']} did not finish; removing it")
            hfs.delete(CHECKPOINTS, fingerprint, e["name"])
            continue
        waves.append(Wave(e["name"], {f["url"]: f for f in meta["files"]}, meta))
    return waves


def _same(ident: dict, f: InputFile) -> bool:
    return ident["size"] == f.size and abs(float(ident["mtime"]) - f.mtime) < 1e-3 \
        and ident["rel"] == f.rel


# ---- the job -----------------------------------------------------------------------------------

def run_job(spark, inputs: list[str], out_url: str, config: CountConfig, force: bool = False,
            wave_files: int | None = None, log=None, whole_file_max: int | None = None,
            reader: str = "auto"):
    """Count ``inputs`` into ``out_url`` with Spark; returns an engine.run.base.RunSummary.
    ``reader``: see ``add_job_arguments``. JSON Lines files Spark reads are read whole
    (binaryFile) up to ``whole_file_max`` bytes (default: what executor memory allows,
    ``whole_file_limit``), larger ones by lines (spark.read.text)."""
    if reader not in READERS:
        raise ValueError(f"reader must be one of {', '.join(READERS)} (got {reader!r})")
    import time

    from engine.corpus.shards import ShardRef
    from engine.spark.hfs import HadoopFS

    log = log or (lambda m: None)
    started = _now()
    t0 = time.perf_counter()
    shuffle_partitions(spark)
    files, skipped = list_files(spark, inputs)
    log(f"listed {len(files)} shards in {time.perf_counter() - t0:.1f} s")
    for path, reason in skipped:
        log(f"skipped {path}: {reason}")
    for f in config.filters:  # attribute files exist for every shard, with the key
        f.check([ShardRef(x.url, x.rel, x.size) for x in files])
    hfs = HadoopFS(spark, out_url)
    fp = config.fingerprint()
    sc = spark.sparkContext
    wave_files = wave_files or default_wave_files(sc.defaultParallelism, len(files))
    if whole_file_max is None:
        whole_file_max = whole_file_limit(spark)
        if any(reader_of(f, reader, whole_file_max, bool(config.filters)) == "spark.read.text"
               for f in files):
            log(f"JSON Lines files Spark reads that are over {whole_file_max / 1e6:.0f} MB are "
                "read by lines (spark.read.text), not whole: a whole file is held about "
                f"{WHOLE_FILE_COPIES} times in executor memory (raise spark.executor.memory, "
                "or spark.driver.memory with local[*], to read them whole)")
    with hfs.lock():
        hfs.delete(MANIFEST)  # the directory no longer reads as a finished run
        if force:
            hfs.delete(CHECKPOINTS)
        t0 = time.perf_counter()
        waves = load_waves(hfs, fp, log)
        log(f"read {len(waves)} checkpoint waves in {time.perf_counter() - t0:.1f} s")
        by_url = {f.url: f for f in files}
        done: dict[str, tuple[Wave, dict]] = {}
        for w in waves:
            for url, ident in w.files.items():
                f = by_url.get(url)
                if f is not None and ident.get("status") == "counted" and _same(ident, f):
                    done[url] = (w, ident)
        for w in waves:  # waves none of whose files still count are gone
            if not any(done.get(u, (None,))[0] is w for u in w.files):
                hfs.delete(CHECKPOINTS, fp, w.name)
        waves = [w for w in waves if any(done.get(u, (None,))[0] is w for u in w.files)]
        todo = [f for f in files if f.url not in done]
        log(f"{len(files)} shards: {len(todo)} to count, {len(done)} already done")
        counted: dict[str, dict] = {}
        for i in range(0, len(todo), wave_files):
            chunk = todo[i:i + wave_files]
            sc.setJobDescription(f"tracebias count: wave of {len(chunk)} files")
            w = count_wave(spark, hfs, chunk, config, log, whole_file_max, reader)
            waves.append(w)
            for url, ident in w.files.items():
                counted[url] = ident
                if ident["status"] == "counted":
                    done[url] = (w, ident)
        sc.setJobDescription("tracebias count: reduction")
        t0 = time.perf_counter()
        summary = finalize(spark, hfs, files, waves, done, counted, config, inputs, started)
        log(f"reduced and wrote the tables in {time.perf_counter() - t0:.1f} s")
    summary.skipped_inputs = skipped
    return summary


SHUFFLE = "spark.sql.shuffle.partitions"
SHUFFLE_BYTES = 128 << 20  # partial rows per shuffle partition of the reduction


def shuffle_partitions(spark, partial_bytes: int = 0) -> int | None:
    """Size the job's shuffles to its data, unless the user set ``spark.sql.shuffle.partitions``:
    one partition per core, and one per 128 MiB of partial rows in the reduction. The job's
    shuffles move partial rows (tens of MB for a thousand shards with the default windows), and
    Spark's default of 200 partitions cost 2.6 s of a 20 s run on 2 cores (2026-11-26)."""
    sc = spark.sparkContext
    if sc.getConf().contains(SHUFFLE):
        return None
    n = shuffle_partitions_for(sc.defaultParallelism, partial_bytes)
    spark.conf.set(SHUFFLE, str(n))
    return n


def shuffle_partitions_for(cores: int, partial_bytes: int) -> int:
    return max(cores, 1, -(-partial_bytes // SHUFFLE_BYTES))


def whole_file_limit(spark) -> int:
    """The largest JSON Lines file Spark's reader takes whole (binaryFile) without running an
    executor out of memory: the file is held about WHOLE_FILE_COPIES times (Spark's byte array,
    its row, the Arrow batch, the Python worker's copy), by every task running at once on an
    executor (6-8 copies measured: 2 tasks of 122 MB files ran out of a 2 GB heap now and
    then); at most WHOLE_FILE_MAX."""
    sc = spark.sparkContext
    conf = sc.getConf()
    local = sc.master.startswith("local")
    memory = conf.get("spark.driver.memory" if local else "spark.executor.memory", "1g")
    heap = int(sc._jvm.org.apache.spark.network.util.JavaUtils.byteStringAsBytes(memory))
    slots = int(conf.get("spark.executor.cores", "0") or 0)
    if local or not slots:
        executors = max(1, sc._jsc.sc().getExecutorMemoryStatus().size() - (0 if local else 1))
        slots = max(1, sc.defaultParallelism // executors)
    return min(WHOLE_FILE_MAX, heap // slots // WHOLE_FILE_COPIES)


def default_wave_files(cores: int, n_files: int) -> int:
    """Files per checkpoint wave: 8 per core, and at most about 20 waves per run (each wave is
    a Spark job with a fixed cost of seconds; a killed driver loses at most one wave)."""
    return max(8 * max(1, cores), -(-n_files // 20), 1)


def reader_of(f: InputFile, reader: str, whole_file_max: int, filtered: bool) -> str:
    """Who reads ``f``: "engine" (engine.corpus.shards.read_shard in a task), "binaryFile",
    "spark.read.text" or "spark.read.parquet". ``reader`` "auto" has the engine stream local
    JSON Lines files (all compressed ones, uncompressed ones Spark would not split); with
    attribute filters (``filtered``) the engine also reads the files Spark would split (Parquet,
    uncompressed JSON Lines read by lines), since attribute rows are matched to whole files."""
    if f.format == "parquet":
        return "engine" if filtered else "spark.read.parquet"
    if reader != "spark" and (f.compression != "none" or f.size <= WHOLE_FILE_MAX) \
            and (reader == "engine" or f.url.startswith("file:")):
        return "engine"
    if f.size <= whole_file_max:
        return "binaryFile"
    return "engine" if filtered and f.compression == "none" else "spark.read.text"


def count_wave(spark, hfs, files: list[InputFile], config: CountConfig, log,
               whole_file_max: int = WHOLE_FILE_MAX, reader: str = "auto") -> Wave:
    """Count ``files`` into a new checkpoint wave (partials first, files.json last); each file
    read by ``reader_of`` it, or by the engine's reader when Spark's reader fails on it."""
    from pyspark.sql import functions as F

    from engine.spark.dataframe import (PACKED, SPLIT, TABLE_NAME, bytes_partials,
                                        file_partials, partials)

    import time

    t0 = time.perf_counter()
    fp = config.fingerprint()
    name = f"{_now().replace(':', '').replace('-', '')}-{uuid.uuid4().hex[:8]}"
    readers = {f.url: reader_of(f, reader, whole_file_max, bool(config.filters))
               for f in files}
    rels = {f.url: f.rel for f in files}
    dest = f"{CHECKPOINTS}/{fp}/{name}/partials"
    for attempt in range(len(files) + 1):
        parts = []
        whole, text, pq, eng = ([f for f in files if readers[f.url] == r] for r in
                                ("binaryFile", "spark.read.text", "spark.read.parquet", "engine"))
        if whole:  # one file per Arrow batch: Spark reads the next file while one is counted
            parts.append(("1", bytes_partials(spark, [f.path for f in whole], config, rels)))
        if text:
            df = spark.read.option("lineSep", "\n").text([f.path for f in text])
            parts.append((None, partials(df, config, mode="lines", rels=rels)))
        if pq:
            df = spark.read.option("mergeSchema", "true").parquet(*[f.path for f in pq])
            parts.append((None, partials(df, config, mode="docs", rels=rels)))
        if eng:
            parts.append(("1", file_partials(spark, [{**f.ident(), "fs_url": fsspec_url(f.url)}
                                                     for f in eng], config)))
        hfs.delete(dest)
        try:
            for batch_rows, df in parts:
                with _arrow_batch_rows(spark, batch_rows):
                    df.withColumn("wave", F.lit(name)).write.mode("append") \
                        .parquet(hfs.qualified(dest))
            break
        except Exception as e:  # noqa: BLE001 - Spark's reader failed on a file: read it ourselves
            bad = _failed_file(e, files)
            if bad is None or readers[bad.url] == "engine":
                raise
            log(f"Spark's reader failed on {bad.url} ({_first_cause(e)}); reading it with the "
                "engine's reader")
            readers[bad.url] = "engine"
    written = spark.read.parquet(hfs.qualified(dest))
    splits = written.filter(F.col(TABLE_NAME).isin(SPLIT, PACKED)).groupBy("file").agg(
        F.sum("filtered_out").alias("filtered_out"), F.max("fatal").alias("fatal"),
        F.collect_set("fingerprint").alias("fingerprints"),
        F.max(F.col(TABLE_NAME) == PACKED).alias("packed")).collect()
    stats = written.filter(F.col(TABLE_NAME) == "shards").groupBy("shard").agg(
        F.sum("documents").alias("documents"), F.sum("rejects").alias("rejects")).collect()
    seen = {r.file: r for r in splits}
    per_file = {r.shard: (int(r.documents), int(r.rejects)) for r in stats}
    executor_fps = sorted({x for r in splits for x in r.fingerprints})
    empty = [f for f in files if f.url not in seen]
    if empty:  # no row at all: the local reader's "empty file" reject
        _empty_rows(spark, empty, name).write.mode("append").parquet(hfs.qualified(dest))
    entries = []
    for f in files:
        s = seen.get(f.url)
        docs, rej = per_file.get(f.url, (0, 0))
        if f in empty:
            rej = 1
        status = "unreadable" if s is not None and s.fatal else "counted"
        entries.append({**f.ident(), "status": status, "documents": docs, "rejects": rej,
                        "filtered_out": int(s.filtered_out or 0) if s else 0,
                        "reader": readers[f.url], "packed": bool(s and s.packed)})
    meta = {"fingerprint": fp, "executor_fingerprints": executor_fps, "finished": _now(),
            "files": entries}
    hfs.write_json(meta, CHECKPOINTS, fp, name, FILES)
    n_eng = sum(r == "engine" for r in readers.values())
    log(f"counted {len(files)} files in {time.perf_counter() - t0:.1f} s"
        + (f" ({n_eng} read by the engine's reader)" if n_eng else ""))
    return Wave(name, {e["url"]: e for e in entries}, meta)


@contextmanager
def _arrow_batch_rows(spark, rows: str | None):
    """Rows per Arrow batch handed to mapInArrow, for one write (None: the session's)."""
    key = "spark.sql.execution.arrow.maxRecordsPerBatch"
    if rows is None:
        yield
        return
    old = spark.conf.get(key, None)
    spark.conf.set(key, rows)
    try:
        yield
    finally:
        if old is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, old)


def _failed_file(e: Exception, files: list[InputFile]) -> InputFile | None:
    from engine.spark.dataframe import canonical_url

    text = str(e)
    by = {f.url: f for f in files}
    for m in _READ_FAILED.finditer(text):
        f = by.get(canonical_url(m.group(1)))
        if f is not None:
            return f
    for f in files:  # the path may be quoted differently: any file named in the message
        if f.path in text or f.url in text:
            return f
    return None


def _first_cause(e: Exception) -> str:
    for line in str(e).splitlines():
        if "Caused by:" in line:
            return line.split("Caused by:", 1)[1].strip()[:200]
    return str(e).splitlines()[0][:200] if str(e) else type(e).__name__


def _empty_rows(spark, files: list[InputFile], wave: str):
    """Partial rows for files that gave no row: an "empty file" reject and its shards row."""
    from engine.spark.dataframe import ARROW_PARTIAL, spark_partial_schema

    rows = []
    for f in files:
        base = {c.name: None for c in ARROW_PARTIAL}
        rows.append({**base, "table_name": "rejects", "shard": f.url, "file": f.url, "line": 0,
                     "reason": "empty file", "source": "", "sample": b"", "block": 0})
        rows.append({**base, "table_name": "shards", "shard": f.url, "file": f.url, "source": "",
                     "documents": 0, "bytes": 0, "words": 0, "rejects": 1, "block": 0})
    from pyspark.sql import functions as F

    return _local_frame(spark, pa.Table.from_pylist(rows, schema=ARROW_PARTIAL),
                        spark_partial_schema()).withColumn("wave", F.lit(wave))


def _local_frame(spark, table, schema=None):
    """A DataFrame of a driver-side Arrow table, handed to the JVM as Arrow (a list of tuples
    would start Python workers to unpickle it: ~0.8 CPU seconds on 2 cores, 2026-11-26)."""
    return spark.createDataFrame(table, schema)


def finalize(spark, hfs, files, waves, done, counted, config: CountConfig, inputs, started):
    """Reduce the checkpoints of the files that count into the final tables; manifest last."""
    from pyspark.sql import functions as F

    from engine.run.base import RunSummary, ShardResult
    from engine.spark.dataframe import canonical_url, checkpoint_schema, reduce_all, unpacked

    fp = config.fingerprint()
    valid = [(w.name, url) for url, (w, _) in done.items()]
    # unreadable files of this run: their rejects are part of this result, though not done
    valid += [(w.name, url) for w in waves for url, e in w.files.items()
              if e["status"] == "unreadable" and url in counted]
    waves_used = sorted({w for w, _ in valid})
    paths = [hfs.qualified(CHECKPOINTS, fp, w, "partials") for w in waves_used]
    shuffle_partitions(spark, sum(hfs.du(CHECKPOINTS, fp, w, "partials") for w in waves_used))
    persisted = []
    if paths:
        parts = spark.read.schema(checkpoint_schema()).parquet(*paths)
        keep = _local_frame(spark, pa.table({"wave": pa.array([w for w, _ in valid], pa.string()),
                                             "file": pa.array([u for _, u in valid], pa.string())}))
        counts = set(valid)  # waves written before files.json said "packed" may hold packed rows
        packed = any(e.get("packed", True) for w in waves for url, e in w.files.items()
                     if (w.name, url) in counts)
        parts = unpacked(parts.join(F.broadcast(keep), ["wave", "file"], "inner"), config,
                         packed, persisted)
    else:
        from engine.spark.dataframe import ARROW_PARTIAL, spark_partial_schema

        parts = _local_frame(spark, ARROW_PARTIAL.empty_table(), spark_partial_schema())
    try:
        with _arrow_batch_rows(spark, str(PACKED_BATCH_ROWS)):
            tables = reduce_all(parts, config, sort=False, persist=True, persisted=persisted)
            filtered = sum(int(e.get("filtered_out", 0)) for _, e in done.values())
            result = write_tables(spark, hfs, tables, config)
    finally:
        for df in persisted:
            df.unpersist()
    shard_rows, results = [], []
    for f in files:
        e = counted.get(f.url) or (done[f.url][1] if f.url in done else {})
        status = "counted" if f.url in counted else "skipped"
        if e.get("status") == "unreadable":
            status = "unreadable"
        shard_rows.append({"url": f.url, "rel": f.rel, "key": f.key, "size": f.size,
                           "mtime": f.mtime, "status": status,
                           "documents": int(e.get("documents", 0)),
                           "rejects": int(e.get("rejects", 0))})
        results.append(ShardResult(f.key, f.url, status, int(e.get("documents", 0)),
                                   int(e.get("rejects", 0))))
    sc = spark.sparkContext
    runner = {"kind": "spark", "master": sc.master, "app_id": sc.applicationId,
              "default_parallelism": sc.defaultParallelism, "spark_version": sc.version,
              "reader": "spark (engine reader for files Spark could not read)",
              "executor_fingerprints": sorted({x for w in waves
                                               for x in w.meta.get("executor_fingerprints", [])}),
              "waves": len(waves)}
    totals = result["totals"]
    totals.update({"shards": len(files), "input_bytes": sum(f.size for f in files),
                   "unreadable_shards": sum(1 for r in shard_rows if r["status"] == "unreadable"),
                   "filtered_out": filtered + sum(int(e.get("filtered_out", 0))
                                                  for e in counted.values()
                                                  if e["status"] == "unreadable")})
    manifest = build_manifest(config, inputs, shard_rows, totals, result["tables"], started,
                              runner)
    hfs.write_bytes(lexicon_file_bytes(config.lexicon), LEXICON_FILE)
    hfs.write_json(manifest, MANIFEST)
    return RunSummary(canonical_url(hfs.url), results, totals, manifest)


def write_tables(spark, hfs, tables: dict, config: CountConfig) -> dict:
    """Each table as one sorted Parquet file ``<table>.parquet`` written by Spark; stale tables
    of another configuration removed. Returns the tables' files and rows, the totals of the
    manifest and the ``shards`` table as written (Arrow, read on the driver)."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.parquet as pq

    from engine.run.base import table_totals
    from engine.spark.dataframe import sort_columns

    spark.conf.set("spark.sql.parquet.compression.codec", "zstd")
    for t in TB.TABLES:
        if t.name not in tables:
            hfs.delete(t.file)

    def write(name: str) -> tuple[str, dict]:
        spec = TB.spec(name)
        tmp = f"_tmp-{name}-{uuid.uuid4().hex[:8]}"
        t = tables[name]
        # a summed table is a filter of the persisted aggregation (reduce_all): its partitions
        # merge without a shuffle; contexts and rejects are computed from every partial row, in
        # parallel, before one shuffle gathers them
        t = t.coalesce(1) if spec.reduce == "sum" or name == "shards" else t.repartition(1)
        t.sortWithinPartitions(*sort_columns(spec)) \
            .write.mode("overwrite").parquet(hfs.qualified(tmp))
        size = hfs.move_single_file(tmp, spec.file)
        rows = hfs.parquet_rows(spec.file)
        return name, {"file": spec.file, "rows": int(rows), "bytes": int(size)}

    # small jobs, latency-bound: several at once (Spark schedules concurrent jobs fairly)
    with ThreadPoolExecutor(max_workers=4) as pool:
        info = dict(pool.map(write, list(tables)))
    # the totals from the two small files Spark just wrote, read on the driver (no Spark job)
    sh, tu = (pq.read_table(pa.BufferReader(hfs.read_bytes(t.file)))
              for t in (TB.SHARDS, TB.TARGET_UNITS))
    totals = {**table_totals(sh, tu, config), "rejects": info["rejects"]["rows"]}
    return {"tables": info, "totals": totals, "shards": sh}


def build_manifest(config: CountConfig, inputs, shard_rows, totals, table_info, started,
                   runner) -> dict:
    """The run manifest: the executor base's (one definition for every executor)."""
    from engine.run.base import build_manifest as base_manifest

    return base_manifest(config, inputs, shard_rows, totals, table_info, started, runner)


def write_result(result, out_url: str, inputs: list[str] | None = None) -> dict:
    """Write a CountResult (engine.spark.dataframe.cooccurrence) like `tracebias count --out`:
    the tables, lexicon.json and the manifest last. Returns the manifest."""
    from engine.spark.hfs import HadoopFS

    spark = next(iter(result.values())).sparkSession
    hfs = HadoopFS(spark, out_url)
    started = _now()
    config = result.config
    with hfs.lock():
        hfs.delete(MANIFEST)
        tables = {name: df for name, df in result.items()}
        written = write_tables(spark, hfs, tables, config)
        per_shard = written["shards"].group_by("shard").aggregate(
            [("documents", "sum"), ("rejects", "sum")]).sort_by("shard").to_pylist()
        shard_rows = [{"url": r["shard"], "rel": r["shard"].rsplit("/", 1)[-1], "key": "",
                       "size": None, "mtime": None, "status": "counted",
                       "documents": int(r["documents_sum"]), "rejects": int(r["rejects_sum"])}
                      for r in per_shard]
        totals = written["totals"]
        totals.update({"shards": len(shard_rows), "input_bytes": None, "unreadable_shards": 0,
                       "filtered_out": 0})
        sc = spark.sparkContext
        runner = {"kind": "spark-dataframe", "master": sc.master, "app_id": sc.applicationId,
                  "default_parallelism": sc.defaultParallelism, "spark_version": sc.version}
        manifest = build_manifest(config, inputs or [], shard_rows, totals, written["tables"],
                                  started, runner)
        hfs.write_bytes(lexicon_file_bytes(config.lexicon), LEXICON_FILE)
        hfs.write_json(manifest, MANIFEST)
    return manifest


def _now() -> str:
    from engine.run.base import now

    return now()


if __name__ == "__main__":
    raise SystemExit(main())
