"""Notebooks execute headless; figures are readable (measured from rendered text extents); the
HTML report opens with the verdict, explains its signs, ranks by evidence, and renders in a real
browser without broken images or horizontal overflow."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import polars as pl
import pytest

from engine.corpus.synth import SynthConfig, generate_corpus, generate_model_outputs
from engine.count.config import CountConfig
from engine.lexicon import load_lexicon
from engine.run.local import run_local
from engine.viz import groups, plots, verdict
from engine.viz.common import layout_problems, new_figure, spread
from engine.viz.report import data_table, write_report
from engine.warehouse import Warehouse, parse_counts_arg

from .chromium import Chromium, find_chromium

ROOT = Path(__file__).resolve().parents[2]


def _count(corpus_docs: Path, out: Path, lexicon: str, windows=None) -> Path:
    kw = {"windows": tuple(windows)} if windows else {}
    run_local([str(corpus_docs)], str(out), CountConfig(load_lexicon(lexicon), **kw),
              progress=False)
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("corpus")
    c = generate_corpus(tmp / "corpus", SynthConfig(shards=2, docs_per_shard=600))
    generate_model_outputs(tmp / "gens.jsonl", samples=30)
    return c.root


@pytest.fixture(scope="module")
def warehouse(corpus, tmp_path_factory) -> Path:
    """A default-style run (default lexicon, all windows) with the synthetic model's outputs."""
    tmp = tmp_path_factory.mktemp("default-run")
    counts = _count(corpus / "documents", tmp / "counts", "default")
    db = tmp / "w.duckdb"
    with Warehouse(db) as w:
        w.build([parse_counts_arg(f"default={counts}")], {"min_model_support": 10})
        w.add_generations(corpus.parent / "gens.jsonl")
    return db


@pytest.fixture(scope="module")
def no_model_warehouse(warehouse, tmp_path_factory) -> Path:
    """The same counts without any model outputs."""
    tmp = tmp_path_factory.mktemp("no-model")
    run = Warehouse(warehouse, read_only=True)
    path = run.sql("SELECT path FROM runs")["path"][0]
    run.close()
    db = tmp / "w.duckdb"
    with Warehouse(db) as w:
        w.build([parse_counts_arg(f"default={path}")])
    return db


