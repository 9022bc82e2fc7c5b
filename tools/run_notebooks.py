"""Execute notebooks headless with nbclient against a warehouse (default: the `make run` one).

Run: .venv/bin/python tools/run_notebooks.py [--db results/default.duckdb] [notebooks/*.ipynb]
Exits non-zero on the first notebook that raises. Outputs are not written back (the committed
notebooks stay without outputs); pass --save DIR to keep executed copies.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def run_notebook(path: Path, db: Path, timeout: int = 300) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    os.environ["TRACEBIAS_DB"] = str(Path(db).resolve())
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures render as PNG
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("notebooks", nargs="*")
    ap.add_argument("--db", default=str(ROOT / "results" / "default.duckdb"))
    ap.add_argument("--save", default=None, help="write executed copies here")
    args = ap.parse_args()
    if not Path(args.db).is_file():
        sys.exit(f"no warehouse at {args.db}: run `make run` first")
    paths = [Path(p) for p in args.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for p in paths:
        nb = run_notebook(p, Path(args.db))
        print(f"ok  {p}")
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, Path(args.save) / p.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
