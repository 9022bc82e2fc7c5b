"""`tracebias synth`: the seeded default corpus."""
from __future__ import annotations

import argparse
from pathlib import Path



def cmd_synth(args: argparse.Namespace) -> int:
    from engine.corpus.synth import SynthConfig, generate_corpus

    cfg = SynthConfig(seed=args.seed, shards=args.shards, docs_per_shard=args.docs_per_shard,
                      compression=args.compression, inject_bad_lines=not args.no_bad_lines)
    corpus = generate_corpus(args.out, cfg)
    print(f"wrote {len(corpus.shards)} shards ({corpus.documents} documents) to {args.out}")
    if args.model_outputs:
        from engine.corpus.synth import generate_model_outputs

        n = generate_model_outputs(Path(args.out) / "generations.jsonl", seed=args.seed)
        print(f"wrote {n} synthetic model generations to {Path(args.out) / 'generations.jsonl'}")
    return 0


def register(sub) -> None:
    s = sub.add_parser("synth", help="generate the seeded default corpus with planted associations")
    s.add_argument("out", help="output directory")
    s.add_argument("--seed", type=int, default=20261124,
                   help="random seed; the same seed gives byte-identical shards (default 20261124)")
    s.add_argument("--shards", type=int, default=5, help="number of shards (default 5)")
    s.add_argument("--docs-per-shard", type=int, default=1200,
                   help="documents per shard (default 1200)")
    s.add_argument("--compression", choices=["gzip", "zstd", "none"], default="gzip",
                   help="shard compression (default gzip)")
    s.add_argument("--no-bad-lines", action="store_true", help="do not plant malformed lines")
    s.add_argument("--model-outputs", action="store_true",
                   help="also write generations.jsonl of a synthetic model (base amplifies, tuned dampens)")
    s.set_defaults(func=cmd_synth)
