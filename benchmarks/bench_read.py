"""Reading floors on one core: what it costs to get document text out of compressed shards.

Every figure is MB (10^6 bytes) of UTF-8 document text per second, so rows compare directly,
measured in-process on one core (the process pins itself to CPU 0) over the same files, as
interleaved rounds: each round runs every row once, back to back, and the ratios are taken
within a round (this VM is shared: its speed drifts, and a ratio within a round cancels it).

  zlib inflate        gzip inflated by zlib (what Python's gzip module does), output dropped
  ISA-L inflate       the same with ISA-L (`isal`): the physical limit for a gzip corpus
  gzip + pyarrow.json zlib inflate, 16 MB chunks cut at newlines, pyarrow.json.read_json with
                      the text/id/source schema: the issue-15 floor (the previous reader)
  tracebias reader    engine.corpus.shards.read_shard: ISA-L inflate + the numba JSON scan into
                      Arrow buffers (+ the exact path for lines the scan declines)
  numba scan alone    engine.corpus.jsonscan.scan_chunk on already-decompressed 16 MB chunks
  counting alone      engine.count.counting.ShardCounter on the shards' text already in memory
                      as Arrow arrays (lexicon default, windows sentence and 10, contexts on):
                      the kernels and the tables, no reading, no files; one counter per shard
  tokenize + match    the counting kernels' first step alone (engine.count.kernels
                      .group_counts_batch: every word looked up, lexicon paths matched)

The counting rows set a ceiling on any end-to-end count: reading and counting run in series on
one core, so with nothing else at all (no start-up, files or reduction) a count runs at about
1 / (1 / reader + 1 / counting) MB/s; the section reports that ceiling against each floor.

Usage: python benchmarks/bench_read.py [--shared ../shared/data] [--rounds 7] [--write]
(--write updates the reading section of docs/benchmarks.md; `make bench` runs it with the rest.)
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

from engine.corpus.inflate import GZIP_BACKEND, MAX_OUT, PIECE
from engine.corpus.jsonscan import scan_chunk
from engine.corpus.shards import DocBatch, expand_inputs, read_shard

# the count options of every counting row here and in bench_count
LEXICON = "default"
WINDOWS = ["--window", "sentence", "--window", "10"]

CHUNK = 16 << 20
_SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("source", pa.string())])
_PARSE = pj.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="ignore")


def pin_to_one_core(cpu: int = 0) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


# ---- decoders, output dropped -----------------------------------------------------------------

def _gzip_pieces(path, mod):
    with open(path, "rb") as f:
        d = mod.decompressobj(wbits=31)
        while True:
            comp = f.read(PIECE)
            if not comp:
                return
            while comp:
                out = d.decompress(comp, MAX_OUT)
                if out:
                    yield out
                if d.eof:
                    comp = d.unused_data
                    d = mod.decompressobj(wbits=31)
                else:
                    comp = d.unconsumed_tail


def _zstd_pieces(path):
    import zstandard

    with open(path, "rb") as f:
        reader = zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True)
        while True:
            out = reader.read(MAX_OUT)
            if not out:
                return
            yield out


def _pieces(path, codec: str):
    if codec == "zlib":
        return _gzip_pieces(path, zlib)
    if codec == "isal":
        from isal import isal_zlib

        return _gzip_pieces(path, isal_zlib)
    return _zstd_pieces(path)


def inflate_only(paths, codec: str) -> None:
    for p in paths:
        for _ in _pieces(p, codec):
            pass


def _chunks(path, codec: str):
    """Decoded bytes cut into ~16 MB chunks at newlines."""
    buf = bytearray()
    for piece in _pieces(path, codec):
        buf += piece
        if len(buf) >= CHUNK:
            cut = buf.rfind(b"\n")
            if cut >= 0:
                yield bytes(buf[: cut + 1])
                del buf[: cut + 1]
    if buf:
        yield bytes(buf)


def with_pyarrow_json(paths, codec: str) -> None:
    for p in paths:
        for chunk in _chunks(p, codec):
            pj.read_json(pa.BufferReader(chunk),
                         read_options=pj.ReadOptions(use_threads=False, block_size=len(chunk) + 1),
                         parse_options=_PARSE)


def tracebias_reader(shards, gzip_backend=None) -> None:
    for s in shards:
        for _ in read_shard(s, gzip_backend=gzip_backend):
            pass


def numba_scan(chunks, out) -> None:
    for c in chunks:
        scan_chunk(c, *out)


def count_config():
    """The configuration of bench_count's end-to-end rows (lexicon, windows, default options)."""
    from engine.count.config import CountOptions, add_count_arguments

    ap = argparse.ArgumentParser()
    add_count_arguments(ap)
    return CountOptions.from_args(ap.parse_args(["--lexicon", LEXICON, *WINDOWS])).to_config()


