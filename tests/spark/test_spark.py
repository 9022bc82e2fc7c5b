"""Spark: the same bytes as the local runner on local[2], on a real standalone cluster, with a
worker killed mid-job, and when resuming."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.spark.cluster import LocalCluster, free_port
from engine.count.counting import CountConfig
from engine.lexicon import load_lexicon
from engine.run.output import MARKER, TABLES
from engine.run.local import run_local

pytestmark = [pytest.mark.spark, pytest.mark.integration]
WINDOWS = ("sentence", "10")


def tables(out: Path) -> dict[str, bytes]:
    return {t: (out / f"{t}.parquet").read_bytes() for t in TABLES}


@pytest.fixture(scope="module")
def expected(wiki_dir, tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("local") / "out"
    run_local([str(wiki_dir)], str(out), CountConfig(load_lexicon("tracing-bias"), WINDOWS),
              progress=False)
    return tables(out)


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    s = (SparkSession.builder.master("local[2]").appName("tracebias-test")
         .config("spark.pyspark.python", sys.executable).config("spark.log.level", "WARN")
         .config("spark.ui.enabled", "false").getOrCreate())
    yield s
    s.stop()


def test_local2_equals_local_runner(spark, wiki_dir, expected, tmp_path):
    from engine.run.spark import run_spark

    out = tmp_path / "out"
    summary = run_spark([str(wiki_dir)], str(out), CountConfig(load_lexicon("tracing-bias"), WINDOWS),
                        spark)
    assert tables(out) == expected
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runner"]["kind"] == "spark" and manifest["runner"]["master"] == "local[2]"
    assert len(summary.counted) == 12


def test_resume_recounts_only_the_missing_shard(spark, wiki_dir, expected, tmp_path):
    from engine.run.spark import run_spark

    cfg = CountConfig(load_lexicon("tracing-bias"), WINDOWS)
    out = tmp_path / "out"
    src = tmp_path / "docs"
    shutil.copytree(wiki_dir, src)
    first = sorted(src.iterdir())[-1]
    held_back = tmp_path / first.name
    first.rename(held_back)  # start with 11 shards
    run_spark([str(src)], str(out), cfg, spark)
    victim = sorted((out / "partials").iterdir())[3]
    (victim / MARKER).unlink()
    (victim / "cooccurrence.parquet").unlink()
    held_back.rename(first)  # a new shard arrives
    summary = run_spark([str(src)], str(out), cfg, spark)
    manifest = json.loads((out / "manifest.json").read_text())
    counted = sorted(s["key"] for s in manifest["shards"] if s["status"] == "counted")
    assert len(counted) == 2 and victim.name in counted
    assert sum(s["status"] == "skipped" for s in manifest["shards"]) == 10
    assert len(summary.counted) == 2
    got = tables(out)
    for name in ("cooccurrence", "term_cooccurrence", "rejects"):
        assert got[name] == expected[name]  # shards.parquet names the copied paths instead
    assert manifest["totals"]["documents"] == 6622


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = LocalCluster(tmp_path_factory.mktemp("cluster"), workers=2, cores_per_worker=1,
                     worker_memory="1g", master_port=free_port(), webui_port=free_port())
    c.up()
    yield c
    c.down()


def submit(cluster: LocalCluster, wiki_dir: Path, out: Path, **popen) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "engine.cli", "spark-count", str(wiki_dir), "--out", str(out),
           "--master", cluster.url, "--lexicon", "tracing-bias", "--window", WINDOWS[0],
           "--window", WINDOWS[1], "--pyfiles", str(out.parent / "engine.zip"),
           "--conf", "spark.executor.memory=768m"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def test_standalone_cluster_equals_local_runner(cluster, wiki_dir, expected, tmp_path):
    out = tmp_path / "out"
    p = submit(cluster, wiki_dir, out)
    log, _ = p.communicate(timeout=600)
    assert p.returncode == 0, log[-3000:]
    assert tables(out) == expected
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runner"]["master"] == cluster.url
    hosts = {json.loads(m.read_text())["pid"] for m in (out / "partials").glob(f"*/{MARKER}")}
    assert len(hosts) >= 2  # both workers' executors did work


def test_worker_killed_mid_job(cluster, wiki_dir, expected, tmp_path):
    out = tmp_path / "out"
    p = submit(cluster, wiki_dir, out)
    deadline = time.time() + 300
    while time.time() < deadline and not list((out / "partials").glob(f"*/{MARKER}")):
        time.sleep(0.2)
    done_at_kill = len(list((out / "partials").glob(f"*/{MARKER}")))
    assert 0 < done_at_kill < 12, "the kill must land mid-job"
    cluster.kill_worker(1)
    log, _ = p.communicate(timeout=600)
    assert p.returncode == 0, log[-3000:]
    assert tables(out) == expected
