"""Running a count: the per-shard step, the local executor, and the final reduction.

``process_shard`` is the unit of work: count one shard and write its partial tables and its
done-marker atomically. It is idempotent, so the local thread pool here and the Spark job
(jobs/count_cooccurrence.py) both call it, and a retried or re-run shard gives the same files.
``finalize`` sums the partials of the requested shards into the final tables and writes the
manifest last.
"""
from __future__ import annotations

import os
import platform
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import pyarrow as pa

from engine.count.counting import CountConfig, count_shard, engine_versions, reduce_tables
from engine.run.output import BOOTSTRAP_TABLE, MARKER, TABLES, OutputDir
from engine.corpus.shards import ShardRef, expand_inputs


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ShardResult:
    key: str
    url: str
    status: str  # "counted" | "skipped" (done-marker found)
    documents: int
    rejects: int
    seconds: float


@dataclass
class RunSummary:
    out: str
    shards: list[ShardResult] = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)

    @property
    def counted(self) -> list[ShardResult]:
        return [s for s in self.shards if s.status == "counted"]


def is_done(out: OutputDir, shard: ShardRef, config: CountConfig) -> bool:
    if not out.exists("partials", shard.key, MARKER):
        return False
    try:
        marker = out.read_json("partials", shard.key, MARKER)
    except (OSError, ValueError):
        return False
    return marker.get("fingerprint") == config.fingerprint() and marker.get("url") == shard.url


def process_shard(shard: ShardRef, out_url: str, config: CountConfig, force: bool = False,
                  on_bytes=None) -> ShardResult:
    """Count one shard into ``out/partials/<key>/`` unless already done (idempotent)."""
    out = OutputDir(out_url)
    if not force and is_done(out, shard, config):
        marker = out.read_json("partials", shard.key, MARKER)
        if on_bytes:
            on_bytes(shard.size)
        return ShardResult(shard.key, shard.url, "skipped", marker["documents"], marker["rejects"], 0.0)
    t0 = time.perf_counter()
    out.remove("partials", shard.key, MARKER)
    counter = count_shard(shard, config, on_bytes=on_bytes)
    tables = counter.tables(shard.url)
    for name, table in tables.items():
        out.write_table(table, "partials", shard.key, f"{name}.parquet")
    docs = int(counter.doc_stats[:, 0].sum()) if counter.doc_stats.size else 0
    secs = time.perf_counter() - t0
    out.write_json({"url": shard.url, "rel": shard.rel, "size": shard.size,
                    "fingerprint": config.fingerprint(), "documents": docs,
                    "rejects": len(counter.rejects), "filtered_out": counter.filtered_out,
                    "finished": now(),
                    "host": platform.node(), "pid": os.getpid()},
                   "partials", shard.key, MARKER)
    return ShardResult(shard.key, shard.url, "counted", docs, len(counter.rejects), secs)


