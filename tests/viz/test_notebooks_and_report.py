"""Notebooks execute headless against a default-style run; plots and the HTML report render."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from engine.viz import plots
from engine.count.counting import CountConfig
from engine.lexicon import load_lexicon
from engine.viz.report import write_report
from engine.run.local import run_local
from engine.corpus.synth import SynthConfig, generate_corpus, generate_model_outputs
from engine.warehouse import Warehouse, parse_counts_arg

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("default-run")
    corpus = generate_corpus(tmp / "corpus", SynthConfig(shards=2, docs_per_shard=600))
    generate_model_outputs(tmp / "gens.jsonl", samples=30)
    run_local([str(corpus.root / "documents")], str(tmp / "counts"),
              CountConfig(load_lexicon("default")), progress=False)
    db = tmp / "w.duckdb"
    with Warehouse(db) as w:
        w.build([parse_counts_arg(f"default={tmp / 'counts'}")], {"min_model_support": 10})
        w.add_generations(tmp / "gens.jsonl")
    return db


def _runner():
    spec = importlib.util.spec_from_file_location("run_nb", ROOT / "tools" / "run_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")))
def test_notebook_executes(warehouse, name):
    nb = _runner().run_notebook(ROOT / "notebooks" / name, warehouse, timeout=240)
    images = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                 if "image/png" in o.get("data", {}))
    assert images >= 2  # the plots rendered


def test_notebooks_are_saved_without_outputs():
    import nbformat

    for p in (ROOT / "notebooks").glob("*.ipynb"):
        nb = nbformat.read(p, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), p


def test_broken_notebook_fails(warehouse, tmp_path):
    import nbformat
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(ROOT / "notebooks" / "01_corpus_associations.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("w.sql('SELECT * FROM no_such_view')"))
    broken = tmp_path / "broken.ipynb"
    nbformat.write(nb, broken)
    with pytest.raises(CellExecutionError):
        _runner().run_notebook(broken, warehouse, timeout=240)


def test_plots_have_labelled_axes(warehouse):
    with Warehouse(warehouse, read_only=True) as w:
        for name, fn in plots.ALL_PLOTS.items():
            fig = fn(w)
            axes = [a for a in fig.axes if a.get_label() != "<colorbar>"]
            assert axes and axes[0].get_title(), name
            assert axes[0].get_xlabel() or axes[0].get_xticklabels(), name
            plots.plt.close(fig)


def test_report(warehouse, tmp_path):
    index = write_report(warehouse, tmp_path / "report")
    page = index.read_text()
    assert page.count("data:image/png;base64,") == len(plots.ALL_PLOTS)
    assert "Summary per model and stage" in page and "synth-lm" in page
    assert sorted(p.name for p in (tmp_path / "report").glob("*.png")) == sorted(
        f"{n}.png" for n in plots.ALL_PLOTS)
