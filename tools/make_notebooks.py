"""Write notebooks/*.ipynb (without outputs) from the cell lists below.

Run: .venv/bin/python tools/make_notebooks.py   (the notebooks are committed; this is their source)

Every figure function returns a matplotlib Figure made without pyplot, so a cell that ends with
one shows it exactly once.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
SETUP = '''import os
from engine.viz import plots, verdict
from engine.warehouse import Warehouse

# the warehouse built by `make run`; set TRACEBIAS_DB (or edit this line) to use another
DB = os.environ.get("TRACEBIAS_DB", "../results/default.duckdb")
w = Warehouse(DB, read_only=True)
w.sql("SELECT run, lexicon, windows, documents, finished FROM runs")'''

REPRESENTATION_SETUP = '''import os
import subprocess
import sys
import tempfile
from pathlib import Path

from engine.viz import groups
from engine.warehouse import Warehouse

ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
SHARED = Path(os.environ.get("TRACEBIAS_SHARED", ROOT.parent / "shared" / "data"))
WIKI = SHARED / "wikipedia-en" / "documents"
# where the counts and the warehouse go (a fresh temporary folder unless TRACEBIAS_NB_OUT is set)
OUT = Path(os.environ.get("TRACEBIAS_NB_OUT") or tempfile.mkdtemp(prefix="tracebias-nb03-"))
TRACEBIAS = str(Path(sys.executable).with_name("tracebias"))  # the CLI of this environment


def tracebias(*args, lines=30):
    """Run the tracebias command line and show the first lines of what it prints."""
    r = subprocess.run([TRACEBIAS, *map(str, args)], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(r.stderr.strip().splitlines()[-1])
    print("\\n".join(r.stdout.strip().splitlines()[:lines]))


if WIKI.is_dir():  # the English Wikipedia shards of ../shared/data
    CORPUS = WIKI
else:  # the default corpus of `make run`, generated here when it is not there
    CORPUS = ROOT / "data" / "default-corpus" / "documents"
    if not CORPUS.is_dir():
        tracebias("synth", OUT / "default-corpus")
        CORPUS = OUT / "default-corpus" / "documents"
print(f"corpus: {CORPUS}\\nresults: {OUT}")'''

NOTEBOOKS = {
    "01_corpus_associations.ipynb": [
        ("md", "# Corpus associations\n\nHow strongly does the pretraining data tie each occupation "
               "to a gender? Counts come from `tracebias count` (one pass over the corpus, every "
               "window at once) and are read through the DuckDB warehouse."),
        ("code", SETUP),
        ("md", "## The most skewed occupations\n\nFemale share `p = female_only / (female_only + "
               "male_only)` per occupation in the warehouse's data window (setting "
               "`data_window`), with a 95% Wilson interval, ranked by evidence: how far the "
               "interval lies from 50%. Occupations with fewer than `min_support` gendered units "
               "are flagged and listed last."),
        ("code", 'w.sql("""SELECT occupation, n, round(100 * p, 1) AS pct_female,\n'
                 '       round(100 * p_low, 1) AS low, round(100 * p_high, 1) AS high, low_support\n'
                 'FROM data_default\n'
                 'ORDER BY low_support, greatest(p_low - 0.5, 0.5 - p_high, 0) DESC, n DESC\n'
                 'LIMIT 15""")'),
        ("md", "## Does the association differ between sources?\n\nEach cell is the female share "
               "of an occupation within one `source` of the corpus (`all sources` pools them), in "
               "the data window."),
        ("code", "plots.source_heatmap(w)"),
        ("md", "## Does it depend on the window?\n\nThe same occupations measured in ±5/±10/±20 "
               "word windows, sentences, paragraphs and whole documents. Wider windows pick up "
               "gender terms that refer to other people, which pulls shares towards the corpus "
               "average."),
        ("code", "plots.window_dependence(w)"),
        ("md", "## Which gender terms drive an association?"),
        ("code", 'w.sql("""SELECT gender, term, sum(term_count) AS mentions\n'
                 'FROM term_cooccurrence\n'
                 'WHERE window_label = setting(\'data_window\') AND occupation = $occ\n'
                 'GROUP BY ALL ORDER BY mentions DESC LIMIT 10""", {"occ": "nurse"})'),
    ],
    "02_amplification.ipynb": [
        ("md", "# Amplification: world → data → model\n\nDo models reproduce, exaggerate or dampen "
               "the associations of their pretraining data? The warehouse joins the corpus counts "
               "with classified model generations and US labour statistics (formulas in "
               "`docs/metrics.md`)."),
        ("code", SETUP),
        ("md", "## The verdict\n\nPer model and stage: the mean shift of the model from the data "
               "*toward the gender the data favours* for each occupation (Zhao et al.'s bias "
               "amplification), with its 95% interval: above 0 the model amplifies the data's "
               "stereotypes, below 0 it dampens them, an interval across 0 means it follows them."),
        ("code", 'print("\\n".join(verdict.sentences(w)))'),
        ("md", "## Summary per model and stage\n\nSigns: `zhao` (toward the stereotype) is + when "
               "the model exaggerates the data's skews; `mean_amp` is signed toward *female* "
               "whatever the occupation, so a model that leans female everywhere has `mean_amp` > 0 "
               "and can still have `zhao` < 0 (it dampens the male-skewed occupations). `slope` > 1: "
               "the model exaggerates the data's skew; `wang`: Wang & Russakovsky's directional "
               "amplification (occupation given, model picks the gender)."),
        ("code", 'w.sql("""SELECT model, stage, n_occupations,\n'
                 '       round(bias_amplification_zhao, 3) AS zhao,\n'
                 '       round(bias_amplification_zhao_low, 3) AS zhao_low,\n'
                 '       round(bias_amplification_zhao_high, 3) AS zhao_high,\n'
                 '       round(mean_amplification, 3) AS mean_amp, round(directional_amplification, 3) AS wang,\n'
                 '       round(pearson, 3) AS pearson, round(pearson_p, 4) AS pearson_p,\n'
                 '       round(slope, 2) AS slope, round(mean_tvd_data_world, 3) AS tvd_data,\n'
                 '       round(mean_tvd_model_world, 3) AS tvd_model\n'
                 'FROM amplification_summary WHERE template = \'*\' ORDER BY model, stage""")'),
        ("md", "## Data vs model, per stage\n\nPoints farther from 50% than the diagonal are "
               "occupations whose skew the model amplifies."),
        ("code", "plots.data_vs_model(w)"),
        ("md", "## The bias trace\n\nWorld (labour statistics), data and each model stage for the "
               "most skewed occupations; the legend gives the model's number of gendered "
               "generations per occupation (n_model)."),
        ("code", "plots.bias_trace(w, top=20)"),
        ("md", "## Amplification toward the stereotype, per occupation and sector\n\n"
               "(model − data) share of the gender the data favours for the occupation: orange "
               "bars exaggerate the data's skew, green bars pull it back toward parity."),
        ("code", "plots.amplification_bars(w)"),
        ("code", "w.sql(\"SELECT * FROM bias_trace ORDER BY abs(data_pct - 50) DESC NULLS LAST LIMIT 20\")"),
    ],
    "03_demographic_representation.ipynb": [
        ("md", "# Demographic representation\n\nHow often does the corpus mention each group of "
               "each demographic axis — religion, race and ethnicity, nationality, age, ability, "
               "gender, …? This is the demographic-representation table of the Llama 2 paper "
               "(share of documents mentioning each HolisticBias descriptor, per axis), counted "
               "exactly in one pass with the `holistic-bias` lexicon and the `document` window. "
               "The notebook counts the English Wikipedia shards of `../shared/data` when they are "
               "there, and the default corpus otherwise."),
        ("code", REPRESENTATION_SETUP),
        ("md", "## Count\n\n`--lexicon holistic-bias --window document` counts, per axis, group "
               "and descriptor, the documents that mention it (a document counts once) and its "
               "mentions. The second count crosses the race/ethnicity, religion and nationality "
               "groups with the Hu & Liu opinion lexicon (`identity-sentiment`) in sentence windows, "
               "for the sentiment of the contexts of identity mentions (as in the C4 "
               "documentation paper)."),
        ("code", 'tracebias("count", CORPUS, "--out", OUT / "representation",\n'
                 '          "--lexicon", "holistic-bias", "--window", "document", "--quiet")'),
        ("code", 'tracebias("count", CORPUS, "--out", OUT / "sentiment",\n'
                 '          "--lexicon", "identity-sentiment", "--window", "sentence", "--quiet")\n'
                 'tracebias("warehouse", "build", "--counts", f"representation={OUT / \'representation\'}",\n'
                 '          "--counts", f"sentiment={OUT / \'sentiment\'}", "--db", OUT / "w.duckdb",\n'
                 '          lines=1)\n'
                 'w = Warehouse(OUT / "w.duckdb", read_only=True)'),
        ("md", "## Every axis at a glance\n\nDocuments mentioning any descriptor of the axis, as a "
               "share of all documents, and its most mentioned group."),
        ("code", "groups.axis_overview_table(w)"),
        ("md", "## The representation table of one axis\n\nThe Llama 2 layout: per group, the "
               "documents that mention it, as % of all documents and as % of the documents that "
               "mention the axis at all. In SQL, one row per descriptor:"),
        ("code", 'w.sql("""SELECT * FROM representation\n'
                 'WHERE axis = \'religion\' AND run = \'representation\'\n'
                 'ORDER BY documents DESC LIMIT 5""")'),
        ("code", 'groups.representation_table(w, "religion")'),
        ("code", 'groups.representation_chart(w, "religion")'),
        ("code", 'groups.representation_chart(w, "race_ethnicity")'),
        ("md", "## Gender and other axes\n\nThe same for the gender axis (female, male and "
               "gender-neutral person nouns) and for age."),
        ("code", 'groups.representation_chart(w, "gender")'),
        ("code", 'groups.representation_chart(w, "age")'),
        ("md", "## Sentiment of the contexts of identity mentions\n\nPer group: among the "
               "sentences that mention it with a positive or a negative opinion word, the mean "
               "sentiment (pos − neg) / (pos + neg), with its 95% interval."),
        ("code", 'groups.identity_sentiment_bars(w, "religion")'),
        ("code", 'groups.identity_sentiment_bars(w, "race_ethnicity")'),
        ("md", "## Which opinion words share the groups' sentences?\n\nThe group × target view: "
               "each group's share of the sentences around an opinion word that mention exactly "
               "one group of the axis."),
        ("code", 'groups.share_heatmap(w, "race_ethnicity")'),
    ],
}


def build() -> None:
    out = ROOT / "notebooks"
    out.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=[new_markdown_cell(src) if kind == "md" else new_code_cell(src)
                                 for kind, src in cells])
        for i, cell in enumerate(nb.cells):  # stable ids: regenerating changes nothing
            cell["id"] = f"{Path(name).stem[:2]}-{i:02d}"
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, out / name)
        print(f"wrote notebooks/{name}")


if __name__ == "__main__":
    build()