def finalize(out_url: str, shards: list[ShardRef], config: CountConfig, inputs: list[str],
             results: list[ShardResult], started: str, runner: dict) -> RunSummary:
    out = OutputDir(out_url)
    missing = [s.url for s in shards if not is_done(out, s, config)]
    if missing:
        raise RuntimeError(f"{len(missing)} shard(s) have no completed partial, e.g. {missing[0]}")
    final: dict[str, pa.Table] = {}
    names = TABLES + ((BOOTSTRAP_TABLE,) if config.bootstrap else ())
    for name in names:
        parts = [out.read_table("partials", s.key, f"{name}.parquet") for s in shards]
        final[name] = reduce_tables(name, parts)
        out.write_table(final[name], f"{name}.parquet")
    totals = {
        "shards": len(shards),
        "documents": int(pa.compute.sum(final["shards"]["documents"]).as_py() or 0),
        "bytes": int(pa.compute.sum(final["shards"]["bytes"]).as_py() or 0),
        "words": int(pa.compute.sum(final["shards"]["words"]).as_py() or 0),
        "rejects": final["rejects"].num_rows,
        "filtered_out": sum(out.read_json("partials", s.key, MARKER).get("filtered_out", 0)
                            for s in shards),
    }
    units = {}
    for w in config.windows:
        t = final["cooccurrence"].filter(pa.compute.equal(final["cooccurrence"]["window"], w.label))
        units[w.label] = int(pa.compute.sum(t["units"]).as_py() or 0)
    totals["units"] = units
    lex = config.lexicon
    by_url = {r.url: r for r in results}
    manifest = {
        "format": "tracebias-counts/1",
        "started": started,
        "finished": now(),
        "inputs": list(inputs),
        "shards": [{"url": s.url, "rel": s.rel, "key": s.key, "size": s.size,
                    "status": by_url[s.url].status if s.url in by_url else "unknown"}
                   for s in shards],
        "lexicon": {"name": lex.name, "version": lex.version, "sha256": lex.sha256(),
                    "targets": len(lex.targets), "gender_terms": len(lex.gender_terms)},
        "windows": [w.label for w in config.windows],
        "bootstrap": {"replicates": config.bootstrap, "method": "document-level Poisson(1), "
                      "weights from FNV-1a(id) + splitmix64 (engine/bootstrap.py)"}
        if config.bootstrap else None,
        "filters": [f.label() for f in config.filters],
        "abbreviations": sorted(config.compiled.abbreviations),
        "fingerprint": config.fingerprint(),
        "tokenizer": {"words": "tokenizers Lowercase + Whitespace (engine/unicode.py)",
                      "model_tokens": ({"path": config.tokenizer,
                                        "sha256": config.token_matcher.sha256,
                                        "form_variants": config.token_matcher.variants}
                                       if config.tokenizer else None)},
        "versions": {**engine_versions(), "python": sys.version.split()[0]},
        "runner": runner,
        "totals": totals,
    }
    out.write_json(manifest, "manifest.json")
    return RunSummary(out_url, results, totals, manifest)


class _Progress:
    """Thread-safe byte counter feeding a tqdm bar (or nothing)."""

    def __init__(self, total: int, enabled: bool, desc: str):
        self._lock = threading.Lock()
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="B", unit_scale=True, desc=desc, file=sys.stderr,
                            dynamic_ncols=True)

    def __call__(self, n: int) -> None:
        if self.bar is not None:
            with self._lock:
                self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_local(inputs: list[str], out_url: str, config: CountConfig, workers: int | None = None,
              force: bool = False, progress: bool = True, log=None) -> RunSummary:
    """Count ``inputs`` into ``out_url`` on this machine with a pool of threads.

    The numba kernels release the GIL, as do decompression and Arrow parsing, so threads use
    all cores without copying the lexicon tables into other processes.
    """
    started = now()
    shards = expand_inputs(inputs)  # raises InputError before any work
    workers = max(1, workers or os.cpu_count() or 1)
    config.compiled  # compile the lexicon once, in this thread
    warm_up(config)
    bar = _Progress(sum(s.size for s in shards), progress, "counting")
    results: list[ShardResult] = []
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futs = [pool.submit(process_shard, s, out_url, config, force, bar) for s in shards]
            for f in as_completed(futs):
                results.append(f.result())
    finally:
        bar.close()
    results.sort(key=lambda r: r.url)
    summary = finalize(out_url, shards, config, inputs, results, started,
                       {"kind": "local", "workers": workers})
    if log:
        log(format_summary(summary))
    return summary


def warm_up(config: CountConfig) -> None:
    """Compile (or load from cache) the kernel once before threads start."""
    from engine.count.counting import ShardCounter

    ShardCounter(config).add_texts(pa.array(["warm up"], pa.string()), pa.array([""], pa.string()),
                                   pa.array(["warm-up"], pa.string()))


def format_summary(summary: RunSummary) -> str:
    t = summary.totals
    counted = len(summary.counted)
    skipped = len(summary.shards) - counted
    lines = [
        f"shards: {t['shards']} ({counted} counted, {skipped} already done)",
        f"documents: {t['documents']:,}   text: {t['bytes'] / 1e6:,.1f} MB   words: {t['words']:,}",
        "units: " + ", ".join(f"{w} {n:,}" for w, n in t["units"].items()),
        f"rejects: {t['rejects']:,}" + (f"  (see {summary.out}/rejects.parquet)" if t["rejects"] else ""),
        *([f"filtered out by attributes: {t['filtered_out']:,} documents"] if t.get("filtered_out") else []),
        f"results: {summary.out}",
    ]
    return "\n".join(lines)


__all__ = ["ShardResult", "RunSummary", "process_shard", "finalize", "run_local", "asdict"]
