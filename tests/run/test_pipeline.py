"""The local executor: outputs, determinism across workers and batch sizes, resume, the output
directory's consistency (issue 10 items 4, 5, 7, 8) and the CLI."""
from __future__ import annotations

import gzip
import json
import os
import platform
import random
import resource
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import fsspec
import pyarrow.parquet as pq
import pytest

from engine.corpus.shards import InputError
from engine.count import tables as TB
from engine.count.config import CountConfig
from engine.lexicon import load_lexicon
from engine.run.local import run_local
from engine.run.output import LOCK, OutputError

WORDS = ["she", "he", "her", "his", "nurse", "engineer", "police officer", "Mr.", "Mrs.", "the",
         "river", "table", "said", "was", "women", "men", "nurses", "carpenter", "secretary"]
CLI = [sys.executable, "-m", "engine.cli"]


def make_corpus(root: Path, shards=4, docs=60, seed=7, bad=True) -> Path:
    rng = random.Random(seed)
    d = root / "documents"
    d.mkdir(parents=True)
    for s in range(shards):
        lines = []
        for i in range(docs):
            sents = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
                     + rng.choice(".!?") for _ in range(rng.randint(1, 8))]
            text = "\n".join(" ".join(sents[j:j + 3]) for j in range(0, len(sents), 3))
            lines.append(json.dumps({"id": f"{s}-{i}", "text": text,
                                     "source": rng.choice(["web", "books"])}))
        if bad and s == shards - 1:
            lines.insert(5, "{broken json")
        (d / f"part-{s:04d}.json.gz").write_bytes(
            gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    return d


def table_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.parquet"))}


def partials(out: Path) -> list[Path]:
    return sorted((out / "partials").glob("*.arrow"))


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon("default")


def test_run_writes_tables_manifest_and_partials(tmp_path, lexicon):
    src = make_corpus(tmp_path)
    out = tmp_path / "out"
    summary = run_local([str(src)], str(out), CountConfig(lexicon, ("sentence", 5)), workers=2,
                        progress=False)
    produced = {t.name for t in TB.produced(True, 0, 5)}
    assert {p.stem for p in out.glob("*.parquet")} == produced
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "tracebias-counts/2"
    assert manifest["lexicon"]["name"] == "default"
    assert manifest["lexicon"]["sha256"] == lexicon.sha256()
    assert json.loads((out / "lexicon.json").read_text()) == lexicon.to_json()
    assert manifest["windows"] == ["sentence", "words:5"]
    assert manifest["totals"]["documents"] == 240
    assert manifest["totals"]["rejects"] == 1
    assert manifest["started"] <= manifest["finished"]
    for name, info in manifest["tables"].items():
        assert info["rows"] == pq.read_metadata(out / info["file"]).num_rows
        assert info["bytes"] == (out / info["file"]).stat().st_size
    assert len(partials(out)) == 4  # one file per shard holds all its tables
    rejects = pq.read_table(out / "rejects.parquet").to_pylist()
    assert [(Path(r["shard"]).name, r["line"]) for r in rejects] == [("part-0003.json.gz", 6)]
    cooc = pq.read_table(out / "cooccurrence.parquet")
    assert cooc.schema.names[:6] == ["source", "window_label", "window_kind", "window_k",
                                     "occupation", "units"]
    assert summary.totals["units"]["sentence"] > 0
    assert not (out / LOCK).exists()


def test_byte_identical_whatever_workers_and_batches(tmp_path, lexicon):
    src = make_corpus(tmp_path)
    results = []
    for i, (workers, batch) in enumerate([(1, 16 << 20), (2, 4096), (3, 1777)]):
        out = tmp_path / f"out{i}"
        run_local([str(src)], str(out), CountConfig(lexicon, batch_bytes=batch, bootstrap=3),
                  workers=workers, progress=False)
        results.append(table_bytes(out))
    assert len(results[0]) >= 10
    assert results[0] == results[1] == results[2]


def test_in_memory_totals_equal_reading_every_partial(tmp_path, lexicon, monkeypatch):
    """Shards counted in this process reach the reduction in memory, folded every
    REDUCE_CHUNK shards; shards of earlier runs are read from their partials. Any mix gives
    the bytes of a reduction that reads every partial from disk."""
    import engine.run.base as base

    src = make_corpus(tmp_path, shards=5)
    cfg = CountConfig(lexicon, bootstrap=2)
    out = tmp_path / "out"
    monkeypatch.setattr(base, "REDUCE_CHUNK", 2)  # fold in memory and on disk, several times
    run_local([str(src)], str(out), cfg, workers=2, progress=False)
    in_memory = table_bytes(out)
    for victim in partials(out)[::2]:  # three shards recounted in memory, two read from disk
        victim.unlink()
    run_local([str(src)], str(out), cfg, workers=2, progress=False)
    assert table_bytes(out) == in_memory
    again = run_local([str(src)], str(out), cfg, progress=False)  # every partial from disk
    assert not again.counted and table_bytes(out) == in_memory


def test_resume_recounts_only_missing_shards(tmp_path, lexicon):
    src = make_corpus(tmp_path)
    out = tmp_path / "out"
    cfg = CountConfig(lexicon)
    run_local([str(src)], str(out), cfg, progress=False)
    before = table_bytes(out)
    victim = partials(out)[1]
    victim.unlink()
    again = run_local([str(src)], str(out), cfg, progress=False)
    assert [r.status for r in again.shards].count("counted") == 1
    assert victim.name.startswith(again.counted[0].key)
    assert table_bytes(out) == before
    # a new shard in the input directory: only it is counted, totals include it
    make_corpus(tmp_path / "more", shards=1, seed=99, bad=False)
    (tmp_path / "more" / "documents" / "part-0000.json.gz").rename(src / "part-0100.json.gz")
    third = run_local([str(src)], str(out), cfg, progress=False)
    assert len(third.counted) == 1 and third.totals["documents"] == 300
    forced = run_local([str(src)], str(out), cfg, force=True, progress=False)
    assert len(forced.counted) == 5
    assert len(partials(out)) == 5  # recounting replaced, never duplicated, a shard's partial


def test_changed_config_is_not_resumed(tmp_path, lexicon):
    src = make_corpus(tmp_path, shards=2)
    out = tmp_path / "out"
    run_local([str(src)], str(out), CountConfig(lexicon, ("sentence",)), progress=False)
    second = run_local([str(src)], str(out), CountConfig(lexicon, ("sentence", 10)),
                       progress=False)
    assert len(second.counted) == 2
    assert len(partials(out)) == 2


def test_replaced_shard_is_recounted(tmp_path, lexicon):
    """Issue 10.4: a truncated shard replaced by the full file under the same name."""
    src = make_corpus(tmp_path, shards=1, docs=400, bad=False)
    shard = src / "part-0000.json.gz"
    full = shard.read_bytes()
    shard.write_bytes(full[: len(full) // 2])
    out = tmp_path / "out"
    first = run_local([str(src)], str(out), CountConfig(lexicon), progress=False)
    assert first.totals["documents"] < 400 and first.totals["rejects"] == 1
    shard.write_bytes(full)
    second = run_local([str(src)], str(out), CountConfig(lexicon), progress=False)
    assert len(second.counted) == 1
    assert second.totals["documents"] == 400 and second.totals["rejects"] == 0
    assert second.manifest["shards"][0]["size"] == len(full)


def test_unopenable_shard_is_never_done(tmp_path, lexicon, monkeypatch):
    """Issue 10.4: a shard rejected as "cannot open" is counted once it can be opened. The tests
    run as root, which file permissions do not stop, so the permission error is simulated."""
    src = make_corpus(tmp_path, shards=2, bad=False)
    blocked = (src / "part-0001.json.gz").as_uri()
    real_open = fsspec.open

    def deny(url, *a, **k):
        if str(url) == blocked:
            raise PermissionError(13, "Permission denied", url)
        return real_open(url, *a, **k)

    monkeypatch.setattr(fsspec, "open", deny)
    out = tmp_path / "out"
    first = run_local([str(src)], str(out), CountConfig(lexicon), progress=False)
    assert first.totals["unreadable_shards"] == 1 and first.totals["documents"] == 60
    reasons = pq.read_table(out / "rejects.parquet")["reason"].to_pylist()
    assert any(r.startswith("cannot open") for r in reasons)
    assert len(partials(out)) == 1
    monkeypatch.setattr(fsspec, "open", real_open)
    second = run_local([str(src)], str(out), CountConfig(lexicon), progress=False)
    assert [r.status for r in second.shards] == ["skipped", "counted"]
    assert second.totals["documents"] == 120 and second.totals["rejects"] == 0


def test_manifest_removed_first_and_written_last(tmp_path, lexicon, monkeypatch):
    """Issue 10.5: a run that dies while writing the final tables leaves no manifest beside
    tables it does not describe."""
    from engine.run import output

    src = make_corpus(tmp_path, shards=2)
    out = tmp_path / "out"
    run_local([str(src)], str(out), CountConfig(lexicon, ("sentence",)), progress=False)
    assert (out / "manifest.json").exists()
    calls = {"n": 0}
    real = output.OutputDir.write_table

    def dying(self, table, *rel):
        if rel and rel[0] != output.PARTIALS:
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt("killed during the reduction")
        return real(self, table, *rel)

    monkeypatch.setattr(output.OutputDir, "write_table", dying)
    with pytest.raises(KeyboardInterrupt):
        run_local([str(src)], str(out), CountConfig(lexicon, ("sentence", 10)), progress=False)
    assert not (out / "manifest.json").exists()
    assert not (out / LOCK).exists()


def test_corrupt_partial_is_named_and_recounted(tmp_path, lexicon):
    src = make_corpus(tmp_path, shards=3)
    out = tmp_path / "out"
    cfg = CountConfig(lexicon, ("sentence",))
    run_local([str(src)], str(out), cfg, progress=False)
    before = table_bytes(out)
    victim = partials(out)[2]
    victim.write_bytes(b"PAR1 this is not a parquet file")
    log: list[str] = []
    again = run_local([str(src)], str(out), cfg, progress=False, log=log.append)
    assert any("part-0002.json.gz" in m and "unreadable" in m and "recounting" in m for m in log)
    assert [r.status for r in again.shards].count("counted") == 1
    assert table_bytes(out) == before


def test_tables_of_another_configuration_are_removed(tmp_path, lexicon):
    src = make_corpus(tmp_path, shards=2)
    out = tmp_path / "out"
    run_local([str(src)], str(out), CountConfig(lexicon, ("sentence",), bootstrap=5),
              progress=False)
    assert (out / "bootstrap.parquet").exists() and (out / "group_bootstrap.parquet").exists()
    run_local([str(src)], str(out), CountConfig(lexicon, ("sentence",)), progress=False)
    assert not (out / "bootstrap.parquet").exists()
    assert not (out / "group_bootstrap.parquet").exists()
    assert "bootstrap" not in json.loads((out / "manifest.json").read_text())["tables"]


def test_lock(tmp_path, lexicon):
    src = make_corpus(tmp_path, shards=1)
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK).write_text(json.dumps({"pid": os.getpid(), "host": platform.node(),
                                        "since": "now"}))
    with pytest.raises(OutputError, match="another run is writing into"):
        run_local([str(src)], str(out), CountConfig(lexicon), progress=False)
    # a lock left by a dead process on this machine is taken over
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (out / LOCK).write_text(json.dumps({"pid": int(dead), "host": platform.node()}))
    run_local([str(src)], str(out), CountConfig(lexicon), progress=False)
    assert (out / "manifest.json").exists() and not (out / LOCK).exists()


_HOLD_LOCK = """import sys
from engine.run.output import OutputDir
with OutputDir(sys.argv[1]).lock("count"):
    print("locked", flush=True)
    sys.stdin.read()  # until the test closes stdin
"""


def test_a_second_run_fails_at_once_while_another_writes(tmp_path):
    """A run holds the directory (another live process, as a run's lock would): a second
    `tracebias count` into it fails at once, with one line and exit code 2, before any work;
    once the first is done, the next run goes ahead. (The holder is a process of its own, not
    a real count: a real count of a test corpus can finish before the second one starts.)"""
    src = make_corpus(tmp_path, shards=2, docs=100, bad=False)
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(out)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        cmd = CLI + ["count", str(src), "--out", str(out), "--quiet"]
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert second.returncode == 2
    assert "another run is writing into" in second.stderr and "Traceback" not in second.stderr
    assert not (out / "partials").exists() and not (out / "manifest.json").exists()
    third = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert third.returncode == 0 and (out / "manifest.json").exists()


def test_missing_input_fails_before_work(tmp_path, lexicon):
    with pytest.raises(InputError, match="not found"):
        run_local([str(tmp_path / "nope")], str(tmp_path / "out"), CountConfig(lexicon),
                  progress=False)
    assert not (tmp_path / "out").exists()


def test_memory_does_not_grow_with_sources(tmp_path):
    """Issue 10.7: 4,000 distinct sources cost memory in proportion to the output rows only."""
    def corpus(name, n_sources):
        d = tmp_path / name
        d.mkdir()
        lines = [json.dumps({"id": str(i), "text": "the nurse said she was tired. he is an "
                             "engineer", "source": f"https://site{i % n_sources}.example/x"})
                 for i in range(4000)]
        (d / "a.jsonl").write_text("\n".join(lines) + "\n")
        return d

    peaks = {}
    for n in (10, 4000):
        src = corpus(f"c{n}", n)
        # the peak of this process's own memory (VmHWM): getrusage's ru_maxrss starts at the
        # forking process's peak (here pytest's, possibly larger than either count's)
        code = ("import re, sys; from engine.cli import main; rc = main(sys.argv[1:]); "
                "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1]); "
                "sys.exit(rc)")
        r = subprocess.run([sys.executable, "-c", code, "count", str(src), "--out",
                            str(tmp_path / f"o{n}"), "--quiet", "--lexicon", "tracing-bias"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        peaks[n] = int(r.stdout.strip().splitlines()[-1]) / 1024  # MB
    # the earlier dense accumulators needed ~0.75 MB per source (about 3 GB here)
    assert peaks[4000] - peaks[10] < 150, peaks


def test_cli_exits_cleanly_every_time(tmp_path):
    """Issue 10.8: the CLI must exit 0 every time (a pyarrow thread dropping a Python file
    object during interpreter shutdown used to abort with 134 now and then)."""
    src = make_corpus(tmp_path, shards=2, docs=20)

    def once(i):  # two lanes, each into its own output directory (a directory has one writer)
        r = subprocess.run(CLI + ["count", str(src), "--out", str(tmp_path / f"out{i % 2}"),
                                  "--quiet"] + (["--force"] if i % 3 == 0 else []),
                           capture_output=True, text=True)
        return r.returncode, r.stderr[-300:]

    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = list(pool.map(once, range(50)))
    bad = [c for c in codes if c[0] != 0]
    assert not bad, bad[:3]
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss > 0


def test_cli_count_and_lexicon(tmp_path):
    src = make_corpus(tmp_path, shards=2)
    out = tmp_path / "out"
    r = subprocess.run(CLI + ["count", str(src), "--out", str(out), "--lexicon", "tracing-bias",
                              "--window", "sentence", "--window", "10", "--quiet"],
                       capture_output=True, text=True, check=True)
    assert "strongest gender associations" in r.stdout and str(out) in r.stdout
    assert "rejects: 1" in r.stdout
    for args, msg in [(["count", str(tmp_path / "missing"), "--out", str(out)], "input not found"),
                      (["count", str(src), "--out", str(out), "--window", "sentense"], "bad window"),
                      (["count", str(src), "--out", str(out), "--lexicon", "nope"],
                       "no built-in lexicon"),
                      (["count", str(src), "--out", str(out), "--bootstrap", "-1"], "--bootstrap"),
                      (["count", str(src), "--out", str(out), "--filter",
                        str(tmp_path / "attrs") + ":toxicity<0.5"], "attribute folder"),
                      (["count", str(src), "--out", str(out), "--window", "tokens:5"],
                       "--tokenizer")]:
        r = subprocess.run(CLI + args, capture_output=True, text=True)
        assert r.returncode == 2 and msg in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_count_summary_respects_top_and_ranks_by_evidence(tmp_path):
    """Issue 13.3: --top N prints N rows, ranked by how far the interval lies from parity, and
    low-support occupations are left out and counted."""
    from engine.corpus.synth import SynthConfig, generate_corpus

    corpus = generate_corpus(tmp_path / "c", SynthConfig(shards=1, docs_per_shard=800))
    for top in (3, 30):
        r = subprocess.run(CLI + ["count", str(corpus.root / "documents"), "--out",
                                  str(tmp_path / "o"), "--window", "sentence", "--quiet",
                                  "--top", str(top)], capture_output=True, text=True, check=True)
        lines = r.stdout.splitlines()
        head = next(i for i, x in enumerate(lines) if x.strip().startswith("occupation"))
        rows = []
        for x in lines[head + 1:]:
            if not x.startswith("  ") or x.strip().startswith(("...", "units:")) or \
                    "had fewer" in x:
                break
            rows.append(x.split())
        assert len(rows) == min(top, 14)  # 14 planted occupations have support
        # ranked by evidence: the most skewed well-supported ones first (carpenter, nurse, ...)
        pct = [float(r[-2].rstrip("%")) for r in rows]
        assert abs(pct[0] - 50) > 35 and abs(pct[-1] - 50) <= abs(pct[0] - 50)
        assert ("more (--top N shows more)" in r.stdout) == (top < 14)
