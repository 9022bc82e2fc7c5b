"""Counting benchmarks on the real Wikipedia shards; writes docs/benchmarks.md.

Measured in one run, one core each unless stated:
  floor        decompress + parse to Arrow only (engine.corpus.shards.read_shard), the I/O bound
  end-to-end   read + tokenize + match + all windows (engine.count.counting.count_shard)
  plain Python gzip + json + regex + loops, same windows (sentence, ±k), a straightforward script
  tokenizers   the reference path (tokenizers Lowercase + Whitespace, then Python)
  2 workers    the local runner with 2 threads (all cores of this machine)
  peak RSS     `tracebias count` in a subprocess on one 2 GB multi-member gzip shard

Usage: python benchmarks/bench_count.py [--shared ../shared/data] [--out docs/benchmarks.md]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.count.counting import CountConfig, count_shard  # noqa: E402
from engine.lexicon import load_lexicon  # noqa: E402
from engine.count.reference import reference_count  # noqa: E402
from engine.run.local import run_local  # noqa: E402
from engine.corpus.shards import DocBatch, expand_inputs, read_shard  # noqa: E402


def best_of(n, fn):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def text_bytes(shards) -> int:
    n = 0
    for s in shards:
        for b in read_shard(s):
            if isinstance(b, DocBatch):
                n += b.text.nbytes - 4 * (len(b.text) + 1)  # UTF-8 bytes, not offsets
    return n


# ---- the plain-Python baseline -------------------------------------------------------------
_TOKEN = re.compile(r"\w+|[^\w\s]+")


def plain_python(paths, lexicon, ks=(5, 10, 20)):
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
                        g_sent = [g for g in genders if g[2] == s]
                        counts[("sentence", name, len(g_sent))] += 1
                        for k in ks:
                            near = [g for g in genders if abs(g[1] - pos) <= k]
                            counts[(k, name, len(near))] += 1
    return counts


def tokenizers_pipeline(paths, lexicon, ks=(5, 10, 20)):
    """What a user would write with `tokenizers`: encode_batch with a word-level vocabulary of
    the lexicon's words (everything else -> [UNK]), then Python loops over the ids."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    from engine.count.reference import form_words

    forms = {}
    for g, f in lexicon.gender_terms:
        forms[form_words(f)] = (g, f)
    for t in lexicon.targets:
        for f in t.forms:
            forms[form_words(f)] = ("target", t.name)
    vocab = {"[UNK]": 0}
    for words in forms:
        for w in words:
            vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    id_forms = {tuple(vocab[w] for w in k): v for k, v in forms.items()}
    longest = max(map(len, id_forms))
    sentence_end = {".", "!", "?"}
    counts = defaultdict(int)
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            paras = [p for line in fh for p in json.loads(line)["text"].split("\n")]
        for enc in tok.encode_batch(paras, add_special_tokens=False):
            ids, toks = enc.ids, enc.tokens
            mentions, sent, i = [], 0, 0
            while i < len(ids):
                if ids[i] == 0:
                    if any(c in toks[i] for c in sentence_end):
                        sent += 1
                    i += 1
                    continue
                for n in range(longest, 0, -1):
                    key = tuple(ids[i:i + n])
                    if key in id_forms:
                        mentions.append((id_forms[key], i, sent))
                        i += n
                        break
                else:
                    i += 1
            targets = [m for m in mentions if m[0][0] == "target"]
            genders = [m for m in mentions if m[0][0] != "target"]
            for (_, name), pos, s in targets:
                counts[("sentence", name, sum(1 for g in genders if g[2] == s))] += 1
                for k in ks:
                    counts[(k, name, sum(1 for g in genders if abs(g[1] - pos) <= k))] += 1
    return counts


