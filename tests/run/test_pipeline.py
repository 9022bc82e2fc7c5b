"""The local runner: outputs, determinism across workers and batch sizes, resume, CLI."""
from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from engine.count.counting import CountConfig
from engine.lexicon import load_lexicon
from engine.run.output import MARKER, TABLES
from engine.run.local import run_local
from engine.corpus.shards import InputError

WORDS = ["she", "he", "her", "his", "nurse", "engineer", "police officer", "Mr.", "Mrs.", "the",
         "river", "table", "said", "was", "women", "men", "nurses", "carpenter", "secretary"]


def make_corpus(root: Path, shards=4, docs=60, seed=7, bad=True) -> Path:
    rng = random.Random(seed)
    d = root / "documents"
    d.mkdir(parents=True)
    for s in range(shards):
        lines = []
        for i in range(docs):
            sents = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) + rng.choice(".!?")
                     for _ in range(rng.randint(1, 8))]
            text = "\n".join(" ".join(sents[j:j + 3]) for j in range(0, len(sents), 3))
            lines.append(json.dumps({"id": f"{s}-{i}", "text": text,
                                     "source": rng.choice(["web", "books"])}))
        if bad and s == shards - 1:
            lines.insert(5, "{broken json")
        (d / f"part-{s:04d}.json.gz").write_bytes(
            gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    return d


def table_bytes(out: Path) -> dict[str, bytes]:
    return {t: (out / f"{t}.parquet").read_bytes() for t in TABLES}


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon("default")


def test_run_writes_tables_manifest_and_markers(tmp_path, lexicon):
    src = make_corpus(tmp_path)
    out = tmp_path / "out"
    summary = run_local([str(src)], str(out), CountConfig(lexicon, ("sentence", 5)), workers=2,
                        progress=False)
    for t in TABLES:
        assert (out / f"{t}.parquet").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["lexicon"]["name"] == "default"
    assert manifest["lexicon"]["sha256"] == lexicon.sha256()
    assert manifest["windows"] == ["sentence", "words:5"]
    assert manifest["totals"]["documents"] == 240
    assert manifest["totals"]["rejects"] == 1
    assert manifest["started"] <= manifest["finished"]
    assert len(list((out / "partials").glob(f"*/{MARKER}"))) == 4
    rejects = pq.read_table(out / "rejects.parquet").to_pylist()
    assert [(Path(r["shard"]).name, r["line"]) for r in rejects] == [("part-0003.json.gz", 6)]
    cooc = pq.read_table(out / "cooccurrence.parquet")
    assert cooc.schema.names[:5] == ["source", "window", "window_kind", "window_k", "occupation"]
    assert summary.totals["units"]["sentence"] > 0


def test_byte_identical_whatever_workers_and_batches(tmp_path, lexicon):
    src = make_corpus(tmp_path)
    results = []
    for i, (workers, batch) in enumerate([(1, 16 << 20), (2, 4096), (3, 777)]):
        out = tmp_path / f"out{i}"
        run_local([str(src)], str(out), CountConfig(lexicon, batch_bytes=batch), workers=workers,
                  progress=False)
        results.append(table_bytes(out))
    assert results[0] == results[1] == results[2]


def test_resume_recounts_only_missing_shards(tmp_path, lexicon):
    src = make_corpus(tmp_path)
    out = tmp_path / "out"
    cfg = CountConfig(lexicon)
    run_local([str(src)], str(out), cfg, progress=False)
    before = table_bytes(out)
    victim = sorted((out / "partials").iterdir())[1]
    (victim / MARKER).unlink()
    (victim / "cooccurrence.parquet").unlink()
    again = run_local([str(src)], str(out), cfg, progress=False)
    assert [r.status for r in again.shards].count("counted") == 1
    assert [r.key for r in again.counted] == [victim.name]
    assert table_bytes(out) == before
    # a new shard in the input directory: only it is counted, totals include it
    make_corpus(tmp_path / "more", shards=1, seed=99, bad=False)
    new = tmp_path / "more" / "documents" / "part-0000.json.gz"
    new.rename(src / "part-0100.json.gz")
    third = run_local([str(src)], str(out), cfg, progress=False)
    assert len(third.counted) == 1 and third.totals["documents"] == 300
    # --force recounts all
    forced = run_local([str(src)], str(out), cfg, force=True, progress=False)
    assert len(forced.counted) == 5


def test_changed_config_is_not_resumed(tmp_path, lexicon):
    src = make_corpus(tmp_path, shards=2)
    out = tmp_path / "out"
    run_local([str(src)], str(out), CountConfig(lexicon, ("sentence",)), progress=False)
    second = run_local([str(src)], str(out), CountConfig(lexicon, ("sentence", 10)), progress=False)
    assert len(second.counted) == 2


def test_missing_input_fails_before_work(tmp_path, lexicon):
    with pytest.raises(InputError, match="not found"):
        run_local([str(tmp_path / "nope")], str(tmp_path / "out"), CountConfig(lexicon),
                  progress=False)
    assert not (tmp_path / "out").exists()


def test_cli_count_and_lexicon(tmp_path):
    src = make_corpus(tmp_path, shards=2)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "engine.cli"]
    r = subprocess.run(cmd + ["count", str(src), "--out", str(out), "--lexicon", "tracing-bias",
                              "--window", "sentence", "--window", "10", "--quiet"],
                       capture_output=True, text=True, check=True)
    assert "strongest associations" in r.stdout and str(out) in r.stdout
    assert "rejects: 1" in r.stdout
    r = subprocess.run(cmd + ["count", str(tmp_path / "missing"), "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "input not found" in r.stderr
    r = subprocess.run(cmd + ["count", str(src), "--out", str(out), "--window", "sentense"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "bad window" in r.stderr
    r = subprocess.run(cmd + ["lexicon", "show", "tracing-bias"], capture_output=True, text=True,
                       check=True)
    assert "female terms (17)" in r.stdout and "male terms (16)" in r.stdout
    assert "occupations (219)" in r.stdout
