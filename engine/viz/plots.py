"""Plots of the bias trace (matplotlib only). Each function takes a warehouse (Warehouse, a
DuckDB connection, or a path to the .duckdb file) or a polars DataFrame shaped like the view
it reads, and returns a matplotlib Figure.

    data_vs_model        data % female vs model % female, one panel per model stage
    bias_trace           world -> data -> each model stage per occupation (dumbbell chart)
    amplification_bars   p_model - p_data per occupation with intervals, grouped by sector
    source_heatmap       female share per source for the top occupations (one window)
    window_dependence    how the data's female share depends on the window
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # headless outside notebooks; in a notebook keep its inline backend
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

FEMALE, MALE, NEUTRAL = "#c2185b", "#1565c0", "#777777"
SERIES_COLORS = ["#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#8d6e63", "#f9a825"]


def _frame(source, sql: str, params=None) -> pl.DataFrame:
    if isinstance(source, pl.DataFrame):
        return source
    from engine.warehouse import Warehouse

    if isinstance(source, Warehouse):
        return source.sql(sql, params)
    if isinstance(source, (str, Path)):
        with Warehouse(source, read_only=True) as w:
            return w.sql(sql, params)
    rel = source.sql(sql, params=params) if params else source.sql(sql)  # a DuckDB connection
    return rel.pl()


def _empty(fig, ax, msg: str):
    ax.text(0.5, 0.5, msg, ha="center", va="center", transform=ax.transAxes, color=NEUTRAL)
    ax.set_axis_off()
    return fig


def _pct_axis(ax, axis="both"):
    if axis in ("x", "both"):
        ax.set_xlim(-2, 102)
    if axis in ("y", "both"):
        ax.set_ylim(-2, 102)


def data_vs_model(source, template: str = "*", label_top: int = 8) -> plt.Figure:
    """Scatter of data % female (x) vs model % female (y) per occupation, a panel per stage."""
    df = _frame(source, "SELECT * FROM amplification WHERE template = $t AND NOT low_support",
                {"t": template})
    stages = df.select("model", "stage").unique().sort(["model", "stage"]).rows() if df.height else []
    fig, axes = plt.subplots(1, max(1, len(stages)), figsize=(5.2 * max(1, len(stages)), 5.2),
                             squeeze=False, constrained_layout=True)
    if not stages:
        return _empty(fig, axes[0][0], "no model outputs with enough support")
    nmax = max(df["n_data"].max(), 1)
    for ax, (model, stage) in zip(axes[0], stages):
        d = df.filter((pl.col("model") == model) & (pl.col("stage") == stage))
        x = 100 * d["p_data"].to_numpy()
        y = 100 * d["p_model"].to_numpy()
        sizes = 20 + 280 * np.sqrt(d["n_data"].to_numpy() / nmax)
        colors = [FEMALE if v > 50 else MALE if v < 50 else NEUTRAL for v in y]
        ax.plot([0, 100], [0, 100], color="#999", lw=1, ls="--", label="model = data")
        ax.axhline(50, color="#ccc", lw=0.8)
        ax.axvline(50, color="#ccc", lw=0.8)
        ax.scatter(x, y, s=sizes, c=colors, alpha=0.6, edgecolor="white", lw=0.5)
        order = np.argsort(-np.abs(y - 50))[:label_top]
        _label_points(ax, x[order], y[order], [d["occupation"][int(i)] for i in order])
        r = np.corrcoef(x, y)[0, 1] if len(x) > 2 else float("nan")
        ax.set_title(f"{model} / {stage}   (n={len(x)}, r={r:.2f})", fontsize=11)
        ax.set_xlabel("data: % female (sentence contexts)")
        ax.set_ylabel("model: % female (generations)")
        _pct_axis(ax)
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.suptitle("Does the model follow, exaggerate or dampen the data? (marker size = data support)",
                 fontsize=12)
    return fig


def _label_points(ax, xs, ys, labels) -> None:
    """Label points, nudging labels vertically so they do not overlap."""
    placed: list[tuple[float, float]] = []
    for x, y, text in sorted(zip(xs, ys, labels), key=lambda t: t[1]):
        ly = y
        for px, py in placed:
            if abs(px - x) < 22 and abs(py - ly) < 4.5:
                ly = py + 4.5
        placed.append((x, ly))
        ax.annotate(text, (x, y), xytext=(x + 2, ly + 1.5), fontsize=8, color="#333",
                    arrowprops=dict(arrowstyle="-", color="#bbb", lw=0.5) if ly != y else None)


def bias_trace(source, top: int = 30) -> plt.Figure:
    """World -> data -> model stages per occupation, sorted by data skew (dumbbell chart)."""
    df = _frame(source, "SELECT * FROM bias_trace_long")
    if df.height == 0 or "data" not in df["series"].to_list():
        fig, ax = plt.subplots(figsize=(8, 3))
        return _empty(fig, ax, "no data series in bias_trace_long")
    data = df.filter((pl.col("series") == "data") & ~pl.col("low_support")).drop_nulls("pct")
    data = data.sort("pct")
    if data.height > top:  # both ends: the most male-leaning and the most female-leaning
        data = pl.concat([data.head(top // 2), data.tail(top - top // 2)])
    occs = data["occupation"].to_list()
    d = df.filter(pl.col("occupation").is_in(occs))
    series = (d.select("series", "series_order").unique().sort(["series_order", "series"])
              ["series"].to_list())
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(occs) + 1.8), constrained_layout=True)
    ypos = {o: i for i, o in enumerate(occs)}
    for o in occs:
        vals = d.filter(pl.col("occupation") == o).drop_nulls("pct")["pct"].to_list()
        if vals:
            ax.plot([min(vals), max(vals)], [ypos[o]] * 2, color="#ddd", lw=2, zorder=1)
    styles = {"world": ("s", "#444"), "data": ("o", "#000")}
    for i, sname in enumerate(series):
        s = d.filter(pl.col("series") == sname).drop_nulls("pct")
        marker, color = styles.get(sname, ("D", SERIES_COLORS[i % len(SERIES_COLORS)]))
        ax.scatter(s["pct"], [ypos[o] for o in s["occupation"]], marker=marker, color=color,
                   s=36, label=sname, zorder=2 + i)
    ax.axvline(50, color="#bbb", lw=0.8, ls="--")
    ax.set_yticks(range(len(occs)), occs, fontsize=9)
    ax.set_xlabel("% female")
    _pct_axis(ax, "x")
    ax.set_title(f"Bias trace: world -> data -> model ({len(occs)} occupations: the data's most "
                 "male- and female-leaning)", fontsize=11)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.04), ncol=min(4, len(series)),
              fontsize=8, frameon=False)
    return fig


def _newcombe(row) -> tuple[float, float]:
    """Interval of p_model - p_data from the two Wilson intervals (Newcombe's method 10)."""
    p1, l1, u1 = row["p_model"], row["p_model_low"], row["p_model_high"]
    p2, l2, u2 = row["p_data"], row["p_data_low"], row["p_data_high"]
    if None in (p1, l1, u1, p2, l2, u2):
        return (math.nan, math.nan)
    d = p1 - p2
    return (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def amplification_bars(source, model: str | None = None, stage: str | None = None,
                       top: int = 40) -> plt.Figure:
    """p_model - p_data per occupation (percentage points) with 95% intervals, by sector."""
    df = _frame(source, "SELECT * FROM amplification WHERE template = '*' AND NOT low_support")
    if model:
        df = df.filter(pl.col("model") == model)
    if stage:
        df = df.filter(pl.col("stage") == stage)
    if df.height == 0:
        fig, ax = plt.subplots(figsize=(8, 3))
        return _empty(fig, ax, "no supported occupations with model outputs")
    first = df.select("model", "stage").unique().sort(["model", "stage"]).row(0)
    df = df.filter((pl.col("model") == first[0]) & (pl.col("stage") == first[1]))
    df = df.with_columns(pl.col("sector").fill_null("(sector unknown)"))
    df = df.sort(pl.col("amplification").abs(), descending=True).head(top)
    df = df.sort(["sector", "amplification"])
    rows = df.to_dicts()
    fig, ax = plt.subplots(figsize=(11, 0.3 * len(rows) + 2), constrained_layout=True)
    y = np.arange(len(rows))
    amp = np.array([100 * r["amplification"] for r in rows])
    ci = np.array([_newcombe(r) for r in rows]) * 100
    colors = [FEMALE if a > 0 else MALE for a in amp]
    ax.barh(y, amp, color=colors, alpha=0.75)
    err = np.vstack([amp - ci[:, 0], ci[:, 1] - amp])
    ax.errorbar(amp, y, xerr=np.nan_to_num(err), fmt="none", ecolor="#333", lw=0.8, capsize=2)
    ax.axvline(0, color="#333", lw=0.8)
    labels = [r["occupation"] for r in rows]
    ax.set_yticks(y, labels, fontsize=8)
    prev = None
    for i, r in enumerate(rows):  # sector separators and names
        if r["sector"] != prev:
            if i:
                ax.axhline(i - 0.5, color="#ddd", lw=0.8)
            ax.text(1.01, i, r["sector"].replace(" occupations", "")[:40],
                    transform=ax.get_yaxis_transform(), ha="left", va="center", fontsize=7,
                    color="#666", clip_on=False)
            prev = r["sector"]
    ax.set_xlabel("amplification: model % female - data % female (percentage points, 95% CI)")
    ax.set_title(f"Amplification per occupation, {first[0]} / {first[1]} "
                 "(pink: model more female than the data)", fontsize=11)
    return fig


def source_heatmap(source, window: str = "sentence", top: int = 25) -> plt.Figure:
    """Female share per source (columns) for the most frequent occupations (rows)."""
    df = _frame(source, 'SELECT * FROM data_share WHERE "window" = $w AND n > 0', {"w": window})
    if df.height == 0:
        fig, ax = plt.subplots(figsize=(6, 3))
        return _empty(fig, ax, f"no counts for window {window}")
    tot = df.filter(pl.col("source") == "*").sort("n", descending=True).head(top)
    occs = tot.sort("p")["occupation"].to_list()
    sources = ["*"] + sorted(s for s in df["source"].unique().to_list() if s != "*")
    grid = np.full((len(occs), len(sources)), np.nan)
    for r in df.filter(pl.col("occupation").is_in(occs)).to_dicts():
        if r["p"] is not None:
            grid[occs.index(r["occupation"]), sources.index(r["source"])] = 100 * r["p"]
    fig, ax = plt.subplots(figsize=(1.2 * len(sources) + 3.5, 0.3 * len(occs) + 1.8),
                           constrained_layout=True)
    im = ax.imshow(grid, cmap="RdBu_r", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(sources)), ["all" if s == "*" else (s or "(none)") for s in sources],
                  rotation=30, ha="right", fontsize=9)
    ax.set_yticks(range(len(occs)), occs, fontsize=9)
    for i in range(len(occs)):
        for j in range(len(sources)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if abs(grid[i, j] - 50) > 30 else "black")
    fig.colorbar(im, ax=ax, label="% female (female-only / gendered units)")
    ax.set_title(f"Female share by source, {window} window ({len(occs)} most frequent occupations)",
                 fontsize=11)
    return fig


WINDOW_ORDER = ["words:5", "words:10", "sentence", "words:20", "paragraph", "document"]


def window_dependence(source, occupations: list[str] | None = None, n: int = 10) -> plt.Figure:
    """Female share of each occupation across windows, narrow to wide."""
    df = _frame(source, "SELECT * FROM data_share WHERE source = '*' AND run = setting('data_run')")
    if df.height == 0:
        fig, ax = plt.subplots(figsize=(6, 3))
        return _empty(fig, ax, "no counts")
    windows = [w for w in WINDOW_ORDER if w in df["window"].unique().to_list()]
    windows += sorted(w for w in df["window"].unique().to_list() if w not in windows)
    if not occupations:
        base = df.filter((pl.col("window") == ("sentence" if "sentence" in windows else windows[0]))
                         & ~pl.col("low_support"))
        occupations = base.sort("n", descending=True).head(n)["occupation"].to_list()
    fig, ax = plt.subplots(figsize=(9, 5.5), constrained_layout=True)
    for i, occ in enumerate(occupations):
        d = df.filter(pl.col("occupation") == occ)
        ys = [next((100 * r["p"] for r in d.filter(pl.col("window") == w).to_dicts()
                    if r["p"] is not None), np.nan) for w in windows]
        ax.plot(range(len(windows)), ys, marker="o", lw=1.5, label=occ,
                color=plt.cm.tab10(i % 10))
    ax.axhline(50, color="#bbb", lw=0.8, ls="--")
    ax.set_xticks(range(len(windows)), windows)
    ax.set_xlabel("context window (narrow -> wide)")
    ax.set_ylabel("% female")
    _pct_axis(ax, "y")
    ax.set_title("How the measured association depends on the window", fontsize=11)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


ALL_PLOTS = {
    "data_vs_model": data_vs_model,
    "bias_trace": bias_trace,
    "amplification": amplification_bars,
    "source_heatmap": source_heatmap,
    "window_dependence": window_dependence,
}