def _runner():
    spec = importlib.util.spec_from_file_location("run_nb", ROOT / "tools" / "run_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _top_to_bottom(ax) -> list[str]:
    """An axes' y tick labels as read from the top."""
    return [t for _, t in sorted(zip(ax.get_yticks(), (x.get_text() for x in
                                                           ax.get_yticklabels())), reverse=True)]


def _images_per_cell(nb) -> list[int]:
    return [sum(1 for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
            for c in nb.cells if c.cell_type == "code"]


def _plot_cells(nb) -> list[int]:
    """Indices (among code cells) of the cells whose last line draws a figure."""
    names = {f.__name__ for f in (*plots.ALL_PLOTS.values(), *groups.ALL_GROUP_PLOTS.values())}
    code = [c for c in nb.cells if c.cell_type == "code"]
    calls = [re.match(r"(?:plots|groups)\.(\w+)\(", c.source.strip().splitlines()[-1])
             for c in code]
    return [i for i, m in enumerate(calls) if m and m.group(1) in names]


# ---- notebooks -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["01_corpus_associations.ipynb", "02_amplification.ipynb"])
def test_notebook_executes_and_draws_each_figure_once(warehouse, name):
    nb = _runner().run_notebook(ROOT / "notebooks" / name, warehouse, timeout=240)
    per_cell = _images_per_cell(nb)
    plot_cells = _plot_cells(nb)
    assert len(plot_cells) >= 2
    for i in plot_cells:
        assert per_cell[i] == 1, f"code cell {i} shows {per_cell[i]} images (expected 1)"
    assert sum(per_cell) == len(plot_cells)  # no cell draws anything twice or by accident


@pytest.fixture(scope="module")
def representation_notebook(warehouse, tmp_path_factory):
    """notebooks/03 executed: it counts the Wikipedia shards (or the default corpus) with
    holistic-bias and identity-sentiment into a folder we keep, and builds a warehouse."""
    out = tmp_path_factory.mktemp("nb03")
    os.environ["TRACEBIAS_NB_OUT"] = str(out)
    try:
        nb = _runner().run_notebook(ROOT / "notebooks" / "03_demographic_representation.ipynb",
                                    warehouse, timeout=600)
    finally:
        os.environ.pop("TRACEBIAS_NB_OUT", None)
    return nb, out


def test_representation_notebook(representation_notebook):
    nb, out = representation_notebook
    per_cell = _images_per_cell(nb)
    for i in _plot_cells(nb):
        assert per_cell[i] == 1, f"code cell {i} shows {per_cell[i]} images"
    assert sum(per_cell) == len(_plot_cells(nb)) >= 6
    assert (out / "representation" / "representation.parquet").is_file()
    # the SQL cell printed the Llama-2-style rows of the religion axis
    sql_cell = next(c for c in nb.cells if c.cell_type == "code"
                    and "FROM representation" in c.source)
    html = sql_cell.outputs[0]["data"]["text/html"]
    assert "pct_axis_documents" in html and "religion" in html


def test_notebooks_are_saved_without_outputs_and_match_their_generator(tmp_path):
    spec = importlib.util.spec_from_file_location("mk_nb", ROOT / "tools" / "make_notebooks.py")
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    committed = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert committed == sorted(mk.NOTEBOOKS)
    for name in committed:
        nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), name
        assert [c.source for c in nb.cells] == [src for _, src in mk.NOTEBOOKS[name]], (
            f"{name} differs from tools/make_notebooks.py: run it to regenerate")


def test_broken_notebook_fails(warehouse, tmp_path):
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(ROOT / "notebooks" / "01_corpus_associations.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("w.sql('SELECT * FROM no_such_view')"))
    broken = tmp_path / "broken.ipynb"
    nbformat.write(nb, broken)
    with pytest.raises(CellExecutionError):
        _runner().run_notebook(broken, warehouse, timeout=240)


def test_run_notebooks_saves_executed_copies_and_says_where(warehouse, tmp_path, capsys,
                                                            monkeypatch):
    mod = _runner()
    monkeypatch.setattr("sys.argv", ["run_notebooks.py", "--db", str(warehouse), "--save",
                                     str(tmp_path / "executed"),
                                     str(ROOT / "notebooks" / "01_corpus_associations.ipynb")])
    assert mod.main() == 0
    out = capsys.readouterr().out
    saved = tmp_path / "executed" / "01_corpus_associations.ipynb"
    assert saved.is_file() and str(tmp_path / "executed") in out
    nb = nbformat.read(saved, as_version=4)
    assert sum(_images_per_cell(nb)) == 2
    assert mod.DEFAULT_SAVE == ROOT / "results" / "notebooks"


# ---- figures: readable, measured -------------------------------------------------------------
def test_layout_checker_finds_what_makes_a_figure_unreadable():
    fig, axes = new_figure(3, 3)
    ax = axes[0][0]
    ax.set_title("a title far too long for a figure this narrow, so it is cut at both ends")
    ax.set_xticks(range(8), [f"tick label {i}" for i in range(8)])
    ax.set_xlabel("no unit here")
    problems = layout_problems(fig)
    assert any("cut by the figure edge" in p for p in problems)
    assert any("'tick label 0' overlaps 'tick label 1'" in p for p in problems)
    assert any("has no unit" in p for p in problems)
    fig, axes = new_figure(6, 3)
    axes[0][0].bar([0, 1], [1, 2])
    axes[0][0].set_title("fine")
    axes[0][0].set_ylabel("count (documents)")
    assert layout_problems(fig) == []


def test_spread_keeps_order_and_gap():
    out = spread([5.0, 5.5, 6.0, 50.0, 99.0, 99.5], 3.0, low=0, high=100)
    assert list(out) == sorted(out)
    assert min(b - a for a, b in zip(out, out[1:])) >= 3.0 - 1e-9
    assert out[3] == 50.0 and out[-1] <= 100


def test_gender_figures_are_readable(warehouse):
    with Warehouse(warehouse, read_only=True) as w:
        for name, fn in plots.ALL_PLOTS.items():
            fig = fn(w)
            assert layout_problems(fig) == [], name
            titles = [a.get_title() or a.get_title(loc="left") for a in fig.axes]
            assert any(titles) or fig._suptitle is not None, name


def test_data_vs_model_labels_do_not_overlap_points(warehouse):
    fig = plots.data_vs_model(warehouse)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    for ax in fig.axes:
        anns = [t for t in ax.texts if hasattr(t, "xy")]
        assert anns, "the most skewed occupations are labelled"
        for coll in ax.collections:
            offsets = ax.transData.transform(coll.get_offsets())
            for t in anns:
                from matplotlib.text import Text

                bb = Text.get_window_extent(t, r)
                inside = [(x, y) for x, y in offsets if bb.x0 < x < bb.x1 and bb.y0 < y < bb.y1]
                assert not inside, f"label {t.get_text()!r} covers a point"


def test_amplification_is_signed_toward_the_stereotype():
    rows = {  # occupation: (p_data, p_model); intervals +-2 points around each share
        "nurse": (0.90, 0.95),      # female-skewed, model more female: toward (+5)
        "engineer": (0.10, 0.20),   # male-skewed, model more female: away (-10)
        "pilot": (0.20, 0.05),      # male-skewed, model more male: toward (+15)
    }
    df = pl.DataFrame([{
        "model": "m", "stage": "s", "template": "*", "decoding": "", "occupation": o,
        "sector": "Sector A occupations", "p_data": pd, "p_model": pm, "n_data": 100,
        "n_model": 50, "p_data_low": pd - 0.02, "p_data_high": pd + 0.02,
        "p_model_low": pm - 0.02, "p_model_high": pm + 0.02, "low_support": False,
        "amplification": pm - pd} for o, (pd, pm) in rows.items()])
    t = plots.toward_stereotype(df)
    got = dict(zip(t["occupation"], (100 * t["toward"]).round(6)))
    assert got == {"nurse": 5.0, "engineer": -10.0, "pilot": 15.0}
    lo = dict(zip(t["occupation"], t["toward_low"]))
    hi = dict(zip(t["occupation"], t["toward_high"]))
    for o in rows:  # the interval brackets the estimate after the sign flip
        assert lo[o] < float(t.filter(pl.col("occupation") == o)["toward"][0]) < hi[o]
    fig = plots.amplification_bars(df)
    ax = fig.axes[0]
    colors = {round(p.get_width()): p.get_facecolor()[:3] for p in ax.patches}
    from matplotlib.colors import to_rgb

    assert colors[15] == pytest.approx(to_rgb(plots.TOWARD))
    assert colors[-10] == pytest.approx(to_rgb(plots.AWAY))
    legend = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert any("exaggerates" in s for s in legend) and any("parity" in s for s in legend)
    assert layout_problems(fig) == []


def test_mean_toward_stereotype_is_zhao_ba(warehouse):
    with Warehouse(warehouse, read_only=True) as w:
        amp = w.sql("SELECT * FROM amplification WHERE template = '*' AND NOT low_support")
        summ = w.sql("SELECT model, stage, bias_amplification_zhao FROM amplification_summary "
                     "WHERE template = '*'")
    t = plots.toward_stereotype(amp.drop_nulls(["p_data", "p_model"]))
    mean = t.group_by("model", "stage").agg(pl.col("toward").mean())
    joined = mean.join(summ, on=["model", "stage"])
    assert joined.height == summ.height >= 2
    for r in joined.iter_rows(named=True):
        assert r["toward"] == pytest.approx(r["bias_amplification_zhao"], abs=1e-12)


def test_source_heatmap_follows_data_window(warehouse, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copy(warehouse, db)
    with Warehouse(db) as w:
        w.set("data_window", "words:10")
        fig = plots.source_heatmap(w)
        expect = w.sql("SELECT occupation, p FROM data_share WHERE source = '*' "
                       "AND window_label = 'words:10' AND run = 'default'")
    ax = fig.axes[0]
    assert "words:10" in ax.get_title()
    occs = [t.get_text() for t in ax.get_yticklabels()]
    grid = ax.images[0].get_array()
    p = dict(zip(expect["occupation"], expect["p"]))
    for i, o in enumerate(occs):
        assert grid[i, 0] == pytest.approx(100 * p[o])  # column 0: all sources


def test_bias_trace_shows_n_model(warehouse):
    fig = plots.bias_trace(warehouse)
    legend = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    with Warehouse(warehouse, read_only=True) as w:
        n = w.sql("SELECT min(n) AS lo, max(n) AS hi FROM model_share WHERE template = '*' "
                  "AND model = 'synth-lm' AND stage = 'base'").row(0)
    assert any(f"synth-lm / base (n_model {n[0]}–{n[1]}" in s for s in legend), legend


# ---- K-group figures on frames shaped like the views -----------------------------------------
def _group_share_frame() -> pl.DataFrame:
    rows = []
    for t, shares in {"war": (0.6, 0.3, 0.1), "peace": (0.2, 0.5, 0.3)}.items():
        for g, (name, p) in enumerate(zip(("christian", "muslim", "jewish"), shares)):
            rows.append({"run": "r", "source": "*", "window_label": "sentence", "axis": "religion",
                         "target": t, "group_name": name, "group_order": g, "units_only":
                         int(100 * p), "n": 100, "p": p, "p_low": p - 0.05, "p_high": p + 0.05,
                         "low_support": False})
    return pl.DataFrame(rows)


def test_share_heatmap_values_and_layout():
    fig = groups.share_heatmap(_group_share_frame(), "religion")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["christian", "muslim", "jewish"]
    targets = [t.get_text() for t in ax.get_yticklabels()]
    grid = ax.images[0].get_array()
    assert grid[targets.index("war"), 0] == pytest.approx(60)
    assert grid[targets.index("peace"), 1] == pytest.approx(50)
    assert layout_problems(fig) == []


def test_forest_and_sentiment_plots_from_frames():
    assoc = pl.DataFrame({
        "run": "r", "source": "*", "window_label": "sentence", "axis": "weat7_gender_terms",
        "group_name": ["female", "male"], "set_a": "career", "set_b": "family",
        "units_a": [40, 90], "units_b": [80, 30], "rest_a": [90, 40], "rest_b": [30, 80],
        "log_odds_ratio": [-1.1, 1.1], "lor_low": [-1.6, 0.6], "lor_high": [-0.6, 1.6],
        "lor_boot_low": [None, None], "lor_boot_high": [None, None], "low_support": False})
    fig = groups.set_association_forest(assoc, "weat7_gender_terms")
    ax = fig.axes[0]
    assert "career vs family" in ax.get_xlabel() and "analytic" in ax.get_xlabel()
    lines = ax.collections[0].get_segments()  # the intervals, drawn as horizontal lines
    assert sorted((round(s[0][0], 3), round(s[1][0], 3)) for s in lines) == [(-1.6, -0.6),
                                                                              (0.6, 1.6)]
    assert layout_problems(fig) == []
    senti = pl.DataFrame({
        "run": "r", "source": "*", "window_label": "sentence", "axis": "religion",
        "group_name": ["christian", "muslim", "tiny"], "positive_units": [300, 100, 1],
        "negative_units": [100, 100, 1], "n": [400, 200, 2], "sentiment": [0.5, 0.0, 0.0],
        "sentiment_low": [0.4, -0.14, -0.7], "sentiment_high": [0.58, 0.14, 0.7],
        "low_support": [False, False, True]})
    fig = groups.identity_sentiment_bars(senti, "religion")
    ax = fig.axes[0]
    # most positive on top; the group below min_support is left out
    assert _top_to_bottom(ax) == ["christian  n=400", "muslim  n=200"]
    assert "(pos − neg) / (pos + neg)" in ax.get_xlabel()
    assert layout_problems(fig) == []


def test_representation_chart_from_frames():
    g = pl.DataFrame({"run": "r", "axis": "age", "group_name": ["old", "young", "child"],
                      "documents": [500, 300, 20], "mentions": [900, 400, 25],
                      "pct_documents": [50.0, 30.0, 2.0], "pct_axis_documents": [80.0, 48.0, 3.2]})
    t = pl.DataFrame({"run": "r", "axis": "age", "group_name": ["old", "old", "young", "child"],
                      "term": ["old", "elderly", "young", "teen"],
                      "documents": [450, 90, 300, 20], "mentions": [800, 100, 400, 25],
                      "pct_documents": [45.0, 9.0, 30.0, 2.0]})
    fig = groups.representation_chart(g, "age", terms=t)
    top, bottom = fig.axes
    assert _top_to_bottom(top) == ["old", "young", "child"]  # most documents on top
    assert _top_to_bottom(bottom) == ["old", "young", "elderly (old)", "teen (child)"]
    assert "of 1,000 documents" in fig._suptitle.get_text()
    assert layout_problems(fig) == []


# ---- the verdict -----------------------------------------------------------------------------
def test_verdict_sentences_from_frames():
    df = pl.DataFrame({"model": ["a", "b", "c", "d"], "stage": "base", "template": "*",
                       "decoding": "", "n_occupations": [20, 20, 20, 2],
                       "estimate": [0.031, -0.052, 0.004, 0.1], "low": [0.012, -0.08, -0.011, 0.0],
                       "high": [0.05, -0.02, 0.019, 0.2], "level": 95,
                       "verdict": ["amplifies", "dampens", "follows", "insufficient data"]})
    s = verdict.sentences(df)
    assert s[0].startswith("a / base amplifies the data's stereotypes") and \
        "+3.1 percentage points" in s[0] and "95% CI +1.2 to +5.0" in s[0]
    assert s[1].startswith("b / base dampens") and "5.2 percentage points back toward parity" \
        in s[1] and "−8.0 to −2.0" in s[1]
    assert s[2].startswith("c / base follows") and "includes 0" in s[2]
    assert s[3].startswith("d / base: too few occupations")


def test_report_opens_with_the_verdict_of_the_warehouse(warehouse, tmp_path):
    index = write_report(warehouse, tmp_path / "report")
    page = index.read_text()
    with Warehouse(warehouse, read_only=True) as w:
        v = w.sql("SELECT model, stage, verdict, low, high FROM amplification_verdict "
                  "WHERE template = '*' ORDER BY model, stage")
    body = page[page.index("<body>"):]
    first_section = body[:body.index("<nav>")]
    for r in v.iter_rows(named=True):
        assert f"<b>{r['model']} / {r['stage']}</b> <b class='v-{r['verdict']}'>{r['verdict']}" \
            in first_section
        assert f"{100 * r['low']:+.1f}".replace("-", "−") in first_section
    assert body.index("Verdict") < body.index("Model vs data")
    # the signs are explained next to the summary table
    summary = page[page.index("toward stereotype, pp (Zhao BA)"):]
    assert summary.index("<dl class=signs>") < summary.index("<figure>")
    assert "toward female (mean amplification)" in page


def test_report_data_table_is_ranked_by_evidence(warehouse):
    with Warehouse(warehouse, read_only=True) as w:
        df = data_table(w)
    assert df.height > 5
    low = df["low support"].to_list()
    assert low == sorted(low)  # supported rows first
    dist = df.filter(~pl.col("low support"))["interval's distance from 50%, pp"].to_list()
    assert dist == sorted(dist, reverse=True)


def test_report_without_model_outputs_says_how_to_add_them(no_model_warehouse, tmp_path):
    page = write_report(no_model_warehouse, tmp_path / "r").read_text()
    assert "No model outputs in this warehouse yet" in page
    assert f"tracebias warehouse add-generations gens.jsonl --db {no_model_warehouse}" in page
    assert "tracebias prompts --lexicon default --templates base --out prompts.jsonl" in page
    fig = plots.amplification_bars(no_model_warehouse)
    assert "tracebias warehouse add-generations" in fig.axes[0].texts[0].get_text().replace(
        "\n", " ")


def test_report_axes_sections(representation_notebook, tmp_path):
    _, out = representation_notebook
    db = out / "w.duckdb"
    index = write_report(db, tmp_path / "report")
    page = index.read_text()
    with Warehouse(db, read_only=True) as w:
        axes = groups.axes_present(w)
        senti_axes = w.sql("SELECT DISTINCT axis FROM identity_sentiment WHERE n > 0")["axis"]
    assert {"religion", "race_ethnicity", "gender"} <= set(axes)
    for axis in axes:
        section = page[page.index(f">Axis: {axis}<"):]
        nxt = section.find(">Axis: ", 10)
        section = section[: nxt if nxt > 0 else None]
        assert f"% of documents mentioning {axis}" in section, axis  # the representation table
        assert f"representation_{axis}.png" in section
    for axis in senti_axes:
        assert (tmp_path / "report" / f"identity_sentiment_{axis}.png").is_file()


# ---- the report in a real browser ------------------------------------------------------------
def _measure(index: Path, tmp_path: Path) -> dict:
    if not find_chromium():
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium; `make "
                    "test` installs it); the report cannot be checked in a browser")
    with Chromium() as c:
        m = c.measure(index, width=1400)
        c.screenshot(tmp_path / "report.png")
    return m


@pytest.mark.parametrize("which", ["warehouse", "no_model_warehouse"])
def test_report_renders_in_chromium(which, request, tmp_path):
    db = request.getfixturevalue(which)
    index = write_report(db, tmp_path / "report")
    m = _measure(index, tmp_path)
    pngs = sorted(p.name for p in (tmp_path / "report").glob("*.png"))
    assert len(m["images"]) == len(pngs) >= 2
    for img in m["images"]:
        assert img["complete"] and img["naturalWidth"] > 0, img["alt"]
    assert m["scrollWidth"] <= 1400, json.dumps(m["overflowing"])
    assert m["firstParagraph"].startswith("Verdict")


def test_report_of_every_axis_renders_in_chromium(representation_notebook, tmp_path):
    _, out = representation_notebook
    index = write_report(out / "w.duckdb", tmp_path / "report")
    m = _measure(index, tmp_path)
    assert len(m["images"]) >= 10
    assert all(i["naturalWidth"] > 0 for i in m["images"])
    assert m["scrollWidth"] <= 1400, json.dumps(m["overflowing"])


def test_group_figures_are_readable(representation_notebook):
    _, out = representation_notebook
    with Warehouse(out / "w.duckdb", read_only=True) as w:
        for axis in groups.axes_present(w):
            assert layout_problems(groups.representation_chart(w, axis)) == [], axis
        for axis in ("religion", "race_ethnicity"):
            for fn in (groups.identity_sentiment_bars, groups.share_heatmap,
                       groups.set_association_forest):
                assert layout_problems(fn(w, axis)) == [], (fn.__name__, axis)


def test_stages_with_several_decodings_get_their_own_panels():
    base = {"model": "m", "stage": "base", "template": "*", "sector": "S", "n_data": 100,
            "n_model": 50, "low_support": False}
    rows = []
    for dec, shift in (("sampled", 0.05), ("probe", -0.05)):
        for o, pd in (("nurse", 0.9), ("pilot", 0.1), ("baker", 0.6)):
            pm = pd + shift
            rows.append({**base, "decoding": dec, "occupation": o, "p_data": pd, "p_model": pm,
                         "p_data_low": pd - 0.02, "p_data_high": pd + 0.02,
                         "p_model_low": pm - 0.03, "p_model_high": pm + 0.03,
                         "amplification": shift})
    df = pl.DataFrame(rows)
    for fig in (plots.data_vs_model(df), plots.amplification_bars(df)):
        titles = sorted(a.get_title().splitlines()[0] for a in fig.axes)
        assert titles == ["m / base (probe)", "m / base (sampled)"]
        assert layout_problems(fig) == []


def test_report_command(warehouse, tmp_path, capsys):
    from engine.cli import main

    out = tmp_path / "r"
    assert main(["report", "--db", str(warehouse), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("synth-lm / base ") and "data's stereotypes" in printed[0]
    n_png = len(list(out.glob("*.png")))
    assert printed[-1] == f"wrote {out / 'index.html'} ({n_png} figures, also as PNG files in {out}/)"
    not_a_warehouse = tmp_path / "x.duckdb"
    import duckdb

    duckdb.connect(str(not_a_warehouse)).close()
    with pytest.raises(SystemExit) as e:
        main(["report", "--db", str(not_a_warehouse), "--out", str(tmp_path / "r2")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "not a warehouse of this version" in err and "Traceback" not in err
    assert not (tmp_path / "r2").exists()
