"""`tracebias report`: the figures as PNG plus one self-contained HTML page.

The page opens with the verdict (one sentence per model and stage), then the model-vs-data
summary with the meaning of every sign, the figures and tables of the gender bias trace, the
data side, one section per demographic axis in the warehouse (representation, group x target
shares, set association, identity sentiment), and the runs and settings. Everything is read
from the warehouse's views; the page fits a 1400 px wide window.
"""
from __future__ import annotations

import base64
import html
import io
import re
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from engine.viz import groups, plots, verdict
from engine.viz.common import DPI, frame, has_relation, setting
from engine.warehouse import Warehouse

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1180px;margin:1.5em auto;
     padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:0.2em}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:0.2em}
h3{margin-top:1.6em}
.meta{color:#666;font-size:14px}
.verdicts{background:#f7f7f2;border-left:4px solid #d84315;padding:0.6em 1.2em;margin:1em 0}
.verdicts h2{margin-top:0.2em}.verdicts li{margin:0.35em 0}.v-amplifies{color:#bf360c}.v-dampens{color:#00796b}
.v-follows{color:#455a64}
.help{background:#fff8e1;border-left:4px solid #f9a825;padding:0.6em 1.2em}
pre{background:#f4f4f4;padding:0.6em 0.8em;white-space:pre-wrap;word-break:break-all;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:0.5em 0 1em;max-width:100%}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:right;vertical-align:top}
th{background:#f4f4f4;font-weight:600}
td:first-child,th:first-child{text-align:left}
td.t,th.t{text-align:left}td.wrap{word-break:break-all;text-align:left;max-width:420px}
.muted{color:#999}
img{max-width:100%;height:auto;display:block}figure{margin:1.2em 0}
figcaption{color:#777;font-size:12px}.more{color:#888;font-size:12px;margin-top:-0.6em}
dl.signs{display:grid;grid-template-columns:max-content 1fr;gap:0.3em 1em;font-size:14px}
dl.signs dt{font-weight:600}dl.signs dd{margin:0}
nav ul{columns:3;font-size:14px}
"""


# ---- small HTML helpers ----------------------------------------------------------------------
def _esc(v) -> str:
    return html.escape("" if v is None else str(v))


def _fmt(v) -> str:
    if v is None:
        return "<span class=muted>–</span>"
    if isinstance(v, bool):
        return "yes" if v else ""
    if isinstance(v, float):
        if v != v:
            return "<span class=muted>–</span>"
        return _esc(f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}")
    if isinstance(v, int):
        return f"{v:,}"
    return _esc(v)


def table_html(df: pl.DataFrame, max_rows: int = 40, text_cols=(), wrap_cols=(),
               headers: dict | None = None) -> str:
    """A compact HTML table; at most ``max_rows`` rows with a note of how many more."""
    headers = headers or {}
    if df.height == 0:
        return "<p class=muted>no rows</p>"
    head = "".join(f"<th class={'t' if c in text_cols else 'n'}>{_esc(headers.get(c, c))}</th>"
                   for c in df.columns)
    body = []
    for r in df.head(max_rows).iter_rows():
        cells = []
        for c, v in zip(df.columns, r):
            cls = "wrap" if c in wrap_cols else "t" if c in text_cols else "n"
            cells.append(f"<td class={cls}>{v if c.endswith('_html') else _fmt(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = (f"<p class=more>… {df.height - max_rows:,} more rows (query the view for all of "
            "them)</p>" if df.height > max_rows else "")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


class Page:
    """Collects sections and figures; writes the PNGs and the page."""

    def __init__(self, out: Path):
        self.out = out
        self.parts: list[str] = []
        self.toc: list[tuple[int, str, str]] = []
        self.figures: list[str] = []

    def heading(self, level: int, text: str) -> None:
        anchor = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
        while any(a == anchor for _, a, _ in self.toc):
            anchor += "-x"
        self.toc.append((level, anchor, text))
        self.parts.append(f"<h{level} id='{anchor}'>{_esc(text)}</h{level}>")

    def add(self, markup: str) -> None:
        self.parts.append(markup)

    def figure(self, name: str, fig, caption: str = "") -> None:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI)
        data = buf.getvalue()
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        (self.out / f"{safe}.png").write_bytes(data)
        self.figures.append(f"{safe}.png")
        b64 = base64.b64encode(data).decode()
        self.parts.append(f"<figure><img alt='{_esc(name)}' src='data:image/png;base64,{b64}'>"
                          f"<figcaption>{_esc(safe)}.png{' — ' + _esc(caption) if caption else ''}"
                          "</figcaption></figure>")


# ---- sections --------------------------------------------------------------------------------
SIGNS = [
    ("toward stereotype (Zhao BA)",
     "mean over occupations of (model % − data %) of the gender the data favours for that "
     "occupation (Zhao et al. 2017). + : the model exaggerates the data's skews; − : it pulls them "
     "back toward 50/50. This is the number the verdict reads."),
    ("toward female (mean amplification)",
     "mean of (model % female − data % female), signed toward women whatever the occupation. "
     "+ : the model writes women more often than the data, everywhere. A model can be + here and "
     "− on the line above: leaning female everywhere exaggerates female-skewed occupations but "
     "dampens male-skewed ones."),
    ("directional BA (T→A / A→T)",
     "Wang & Russakovsky 2021. T→A: occupation given, the model picks the gender; + : it picks "
     "the gender the data associates with the occupation more often than the data does. A→T: "
     "gender given, + : the model's occupations for that gender lean further to the ones the data "
     "ties to it."),
    ("r, ρ, slope",
     "Pearson and Spearman correlation of data % and model % across occupations (p: permutation "
     "p-value); slope of model on data through (50%, 50%): > 1 exaggerates, < 1 dampens, 0 "
     "ignores the data."),
    ("TVD to world",
     "mean |p − labour-statistics share| of the data and of the model: distance from the world."),
]


def _ci(v, lo, hi, scale=100.0, digits=1, signed=True) -> str:
    if v is None:
        return "<span class=muted>–</span>"
    f = (lambda x: f"{scale * x:+.{digits}f}") if signed else (lambda x: f"{scale * x:.{digits}f}")
    s = f(v)
    if lo is not None and hi is not None:
        s += f" <span class=muted>[{f(lo)}, {f(hi)}]</span>"
    return s.replace("-", "−")


def summary_table(w) -> str:
    """Per model and stage, the summary metrics with their intervals, in one table that fits."""
    summ = frame(w, "SELECT * FROM amplification_summary WHERE template = '*'")
    if summ.height == 0:
        return ("<p class=muted>No occupation has enough support on both the data and the model "
                "side (settings min_support, min_model_support).</p>")
    several = summ.select("model", "stage").is_duplicated().any()

    def g(r, k):
        return r.get(k)

    rows = []
    for r in summ.sort(["model", "stage", "decoding"]).iter_rows(named=True):
        who = f"{r['model']} / {r['stage']}" + (f" ({r['decoding']})" if several else "")
        p = g(r, "pearson_p")
        rows.append({
            "model / stage": who,
            "occupations (left out)": f"{r['n_occupations']} ({r.get('n_low_support') or 0})",
            "toward stereotype, pp (Zhao BA)_html": _ci(r["bias_amplification_zhao"],
                                                        g(r, "bias_amplification_zhao_low"),
                                                        g(r, "bias_amplification_zhao_high")),
            "toward female, pp (mean ampl.)_html": _ci(r["mean_amplification"],
                                                       g(r, "mean_amplification_low"),
                                                       g(r, "mean_amplification_high")),
            "directional BA T→A / A→T, pp_html":
                f"{_ci(r.get('directional_amplification'), None, None)} / "
                f"{_ci(r.get('directional_amplification_a_to_t'), None, None)}",
            "r (p)_html": (f"{r['pearson']:.2f}" + (f" <span class=muted>(p={p:.2g})</span>"
                                                    if p is not None else ""))
            if r["pearson"] is not None else "–",
            "ρ": None if r["spearman"] is None else round(r["spearman"], 2),
            "slope_html": _ci(r["slope"], g(r, "slope_low"), g(r, "slope_high"), scale=1,
                              digits=2, signed=False),
            "TVD data→world / model→world, pp_html":
                f"{_ci(r['mean_tvd_data_world'], None, None, signed=False)} / "
                f"{_ci(r['mean_tvd_model_world'], None, None, signed=False)}",
        })
    df = pl.DataFrame(rows)
    return table_html(df, headers={c: c.removesuffix("_html") for c in df.columns},
                      text_cols=("model / stage",))


def signs_html() -> str:
    return ("<dl class=signs>" + "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in SIGNS)
            + "</dl><p class=meta>pp = percentage points; [low, high] = 95% interval from "
            "resampling occupations (settings <code>resamples</code>, <code>z</code>). Formulas "
            "and sources: docs/metrics.md.</p>")


def no_model_html(db: str, lexicon: str, has_targets: bool = True) -> str:
    if has_targets:
        pre, lex = "", lexicon
    else:  # a representation-only lexicon: the model side needs occupations to prompt with
        lex = "default"
        pre = ("<p>The data run's lexicon (<code>" + _esc(lexicon) + "</code>) has no targets, "
               "and the model side prompts with occupations: first count the corpus with a "
               "lexicon that has them and add that run to the warehouse, e.g. <code>tracebias "
               "count CORPUS --out results/occupations --lexicon default</code> then "
               "<code>tracebias warehouse build --counts occupations=results/occupations "
               f"... --db {_esc(db)} --set data_run=occupations</code>.</p>")
    cmds = "\n".join(plots.no_model_help(db, lex))
    return ("<div class=help><p><b>No model outputs in this warehouse yet</b>, so there is no "
            "verdict. Add generations (the prompts come from the same lexicon as the counts; "
            "<code>generate</code> needs <code>pip install 'tracebias[generate]'</code> and a "
            "local model directory), then run <code>tracebias report</code> again:</p>"
            f"{pre}<pre>{_esc(cmds)}</pre><p>Files you already have work too: "
            "<code>tracebias warehouse add-generations FILE.jsonl --db "
            f"{_esc(db)}</code> (columns model, stage, occupation, text, prompt or template).</p>"
            "</div>")


def bias_trace_table(w, limit: int = 30) -> pl.DataFrame:
    """World, data and each model series per occupation, each with its n, most skewed first
    (by the distance of the data's interval from 50%, supported occupations only)."""
    long = frame(w, "SELECT * FROM bias_trace_long")
    data = frame(w, "SELECT occupation, n, p, p_low, p_high, low_support FROM data_default")
    if data.height == 0:
        return pl.DataFrame()
    data = data.filter(~pl.col("low_support")).drop_nulls("p").with_columns(
        pl.max_horizontal(pl.col("p_low") - 0.5, 0.5 - pl.col("p_high"), pl.lit(0.0))
        .alias("evidence"))
    occs = data.sort(["evidence", "n"], descending=True).head(limit)["occupation"].to_list()
    out = pl.DataFrame({"occupation": occs})
    sector = frame(w, "SELECT occupation, sector FROM world_stats")
    out = out.join(sector.with_columns(pl.col("sector").str.replace(r" occupations$", "")),
                   on="occupation", how="left")
    series = (long.select("series", "series_order").unique().sort(["series_order", "series"])
              ["series"].to_list())
    for s in series:
        part = long.filter(pl.col("series") == s).select(
            "occupation", pl.col("pct").round(1).alias(f"{s} %"),
            *([pl.col("n").alias(f"{s} n" if s == "data" else f"{s} n_model")]
              if s != "world" else []))
        out = out.join(part.unique("occupation"), on="occupation", how="left")
    return out.rename({"world %": "world % (labour stats)"}) if "world %" in out.columns else out


def data_table(w) -> pl.DataFrame:
    """The data side's female share per occupation, ranked by evidence: supported rows first,
    by how far their 95% interval lies from 50%, then by n."""
    df = frame(w, "SELECT occupation, n, p, p_low, p_high, low_support FROM data_default")
    if df.height == 0:
        return df
    return (df.with_columns(
        pl.max_horizontal(pl.col("p_low") - 0.5, 0.5 - pl.col("p_high"), pl.lit(0.0))
        .fill_null(0.0).alias("evidence"))
        .sort(["low_support", "evidence", "n"], descending=[False, True, True])
        .select("occupation", "n", (100 * pl.col("p")).round(1).alias("% female"),
                (100 * pl.col("p_low")).round(1).alias("95% low"),
                (100 * pl.col("p_high")).round(1).alias("95% high"),
                (100 * pl.col("evidence")).round(1).alias("interval's distance from 50%, pp"),
                pl.col("low_support").alias("low support")))


def has_model_outputs(w) -> bool:
    """Whether the warehouse has any model side (classified generations or probes)."""
    return frame(w, "SELECT count(*) AS n FROM (SELECT 1 FROM model_share LIMIT 1)")["n"][0] > 0


def _model_section(page: Page, w, db: str, lexicon: str) -> None:
    page.heading(2, "Model vs data")
    if not has_model_outputs(w):
        targets = (frame(w, "SELECT count(*) AS n FROM lexicon_targets WHERE run = $r",
                         {"r": setting(w, "data_run")})["n"][0] > 0
                   if has_relation(w, "lexicon_targets") else True)
        page.add(no_model_html(db, lexicon, targets))
        return
    page.add(summary_table(w))
    page.add(signs_html())
    page.figure("data_vs_model", plots.data_vs_model(w),
                "each occupation's data share (x) against the model's (y)")
    page.figure("amplification", plots.amplification_bars(w),
                "per occupation, the model's shift toward the data's stereotype")
    page.heading(3, "Bias trace")
    page.figure("bias_trace", plots.bias_trace(w))
    trace = bias_trace_table(w)
    page.add("<p class=meta>Most skewed occupations in the data (by the distance of the 95% "
             "interval from 50%); n = gendered units (data) or gendered generations "
             "(n_model).</p>")
    page.add(table_html(trace, text_cols=("occupation", "sector")))


def _data_section(page: Page, w) -> None:
    page.heading(2, "Data: occupations and gender")
    window = setting(w, "data_window", "sentence")
    df = data_table(w)
    if df.height == 0:
        page.add("<p class=muted>No occupation counts with a binary gender axis in the data run "
                 f"({_esc(setting(w, 'data_run'))}, {_esc(window)} window).</p>")
        return
    page.add(f"<p class=meta>Female share per occupation in the {_esc(window)} window of run "
             f"{_esc(setting(w, 'data_run'))}, all sources (settings <code>data_run</code>, "
             "<code>data_window</code>). Ranked by evidence: occupations with enough support "
             "first, by how far their 95% interval lies from 50%.</p>")
    page.add(table_html(df, max_rows=30, text_cols=("occupation",)))
    page.figure("source_heatmap", plots.source_heatmap(w))
    page.figure("window_dependence", plots.window_dependence(w))


def _axes_with_rows(w, view: str) -> set[str]:
    if not has_relation(w, view):
        return set()
    return set(frame(w, f"SELECT DISTINCT axis FROM {view}")["axis"].to_list())


def _axes_section(page: Page, w) -> None:
    axes = groups.axes_present(w)
    if not axes:
        return
    data_run, window = setting(w, "data_run"), setting(w, "data_window")
    page.heading(2, "Demographic axes")
    page.add("<p class=meta>Per axis of the lexicon: how often each group is mentioned "
             "(the layout of the Llama 2 demographic-representation table), and, where the "
             "lexicon has targets, how the groups share the targets' contexts, how they associate "
             "with pairs of target sets (a corpus WEAT analogue) and the sentiment of their "
             "contexts. Each axis is read from the data run when it has the axis, else from the "
             "first run that has it.</p>")
    overview = groups.axis_overview_table(w)
    if overview.height:
        page.add(table_html(overview, text_cols=("axis", "run", "most mentioned group")))
    with_share = _axes_with_rows(w, "group_share")
    assoc = (frame(w, "SELECT * FROM set_association WHERE source = '*'")
             if has_relation(w, "set_association") else pl.DataFrame())
    senti = (frame(w, "SELECT * FROM identity_sentiment WHERE source = '*'")
             if has_relation(w, "identity_sentiment") else pl.DataFrame())
    for axis in axes:
        page.heading(3, f"Axis: {axis}")
        rep = groups.representation_table(w, axis)
        if rep.height:
            page.add(table_html(rep, max_rows=15, text_cols=("group", "most frequent term")))
            page.figure(f"representation_{axis}", groups.representation_chart(w, axis))
        if axis in with_share:
            page.figure(f"group_share_{axis}", groups.share_heatmap(w, axis, run=data_run))
        if assoc.height and (assoc["axis"] == axis).any():
            page.figure(f"set_association_{axis}", groups.set_association_forest(
                assoc.filter(pl.col("axis") == axis), axis,
                pairs=groups.weat_pairs(w, axis), run=data_run, window=window))
        if senti.height and (senti["axis"] == axis).any():
            page.figure(f"identity_sentiment_{axis}", groups.identity_sentiment_bars(
                senti.filter(pl.col("axis") == axis), axis, run=data_run, window=window))


def write_report(db: str | Path, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    page = Page(out)
    with Warehouse(db, read_only=True) as w:
        data_run = setting(w, "data_run")
        runs = frame(w, "SELECT * FROM runs")  # not a warehouse: fails here, nothing written
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.png"):  # figures of an earlier report
            old.unlink()
        lexicon = next((r["lexicon"] for r in runs.iter_rows(named=True) if r["run"] == data_run),
                       runs["lexicon"][0] if runs.height else "default")
        verdicts = verdict.sentences_html(w) if has_model_outputs(w) else []
        gender_data = frame(w, "SELECT count(*) AS n FROM data_default")["n"][0] > 0
        if gender_data or has_model_outputs(w):
            _model_section(page, w, str(db), lexicon)
            _data_section(page, w)
            _axes_section(page, w)
        else:  # a representation run: its axes first
            _axes_section(page, w)
            _model_section(page, w, str(db), lexicon)
            _data_section(page, w)
        page.heading(2, "Corpus, runs and settings")
        page.add(table_html(frame(w, "SELECT run, source, count(*) AS shards, "
                                     "sum(documents) AS documents, sum(words) AS words, "
                                     "sum(rejects) AS rejects FROM shards GROUP BY ALL "
                                     "ORDER BY run, source"), text_cols=("run", "source")))
        runs_view = runs.select(
            "run", "path", "lexicon",
            pl.col("lexicon_sha256").str.slice(0, 12).alias("lexicon sha256"),
            *[c for c in ("documents", "finished") if c in runs.columns])
        page.add(table_html(runs_view, text_cols=("run", "lexicon", "lexicon sha256", "finished"),
                            wrap_cols=("path",)))
        page.add(table_html(frame(w, "SELECT key, value FROM settings ORDER BY key"),
                            text_cols=("key", "value")))
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if verdicts:
        head = ("<section class=verdicts><h2 id=verdict>Verdict</h2><ul>"
                + "".join(f"<li>{s}</li>" for s in verdicts) + "</ul></section>")
    else:
        head = ("<section class=verdicts><h2 id=verdict>Verdict</h2><p>No model outputs yet: the "
                "verdict compares a model's generations with these counts (see <a "
                "href='#model-vs-data'>Model vs data</a> for the commands).</p></section>")
    toc = "<nav><ul>" + "".join(f"<li><a href='#{a}'>{_esc(t)}</a></li>"
                                for lvl, a, t in page.toc if lvl == 2) + "</ul></nav>"
    page_html = f"""<!doctype html><html lang=en><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tracebias report</title><style>{CSS}</style></head><body>
<h1>tracebias report</h1>
<p class=meta>Warehouse <code>{_esc(db)}</code>, data run <code>{_esc(data_run)}</code>
(lexicon <code>{_esc(lexicon)}</code>), generated {now}. Metrics, formulas and sources:
docs/metrics.md.</p>
{head}{toc}{''.join(page.parts)}</body></html>"""
    index = out / "index.html"
    index.write_text(page_html, encoding="utf-8")
    return index