def shard_texts(shards) -> list[list[DocBatch]]:
    """Every shard's document batches, read once and kept in memory."""
    return [[b for b in read_shard(s) if isinstance(b, DocBatch)] for s in shards]


def counting_alone(texts, config) -> int:
    """Count the in-memory batches as a run does (one counter per shard, its tables built);
    returns the words the tokenizer counted (the shards table's ``words``)."""
    from engine.count.counting import ShardCounter

    words = 0
    for batches in texts:
        counter = ShardCounter(config)
        for b in batches:
            counter.add_texts(b.text, b.source, b.id, b.rows)
        counter.tables(sort=False)
        words += int(counter.doc_stats[:, 2].sum())
    return words


def tokenize_and_match(texts, config) -> None:
    from engine.count.counting import arrow_string_buffers, kernel_chars
    from engine.count.kernels import group_counts_batch

    T = config.compiled.tables
    for batches in texts:
        for b in batches:
            data, offsets = arrow_string_buffers(b.text)
            group_counts_batch(data, offsets, kernel_chars(), T,
                               np.zeros((len(b.text), max(1, T.n_cols)), np.int64))


# ---- corpora --------------------------------------------------------------------------------

def text_bytes(shards) -> int:
    import pyarrow.compute as pc

    return sum(pc.sum(pc.binary_length(b.text)).as_py() or 0
               for s in shards for b in read_shard(s) if isinstance(b, DocBatch))


def zstd_copies(gz_paths, out_dir: Path, level: int = 3) -> list[Path]:
    """The same text recompressed with zstd (one frame per file, with checksums)."""
    import zstandard

    out = []
    cctx = zstandard.ZstdCompressor(level=level, write_checksum=True, threads=-1)
    for p in gz_paths:
        q = out_dir / (Path(p).name[: -len(".json.gz")] + ".json.zst")
        with open(q, "wb") as f, cctx.stream_writer(f, closefd=False) as w:
            for piece in _pieces(p, "isal" if GZIP_BACKEND == "isal" else "zlib"):
                w.write(piece)
        out.append(q)
    return out


def decoded_chunks(gz_paths) -> list[np.ndarray]:
    chunks = []
    for p in gz_paths:
        for c in _chunks(p, "zlib"):
            chunks.append(np.frombuffer(c, np.uint8).copy())
    return chunks


# ---- interleaved rounds -----------------------------------------------------------------------

