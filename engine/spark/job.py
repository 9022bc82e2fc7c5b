"""The spark-submit job (jobs/count_cooccurrence.py runs it; importable from an installed wheel).

    spark-submit --master spark://HOST:7077 --py-files dist/tracebias-engine.zip \\
        jobs/count_cooccurrence.py INPUT... --out DIR [every `tracebias count` option] [--force]

The Parquet tables and manifest are the same as `tracebias count` writes (docs/data-format.md).
`tracebias spark-count ...` builds this command for you (and the --py-files zip).
"""
from __future__ import annotations

import argparse
import os
import sys


def parse_args(argv: list[str]) -> argparse.Namespace:
    from engine.count.config import add_count_arguments

    p = argparse.ArgumentParser(prog="count_cooccurrence.py", description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="shard files, directories or globs every executor can read")
    p.add_argument("--out", required=True, help="output directory every executor can reach")
    add_count_arguments(p)
    p.add_argument("--force", action="store_true", help="recount shards that are already done")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from engine.corpus.shards import InputError
    from engine.count.config import ConfigError, CountOptions
    from engine.lexicon import LexiconError
    from engine.run.output import OutputError

    try:
        config = CountOptions.from_args(args).to_config()
    except (ConfigError, LexiconError, ValueError, OSError) as e:
        print(f"count_cooccurrence: error: {e}", file=sys.stderr)
        return 2
    from pyspark.sql import SparkSession

    from engine.run.spark import run_spark

    spark = SparkSession.builder.appName("tracebias-count").getOrCreate()
    try:
        run_spark(args.inputs, args.out, config, spark, force=args.force,
                  log=lambda m: print(m, flush=True))
    except (InputError, OutputError) as e:
        print(f"count_cooccurrence: error: {e}", file=sys.stderr)
        return 2
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
