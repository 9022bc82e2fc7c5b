"""Running a count on Apache Spark: the same per-shard step, distributed.

The driver lists the shards and skips those already done (done-markers), then hands one shard
per task to the executors. Each task runs ``engine.run.local.process_shard`` — the very function
the local runner uses — which counts the shard with the numba kernels and writes its partial
tables and marker atomically into the output directory (a filesystem all executors can reach:
a local path on one machine, HDFS or an object store on a cluster). A retried or speculative
task rewrites identical files. The driver then runs ``engine.run.local.finalize``: the final
tables are byte-identical to the local runner's whatever the executors, partitions or retries.
"""
from __future__ import annotations

import json
import os
import sys
import zipfile
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

from engine.count.counting import CountConfig
from engine.lexicon import lexicon_from_dict
from engine.run.local import RunSummary, ShardResult, finalize, format_summary, is_done, now
from engine.run.output import MARKER, OutputDir
from engine.corpus.shards import ShardRef, expand_inputs


def config_spec(config: CountConfig) -> str:
    return json.dumps({"lexicon": config.lexicon.to_json(),
                       "windows": [w.label for w in config.windows],
                       "abbreviations": list(config.abbreviations),
                       "batch_bytes": config.batch_bytes, "bootstrap": config.bootstrap,
                       "tokenizer": config.tokenizer},
                      sort_keys=True)


@lru_cache(maxsize=4)
def config_from_spec(spec: str) -> CountConfig:
    """Rebuild (once per Python worker) the CountConfig the driver serialised."""
    d = json.loads(spec)
    return CountConfig(lexicon_from_dict(d["lexicon"], "<driver>"), tuple(d["windows"]),
                       tuple(d["abbreviations"]), d["batch_bytes"], d.get("bootstrap", 0),
                       tokenizer=d.get("tokenizer"))


def _count_task(spec: str, out_url: str, force: bool):
    def run(rec):
        from engine.run.local import process_shard

        url, rel, size = rec
        result = process_shard(ShardRef(url, rel, size), out_url, config_from_spec(spec), force)
        return asdict(result)

    return run


def run_spark(inputs: list[str], out_url: str, config: CountConfig, spark, force: bool = False,
              log=None) -> RunSummary:
    started = now()
    shards = expand_inputs(inputs)  # fails before any work when an input does not exist
    out = OutputDir(out_url)
    todo = shards if force else [s for s in shards if not is_done(out, s, config)]
    done = [s for s in shards if s not in todo]
    sc = spark.sparkContext
    if log:
        log(f"{len(shards)} shards: {len(todo)} to count, {len(done)} already done "
            f"(master {sc.master}, default parallelism {sc.defaultParallelism})")
    results = []
    if todo:
        rdd = sc.parallelize([(s.url, s.rel, s.size) for s in todo], numSlices=len(todo))
        sc.setJobDescription(f"tracebias count: {len(todo)} shards")
        results = [ShardResult(**r) for r in rdd.map(_count_task(config_spec(config), out_url,
                                                                 force)).collect()]
    for s in done:
        marker = out.read_json("partials", s.key, MARKER)
        results.append(ShardResult(s.key, s.url, "skipped", marker["documents"], marker["rejects"], 0.0))
    results.sort(key=lambda r: r.url)
    summary = finalize(out_url, shards, config, inputs, results, started,
                       {"kind": "spark", "master": sc.master, "app_id": sc.applicationId,
                        "default_parallelism": sc.defaultParallelism,
                        "spark_version": sc.version})
    if log:
        log(format_summary(summary))
    return summary


def build_pyfiles_zip(dest: str | Path) -> Path:
    """Zip the engine package (code + data) for ``spark-submit --py-files``."""
    import engine

    pkg = Path(engine.__file__).resolve().parent
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(pkg.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".json", ".tsv", ".md"):
                info = zipfile.ZipInfo(str(Path("engine") / p.relative_to(pkg)), (1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, p.read_bytes())
    os.replace(tmp, dest)
    return dest


def spark_submit_command(job_args: list[str], master: str, pyfiles: Path, conf: dict[str, str],
                         job_file: Path) -> list[str]:
    from engine.spark.cluster import spark_home

    cmd = [str(spark_home() / "bin" / "spark-submit"), "--master", master,
           "--py-files", str(pyfiles)]
    for k, v in sorted(conf.items()):
        cmd += ["--conf", f"{k}={v}"]
    return cmd + [str(job_file), *job_args]


def default_conf() -> dict[str, str]:
    py = sys.executable
    return {
        "spark.pyspark.python": py,
        "spark.pyspark.driver.python": py,
        "spark.executorEnv.NUMBA_CACHE_DIR": os.environ.get(
            "NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "tracebias-numba")),
        "spark.task.maxFailures": "4",
        "spark.ui.showConsoleProgress": "false",
        "spark.log.level": "WARN",
    }
