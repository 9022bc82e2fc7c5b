"""Spark: the DataFrame API and the spark-submit job give the local runner's tables, row for row.

On the synthetic corpus (no shared data needed): the job on local[2] over a folder of every
input kind (gzip, zstd, plain JSON Lines split by Spark, a damaged gzip file, an empty file, a
file that is not a shard); per-file resume; the DataFrame API on spark.read.json and on Parquet
copies split by Spark; --filter with attribute files written by `tracebias tag`, --bootstrap and
a --tokenizer trained here; the README's spark-submit command on a 2-worker standalone cluster
started here; a worker killed mid-job. On the Wikipedia shards when /work/shared is there.
"""
from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest
import zstandard

from engine.corpus.synth import SynthConfig, generate_corpus
from engine.count import tables as TB
from engine.count.config import CountOptions
from engine.run.local import run_local
from engine.spark.cluster import LocalCluster
from engine.spark.dataframe import to_local_schema

pytestmark = [pytest.mark.spark]
ROOT = Path(__file__).resolve().parents[2]


def local_tables(out: Path) -> dict[str, pa.Table]:
    return {t.name: pq.read_table(out / t.file).cast(t.schema)
            for t in TB.TABLES if (out / t.file).exists()}


def spark_tables(out: Path) -> dict[str, pa.Table]:
    """Tables Spark wrote, with the local schema (priority is decimal(20,0) in Spark's file)."""
    return {t.name: to_local_schema(pq.read_table(out / t.file), t)
            for t in TB.TABLES if (out / t.file).exists()}


def assert_same(got: dict[str, pa.Table], want: dict[str, pa.Table], skip=()) -> None:
    assert set(got) == set(want)
    for name in want:
        if name in skip:
            continue
        g, w = got[name], want[name]
        assert g.num_rows == w.num_rows, name
        assert g.equals(w), (name, g.slice(0, 3).to_pylist(), w.slice(0, 3).to_pylist())


def config(**kw):
    opts = {"lexicon": "default", "window": ["sentence", "paragraph", "10"], **kw}
    return CountOptions(**opts).to_config()


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    s = (SparkSession.builder.master("local[2]").appName("tracebias-test")
         .config("spark.pyspark.python", sys.executable).config("spark.log.level", "WARN")
         .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
         .config("spark.sql.shuffle.partitions", "4")
         # small splits: plain JSON Lines and Parquet files are cut into several splits
         .config("spark.sql.files.maxPartitionBytes", str(48 << 10))
         .config("spark.sql.files.openCostInBytes", str(16 << 10))
         .getOrCreate())
    yield s
    s.stop()


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    generate_corpus(root, SynthConfig(shards=3, docs_per_shard=150))
    return root / "documents"


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("clean")
    generate_corpus(root, SynthConfig(shards=2, docs_per_shard=150, inject_bad_lines=False,
                                      seed=7))
    return root / "documents"


