"""The Spark executor: the same per-shard step, one Spark task per shard.

The driver (engine.run.base.Executor.run) lists the shards and skips those already done; the
rest become tasks that run ``engine.run.base.process_shard`` — the very function the local
executor uses — on the executors, which write each shard's partial file atomically into the
output directory (a filesystem every executor can reach: a local path on one machine, HDFS or an
object store on a cluster). A retried or speculative task rewrites an identical file. The
configuration reaches the executors through its one serialisation, ``CountConfig.to_json``.
"""
from __future__ import annotations

from dataclasses import asdict
from functools import lru_cache

from engine.corpus.shards import ShardRef
from engine.count.config import CountConfig
from engine.run.base import Executor, RunSummary, ShardResult, format_summary


@lru_cache(maxsize=4)
def config_from_json(spec: str) -> CountConfig:
    """Rebuild (once per Python worker) the CountConfig the driver serialised."""
    return CountConfig.from_json(spec)


def _count_task(spec: str, out_url: str):
    def run(shard: ShardRef):
        from engine.run.base import process_shard

        return asdict(process_shard(shard, out_url, config_from_json(spec)))

    return run


class SparkExecutor(Executor):
    kind = "spark"

    def __init__(self, spark):
        self.spark = spark

    def describe(self) -> dict:
        sc = self.spark.sparkContext
        return {"kind": self.kind, "master": sc.master, "app_id": sc.applicationId,
                "default_parallelism": sc.defaultParallelism, "spark_version": sc.version}

    def map_shards(self, shards, out_url, config, total_bytes):
        sc = self.spark.sparkContext
        sc.setJobDescription(f"tracebias count: {len(shards)} shards")
        rdd = sc.parallelize(shards, numSlices=len(shards))
        rows = rdd.map(_count_task(config.to_json(), out_url)).collect()
        return sorted((ShardResult(**{**r, "error": tuple(r["error"]) if r["error"] else None})
                       for r in rows), key=lambda r: r.url)


def run_spark(inputs: list[str], out_url: str, config: CountConfig, spark, force: bool = False,
              log=None) -> RunSummary:
    summary = SparkExecutor(spark).run(inputs, out_url, config, force=force, log=log)
    if log:
        log(format_summary(summary))
    return summary