def rounds(rows: dict, n: int, log=print) -> dict[str, list[float]]:
    """Run every row once per round, in order; seconds per row per round."""
    secs = {k: [] for k in rows}
    for r in range(n):
        for name, fn in rows.items():
            t0 = time.perf_counter()
            fn()
            secs[name].append(time.perf_counter() - t0)
        log(f"  round {r + 1}/{n}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in secs.items()))
    return secs


def summarize(secs: dict[str, list[float]], mb: float, base: str) -> dict[str, dict]:
    """Median MB/s per row, and the median of the per-round ratios to the ``base`` row."""
    out = {}
    for k, v in secs.items():
        ratios = sorted(secs[base][i] / v[i] for i in range(len(v)))
        out[k] = {"mbps": statistics.median(mb / x for x in v),
                  "ratio": statistics.median(ratios), "range": (ratios[0], ratios[-1])}
    return out


def reading_floors(wiki: Path, n_rounds: int, tmp: Path, log=print) -> dict:
    shards = expand_inputs([str(wiki)])
    gz = [s.url[len("file://"):] for s in shards]
    mb = text_bytes(shards) / 1e6
    zst = zstd_copies(gz, tmp)
    zshards = expand_inputs([str(p) for p in zst])
    chunks = decoded_chunks(gz)
    outs = [np.empty(max(c.size for c in chunks), np.uint8) for _ in range(3)]  # reused
    tracebias_reader(shards)  # compile / load the scanner's cache
    config = count_config()
    texts = shard_texts(shards)
    words = counting_alone(texts, config)  # loads the counting kernels, and counts the words
    tokenize_and_match(texts[:1], config)
    rows = {
        "zlib inflate": lambda: inflate_only(gz, "zlib"),
        "ISA-L inflate": lambda: inflate_only(gz, "isal"),
        "gzip + pyarrow.json": lambda: with_pyarrow_json(gz, "zlib"),
        "ISA-L + pyarrow.json": lambda: with_pyarrow_json(gz, "isal"),
        "tracebias reader (gzip)": lambda: tracebias_reader(shards),
        "tracebias reader (gzip, zlib fallback)": lambda: tracebias_reader(shards, "zlib"),
        "numba scan alone": lambda: numba_scan(chunks, outs),
        "zstd inflate": lambda: inflate_only(zst, "zstd"),
        "zstd + pyarrow.json": lambda: with_pyarrow_json(zst, "zstd"),
        "tracebias reader (zstd)": lambda: tracebias_reader(zshards),
        "counting alone": lambda: counting_alone(texts, config),
        "tokenize + match": lambda: tokenize_and_match(texts, config),
    }
    log(f"reading floors: {len(gz)} shards, {mb:.1f} MB of text, {n_rounds} interleaved rounds, "
        f"one core")
    secs = rounds(rows, n_rounds, log)
    res = summarize(secs, mb, "gzip + pyarrow.json")
    isal = summarize(secs, mb, "ISA-L inflate")
    zstd = summarize(secs, mb, "zstd inflate")
    for k in res:
        res[k]["vs_isal"] = isal[k]["ratio"]
        res[k]["vs_zstd"] = zstd[k]["ratio"]
    # the ceiling of a count (reader and counting in series, nothing else), per round
    ceilings = {}
    for codec, reader, floor in (("gzip", "tracebias reader (gzip)", "gzip + pyarrow.json"),
                                 ("zstd", "tracebias reader (zstd)", "zstd + pyarrow.json")):
        per = [secs[floor][i] / (secs[reader][i] + secs["counting alone"][i])
               for i in range(n_rounds)]
        ceilings[codec] = {"mbps": statistics.median(
            mb / (secs[reader][i] + secs["counting alone"][i]) for i in range(n_rounds)),
            "ratio": statistics.median(per), "range": (min(per), max(per))}
    return {"rows": res, "mb": mb, "shards": len(gz), "rounds": n_rounds,
            "ceilings": ceilings, "words": words}


def reading_markdown(r: dict, when: str) -> str:
    rows = r["rows"]
    lines = [
        "## Reading floors (one core)",
        "",
        f"Measured {when} by `benchmarks/bench_read.py` (part of `make bench`): the "
        f"{r['shards']} Wikipedia shards ({r['mb']:.1f} MB of text; zstd rows: the same text "
        "recompressed with zstd level 3), in-process, pinned to one core, "
        f"{r['rounds']} interleaved rounds (every row once per round, back to back); MB/s is the "
        "median over rounds, each ratio the median of the per-round ratios (range in brackets). "
        "The machine is shared with other work while measured, so absolute MB/s move with its "
        "load (up to 2x between rounds); compare the ratios.",
        "",
        "| row | MB/s of text | vs gzip + pyarrow.json | vs ISA-L inflate alone |",
        "| --- | ---: | ---: | ---: |",
    ]
    for k, v in rows.items():
        if k.startswith("zstd") or "(zstd)" in k or k in COUNTING_ROWS:
            continue
        bold = "**" if k == "tracebias reader (gzip)" else ""
        lo, hi = v["range"]
        lines.append(f"| {bold}{k}{bold} | {bold}{v['mbps']:.0f}{bold} | {v['ratio']:.2f}x "
                     f"({lo:.2f}-{hi:.2f}) | {v['vs_isal']:.2f}x |")
    lines += ["", "| zstd row | MB/s of text | vs zstd inflate alone |", "| --- | ---: | ---: |"]
    for k, v in rows.items():
        if k.startswith("zstd") or "(zstd)" in k:
            lines.append(f"| {k} | {v['mbps']:.0f} | {v['vs_zstd']:.2f}x |")
    rd = rows["tracebias reader (gzip)"]
    lines += [
        "",
        f"The reader delivers **{rd['ratio']:.2f}x** the gzip + `pyarrow.json` floor and "
        f"**{rd['vs_isal']:.2f}x** ISA-L inflate alone: inflating is now the larger part of "
        "reading, and the numba scan (text, id and source only, every escape decoded, exact "
        "fallback to `json.loads`) costs less than parsing every field did. The zlib row is "
        "what a machine without `isal` gets (docs/reading.md).",
    ]
    if "ceilings" in r:
        lines += counting_markdown(r)
    return "\n".join(lines) + "\n"


COUNTING_ROWS = ("counting alone", "tokenize + match")


def counting_markdown(r: dict) -> list[str]:
    rows = r["rows"]
    words_s = r["words"] / (r["mb"] / rows["tokenize + match"]["mbps"])
    lines = [
        "",
        "### What counting costs, and the ceiling it sets",
        "",
        "The same rounds, the same shards with their text already in memory: the counting kernels "
        "and the tables of `tracebias count` (lexicon `default`, windows sentence and 10, "
        "contexts on, one counter per shard), and their first step alone (every word looked up, "
        "lexicon paths matched).",
        "",
        "| row | MB/s of text | vs gzip + pyarrow.json |",
        "| --- | ---: | ---: |",
    ]
    for k in COUNTING_ROWS:
        v = rows[k]
        lo, hi = v["range"]
        lines.append(f"| {k} | {v['mbps']:.0f} | {v['ratio']:.2f}x ({lo:.2f}-{hi:.2f}) |")
    c = r["ceilings"]
    lines += [
        "",
        f"Tokenizing and matching alone runs at {rows['tokenize + match']['mbps']:.0f} MB/s "
        f"({words_s / 1e6:.0f} million words per second, {1e9 / words_s:.1f} ns per word). "
        "Reading and counting run one after the other on a core, so with no other cost at all "
        "a count on one core runs at about 1 / (1 / reader + 1 / counting) MB/s, its ceiling: "
        f"**{c['gzip']['mbps']:.0f} MB/s on gzip, {c['gzip']['ratio']:.2f}x** "
        f"({c['gzip']['range'][0]:.2f}-{c['gzip']['range'][1]:.2f}) the gzip + `pyarrow.json` "
        f"floor, and **{c['zstd']['mbps']:.0f} MB/s on zstd, {c['zstd']['ratio']:.2f}x** "
        f"({c['zstd']['range'][0]:.2f}-{c['zstd']['range'][1]:.2f}) the zstd + `pyarrow.json` "
        "floor (an estimate from these 12 shards, one counter and one set of tables each; a "
        "large shard's counting costs a little less per MB). The end-to-end rows below add "
        "start-up, files and the reduction to that.",
    ]
    return lines


SECTION_BEGIN = "<!-- reading floors: written by benchmarks/bench_read.py -->"
SECTION_END = "<!-- end of reading floors -->"


def write_section(doc: Path, md: str) -> None:
    """Replace (or add) the reading section of docs/benchmarks.md, keeping everything else."""
    old = doc.read_text() if doc.exists() else "# Benchmarks\n\n"
    block = f"{SECTION_BEGIN}\n{md}{SECTION_END}\n"
    if SECTION_BEGIN in old and SECTION_END in old:
        a = old.index(SECTION_BEGIN)
        b = old.index(SECTION_END) + len(SECTION_END) + 1
        new = old[:a] + block + old[b:]
    else:  # a document from before the sections: keep its body under a heading of its own
        lines = old.split("\n", 1)
        rest = lines[1].lstrip("\n") if len(lines) > 1 else ""
        if rest and not rest.startswith("#"):
            rest = "## Earlier figures (the previous version of `make bench`)\n\n" + rest
        new = lines[0] + "\n\n" + block + "\n" + rest
    doc.write_text(new)


# ---- two cores: what the machine itself gives ------------------------------------------------

def _count_child(wiki: Path, go: Path, passes: int) -> None:
    """A child of machine_scaling: count the shards in memory ``passes`` times once ``go``
    exists (after saying it is ready), print the seconds."""
    shards = expand_inputs([str(wiki)])
    config = count_config()
    texts = shard_texts(shards)
    counting_alone(texts[:2], config)
    Path(f"{go}.ready.{os.getpid()}").touch()
    while not go.exists():
        time.sleep(0.005)
    t0 = time.perf_counter()
    for _ in range(passes):
        counting_alone(texts, config)
    print(f"{time.perf_counter() - t0:.4f}", flush=True)


def machine_scaling(wiki: Path, n_rounds: int, tmp: Path, passes: int = 3, log=print) -> dict:
    """How much two cores of this machine give over one when nothing is shared in software:
    one process counting the shards in memory (counting_alone) on CPU 0, then two such
    processes at once on CPUs 0 and 1, started together; per round the ratio of the work done
    per second, 2 x alone / the slower of the two. Any two-worker count on these cores is bound
    by it (shared caches, memory bandwidth, a host's sibling threads)."""
    import subprocess

    def run(cpus: list[int], tag: str) -> list[float]:
        go = tmp / f"go-{tag}"
        procs = [subprocess.Popen(["taskset", "-c", str(c), sys.executable, __file__,
                                   "--count-child", str(go), "--shared",
                                   str(wiki.parent.parent), "--passes", str(passes)],
                                  stdout=subprocess.PIPE, text=True) for c in cpus]
        while len(list(tmp.glob(f"go-{tag}.ready.*"))) < len(cpus):
            if any(p.poll() is not None for p in procs):
                break
            time.sleep(0.02)
        go.touch()
        return [float(p.communicate()[0].strip().splitlines()[-1]) for p in procs]

    alone, both, ratios = [], [], []
    for r in range(n_rounds):
        a = run([0], f"a{r}")[0]
        b = run([0, 1], f"b{r}")
        alone.append(a)
        both.append(max(b))
        ratios.append(2 * a / max(b))
        log(f"  two cores, round {r + 1}/{n_rounds}: one process {a:.2f}s, two at once "
            f"{b[0]:.2f}s and {b[1]:.2f}s: {ratios[-1]:.2f}x")
    return {"ratio": statistics.median(ratios), "range": (min(ratios), max(ratios)),
            "alone": alone, "both": both, "passes": passes}


def main() -> None:
    from datetime import datetime, timezone

    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    ap.add_argument("--count-child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--passes", type=int, default=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    wiki = Path(args.shared) / "wikipedia-en" / "documents"
    if not wiki.is_dir():
        sys.exit(f"Wikipedia shards not found at {wiki}; pass --shared")
    if args.count_child:
        _count_child(wiki, Path(args.count_child), args.passes)
        return
    pin_to_one_core()
    with tempfile.TemporaryDirectory(prefix="tracebias-bench-read-") as tmp:
        r = reading_floors(wiki, args.rounds, Path(tmp))
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    md = reading_markdown(r, when)
    print(md)
    if args.write:
        write_section(Path(args.out), md)
        print(f"wrote the reading section of {args.out}")


if __name__ == "__main__":
    main()
