"""`make bench`: reading floors and `tracebias count` end to end, as a user runs it; writes
docs/benchmarks.md.

What a user waits for is the CLI: start-up, listing, reading, counting, partial files,
markers, the reduction. So every end-to-end row is the `tracebias count` command in a
subprocess, pinned with `taskset`, timed wall-clock, and set against its floor measured on the
same files in the same round (interleaved: floor, inflate-only and CLI back to back, round after
round; this VM is shared and its speed drifts, so ratios are taken within a round):

  wiki x16     the 12 Wikipedia shards 16 times over (192 hard links), gzip, one core
               (`taskset -c 0`, `--workers 1`), windows sentence and 10 (issue 15)
  large gzip   4 shards of ~300 MB of text each (the 12 shards concatenated into one
               multi-member gzip file, several times), one core
  large zstd   the same text recompressed with zstd, one core
  2 workers    the large gzip shards with `--workers 2` on two cores vs one worker on one core
  two cores    what the machine itself gives: two processes counting in memory at once on two
               cores vs one alone (bench_read.machine_scaling), next to the 2-worker row
  peak RSS     one ~2 GB-text multi-member gzip shard, one worker (the CLI's own peak RSS,
               read by a small launcher; 3 runs, the largest reported)

  floor        gzip (zlib) + pyarrow.json parse to Arrow (zstd + pyarrow.json for zstd): the
               previous reader; "ISA-L inflate alone" is the physical limit of a gzip corpus on
               one core (zstd inflate alone for zstd)

Secondary rows (plain Python, `tokenizers` pipeline, the reference path, bootstrap overhead)
are measured when the engine's APIs they use are importable, else reported as not measured.
The end-to-end rows run whatever `tracebias` is installed in the tree.

Usage: python benchmarks/bench_count.py [--shared ../shared/data] [--out docs/benchmarks.md]
       [--rounds 3] [--reading-rounds 7] [--large-mb 300] [--big-gb 2] [--only reading]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_read as BR

_EXE = Path(sys.executable).parent / "tracebias"
TRACEBIAS = [str(_EXE)] if _EXE.exists() else [sys.executable, "-m", "engine.cli"]
WINDOWS = BR.WINDOWS
LEXICON = BR.LEXICON
RSS_RUNS = 3  # runs of the peak-RSS row (the largest is reported)
SPARK_MARKER = "<!-- spark benchmarks below are written by make bench-spark -->"


# ---- corpora ------------------------------------------------------------------------------------

def link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def make_corpora(wiki: Path, tmp: Path, large_mb: float, text_per_copy: float, log) -> dict:
    parts = sorted(wiki.glob("*.json.gz"))
    wiki16 = tmp / "wiki16"
    wiki16.mkdir()
    for k in range(16):
        for p in parts:
            link_or_copy(p, wiki16 / f"c{k:02d}-{p.name}")
    copies = max(1, round(large_mb * 1e6 / text_per_copy))
    large = tmp / "large-gz"
    large.mkdir()
    blob = b"".join(p.read_bytes() for p in parts)  # gzip members concatenate into one stream
    for i in range(4):
        with open(large / f"large-{i}.json.gz", "wb") as f:
            f.writelines(blob for _ in range(copies))
    zst = tmp / "large-zst"
    zst.mkdir()
    log("recompressing the large shards with zstd ...")
    BR.zstd_copies(sorted(large.glob("*.json.gz")), zst)
    return {"wiki16": wiki16, "large": large, "zstd": zst, "copies": copies}


def make_big(wiki: Path, tmp: Path, big_gb: float, text_per_copy: float) -> Path:
    parts = sorted(wiki.glob("*.json.gz"))
    big = tmp / "big" / "big.json.gz"
    big.parent.mkdir()
    blob = b"".join(p.read_bytes() for p in parts)
    with open(big, "wb") as f:
        f.writelines(blob for _ in range(max(1, round(big_gb * 1e9 / text_per_copy))))
    return big


# ---- the CLI ------------------------------------------------------------------------------------

def cli(inputs, out: Path, cpus: str, workers: int, extra=()) -> dict:
    """One `tracebias count` run in a fresh process; wall-clock seconds and the child's peak RSS."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = ["taskset", "-c", cpus, *TRACEBIAS, "count", *map(str, inputs), "--out", str(out),
           "--workers", str(workers), "--lexicon", LEXICON, *WINDOWS, "--quiet", *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, stderr = proc.communicate()
    secs = time.perf_counter() - t0
    res = {"seconds": secs, "rc": proc.returncode,
           "stderr": stderr.decode("utf-8", "replace")[-2000:]}
    manifest = out / "manifest.json"
    if proc.returncode == 0 and manifest.exists():
        totals = json.loads(manifest.read_text()).get("totals", {})
        res["text_mb"] = totals.get("bytes", 0) / 1e6
        res["documents"] = totals.get("documents")
    return res