def make_mixed(synth: Path, dest: Path) -> Path:
    """Every input kind in one folder (see the module doc)."""
    shards = sorted(synth.glob("*.json.gz"))
    (dest / "a").mkdir(parents=True)
    (dest / "b").mkdir()
    shutil.copy(shards[0], dest / "a" / "part-0000.json.gz")
    raw1 = gzip.decompress(shards[1].read_bytes())
    (dest / "a" / "part-0001.json.zst").write_bytes(zstandard.ZstdCompressor().compress(raw1))
    lines = gzip.decompress(shards[2].read_bytes()).split(b"\n")  # holds the 3 bad lines
    for i in (5, 40, 41, 90):
        lines.insert(i, b"")  # blank lines: line numbers and rows differ from here on
    lines[7] = lines[7] + b"\r"  # a CRLF line
    lines.insert(60, b'{"id": "bad-utf8", "text": "caf\xe9 nurse", "source": "web"}')
    (dest / "b" / "part-0002.jsonl").write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines))
    data = shards[0].read_bytes()
    (dest / "b" / "damaged.json.gz").write_bytes(
        gzip.compress(raw1[: len(raw1) // 2]) + data[: len(data) // 2])  # 2nd member cut short
    (dest / "b" / "empty.jsonl").write_bytes(b"")
    (dest / "notes.txt").write_text("not a shard\n")
    # a pretty-printed JSON document named .json: not a shard, for the job as for the local runner
    (dest / "PLANTED.json").write_text('{\n  "text": "she is a nurse",\n  "rate": 0.5\n}\n')
    (dest / "b" / "one.json").write_text('{"text": "he is a nurse"}\n')  # a one-line shard
    return dest


@pytest.fixture(scope="module")
def mixed(synth, tmp_path_factory) -> Path:
    return make_mixed(synth, tmp_path_factory.mktemp("mixed") / "docs")


def run_job(spark, inputs, out, cfg, **kw):
    from engine.spark.job import run_job as job

    logs = []
    summary = job(spark, [str(i) for i in inputs], str(out), cfg, log=logs.append, **kw)
    return summary, logs


def test_job_equals_local_runner_on_every_input_kind(spark, mixed, tmp_path):
    """Local files read whole by the engine's reader in tasks (--reader auto, the default); and
    with --reader spark, read whole by Spark (binaryFile, files up to whole_file_max) or by lines
    (spark.read.text, the larger ones, among them the damaged file, which fails Spark's reader
    and is read again by the engine's)."""
    cfg = config(bootstrap=2)
    run_local([str(mixed)], str(tmp_path / "local"), cfg, progress=False)
    want = local_tables(tmp_path / "local")
    readers = {}
    below_damaged = (mixed / "b" / "damaged.json.gz").stat().st_size - 1
    for name, kw in (("auto", {}),
                     ("spark", {"reader": "spark", "whole_file_max": below_damaged})):
        summary, logs = run_job(spark, [mixed], tmp_path / name, cfg, **kw)
        assert_same(spark_tables(tmp_path / name), want)
        readers[name] = {Path(e["url"]).name: e["reader"]
                         for f in (tmp_path / name).glob("_checkpoints/*/*/files.json")
                         for e in json.loads(f.read_text())["files"]}
    assert set(readers["auto"].values()) == {"engine"}
    assert readers["spark"]["damaged.json.gz"] == "engine"
    assert readers["spark"]["one.json"] == "binaryFile"
    assert readers["spark"]["part-0002.jsonl"] == "spark.read.text"
    rejects = want["rejects"].to_pylist()
    for reason in ("not JSON", "missing text", "text is not a string", "empty file",
                   "truncated gzip", "invalid UTF-8"):
        assert any(r["reason"].startswith(reason) for r in rejects), reason
    assert any(r["shard"].endswith("damaged.json.gz") and r["line"] > 0 for r in rejects)
    assert any("notes.txt" in m and "not a shard" in m for m in logs)
    assert any("PLANTED.json" in m and "pretty-printed JSON" in m for m in logs)
    assert any("damaged.json.gz" in m and "engine's reader" in m for m in logs)
    lm = json.loads((tmp_path / "local" / "manifest.json").read_text())
    sm = json.loads((tmp_path / "spark" / "manifest.json").read_text())
    assert sorted(lm) == sorted(sm)
    assert sm["fingerprint"] == lm["fingerprint"] == cfg.fingerprint()
    assert sm["runner"]["executor_fingerprints"] == [cfg.fingerprint()]
    assert {k: v for k, v in sm["totals"].items()} == lm["totals"]
    assert [(s["url"], s["documents"], s["rejects"]) for s in sm["shards"]] == \
        [(s["url"], s["documents"], s["rejects"]) for s in lm["shards"]]
    assert len(summary.counted) == 6


def test_resume_counts_only_new_and_changed_files(spark, synth, tmp_path):
    cfg = config()
    docs = make_mixed(synth, tmp_path / "docs")
    out = tmp_path / "spark"
    run_job(spark, [docs], out, cfg, wave_files=2)  # 3 waves of checkpoints
    shutil.copy(docs / "a" / "part-0000.json.gz", docs / "a" / "part-0003.json.gz")  # new
    plain = docs / "b" / "part-0002.jsonl"
    plain.write_bytes(plain.read_bytes() + b'\n{"id": "late", "text": "She is a nurse."}\n')
    (docs / "b" / "empty.jsonl").unlink()  # removed
    summary, logs = run_job(spark, [docs], out, cfg)
    assert "6 shards: 2 to count, 4 already done" in logs
    m = json.loads((out / "manifest.json").read_text())
    status = {s["rel"]: s["status"] for s in m["shards"]}
    assert status == {"a/part-0000.json.gz": "skipped", "a/part-0001.json.zst": "skipped",
                      "a/part-0003.json.gz": "counted", "b/damaged.json.gz": "skipped",
                      "b/one.json": "skipped", "b/part-0002.jsonl": "counted"}
    run_local([str(docs)], str(tmp_path / "local"), cfg, progress=False)
    assert_same(spark_tables(out), local_tables(tmp_path / "local"))
    summary, logs = run_job(spark, [docs], out, cfg)
    assert "6 shards: 0 to count, 6 already done" in logs


def to_parquet(src: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for p in sorted(src.glob("*.json.gz")):
        t = pajson.read_json(p).select(["id", "text", "source"])
        pq.write_table(t, dest / p.name.replace(".json.gz", ".parquet"), row_group_size=40)
    return dest


def test_dataframe_api_on_json_and_parquet(spark, clean, tmp_path):
    from engine.spark import cooccurrence

    cfg = config(bootstrap=2)
    run_local([str(clean)], str(tmp_path / "json"), cfg, progress=False)
    result = cooccurrence(spark.read.json(str(clean)), config=cfg)
    got = {name: result.to_arrow(name) for name in result}
    assert_same(got, local_tables(tmp_path / "json"))
    result.unpersist()

    pdir = to_parquet(clean, tmp_path / "parquet")
    run_local([str(pdir)], str(tmp_path / "pq"), cfg, progress=False)
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(8 << 10))
    try:
        df = spark.read.parquet(str(pdir))
        assert df.rdd.getNumPartitions() > 2  # Spark split the files by row groups
        result = cooccurrence(df, lexicon="default", windows=["sentence", "paragraph", "10"],
                              bootstrap=2)
        got = {name: result.to_arrow(name) for name in result}
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", str(48 << 10))
    want = local_tables(tmp_path / "pq")
    assert_same(got, want)
    for name in ("cooccurrence", "group_cooccurrence", "bootstrap", "representation"):
        assert got[name].equals(local_tables(tmp_path / "json")[name])  # same documents
    manifest = result.write(str(tmp_path / "written"))
    assert_same(spark_tables(tmp_path / "written"), want)
    assert manifest["totals"]["documents"] == 300
    urls = [r["url"] for r in manifest["shards"]]
    assert urls == sorted(urls) and len(urls) == len(set(urls)) == 2  # per file, not per split
    assert sum(r["documents"] for r in manifest["shards"]) == 300
    result.unpersist()


@pytest.fixture(scope="module")
def tokenizer(clean, tmp_path_factory) -> str:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    texts = [json.loads(x)["text"] for p in sorted(clean.glob("*.json.gz")) for x in gzip.open(p)]
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=600, special_tokens=["[UNK]"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return str(path)


@pytest.fixture(scope="module")
def tagged(clean, tmp_path_factory) -> tuple[Path, Path]:
    """The clean corpus (one shard uncompressed) and its attributes by `tracebias tag`."""
    root = tmp_path_factory.mktemp("tagged")
    docs = root / "documents"
    docs.mkdir()
    a, b = sorted(clean.glob("*.json.gz"))
    shutil.copy(a, docs / a.name)
    (docs / "part-0001.jsonl").write_bytes(gzip.decompress(b.read_bytes()))
    attrs = root / "attributes" / "tracebias"
    r = subprocess.run([sys.executable, "-m", "engine.cli", "tag", str(docs), "--out", str(attrs),
                        "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return docs, attrs


def test_filter_bootstrap_tokenizer_equal_local(spark, tagged, tokenizer, tmp_path):
    docs, attrs = tagged
    cfg = config(window=["sentence", "10", "tokens:5"], tokenizer=tokenizer, bootstrap=2,
                 filter=[f"{attrs}:tracebias__female_context_mentions>=1"])
    run_local([str(docs)], str(tmp_path / "local"), cfg, progress=False)
    summary, logs = run_job(spark, [docs], tmp_path / "spark", cfg)
    assert_same(spark_tables(tmp_path / "spark"), local_tables(tmp_path / "local"))
    lm = json.loads((tmp_path / "local" / "manifest.json").read_text())
    sm = json.loads((tmp_path / "spark" / "manifest.json").read_text())
    assert sm["totals"]["filtered_out"] == lm["totals"]["filtered_out"] > 0
    # the configuration's round trip: every executor rebuilt the driver's fingerprint
    assert sm["fingerprint"] == cfg.fingerprint()
    assert sm["runner"]["executor_fingerprints"] == [cfg.fingerprint()]
    assert sm["tokenizer"]["model_tokens"]["sha256"] == lm["tokenizer"]["model_tokens"]["sha256"]
    units = sm["totals"]["units"]
    assert units["tokens:5"] > 0 and units == lm["totals"]["units"]


def test_docs_spark_md_blocks_run(tmp_path):
    """Every runnable block of docs/spark.md (docs/spark.md is not in tests/test_docs.py)."""
    generate_corpus(tmp_path / "data" / "default-corpus",
                    SynthConfig(shards=2, docs_per_shard=100, inject_bad_lines=False))
    text = (ROOT / "docs" / "spark.md").read_text()
    found = re.findall(r"```(bash|python)\n(.*?)```", text, re.S)
    assert found, "docs/spark.md has no runnable block"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SPARK_LOCAL_IP": "127.0.0.1"}
    for lang, code in found:
        cmd = [sys.executable, "-c", code] if lang == "python" else ["bash", "-euo", "pipefail",
                                                                       "-c", code]
        r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, (code, r.stdout[-2000:], r.stderr[-3000:])
    m = json.loads((tmp_path / "results" / "spark-dataframe" / "manifest.json").read_text())
    assert m["totals"]["documents"] == 200 and m["bootstrap"]["replicates"] == 20


# ---- a real standalone cluster ----------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = LocalCluster(tmp_path_factory.mktemp("cluster"), workers=2, cores_per_worker=1,
                     worker_memory="1g", master_port=0, webui_port=0)
    c.up()
    yield c
    c.down()


def readme_block() -> str:
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- spark-submit example[^>]*-->\s*```bash\n(.*?)```", text, re.S)
    assert m, "README lost its spark-submit example"
    return m.group(1)


def test_readme_spark_submit_on_standalone_cluster(cluster, synth, tmp_path):
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "SPARK_HOME")}
    env.update(MASTER=cluster.url, INPUT=str(synth), OUT=str(out), SPARK_LOCAL_IP="127.0.0.1",
               PATH="/usr/local/bin:/usr/bin:/bin")  # no activated virtualenv
    p = subprocess.run(["bash", "-euo", "pipefail", "-c", readme_block()], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, (p.stdout[-2000:], p.stderr[-4000:])
    cfg = config(window=["sentence", "10"])
    run_local([str(synth)], str(tmp_path / "local"), cfg, progress=False)
    assert_same(spark_tables(out), local_tables(tmp_path / "local"))
    m = json.loads((out / "manifest.json").read_text())
    assert m["runner"]["master"] == cluster.url
    assert m["runner"]["executor_fingerprints"] == [cfg.fingerprint()]


def test_every_option_on_the_cluster_with_a_worker_killed(cluster, tagged, tokenizer, tmp_path):
    """spark-count on the standalone cluster with --filter, --tokenizer and --bootstrap given as
    paths relative to the driver's directory (executors run elsewhere: the tokenizer is shipped,
    attribute files are read by the executors), a worker killed after the first of 3 waves."""
    docs, attrs = tagged
    for r in range(3):
        shutil.copytree(docs, tmp_path / "docs" / f"r{r}")
        shutil.copytree(attrs, tmp_path / "attributes" / "tracebias" / f"r{r}")
    shutil.copy(tokenizer, tmp_path / "tokenizer.json")
    opts = ["--lexicon", "default", "--window", "sentence", "--window", "10", "--window",
            "tokens:5", "--tokenizer", "tokenizer.json", "--bootstrap", "2",
            "--filter", "attributes/tracebias:tracebias__female_context_mentions>=1"]
    cmd = [sys.executable, "-m", "engine.cli", "spark-count", "docs", "--out", "out",
           "--master", cluster.url, *opts, "--wave-files", "2",
           "--conf", "spark.executor.memory=768m"]
    if not (ROOT / "dist" / "tracebias-env.tar.gz").exists():
        cmd += ["--archive", "none"]
    else:
        cmd += ["--archive", str(ROOT / "dist" / "tracebias-env.tar.gz")]
    out = tmp_path / "out"
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         cwd=tmp_path)
    deadline = time.time() + 600
    while time.time() < deadline and not list(out.glob("_checkpoints/*/*/files.json")):
        assert p.poll() is None, p.stdout.read()[-3000:]
        time.sleep(0.2)
    assert len(list(out.glob("_checkpoints/*/*/files.json"))) < 3, "the kill must land mid-job"
    cluster.kill_worker(1)
    log, _ = p.communicate(timeout=600)
    assert p.returncode == 0, log[-3000:]
    os.chdir(tmp_path)
    try:
        cfg = CountOptions(**{"lexicon": "default", "window": ["sentence", "10", "tokens:5"],
                              "tokenizer": "tokenizer.json", "bootstrap": 2,
                              "filter": ["attributes/tracebias:"
                                         "tracebias__female_context_mentions>=1"]}).to_config()
        run_local(["docs"], str(tmp_path / "local"), cfg, progress=False)
    finally:
        os.chdir(ROOT)
    assert_same(spark_tables(out), local_tables(tmp_path / "local"))
    sm = json.loads((out / "manifest.json").read_text())
    lm = json.loads((tmp_path / "local" / "manifest.json").read_text())
    assert sm["fingerprint"] == lm["fingerprint"] == cfg.fingerprint()
    assert sm["runner"]["executor_fingerprints"] == [cfg.fingerprint()]
    assert sm["totals"]["filtered_out"] == lm["totals"]["filtered_out"] > 0
    assert sm["runner"]["waves"] == 3


# ---- the Wikipedia shards ---------------------------------------------------------------------

@pytest.mark.integration
def test_wikipedia_json_and_parquet(spark, wiki_dir, tmp_path):
    from engine.spark import cooccurrence

    cfg = CountOptions(lexicon="tracing-bias", window=["sentence", "10"]).to_config()
    run_local([str(wiki_dir)], str(tmp_path / "local"), cfg, progress=False)
    want = local_tables(tmp_path / "local")
    pdir = tmp_path / "parquet"
    pdir.mkdir()
    for p in sorted(wiki_dir.glob("*.json.gz")):
        t = pajson.read_json(p)
        pq.write_table(t.select([c for c in ("id", "text", "source") if c in t.column_names]),
                       pdir / p.name.replace(".json.gz", ".parquet"), row_group_size=2000)
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(4 << 20))
    try:
        docs = spark.read.schema("id string, text string, source string").json(str(wiki_dir))
        result = cooccurrence(docs, config=cfg)
        assert_same({n: result.to_arrow(n) for n in result}, want)
        result.unpersist()
        result = cooccurrence(spark.read.parquet(str(pdir)), config=cfg)
        got = {n: result.to_arrow(n) for n in result}
        result.unpersist()
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", str(48 << 10))
    for name in ("cooccurrence", "term_cooccurrence", "group_cooccurrence", "representation"):
        assert got[name].equals(want[name])
    assert pa.compute.sum(got["shards"]["documents"]).as_py() == 6622


def test_shuffle_partitions_follow_the_data_unless_set(spark):
    from engine.spark.job import SHUFFLE, shuffle_partitions, shuffle_partitions_for

    assert shuffle_partitions_for(2, 0) == 2
    assert shuffle_partitions_for(8, 100 << 20) == 8
    assert shuffle_partitions_for(8, 10 << 30) == 80  # 128 MiB of partial rows per partition
    assert shuffle_partitions(spark, 10 << 30) is None  # the session sets it: left alone
    assert spark.conf.get(SHUFFLE) == "4"


def test_spark_count_local_mode_quick_compiler_and_same_tables(clean, tmp_path):
    """`tracebias spark-count --master local[2]`: the driver JVM (the executor too) starts with the
    quick compiler and a full-size code cache, unless the user sets its Java options; the tables
    equal `tracebias count`'s."""
    from engine.spark.packaging import LOCAL_DRIVER_JAVA_OPTIONS, default_conf

    assert default_conf(None, "local[2]")["spark.driver.extraJavaOptions"] \
        == LOCAL_DRIVER_JAVA_OPTIONS
    assert "ReservedCodeCacheSize=240m" in LOCAL_DRIVER_JAVA_OPTIONS  # C1 alone reserves 48 MB
    assert "spark.driver.extraJavaOptions" not in default_conf(None, "spark://h:7077")
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    out = tmp_path / "spark"
    r = subprocess.run([sys.executable, "-m", "engine.cli", "spark-count", str(clean), "--out",
                        str(out), "--master", "local[2]", "--lexicon", "default", "--window",
                        "sentence", "--window", "10"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    submitted = next(line for line in r.stderr.splitlines() if line.startswith("+ "))
    assert f"spark.driver.extraJavaOptions={LOCAL_DRIVER_JAVA_OPTIONS}" in submitted
    run_local([str(clean)], str(tmp_path / "local"), config(window=["sentence", "10"]),
              progress=False)
    assert_same(spark_tables(out), local_tables(tmp_path / "local"))


def test_packed_rows_reduce_as_the_files_tables(synth, monkeypatch):
    """A file counted whole in one task sends its summed tables and contexts as one packed row
    (shards and rejects as rows); combine_packed turns a partition's packed rows into the
    reduction of those files' tables, whether it folds after every file or once at the end (the
    bottom K of a union is the bottom K of its parts' bottom K; sums add). No Spark needed."""
    import pyarrow.compute as pc

    from engine.corpus.shards import ShardRef
    from engine.count.counting import count_shard, reduce_tables
    from engine.run import base
    from engine.spark import dataframe as D

    cfg = config(bootstrap=2, contexts=2)  # K = 2: files compete for the contexts kept
    shard = sorted(synth.glob("*.json.gz"))[0]
    ref = ShardRef(str(shard), shard.name, shard.stat().st_size)
    monkeypatch.setattr(D, "PACK_MIN_ROWS", 10 ** 9)  # a file with fewer rows sends rows
    rows = pa.Table.from_batches(list(D._count_file(cfg, str(shard), shard.name, ref,
                                                    cfg.fingerprint())))
    assert D.PACKED not in rows["table_name"].to_pylist()
    assert {"contexts", "term_cooccurrence"} <= set(rows["table_name"].to_pylist())
    monkeypatch.setattr(D, "PACK_MIN_ROWS", 0)
    packed, tables = [], []
    for p in sorted(synth.glob("*.json.gz")):
        ref = ShardRef(str(p), p.name, p.stat().st_size)
        rows = pa.Table.from_batches(list(D._count_file(cfg, str(p), p.name, ref,
                                                        cfg.fingerprint())))
        kinds = rows["table_name"].to_pylist()
        assert kinds.count(D.PACKED) == 1 and kinds.count(D.SPLIT) == 1
        assert set(kinds) <= {D.PACKED, D.SPLIT, *D.ROW_TABLES}
        packed.append(rows.filter(pc.equal(rows["table_name"], D.PACKED)).to_batches()[0])
        tables.append(count_shard(ref, cfg).tables(sort=False))
    assert len(packed) == 3
    want = {name: reduce_tables(name, [t[name] for t in tables], cfg.contexts)
            for name in tables[0] if name not in D.ROW_TABLES}
    assert want["contexts"].num_rows and want["bootstrap"].num_rows

    def combined() -> dict[str, pa.Table]:
        rows = pa.Table.from_batches(list(D.combine_packed(iter(packed), cfg.to_json())))
        assert rows["file"].null_count == rows.num_rows  # rows of no one file
        out = {}
        for name in set(rows["table_name"].to_pylist()):
            spec = TB.spec(name)
            t = rows.filter(pc.equal(rows["table_name"], name))
            cols = [pc.bit_wise_xor(t["priority"].combine_chunks().view(pa.uint64()),
                                    pa.scalar(D.PRIORITY_FLIP, pa.uint64()))
                    if c == "priority" else t[c] for c in spec.schema.names]
            out[name] = pa.table(cols, names=spec.schema.names).cast(spec.schema)
        return out

    for fold in (base.REDUCE_CHUNK, 1):  # once at the end; after every file
        monkeypatch.setattr(base, "REDUCE_CHUNK", fold)
        got = combined()
        assert set(got) == {n for n, t in want.items() if t.num_rows}
        for name, t in got.items():
            assert t.equals(want[name]), (fold, name)


def test_split_packed_rows_reduce_to_the_local_tables(spark, clean, tmp_path, monkeypatch):
    """A file Spark divided (Parquet row groups in two splits): each split packs its summed
    tables in one row and sends its contexts as rows, which the reduction positions by the
    split's offset in its file; the tables equal the local runner's."""
    import pyarrow.compute as pc

    from engine.spark import dataframe as D

    cfg = config(bootstrap=2, contexts=2)
    pdir = to_parquet(clean, tmp_path / "pq")  # 40 rows per row group
    run_local([str(pdir)], str(tmp_path / "local"), cfg, progress=False)
    monkeypatch.setattr(D, "PACK_MIN_ROWS", 0)  # this process counts: every split packs
    rows = []
    for p in sorted(pdir.glob("*.parquet")):
        f = pq.ParquetFile(p)
        half = f.num_row_groups // 2
        assert half >= 1
        for block, groups in ((0, range(half)), (1000, range(half, f.num_row_groups))):
            t = f.read_row_groups(list(groups))
            t = t.append_column("shard", pa.array([p.as_uri()] * t.num_rows)) \
                .append_column("block", pa.array([block] * t.num_rows, pa.int64()))
            rows += D.count_partition(iter(t.to_batches(max_chunksize=25)), cfg.to_json(),
                                      cfg.fingerprint(), str(ROOT), "docs")
    rows = pa.Table.from_batches(rows)
    kinds = rows["table_name"].to_pylist()
    assert kinds.count(D.PACKED) == kinds.count(D.SPLIT) == 4  # 2 files x 2 splits
    late = rows.filter(pc.and_(pc.equal(rows["table_name"], "contexts"),
                               pc.equal(rows["block"], 1000)))
    assert late.num_rows  # contexts of a second split: rows to be offset, not packed
    parts = spark.createDataFrame(rows.select(D.spark_partial_schema().names))
    result = D.CountResult(D.reduce_all(D.unpacked(parts, cfg, persist=False), cfg), [], cfg)
    assert_same({n: result.to_arrow(n) for n in result}, local_tables(tmp_path / "local"))


def test_file_tasks_share_files_out_largest_first():
    """Engine-read files go to at most N tasks, each file (largest first) to the least loaded;
    every file exactly once; no empty task."""
    from engine.spark.dataframe import file_tasks

    files = [{"url": f"f{i}", "size": s} for i, s in enumerate([5, 100, 7, 100, 30, 1, 60])]
    tasks = file_tasks(files, 3)
    # 100, 100, 60 open the 3 tasks; 30, 7, 5 join the 60; 1 the first 100 (a tie)
    assert [[r["url"] for r in t] for t in tasks] == [["f6", "f4", "f2", "f0"], ["f1", "f5"],
                                                      ["f3"]]
    assert sorted(r["url"] for t in tasks for r in t) == sorted(f["url"] for f in files)
    assert [len(t) for t in file_tasks(files[:2], 8)] == [1, 1]  # never more tasks than files
    assert file_tasks([], 4) == []
