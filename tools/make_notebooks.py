"""Write notebooks/*.ipynb (without outputs) from the cell lists below.

Run: .venv/bin/python tools/make_notebooks.py   (the notebooks are committed; this is their source)
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
SETUP = '''import os
from engine.viz import plots
from engine.warehouse import Warehouse

# the warehouse built by `make run`; set TRACEBIAS_DB (or edit this line) to use another
DB = os.environ.get("TRACEBIAS_DB", "../results/default.duckdb")
w = Warehouse(DB, read_only=True)
w.sql("SELECT run, lexicon, windows, documents, finished FROM runs")'''

NOTEBOOKS = {
    "01_corpus_associations.ipynb": [
        ("md", "# Corpus associations\n\nHow strongly does the pretraining data tie each occupation "
               "to a gender? Counts come from `tracebias count` (one pass over the corpus, every "
               "window at once) and are read through the DuckDB warehouse."),
        ("code", SETUP),
        ("md", "## The most skewed occupations\n\nFemale share `p = female_only / (female_only + "
               "male_only)` per occupation in the default window, with a 95% Wilson interval. "
               "Occupations with fewer than `min_support` gendered units are flagged."),
        ("code", 'w.sql("""SELECT occupation, n, round(100 * p, 1) AS pct_female,\n'
                 '       round(100 * p_low, 1) AS low, round(100 * p_high, 1) AS high, low_support\n'
                 'FROM data_default ORDER BY abs(p - 0.5) DESC LIMIT 15""")'),
        ("md", "## Does the association differ between sources?\n\nEach cell is the female share "
               "of an occupation within one `source` of the corpus (`all` pools them)."),
        ("code", "plots.source_heatmap(w, window='sentence')"),
        ("md", "## Does it depend on the window?\n\nThe same occupations measured in ±5/±10/±20 "
               "word windows, sentences, paragraphs and whole documents. Wider windows pick up "
               "gender terms that refer to other people, which pulls shares towards the corpus "
               "average."),
        ("code", "plots.window_dependence(w)"),
        ("md", "## Which gender terms drive an association?"),
        ("code", 'w.sql("""SELECT gender, term, sum(term_count) AS mentions\n'
                 'FROM term_cooccurrence WHERE "window" = \'sentence\' AND occupation = $occ\n'
                 'GROUP BY ALL ORDER BY mentions DESC LIMIT 10""", {"occ": "nurse"})'),
    ],
    "02_amplification.ipynb": [
        ("md", "# Amplification: world → data → model\n\nDo models reproduce, exaggerate or dampen "
               "the associations of their pretraining data? The warehouse joins the corpus counts "
               "with classified model generations and US labour statistics (formulas in "
               "`docs/metrics.md`)."),
        ("code", SETUP),
        ("md", "## Summary per model and stage\n\nMean amplification `p_model − p_data`, distance of "
               "data and model from the world (TVD), Zhao et al. and Wang & Russakovsky bias "
               "amplification, correlation across occupations and the exaggeration slope "
               "(> 1: the model exaggerates the data's skew)."),
        ("code", 'w.sql("""SELECT model, stage, n_occupations, round(mean_amplification, 3) AS mean_amp,\n'
                 '       round(mean_tvd_data_world, 3) AS tvd_data, round(mean_tvd_model_world, 3) AS tvd_model,\n'
                 '       round(bias_amplification_zhao, 3) AS zhao, round(directional_amplification, 3) AS wang,\n'
                 '       round(pearson, 3) AS pearson, round(spearman, 3) AS spearman, round(slope, 2) AS slope\n'
                 'FROM amplification_summary WHERE template = \'*\' ORDER BY model, stage""")'),
        ("md", "## Data vs model, per stage\n\nPoints above the diagonal on the female side (and "
               "below it on the male side) are amplified associations."),
        ("code", "plots.data_vs_model(w)"),
        ("md", "## The bias trace\n\nWorld (labour statistics), data and each model stage for the "
               "most skewed occupations."),
        ("code", "plots.bias_trace(w, top=20)"),
        ("md", "## Amplification per occupation, by sector"),
        ("code", "plots.amplification_bars(w)"),
        ("code", "w.sql(\"SELECT * FROM bias_trace ORDER BY data_pct DESC NULLS LAST LIMIT 20\")"),
    ],
}


def build() -> None:
    out = ROOT / "notebooks"
    out.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=[new_markdown_cell(src) if kind == "md" else new_code_cell(src)
                                 for kind, src in cells])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, out / name)
        print(f"wrote notebooks/{name}")


if __name__ == "__main__":
    build()
