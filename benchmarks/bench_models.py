"""Model-side benchmark: prompts per second for `probe` vs `generate` on the same tiny model.

Both run in this process on tiny random GPT-2 models (`engine.models.tiny`, 1 layer, width 32),
the way the CLI runs them, timed from model loading to the written output:

  probe     every prompt of `tracebias prompts --lexicon tracing-bias --templates base`
            (1,971), batch 16, the gender axis of tracing-bias; exact, no sampling
  generate  the first --gen-prompts of those prompts, 1 sample each, the CLI's defaults
            (temperature 0.7, 48 new tokens, batch 8); generations are then classified by the
            warehouse, which this benchmark does not time

Two tokenizers: word-level (`tracebias dev tiny-model`, every gender term is one token, one
forward row per prompt) and a 400-token byte-level BPE (most terms are several tokens: the
chained multi-token case, 50 forward rows per prompt). A random model's outputs are noise; the
timings are what this measures. The machine is shared: figures move with its load.

Usage: python benchmarks/bench_models.py [--gen-prompts 200] [--out FILE.md]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.lexicon import load_lexicon  # noqa: E402
from engine.models.generate import GenerateConfig, run_generation  # noqa: E402
from engine.models.probe import ProbeConfig, run_probe  # noqa: E402
from engine.models.prompts import build_prompts  # noqa: E402
from engine.models.tiny import build_tiny_model  # noqa: E402


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gen-prompts", type=int, default=200,
                    help="prompts for the generate timing (default 200)")
    ap.add_argument("--repeats", type=int, default=2, help="best of N runs (default 2)")
    ap.add_argument("--out", default=None, help="also write the markdown table to this file")
    args = ap.parse_args()
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    lex = load_lexicon("tracing-bias")
    prompts = build_prompts(lex, "base")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        all_p = tmp / "prompts.jsonl"
        all_p.write_text("".join(json.dumps(p) + "\n" for p in prompts))
        gen_p = tmp / "gen-prompts.jsonl"
        gen_p.write_text("".join(json.dumps(p) + "\n" for p in prompts[: args.gen_prompts]))
        for tk in ("word", "bpe"):
            model = build_tiny_model(tmp / tk, tokenizer=tk)
            best_probe = best_gen = float("inf")
            for i in range(args.repeats):
                out = tmp / f"{tk}-{i}.parquet"
                best_probe = min(best_probe, timed(lambda: run_probe(
                    all_p, out, ProbeConfig(str(model), batch_size=16), lex, progress=False)))
                gout = tmp / f"{tk}-{i}.jsonl"
                best_gen = min(best_gen, timed(lambda: run_generation(
                    gen_p, gout, GenerateConfig(str(model), samples=1), progress=False)))
            n_gen = min(args.gen_prompts, len(prompts))
            rows.append((tk, len(prompts), best_probe, n_gen, best_gen))
            print(f"{tk}: probe {len(prompts)} prompts in {best_probe:.2f} s "
                  f"({len(prompts) / best_probe:,.0f} prompts/s); generate {n_gen} prompts x 1 "
                  f"sample in {best_gen:.2f} s ({n_gen / best_gen:,.1f} prompts/s)", flush=True)
    import torch

    when = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    lines = [
        f"### Model side: probe vs generate (tiny random GPT-2, {when})", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), torch "
        f"{torch.__version__}, CPU, one thread (models under 20M parameters). "
        "`python benchmarks/bench_models.py`; best of "
        f"{args.repeats}; each time includes loading the model and writing the output.", "",
        "| tokenizer | probe: prompts | s | prompts/s | generate: prompts (1 sample, 48 tokens) "
        "| s | prompts/s | probe / generate |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for tk, n_p, t_p, n_g, t_g in rows:
        lines.append(f"| {tk} | {n_p:,} | {t_p:.2f} | {n_p / t_p:,.0f} | {n_g:,} | {t_g:.2f} | "
                     f"{n_g / t_g:,.1f} | {(n_p / t_p) / (n_g / t_g):,.0f}x |")
    table = "\n".join(lines) + "\n"
    print()
    print(table)
    if args.out:
        write_section(Path(args.out), table)
        print(f"wrote the model-side section of {args.out}")


BEGIN, END = "<!-- model side: written by benchmarks/bench_models.py -->", \
    "<!-- end of model side -->"


def write_section(doc: Path, table: str) -> None:
    """Replace this benchmark's section of docs/benchmarks.md (or add it before the Spark
    section, or at the end), leaving every other section as it is."""
    block = f"{BEGIN}\n{table}{END}\n"
    old = doc.read_text() if doc.exists() else "# Benchmarks\n\n"
    if BEGIN in old and END in old:
        new = old[: old.index(BEGIN)] + block + old[old.index(END) + len(END):].lstrip("\n")
    else:
        spark = "<!-- spark"
        at = old.find(spark)
        new = (old[:at] + block + "\n" + old[at:]) if at >= 0 else old.rstrip("\n") + "\n\n" + block
    doc.write_text(new)


if __name__ == "__main__":
    main()