# Starts the command and prints its peak RSS (KiB) from wait4. A process's peak RSS starts at
# the RSS of the process it was forked from (Linux carries the high-water mark across fork and
# exec), so the CLI is started from this small launcher, not from the benchmark, which holds
# hundreds of MB of decoded text by then: measured from the benchmark directly, the CLI's peak
# read 516 MB where its own was 322 MB (2026-11-27).
_RSS_LAUNCHER = """
import os, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(p.pid, 0)
print(usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def peak_rss(big: Path, out: Path) -> dict:
    """Run the CLI on one shard in a child whose peak RSS a small launcher reads with wait4.

    RSS includes the shared libraries' pages the process has mapped, which depends on how much
    of each library the page cache holds: a fresh install (every library just written) read
    396-406 MB where an older tree read 322-329 MB, with the same anonymous memory (llvmlite's
    library alone 108 MB against 69 MB resident, 2026-11-27)."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-c", _RSS_LAUNCHER, "taskset", "-c", "0", *TRACEBIAS, "count",
           str(big), "--out", str(out), "--workers", "1", "--lexicon", LEXICON, *WINDOWS,
           "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    lines = proc.stdout.split()
    res = {"seconds": secs, "rc": proc.returncode,
           "peak_rss_mb": int(lines[-1]) / 1024 if lines else float("nan"),
           "shard_mb": big.stat().st_size / 1e6, "stderr": proc.stderr[-2000:]}
    manifest = out / "manifest.json"
    if proc.returncode == 0 and manifest.exists():
        res["text_mb"] = json.loads(manifest.read_text())["totals"]["bytes"] / 1e6
    return res


# ---- lexicon size --------------------------------------------------------------------------------

LEXICON_ROWS = {  # row: extra count flags (after the benchmark's own --lexicon, which they override)
    "tracing-bias": ["--lexicon", "tracing-bias"],
    "holistic-bias (12 axes, 149 groups, no targets)": ["--lexicon", "holistic-bias"],
    "holistic-bias x tracing-bias occupations": ["--lexicon", "holistic-bias",
                                                 "--targets", "tracing-bias"],
    "identity-sentiment (67 groups x 6,778 targets)": ["--lexicon", "identity-sentiment"],
}
LEXICON_TARGETS = {"holistic-bias (12 axes, 149 groups, no targets)": 0.8,
                   "holistic-bias x tracing-bias occupations": 0.8,
                   "identity-sentiment (67 groups x 6,778 targets)": 0.6}


def lexicon_rows(wiki: Path, tmp: Path, rounds: int, failures: dict, log) -> dict:
    """The CLI on the 12 Wikipedia shards with each lexicon, interleaved rounds, one core."""
    out = {name: [] for name in LEXICON_ROWS}
    for r in range(rounds):
        for name, flags in LEXICON_ROWS.items():
            res = cli([wiki], tmp / "o-lex", "0", 1, flags)
            if res["rc"]:
                failures[f"lexicon {name}"] = res["stderr"]
            out[name].append(res["seconds"])
        log(f"round {r + 1}/{rounds} lexicons: " + ", ".join(
            f"{n.split(' ')[0]} {v[-1]:.1f}s" for n, v in out.items()))
    return out


def lexicon_markdown(times: dict, failures: dict, mb: float, rounds: int) -> list[str]:
    base = times.get("tracing-bias")
    if not base or "lexicon tracing-bias" in failures:
        return ["not measured: the CLI failed (see below)."]
    lines = [f"The CLI on the 12 Wikipedia shards ({mb:.1f} MB of text), windows sentence and 10, "
             f"default options (contexts kept), one core, {rounds} interleaved rounds; the speed "
             "relative to `tracing-bias` is the median of the per-round ratios.", "",
             "| lexicon | MB/s | vs tracing-bias | target |", "| --- | ---: | ---: | ---: |"]
    for name, secs in times.items():
        if f"lexicon {name}" in failures:
            lines.append(f"| {name} | failed | - | - |")
            continue
        ratio = median_ratio(secs, base)  # time(tracing-bias) / time(row) = speed ratio
        target = LEXICON_TARGETS.get(name)
        lines.append(f"| {name} | {statistics.median(mb / s for s in secs):.0f} | "
                     f"{1 / ratio[0]:.2f}x ({1 / ratio[2]:.2f}-{1 / ratio[1]:.2f}) | "
                     f"{f'>= {target}x' if target else '-'} |")
    return lines


