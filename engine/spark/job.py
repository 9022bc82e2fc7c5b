"""The spark-submit job (same as jobs/count_cooccurrence.py, importable from an installed wheel).

    spark-submit --master spark://HOST:7077 --py-files dist/tracebias-engine.zip \
        jobs/count_cooccurrence.py INPUT... --out DIR [--lexicon NAME|PATH] [--window W ...] [--force]

The Parquet tables and manifest are the same as `tracebias count` writes (docs/data-format.md).
`tracebias spark-count ...` builds this command for you (and the --py-files zip).
"""
from __future__ import annotations

import argparse
import os
import sys


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="count_cooccurrence.py", description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("--out", required=True, help="output directory every executor can reach")
    p.add_argument("--lexicon", default="default")
    p.add_argument("--window", action="append", metavar="W")
    p.add_argument("--force", action="store_true", help="recount shards that are already done")
    p.add_argument("--batch-mb", type=float, default=16)
    p.add_argument("--bootstrap", type=int, default=0, metavar="B",
                   help="document-level Poisson bootstrap replicates (e.g. 100; 0 = off)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    from engine.count.counting import CountConfig
    from engine.lexicon import LexiconError, load_lexicon
    from engine.corpus.shards import InputError
    from engine.run.spark import run_spark
    from engine.count.windows import DEFAULT_WINDOWS

    try:
        config = CountConfig(load_lexicon(args.lexicon),
                             tuple(args.window) if args.window else DEFAULT_WINDOWS,
                             batch_bytes=int(args.batch_mb * (1 << 20)), bootstrap=args.bootstrap)
    except (LexiconError, ValueError) as e:
        print(f"count_cooccurrence: error: {e}", file=sys.stderr)
        return 2
    spark = SparkSession.builder.appName("tracebias-count").getOrCreate()
    try:
        run_spark(args.inputs, args.out, config, spark, force=args.force,
                  log=lambda m: print(m, flush=True))
    except InputError as e:
        print(f"count_cooccurrence: error: {e}", file=sys.stderr)
        return 2
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