def peak_rss_on_big_shard(wiki: Path, target_bytes: int, lexicon: str) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="tracebias-bench-"))
    try:
        big = tmp / "big.json.gz"
        parts = sorted(wiki.glob("*.json.gz"))
        per_copy = 81_626_699  # UTF-8 text bytes of the 12 shards (shared/data SOURCES.md)
        copies = max(1, round(target_bytes / per_copy))
        with open(big, "wb") as out:
            for _ in range(copies):
                for p in parts:
                    out.write(p.read_bytes())  # gzip members concatenate into one valid stream
        cmd = [sys.executable, "-c",
               "import resource,sys,time; from engine.cli import main; t=time.perf_counter(); "
               "rc=main(sys.argv[1:]); "
               "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()-t)",
               "count", str(big), "--out", str(tmp / "out"), "--lexicon", lexicon, "--workers", "1",
               "--quiet"]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=True)
        line = [x for x in r.stdout.splitlines() if x.startswith("RSS")][-1].split()
        docs = json.loads((tmp / "out" / "manifest.json").read_text())["totals"]
        return {"shard_gz_mb": big.stat().st_size / 1e6, "text_mb": docs["bytes"] / 1e6,
                "peak_rss_mb": int(line[1]) / 1024, "seconds": float(line[2])}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    ap.add_argument("--lexicon", default="tracing-bias")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pairs", type=int, default=7, help="interleaved floor/end-to-end pairs")
    ap.add_argument("--big-gb", type=float, default=2.0)
    args = ap.parse_args()
    wiki = Path(args.shared) / "wikipedia-en" / "documents"
    if not wiki.is_dir():
        sys.exit(f"Wikipedia shards not found at {wiki}; pass --shared")
    shards = expand_inputs([str(wiki)])
    lexicon = load_lexicon(args.lexicon)
    config = CountConfig(lexicon)  # all default windows in one pass
    nbytes = text_bytes(shards)
    mb = nbytes / 1e6
    count_shard(shards[0], config)  # compile / load the kernel cache
    res = {}
    print(f"{len(shards)} shards, {mb:.1f} MB of text; lexicon {lexicon.name}; windows "
          f"{', '.join(w.label for w in config.windows)}", flush=True)
    # floor and end-to-end are timed back to back, pair after pair, so that both see the same
    # machine state (this VM's speed drifts by +-15% over minutes); medians are reported
    floors, e2es = [], []
    for _ in range(args.pairs):
        floors.append(mb / best_of(1, lambda: [list(read_shard(s)) for s in shards]))
        e2es.append(mb / best_of(1, lambda: [count_shard(s, config) for s in shards]))
    ratios = sorted(e / f for e, f in zip(e2es, floors))
    res["floor"] = statistics.median(floors)
    res["e2e"] = statistics.median(e2es)
    res["ratio"] = statistics.median(ratios)
    res["ratio_range"] = (ratios[0], ratios[-1])
    print(f"floor (decompress + parse to Arrow): {res['floor']:.1f} MB/s", flush=True)
    print(f"end-to-end, 1 core: {res['e2e']:.1f} MB/s; ratio median {res['ratio']:.3f} "
          f"(range {ratios[0]:.3f}-{ratios[-1]:.3f} over {args.pairs} pairs)", flush=True)
    boot = CountConfig(lexicon, bootstrap=100)
    count_shard(shards[0], boot)
    over = []
    for _ in range(args.pairs):
        a = best_of(1, lambda: [count_shard(s, config) for s in shards])
        b = best_of(1, lambda: [count_shard(s, boot) for s in shards])
        over.append(b / a)
    res["boot_overhead"] = statistics.median(over) - 1
    res["boot_range"] = (min(over) - 1, max(over) - 1)
    print(f"bootstrap B=100 overhead: {100 * res['boot_overhead']:.1f}%", flush=True)
    sub = shards[:2]
    sub_mb = text_bytes(sub) / 1e6
    t = best_of(1, lambda: plain_python([s.url[len("file://"):] for s in sub], lexicon))
    res["python"] = sub_mb / t
    print(f"plain Python: {res['python']:.2f} MB/s", flush=True)
    t = best_of(1, lambda: tokenizers_pipeline([s.url[len("file://"):] for s in sub], lexicon))
    res["tokenizers"] = sub_mb / t
    print(f"tokenizers pipeline: {res['tokenizers']:.2f} MB/s", flush=True)
    docs = [(text, src) for b in read_shard(shards[0]) if isinstance(b, DocBatch)
            for text, src in zip(b.text.to_pylist(), b.source.to_pylist())]
    one_mb = sum(len(d.encode()) for d, _ in docs) / 1e6
    t = best_of(1, lambda: reference_count(docs, lexicon, config.windows))
    res["reference"] = one_mb / t
    print(f"reference path: {res['reference']:.2f} MB/s", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="tracebias-bench-"))
    try:
        for w in (1, 2):
            t = best_of(args.repeat, lambda: run_local([str(wiki)], str(tmp / "o"), config,
                                                       workers=w, force=True, progress=False))
            res[f"workers{w}"] = mb / t
            print(f"local runner, {w} worker(s): {res[f'workers{w}']:.1f} MB/s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    big = peak_rss_on_big_shard(wiki, int(args.big_gb * 1e9), args.lexicon)
    print(f"2 GB shard: {big}", flush=True)

    ratio = res["ratio"]
    speedup = res["e2e"] / res["python"]
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    md = f"""# Benchmarks

Generated by `make bench` (`benchmarks/bench_count.py`) on {now}.
Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.
Corpus: the {len(shards)} real English Wikipedia shards in `shared/data/wikipedia-en/documents`
({mb:.1f} MB of UTF-8 text, gzip). Lexicon `{lexicon.name}`; all of these windows in one pass:
{', '.join(w.label for w in config.windows)}. MB = 10^6 bytes of document text. The floor and
the end-to-end run are timed as {args.pairs} interleaved back-to-back pairs (this VM's speed
drifts by about 15% over minutes) and their medians are shown; the ratio is the median of the
per-pair ratios (range {100 * res['ratio_range'][0]:.0f}%-{100 * res['ratio_range'][1]:.0f}%).
Other rows: best of {args.repeat} runs where repeated.

## Counting throughput

| pipeline | cores | MB/s of text | vs floor | vs plain Python |
| --- | --- | ---: | ---: | ---: |
| floor: decompress + parse to Arrow only | 1 | {res['floor']:.1f} | 100% | {res['floor'] / res['python']:.1f}x |
| **tracebias end-to-end** (read, tokenize, match, all windows) | 1 | **{res['e2e']:.1f}** | **{100 * ratio:.0f}%** | **{speedup:.1f}x** |
| tracebias local runner (`tracebias count`: + Parquet partials, reduction, manifest), 1 worker | 1 | {res['workers1']:.1f} | {100 * res['workers1'] / res['floor']:.0f}% | {res['workers1'] / res['python']:.1f}x |
| the same, 2 worker threads | 2 | {res['workers2']:.1f} | {100 * res['workers2'] / res['floor']:.0f}% | {res['workers2'] / res['python']:.1f}x |
| `tokenizers` pipeline (encode_batch, word-level vocabulary, Python loops) | 1 | {res['tokenizers']:.2f} | {100 * res['tokenizers'] / res['floor']:.1f}% | {res['tokenizers'] / res['python']:.2f}x |
| plain Python (gzip, json, regex, loops) | 1 | {res['python']:.2f} | {100 * res['python'] / res['floor']:.1f}% | 1.0x |

The exact reference path used by the tests (`engine/reference.py`: `tokenizers` plus
straightforward Python for every rule, all six windows and term-level counts) runs at
{res['reference']:.2f} MB/s; it exists to be obviously correct, not fast.

Targets (issue 2): end-to-end >= 60% of the floor: **{'met' if ratio >= 0.6 else 'NOT met'}**
({100 * ratio:.0f}%); >= 5x plain Python: **{'met' if speedup >= 5 else 'NOT met'}** ({speedup:.1f}x).
The plain-Python and `tokenizers` figures come from 2 shards (sentence and ±k windows only),
the reference path from 1 shard. The local runner rows include writing 4 Parquet partials and a
marker per shard and the final reduction (a fixed cost per shard and per run that matters on
these 2.5 MB shards, not on GB-sized ones); 2 threads vs 1 thread is the scaling to compare.

## Bootstrap overhead

End-to-end counting with `--bootstrap 100` (document-level Poisson replicates, all windows)
vs without, {args.pairs} interleaved pairs: median overhead **{100 * res['boot_overhead']:.1f}%**
(range {100 * res['boot_range'][0]:.1f}% to {100 * res['boot_range'][1]:.1f}%); target <= 25%.

## Memory on one large shard

`tracebias count` (1 worker) on a single {big['shard_gz_mb']:.0f} MB multi-member gzip shard holding
{big['text_mb']:.0f} MB of text: peak RSS **{big['peak_rss_mb']:.0f} MB**, {big['seconds']:.0f} s
({big['text_mb'] / big['seconds']:.1f} MB/s including process start and the final reduction).
Reading is streamed in 16 MB batches, so memory does not grow with the shard.
"""
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    marker = "<!-- spark benchmarks below are written by make bench-spark -->"
    old = Path(args.out).read_text() if Path(args.out).exists() else ""
    tail = old[old.index(marker):] if marker in old else marker + "\n"
    Path(args.out).write_text(md + "\n" + tail)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