# ---- secondary rows (in-process, guarded: they use the engine's APIs) -----------------------

_TOKEN = re.compile(r"\w+|[^\w\s]+")


def plain_python(paths, lexicon, ks=(10,)):
    """A straightforward script: gzip + json + regex + loops, sentence and ±k windows."""
    forms = {}
    for g, f in lexicon.gender_terms:
        forms[tuple(w for w in _TOKEN.findall(f.lower()) if w != ".")] = (g, f)
    for t in lexicon.targets:
        for f in t.forms:
            forms[tuple(_TOKEN.findall(f.lower()))] = ("target", t.name)
    longest = max(map(len, forms))
    counts = defaultdict(int)
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                text = json.loads(line)["text"]
                for para in text.lower().split("\n"):
                    toks = _TOKEN.findall(para)
                    sent, words, mentions = 0, 0, []
                    i = 0
                    while i < len(toks):
                        t = toks[i]
                        if not t[0].isalnum() and t[0] != "_":
                            if any(c in t for c in ".!?"):
                                sent += 1
                            i += 1
                            continue
                        for n in range(longest, 0, -1):
                            key = tuple(toks[i:i + n])
                            if key in forms:
                                mentions.append((forms[key], words, sent))
                                i += n
                                words += n
                                break
                        else:
                            i += 1
                            words += 1
                    targets = [m for m in mentions if m[0][0] == "target"]
                    genders = [m for m in mentions if m[0][0] != "target"]
                    for (_, name), pos, s in targets:
                        counts[("sentence", name, sum(1 for g in genders if g[2] == s))] += 1
                        for k in ks:
                            counts[(k, name, sum(1 for g in genders if abs(g[1] - pos) <= k))] += 1
    return counts


def secondary_rows(wiki: Path, tmp: Path, log) -> dict:
    res = {}
    shards = BR.expand_inputs([str(wiki)])
    sub = [s.url[len("file://"):] for s in shards[:2]]
    sub_mb = BR.text_bytes(shards[:2]) / 1e6
    try:
        from engine.lexicon import load_lexicon

        lexicon = load_lexicon(LEXICON)
        t0 = time.perf_counter()
        plain_python(sub, lexicon)
        res["plain_python"] = sub_mb / (time.perf_counter() - t0)
        log(f"plain Python: {res['plain_python']:.2f} MB/s")
    except Exception as e:  # the lexicon API may be mid-rewrite
        res["plain_python_error"] = f"{type(e).__name__}: {e}"
        log("plain Python not measured: " + res["plain_python_error"])
    try:
        from engine.count.config import CountConfig
        from engine.count.reference import reference_count
        from engine.lexicon import load_lexicon

        lexicon = load_lexicon(LEXICON)
        config = CountConfig(lexicon, windows=("sentence", "words:10"))
        docs = [(t, s) for b in BR.read_shard(shards[0]) if isinstance(b, BR.DocBatch)
                for t, s in zip(b.text.to_pylist(), b.source.to_pylist())]
        one_mb = sum(len(d.encode()) for d, _ in docs) / 1e6
        t0 = time.perf_counter()
        reference_count(docs, lexicon, config.windows)
        res["reference"] = one_mb / (time.perf_counter() - t0)
        log(f"reference path: {res['reference']:.2f} MB/s")
    except Exception as e:
        res["reference_error"] = f"{type(e).__name__}: {e}"
        log("reference path not measured: " + res["reference_error"])
    return res


# ---- main ---------------------------------------------------------------------------------------

