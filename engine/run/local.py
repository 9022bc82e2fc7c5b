"""The local executor: shards mapped over a pool of threads on this machine.

The numba kernels release the GIL, as do decompression and Arrow parsing, so threads use all
cores without copying the lexicon tables into other processes. Everything else about a run
(markers, resume, reduction, manifest) is the executor base's (engine.run.base).
"""
from __future__ import annotations

import gc
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import nullcontext

import pyarrow as pa

from engine.count.config import CountConfig
from engine.run.base import (Executor, RunSummary, ShardResult, finalize, format_summary, now,
                             process_shard)
from engine.run.process import pyarrow_skips_pandas

__all__ = ["LocalExecutor", "RunSummary", "ShardResult", "finalize", "format_summary", "now",
           "process_shard", "run_local", "warm_up"]


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


class LocalExecutor(Executor):
    kind = "local"

    def __init__(self, workers: int | None = None, progress: bool = True, log=None,
                 own_process: bool = False):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.progress = progress
        self.log = log
        self.own_process = own_process  # this process exits after the count (the CLI)

    def describe(self) -> dict:
        return {"kind": self.kind, "workers": self.workers}

    def prepare(self, config: CountConfig) -> None:
        with pyarrow_skips_pandas() if self.own_process else nullcontext():
            warm_up(config, self.log if self.progress else None)  # engine/run/process.py
        if self.own_process:
            # Everything alive now (numba's type system, loaded kernels, ~1,000 modules) lives
            # as long as the process: the collector need not walk it again, during the run or
            # at exit (0.3 s of a 1 s run, 2026-11-26). Only for a process that runs one count
            # and exits: cyclic garbage alive now is never collected.
            gc.freeze()

    def map_shards(self, shards, out_url, config, total_bytes):
        bar = _Progress(total_bytes, self.progress, "reading shards (bytes on disk)")
        results: list[ShardResult] = []
        try:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                futs = [pool.submit(process_shard, s, out_url, config, bar, self.totals,
                                    self.stale.get(s.key, [])) for s in shards]
                for f in as_completed(futs):
                    results.append(f.result())
        finally:
            bar.close()
        return sorted(results, key=lambda r: r.url)


def run_local(inputs: list[str], out_url: str, config: CountConfig, workers: int | None = None,
              force: bool = False, progress: bool = True, log=None,
              own_process: bool = False) -> RunSummary:
    """Count ``inputs`` into ``out_url`` on this machine (see LocalExecutor; ``own_process``:
    this process exits after the count, like the CLI, so it may be tuned for it:
    engine/run/process.py)."""
    summary = LocalExecutor(workers, progress, log, own_process).run(inputs, out_url, config,
                                                                     force=force, log=log)
    return summary


def warm_up(config: CountConfig, log=None) -> None:
    """Compile (or load from numba's cache) the kernels once, before threads start; say so
    when it takes long (the first run on a machine compiles for ~20 s)."""
    from engine.count.counting import ShardCounter

    timer = None
    if log:
        timer = threading.Timer(1.5, lambda: log("compiling kernels (once per machine, about "
                                                  "20 s; later runs load them from the cache)…"))
        timer.daemon = True
        timer.start()
    try:
        from engine.corpus import jsonscan

        jsonscan.warm_up()  # the reader's kernels
        config.compiled  # compile the lexicon once, in this thread
        counter = ShardCounter(config)
        counter.add_texts(pa.array(["warm up"], pa.string()), pa.array([""], pa.string()),
                          pa.array(["warm-up"], pa.string()))
        counter.tables()
    finally:
        if timer:
            timer.cancel()


