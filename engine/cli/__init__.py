"""The `tracebias` command line: one module per command group, each with ``register(sub)``."""
from __future__ import annotations

import argparse
import gc
import os
import sys

COMMAND_MODULES = ("count", "lexicon", "warehouse", "models", "cluster", "synth")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    from engine import __version__

    p = argparse.ArgumentParser(prog="tracebias", description=(
        "Co-occurrence analytics for pretraining corpora: how strongly the data ties groups of "
        "people to occupations, attributes and sentiment, and whether models amplify it."))
    p.add_argument("--version", action="version", version=f"tracebias {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"engine.cli.{name}").register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # argv None: `tracebias` is a process of its own and exits after this command, so it may
    # be tuned for that (engine/run/process.py; commands get ``args.own_process``)
    own_process = argv is None
    if own_process:
        from engine.run.process import keep_freed_memory

        keep_freed_memory()
    args = build_parser().parse_args(argv)
    args.own_process = own_process
    if own_process:  # the modules imported so far are never garbage: the collector skips
        gc.freeze()  # them for good (it walked them at every full collection and at exit)
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `tracebias sql ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