def median_ratio(a: list[float], b: list[float]) -> tuple[float, float, float]:
    r = sorted(x / y for x, y in zip(a, b))
    return statistics.median(r), r[0], r[-1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    ap.add_argument("--rounds", type=int, default=3, help="interleaved end-to-end rounds")
    ap.add_argument("--reading-rounds", type=int, default=7)
    ap.add_argument("--large-mb", type=float, default=300.0, help="MB of text per large shard")
    ap.add_argument("--big-gb", type=float, default=2.0, help="GB of text in the RSS shard")
    ap.add_argument("--only", choices=["reading"], help="only the reading floors")
    ap.add_argument("--tmp", default=None, help="where the benchmark corpora are built")
    args = ap.parse_args()
    wiki = Path(args.shared) / "wikipedia-en" / "documents"
    if not wiki.is_dir():
        sys.exit(f"Wikipedia shards not found at {wiki}; pass --shared")
    if shutil.which("taskset") is None:
        sys.exit("taskset (util-linux) is needed to pin runs to cores")
    BR.pin_to_one_core(0)  # in-process floors on CPU 0, like the one-core CLI runs
    log = lambda m: print(m, flush=True)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    tmp = Path(tempfile.mkdtemp(prefix="tracebias-bench-", dir=args.tmp))
    try:
        reading = BR.reading_floors(wiki, args.reading_rounds, tmp, log)
        BR.write_section(Path(args.out), BR.reading_markdown(reading, now))
        if args.only == "reading":
            log(f"wrote the reading section of {args.out}")
            return
        per_copy = reading["mb"] * 1e6
        corp = make_corpora(wiki, tmp, args.large_mb, per_copy, log)
        wiki16_mb = 16 * reading["mb"]
        large_mb = 4 * corp["copies"] * reading["mb"]
        gz16 = sorted(str(p) for p in corp["wiki16"].glob("*.json.gz"))
        gzl = sorted(str(p) for p in corp["large"].glob("*.json.gz"))
        zsl = sorted(str(p) for p in corp["zstd"].glob("*.json.zst"))
        rows = {
            "wiki16": {"mb": wiki16_mb, "input": [corp["wiki16"]],
                       "floor": lambda: BR.with_pyarrow_json(gz16, "zlib"),
                       "inflate": lambda: BR.inflate_only(gz16, "isal")},
            "large_gzip": {"mb": large_mb, "input": [corp["large"]],
                           "floor": lambda: BR.with_pyarrow_json(gzl, "zlib"),
                           "inflate": lambda: BR.inflate_only(gzl, "isal")},
            "large_zstd": {"mb": large_mb, "input": [corp["zstd"]],
                           "floor": lambda: BR.with_pyarrow_json(zsl, "zstd"),
                           "inflate": lambda: BR.inflate_only(zsl, "zstd")},
        }
        times = {k: {"floor": [], "inflate": [], "cli": [], "cli2": []} for k in rows}
        failures = {}
        # warm the kernel caches once, so no row pays compilation
        warm = cli([wiki / "wiki-0000.json.gz"], tmp / "o-warm", "0", 1)
        if warm["rc"]:
            failures["warm-up"] = warm["stderr"]
        for r in range(args.rounds):
            for name, row in rows.items():
                t = times[name]
                t0 = time.perf_counter()
                row["inflate"]()
                t["inflate"].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                row["floor"]()
                t["floor"].append(time.perf_counter() - t0)
                res = cli(row["input"], tmp / f"o-{name}", "0", 1)
                if res["rc"]:
                    failures[name] = res["stderr"]
                t["cli"].append(res["seconds"])
                if name == "large_gzip":
                    res2 = cli(row["input"], tmp / f"o-{name}-2", "0,1", 2)
                    if res2["rc"]:
                        failures[name + " (2 workers)"] = res2["stderr"]
                    t["cli2"].append(res2["seconds"])
                log(f"round {r + 1}/{args.rounds} {name}: inflate {t['inflate'][-1]:.1f}s, "
                    f"floor {t['floor'][-1]:.1f}s, tracebias count {t['cli'][-1]:.1f}s"
                    + (f", 2 workers {t['cli2'][-1]:.1f}s" if t["cli2"] else "")
                    + (" (FAILED)" if res["rc"] else ""))
        log("two cores: counting in memory, one process against two at once ...")
        try:
            scaling = BR.machine_scaling(wiki, args.rounds, tmp, log=log)
        except (OSError, ValueError, IndexError) as e:  # a child that failed prints no time
            scaling = None
            failures["two cores"] = f"{type(e).__name__}: {e}"
        boot = {"plain": [], "boot": []}
        for r in range(args.rounds):
            a = cli([wiki], tmp / "o-nob", "0", 1)
            b = cli([wiki], tmp / "o-boot", "0", 1, ["--bootstrap", "100"])
            if a["rc"] or b["rc"]:
                failures["bootstrap"] = (a["stderr"] or b["stderr"])
            boot["plain"].append(a["seconds"])
            boot["boot"].append(b["seconds"])
        lex_times = lexicon_rows(wiki, tmp, args.rounds, failures, log)
        big = make_big(wiki, tmp, args.big_gb, per_copy)
        runs = [peak_rss(big, tmp / "o-big") for _ in range(RSS_RUNS)]
        rss = max(runs, key=lambda r: (r["rc"] != 0, r["peak_rss_mb"]))
        rss["all_mb"] = [r["peak_rss_mb"] for r in runs]
        if rss["rc"]:
            failures["peak RSS"] = rss["stderr"]
        log(f"2 GB shard: {', '.join(f'{m:.0f}' for m in rss['all_mb'])} MB peak RSS, "
            f"{rss['seconds']:.0f} s")
        secondary = secondary_rows(wiki, tmp, log)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    md = render(now, reading, rows, times, boot, rss, secondary, failures, corp, args,
                lex_times, scaling)
    doc = Path(args.out)
    old = doc.read_text() if doc.exists() else ""
    tail = old[old.index(SPARK_MARKER):] if SPARK_MARKER in old else SPARK_MARKER + "\n"
    doc.write_text(md + "\n" + tail)
    log(f"wrote {doc}")


def render(now, reading, rows, times, boot, rss, secondary, failures, corp, args,
           lex_times=None, scaling=None) -> str:
    def mbps(mb, secs):
        return statistics.median(mb / s for s in secs)

    lines = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` (`benchmarks/bench_count.py`, `benchmarks/bench_read.py`) on "
        f"{now}. Machine: {platform.machine()}, {os.cpu_count()} cores (shared with other "
        f"work: only ratios within a round are meaningful), Python {platform.python_version()}. "
        "MB = 10^6 bytes of UTF-8 document text.",
        "",
        BR.SECTION_BEGIN,
        BR.reading_markdown(reading, now) + BR.SECTION_END,
        "",
        "## `tracebias count` end to end",
        "",
        f"The CLI in a fresh process (start-up, listing, reading, counting, partial files, "
        f"markers, reduction, manifest), lexicon `{LEXICON}`, windows sentence and 10, "
        f"`--workers 1` pinned to one core with `taskset -c 0`; {args.rounds} interleaved rounds "
        "(ISA-L or zstd inflate alone, the gzip/zstd + `pyarrow.json` floor and the CLI back to "
        "back on the same files); medians, ratios per round.",
        "",
        "| corpus | MB of text | floor MB/s | inflate alone MB/s | **tracebias count** MB/s "
        "| vs floor (target >= 1.0) | vs inflate alone |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    labels = {"wiki16": "Wikipedia x16 (192 gzip shards)",
              "large_gzip": f"4 large gzip shards ({corp['copies']}x the 12, multi-member)",
              "large_zstd": "the same 4 as zstd"}
    summary = {}
    for name, row in rows.items():
        t = times[name]
        if name in failures:
            lines.append(f"| {labels[name]} | {row['mb']:.0f} | {mbps(row['mb'], t['floor']):.0f} "
                         f"| {mbps(row['mb'], t['inflate']):.0f} | failed | - | - |")
            continue
        vs_floor = median_ratio(t["floor"], t["cli"])
        vs_inf = median_ratio(t["inflate"], t["cli"])
        summary[name] = vs_floor[0]
        lines.append(
            f"| {labels[name]} | {row['mb']:.0f} | {mbps(row['mb'], t['floor']):.0f} "
            f"| {mbps(row['mb'], t['inflate']):.0f} | **{mbps(row['mb'], t['cli']):.0f}** "
            f"| **{vs_floor[0]:.2f}x** ({vs_floor[1]:.2f}-{vs_floor[2]:.2f}) "
            f"| {vs_inf[0]:.2f}x |")
    ceil = reading.get("ceilings")
    if ceil and summary:
        codec = {"wiki16": "gzip", "large_gzip": "gzip", "large_zstd": "zstd"}
        parts = []
        for k in summary:
            c = ceil[codec[k]]["mbps"]
            mb = rows[k]["mb"]
            parts.append(f"{labels[k]}: {mbps(mb, times[k]['cli']):.0f} MB/s, "
                         f"{mbps(mb, times[k]['cli']) / c:.2f} of its ceiling, which is "
                         f"{c / mbps(mb, times[k]['floor']):.2f}x the row's floor")
        lines += ["", (
            "Each row against the ceiling of the reading section (reading and counting in "
            f"series, nothing else: {ceil['gzip']['mbps']:.0f} MB/s on gzip, "
            f"{ceil['zstd']['mbps']:.0f} MB/s on zstd, measured minutes apart on the 12 shards): "
            + "; ".join(parts) + ". Where a ceiling is under its row's floor, no cut in start-up, "
            "files or reduction reaches 1.0x: only faster counting or reading does.")]
    t = times["large_gzip"]
    lines += ["", "## Two workers on two cores", ""]
    if t["cli2"] and "large_gzip (2 workers)" not in failures and "large_gzip" not in failures:
        sp = median_ratio(t["cli"], t["cli2"])
        lines.append(
            f"`--workers 2` (`taskset -c 0,1`) vs `--workers 1` (`taskset -c 0`) on the 4 large "
            f"gzip shards: **{sp[0]:.2f}x** (range {sp[1]:.2f}-{sp[2]:.2f}; target >= 1.8x); "
            f"{mbps(rows['large_gzip']['mb'], t['cli2']):.0f} MB/s.")
        if scaling:
            lines += ["", (
                "What two cores of this machine give when nothing is shared in software: one "
                "process counting the 12 shards in memory (`bench_read.py`'s counting-alone row, "
                f"{scaling['passes']} passes) on CPU 0, then two such processes at once on CPUs 0 "
                f"and 1, {len(scaling['alone'])} rounds: **{scaling['ratio']:.2f}x** the work per "
                f"second (range {scaling['range'][0]:.2f}-{scaling['range'][1]:.2f}). The "
                "two-worker count runs its workers as threads of one process, which also share "
                "its start-up, the interpreter's lock between kernel calls and the final "
                "reduction.")]
    else:
        lines.append("not measured: the CLI failed (see below).")
    lines += ["", "## Memory on one large shard", ""]
    if rss["rc"] == 0:
        lines.append(
            f"`tracebias count` (1 worker) on one {rss['shard_mb']:.0f} MB multi-member gzip shard "
            f"holding {rss.get('text_mb', 0):.0f} MB of text: peak RSS **{rss['peak_rss_mb']:.0f} "
            f"MB** (target < 1 GB), {rss['seconds']:.0f} s; the largest of "
            f"{len(rss.get('all_mb', [0]))} runs "
            f"({', '.join(f'{m:.0f}' for m in rss.get('all_mb', [rss['peak_rss_mb']]))} MB).")
    else:
        lines.append("not measured: the CLI failed (see below).")
    lines += ["", "## Lexicon size: every axis, thousands of targets", ""]
    lines += lexicon_markdown(lex_times or {}, failures, reading["mb"], args.rounds)
    lines += ["", "## Bootstrap overhead", ""]
    if "bootstrap" not in failures:
        ov = median_ratio(boot["boot"], boot["plain"])
        lines.append(f"`--bootstrap 100` vs none, the 12 shards, one core, CLI: median overhead "
                     f"**{100 * (ov[0] - 1):.1f}%** (range {100 * (ov[1] - 1):.1f}% to "
                     f"{100 * (ov[2] - 1):.1f}%; target <= 25%).")
    else:
        lines.append("not measured: the CLI failed (see below).")
    lines += ["", "## Baselines", ""]
    e2e = mbps(rows["wiki16"]["mb"], times["wiki16"]["cli"]) if "wiki16" not in failures else None
    if "plain_python" in secondary:
        pp = secondary["plain_python"]
        lines.append("- plain Python (gzip, json, regex, loops; sentence and ±10 windows, "
                     f"2 shards): {pp:.2f} MB/s" + (f"; `tracebias count` on Wikipedia x16 is "
                                         f"**{e2e / pp:.0f}x** that" if e2e else ""))
    else:
        lines.append(f"- plain Python: not measured ({secondary.get('plain_python_error')})")
    if "reference" in secondary:
        lines.append(f"- the exact reference path (`engine/count/reference.py`, 1 shard): "
                     f"{secondary['reference']:.2f} MB/s; it exists to be obviously correct")
    else:
        lines.append(f"- reference path: not measured ({secondary.get('reference_error')})")
    if failures:
        lines += ["", "## Failures in this run", ""]
        for k, v in failures.items():
            last = [x for x in v.strip().splitlines() if x.strip()][-1:] or ["(no message)"]
            lines.append(f"- {k}: `{last[0][:300]}`")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception:
        traceback.print_exc()
        sys.exit(1)
