"""Execute notebooks headless with nbclient against a warehouse (default: the `make run` one).

Run: .venv/bin/python tools/run_notebooks.py [--db results/default.duckdb] [notebooks/*.ipynb]

Executed copies, with their outputs, are saved in results/notebooks/ (``--save DIR`` to change,
``--no-save`` to keep none); the committed notebooks in notebooks/ stay without outputs. Exits
non-zero on the first notebook that raises, naming the cell.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SAVE = ROOT / "results" / "notebooks"


def run_notebook(path: Path, db: Path, timeout: int = 300) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    os.environ["TRACEBIAS_DB"] = str(Path(db).resolve())
    # user code that draws with pyplot renders inline as PNG; the engine's figures never use
    # pyplot and display once, as the cell's value
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="notebooks to run (default: notebooks/*.ipynb)")
    ap.add_argument("--db", default=str(ROOT / "results" / "default.duckdb"),
                    help="the warehouse the notebooks open (TRACEBIAS_DB)")
    ap.add_argument("--save", default=str(DEFAULT_SAVE),
                    help="folder for the executed copies, with outputs (default: results/notebooks)")
    ap.add_argument("--no-save", action="store_true", help="do not keep the executed copies")
    args = ap.parse_args()
    if not Path(args.db).is_file():
        sys.exit(f"no warehouse at {args.db}: run `make run` first")
    paths = [Path(p) for p in args.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    save = None if args.no_save else Path(args.save)
    for p in paths:
        try:
            nb = run_notebook(p, Path(args.db))
        except CellExecutionError as e:
            sys.exit(f"FAILED {p}: {str(e).strip().splitlines()[-1]}")
        if save:
            save.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, save / p.name)
            print(f"ok  {p}  ->  {save / p.name}")
        else:
            print(f"ok  {p}")
    if save:
        print(f"executed notebooks, with their outputs: {save}/ (open them with Jupyter)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
