"""Figures of the gender bias trace (matplotlib, no pyplot). Each function takes a warehouse
(Warehouse, a DuckDB connection, or a path to the .duckdb file) or a polars DataFrame shaped
like the view it reads, and returns a matplotlib Figure (displayed once in a notebook cell).

    data_vs_model        data % female vs model % female, one panel per model stage
    bias_trace           world -> data -> each model stage per occupation (dumbbell chart)
    amplification_bars   amplification toward the data's stereotype per occupation, by sector
    source_heatmap       female share per source for the top occupations (the data window)
    window_dependence    how the data's female share depends on the window

The K-group figures (representation, group x target shares, set association, identity
sentiment) are in engine.viz.groups.
"""
from __future__ import annotations

import math

import numpy as np
import polars as pl
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.text import Text

from engine.viz.common import (AWAY, FEMALE, MALE, NEUTRAL, SERIES_COLORS, TOWARD, empty, frame,
                               has_relation, new_figure, setting, short, spread, window_column)

NO_MODEL_HELP = ("No model outputs in this warehouse. Add generations with: tracebias prompts "
                 "--lexicon LEXICON --out prompts.jsonl; tracebias generate --model MODEL_DIR "
                 "--prompts prompts.jsonl --out gens.jsonl --stage base; tracebias warehouse "
                 "add-generations gens.jsonl --db DB")


def no_model_help(db: str = "DB", lexicon: str = "LEXICON") -> list[str]:
    """The exact commands that add model outputs to a warehouse."""
    return [f"tracebias prompts --lexicon {lexicon} --templates base --out prompts.jsonl",
            "tracebias generate --model MODEL_DIR --prompts prompts.jsonl --out gens.jsonl "
            "--stage base --samples 50",
            f"tracebias warehouse add-generations gens.jsonl --db {db}"]


def _data_window(source) -> str:
    return setting(source, "data_window", "sentence") or "sentence"


def _stages(df: pl.DataFrame) -> list[tuple[str, str, str]]:
    """(model, stage, decoding) of every panel: a model and stage with several decodings (e.g.
    sampled generations and probes) get one panel each, never a mixed one."""
    if not df.height:
        return []
    dec = pl.col("decoding") if "decoding" in df.columns else pl.lit("")
    return (df.select("model", "stage", dec.fill_null("").alias("decoding")).unique()
            .sort(["model", "stage", "decoding"]).rows())


def _panel(df: pl.DataFrame, key: tuple[str, str, str]) -> pl.DataFrame:
    m = (pl.col("model") == key[0]) & (pl.col("stage") == key[1])
    if "decoding" in df.columns:
        m = m & (pl.col("decoding").fill_null("") == key[2])
    return df.filter(m)


def _panel_name(key: tuple[str, str, str], stages: list[tuple[str, str, str]]) -> str:
    several = sum(1 for k in stages if k[:2] == key[:2]) > 1
    return f"{key[0]} / {key[1]}" + (f" ({key[2]})" if several and key[2] else "")


# ---- data vs model ---------------------------------------------------------------------------
def data_vs_model(source, template: str = "*", label_top: int = 8) -> Figure:
    """Scatter of data % female (x) vs model % female (y) per occupation, a panel per stage."""
    df = frame(source, "SELECT * FROM amplification WHERE template = $t AND NOT low_support",
               {"t": template})
    if "template" in df.columns:
        df = df.filter((pl.col("template") == template) & ~pl.col("low_support"))
    stages = _stages(df)
    if not stages:
        return empty(NO_MODEL_HELP if not _has_generations(source) else
                     "No occupation has enough support on both the data and the model side "
                     "(settings min_support, min_model_support).",
                     title="Data vs model: nothing to compare")
    window = _data_window(source)
    n = len(stages)
    fig, axes = new_figure(4.6 * n + 0.6, 5.0, 1, n)
    nmax = max(df["n_data"].max(), 1)
    to_label = []
    for ax, key in zip(axes[0], stages):
        d = _panel(df, key)
        x = 100 * d["p_data"].to_numpy()
        y = 100 * d["p_model"].to_numpy()
        sizes = 16 + 220 * np.sqrt(d["n_data"].to_numpy() / nmax)
        colors = [FEMALE if v > 50 else MALE if v < 50 else NEUTRAL for v in x]
        ax.plot([0, 100], [0, 100], color="#999", lw=1, ls="--")
        ax.axhline(50, color="#ddd", lw=0.8)
        ax.axvline(50, color="#ddd", lw=0.8)
        ax.scatter(x, y, s=sizes, c=colors, alpha=0.6, edgecolor="white", lw=0.5)
        ax.set_xlim(-3, 103)
        ax.set_ylim(-3, 103)
        r = np.corrcoef(x, y)[0, 1] if len(x) > 2 else float("nan")
        ax.set_title(f"{short(_panel_name(key, stages), 40)}\n{len(x)} occupations, "
                     f"r = {r:.2f}", fontsize=10)
        ax.set_xlabel(f"data: % female ({window} window)")
        ax.set_ylabel("model: % female (generations)")
        order = np.argsort(-np.abs(y - 50))[:label_top]
        to_label.append((ax, x[order], y[order], [d["occupation"][int(i)] for i in order],
                         list(zip(x, y, sizes))))
    handles = [Patch(color=FEMALE, alpha=0.6, label="data leans female"),
               Patch(color=MALE, alpha=0.6, label="data leans male"),
               matplotlib_line("#999", "--", "model = data")]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle("Model vs data per occupation: points farther from 50% than the diagonal are "
                 "skews the model amplifies (bigger marker: more data)", fontsize=10)
    for ax, xs, ys, labels, sizes in to_label:  # last: labels are placed in the final layout
        place_labels(fig, ax, xs, ys, labels, sizes=sizes)
    return fig


def matplotlib_line(color, ls, label):
    from matplotlib.lines import Line2D

    return Line2D([], [], color=color, ls=ls, label=label)


def place_labels(fig: Figure, ax, xs, ys, labels, sizes=None, fontsize: float = 8) -> list:
    """Annotate points with labels that overlap neither each other, nor any point's marker
    (``sizes``: scatter sizes in points², for every point drawn, labelled or not, as
    ``(x, y, size)`` triples), nor the axes edge: each label tries offsets around its point,
    nearest first, and is left out when none is free."""
    from matplotlib.transforms import Bbox

    fig.canvas.draw()  # settle the layout first: label extents are measured in pixels
    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    px = fig.dpi / 72.0
    obstacles: list[Bbox] = []
    for x, y, s in (sizes or []):
        cx, cy = ax.transData.transform((x, y))
        r = math.sqrt(s) / 2 * px
        obstacles.append(Bbox.from_extents(cx - r, cy - r, cx + r, cy + r))
    placed: list[Bbox] = []
    done = []
    for x, y, text in zip(xs, ys, labels):
        cands = []
        for dist in (10, 18, 28, 40):
            for ang in (30, -30, 150, -150, 90, -90, 0, 180):
                dx, dy = dist * math.cos(math.radians(ang)), dist * math.sin(math.radians(ang))
                ha = "left" if dx > 1 else "right" if dx < -1 else "center"
                va = "bottom" if dy > 1 else "top" if dy < -1 else "center"
                cands.append((dx, dy, ha, va))
        for dx, dy, ha, va in cands:
            ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points",
                              ha=ha, va=va, fontsize=fontsize, color="#222",
                              arrowprops=dict(arrowstyle="-", color="#999", lw=0.5,
                                              shrinkA=0, shrinkB=3))
            ann.set_in_layout(False)
            ann.update_positions(renderer)
            bb = Text.get_window_extent(ann, renderer)  # the text alone, not its leader line
            if (bb.x0 >= inside.x0 + 2 and bb.x1 <= inside.x1 - 2 and bb.y0 >= inside.y0 + 2
                    and bb.y1 <= inside.y1 - 2
                    and not any(bb.overlaps(p) for p in placed)
                    and not any(bb.overlaps(o) for o in obstacles)):
                placed.append(bb.expanded(1.04, 1.1))
                done.append(ann)
                break
            ann.remove()
    return done


def _has_generations(source) -> bool:
    if isinstance(source, pl.DataFrame):
        return True
    if not has_relation(source, "model_generations"):
        return False
    return frame(source, "SELECT count(*) AS n FROM model_generations")["n"][0] > 0


# ---- the bias trace --------------------------------------------------------------------------
def bias_trace(source, top: int = 30) -> Figure:
    """World -> data -> model stages per occupation, sorted by data skew (dumbbell chart).
    The legend gives each model series' number of classified generations per occupation."""
    df = frame(source, "SELECT * FROM bias_trace_long")
    if df.height == 0 or "data" not in df["series"].to_list():
        return empty("No data series: the data run has no gendered units in the data window.",
                     title="Bias trace")
    window = _data_window(source)
    data = df.filter((pl.col("series") == "data") & ~pl.col("low_support")).drop_nulls("pct")
    data = data.sort("pct")
    if data.height > top:  # both ends: the most male-leaning and the most female-leaning
        data = pl.concat([data.head(top // 2), data.tail(top - top // 2)])
    occs = data["occupation"].to_list()
    d = df.filter(pl.col("occupation").is_in(occs))
    series = (d.select("series", "series_order").unique().sort(["series_order", "series"])
              ["series"].to_list())
    fig, axes = new_figure(9.5, 0.3 * len(occs) + 2.2)
    ax = axes[0][0]
    ypos = {o: i for i, o in enumerate(occs)}
    for o in occs:
        vals = d.filter(pl.col("occupation") == o).drop_nulls("pct")["pct"].to_list()
        if vals:
            ax.plot([min(vals), max(vals)], [ypos[o]] * 2, color="#ddd", lw=2, zorder=1)
    styles = {"world": ("s", "#444"), "data": ("o", "#000")}
    for i, sname in enumerate(series):
        s = d.filter(pl.col("series") == sname).drop_nulls("pct")
        marker, color = styles.get(sname, ("D", SERIES_COLORS[i % len(SERIES_COLORS)]))
        if sname == "world":
            label = "world (US labour statistics)"
        elif sname == "data":
            label = f"data ({window} window)"
        else:
            ns = s["n"].drop_nulls()
            label = sname if ns.len() == 0 else (
                f"{sname} (n_model {int(ns.min())}–{int(ns.max())} per occupation)"
                if ns.min() != ns.max() else f"{sname} (n_model {int(ns.min())} per occupation)")
        ax.scatter(s["pct"], [ypos[o] for o in s["occupation"]], marker=marker, color=color,
                   s=34, label=label, zorder=2 + i)
    ax.axvline(50, color="#bbb", lw=0.8, ls="--")
    ax.set_yticks(range(len(occs)), occs, fontsize=9)
    ax.set_ylim(-0.7, len(occs) - 0.3)
    ax.set_xlabel("% female (world: workers; data: gendered units; model: gendered generations)")
    ax.set_xlim(-2, 102)
    ax.set_title(f"Bias trace, world → data → model: the data's {len(occs)} most male- and "
                 "female-leaning occupations", fontsize=10)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center",
               ncol=2 if len(series) > 2 else len(series), fontsize=8, frameon=False)
    return fig


# ---- amplification toward the stereotype ----------------------------------------------------
def _newcombe(p1, l1, u1, p2, l2, u2) -> tuple[float, float]:
    """Interval of p1 - p2 from the two Wilson intervals (Newcombe 1998, method 10)."""
    if any(v is None for v in (p1, l1, u1, p2, l2, u2)):
        return (math.nan, math.nan)
    d = p1 - p2
    return (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def toward_stereotype(df: pl.DataFrame) -> pl.DataFrame:
    """Adds ``toward`` = (p_model − p_data) signed toward the gender the data favours for the
    occupation (+: the model moves further into the data's skew, −: back toward parity; 0 when
    the data is at exactly 50%) and its 95% interval ``toward_low``/``toward_high`` (Newcombe's
    interval of the difference of two Wilson intervals, flipped for male-leaning occupations).
    The mean of ``toward`` over occupations is Zhao et al.'s bias amplification."""
    sign = [1.0 if p > 0.5 else -1.0 if p < 0.5 else 0.0 for p in df["p_data"].to_list()]
    lo, hi = [], []
    for r, s in zip(df.iter_rows(named=True), sign):
        a, b = _newcombe(r["p_model"], r["p_model_low"], r["p_model_high"],
                         r["p_data"], r["p_data_low"], r["p_data_high"])
        lo.append(s * a if s >= 0 else s * b)
        hi.append(s * b if s >= 0 else s * a)
    return df.with_columns(pl.Series("stereotype_sign", sign),
                           (pl.Series(sign) * (pl.col("p_model") - pl.col("p_data"))).alias("toward"),
                           pl.Series("toward_low", lo), pl.Series("toward_high", hi))


def amplification_bars(source, model: str | None = None, stage: str | None = None,
                       top: int = 40) -> Figure:
    """Per occupation: how far the model moves from the data *toward the data's stereotype*
    (percentage points, 95% interval), a panel per model and stage, occupations by sector."""
    df = frame(source, "SELECT * FROM amplification WHERE template = '*' AND NOT low_support")
    if "template" in df.columns:
        df = df.filter((pl.col("template") == "*") & ~pl.col("low_support"))
    if model:
        df = df.filter(pl.col("model") == model)
    if stage:
        df = df.filter(pl.col("stage") == stage)
    df = df.drop_nulls(["p_data", "p_model"])
    if df.height == 0:
        return empty(NO_MODEL_HELP if not _has_generations(source) else
                     "No occupation has enough support on both sides (min_support, "
                     "min_model_support).", title="Amplification toward the stereotype")
    df = toward_stereotype(df)
    stages = _stages(df)
    df = df.with_columns(pl.col("sector").fill_null("sector unknown")
                         .str.replace(r" occupations$", ""))
    keep = (df.group_by("occupation").agg(pl.col("toward").abs().max().alias("k"))
            .sort(["k", "occupation"], descending=[True, False]).head(top)["occupation"])
    df = df.filter(pl.col("occupation").is_in(keep.implode()))
    order = (df.group_by("occupation", "sector").agg(pl.col("toward").mean().alias("m"),
                                                     pl.col("p_data").first().alias("p"))
             .sort(["sector", "m"]))
    rows: list[tuple[str, object]] = []  # ("sector", name) | ("occ", (occupation, p_data))
    for sector in order["sector"].unique(maintain_order=True).to_list():
        rows.append(("sector", sector))
        rows += [("occ", (o, p)) for o, p in order.filter(pl.col("sector") == sector)
                 .select("occupation", "p").rows()]
    n = len(stages)
    fig, axes = new_figure(3.6 * n + 3.0, 0.26 * len(rows) + 2.2, 1, n, sharey=True, sharex=True)
    ypos = {r[1][0]: -i for i, r in enumerate(rows) if r[0] == "occ"}
    for k, (ax, key) in enumerate(zip(axes[0], stages)):
        d = _panel(df, key)
        y = np.array([ypos[o] for o in d["occupation"]])
        v = 100 * d["toward"].to_numpy()
        lo = 100 * np.array(d["toward_low"].to_list(), dtype=float)
        hi = 100 * np.array(d["toward_high"].to_list(), dtype=float)
        colors = [TOWARD if a > 0 else AWAY if a < 0 else NEUTRAL for a in v]
        ax.barh(y, v, color=colors, alpha=0.8, height=0.7)
        ax.errorbar(v, y, xerr=np.nan_to_num(np.vstack([v - lo, hi - v])), fmt="none",
                    ecolor="#333", lw=0.7, capsize=1.5)
        ax.axvline(0, color="#333", lw=0.8)
        ax.set_title(short(_panel_name(key, stages), 40), fontsize=10)
        ax.set_xlabel("shift toward the data's stereotype\n(percentage points, 95% CI)", fontsize=9)
        for i, r in enumerate(rows):
            if r[0] == "sector":
                ax.axhline(-i + 0.5, color="#ccc", lw=0.6)
                if k == 0:
                    ax.text(0.01, -i, short(r[1], 60), transform=ax.get_yaxis_transform(),
                            fontsize=8, fontweight="bold", color="#555", va="center")
    ticks = [(-i, f"{r[1][0]} ({100 * r[1][1]:.0f}% F)") for i, r in enumerate(rows)
             if r[0] == "occ"]
    axes[0][0].set_yticks([t[0] for t in ticks], [t[1] for t in ticks], fontsize=8)
    axes[0][0].set_ylim(-len(rows) + 0.4, 0.6)
    axes[0][0].set_ylabel("occupation (data % female)")
    fig.legend(handles=[Patch(color=TOWARD, alpha=0.8, label="model exaggerates the data's skew"),
                        Patch(color=AWAY, alpha=0.8, label="model pulls back toward parity")],
               loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    fig.suptitle("Amplification toward the data's stereotype: (model − data) % of the gender the "
                 "data favours", fontsize=10)
    return fig


# ---- data side -------------------------------------------------------------------------------
def source_heatmap(source, window: str | None = None, top: int = 25) -> Figure:
    """Female share per source (columns) for the most frequent occupations (rows), in the
    warehouse's ``data_window`` unless ``window`` is given."""
    window = window or _data_window(source)
    df = frame(source, "SELECT * FROM data_share WHERE n > 0")
    wcol = window_column(df) if df.height else "window_label"
    if df.height:
        df = df.filter(pl.col(wcol) == window)
    if "run" in df.columns and not isinstance(source, pl.DataFrame):
        run = setting(source, "data_run")
        df = df.filter(pl.col("run") == run) if run else df
    if df.height == 0:
        return empty(f"No gendered units in the {window} window.", title="Female share by source")
    tot = df.filter(pl.col("source") == "*").sort(["n", "occupation"], descending=[True, False])
    occs = tot.head(top).sort("p")["occupation"].to_list()
    sources = ["*"] + sorted(s for s in df["source"].unique().to_list() if s != "*")
    grid = np.full((len(occs), len(sources)), np.nan)
    for r in df.filter(pl.col("occupation").is_in(occs)).iter_rows(named=True):
        if r["p"] is not None:
            grid[occs.index(r["occupation"]), sources.index(r["source"])] = 100 * r["p"]
    fig, axes = new_figure(1.0 * len(sources) + 4.2, 0.28 * len(occs) + 1.9)
    ax = axes[0][0]
    im = ax.imshow(grid, cmap="RdBu_r", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(sources)), [("all sources" if s == "*" else short(s or "(none)", 18))
                                        for s in sources], rotation=30, ha="right", fontsize=9)
    ax.set_yticks(range(len(occs)), occs, fontsize=9)
    for i in range(len(occs)):
        for j in range(len(sources)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if abs(grid[i, j] - 50) > 30 else "black")
    fig.colorbar(im, ax=ax, label="% female (of gendered units)")
    ax.set_xlabel("source (corpus subset)")
    ax.set_ylabel("occupation (most frequent)")
    ax.set_title(f"Female share by source, {window} window", fontsize=10)
    return fig


WINDOW_ORDER = ["words:5", "words:10", "sentence", "words:20", "paragraph", "document"]


def window_dependence(source, occupations: list[str] | None = None, n: int = 10) -> Figure:
    """Female share of each occupation across windows, narrow to wide; lines labelled at
    their right end."""
    df = frame(source, "SELECT * FROM data_share WHERE source = '*' AND run = setting('data_run')")
    if df.height == 0:
        return empty("No counts in the data run.", title="Window dependence")
    wcol = window_column(df)
    present = df[wcol].unique().to_list()
    windows = [w for w in WINDOW_ORDER if w in present]
    windows += sorted(w for w in present if w not in windows)
    if not occupations:
        base_w = _data_window(source)
        base_w = base_w if base_w in windows else windows[0]
        base = df.filter((pl.col(wcol) == base_w) & ~pl.col("low_support"))
        occupations = base.sort(["n", "occupation"], descending=[True, False]).head(n)[
            "occupation"].to_list()
    fig, axes = new_figure(9.5, 5.4)
    ax = axes[0][0]
    ends = []
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    for i, occ in enumerate(occupations):
        d = df.filter(pl.col("occupation") == occ)
        ys = [next((100 * r["p"] for r in d.filter(pl.col(wcol) == w).iter_rows(named=True)
                    if r["p"] is not None), np.nan) for w in windows]
        ax.plot(range(len(windows)), ys, marker="o", lw=1.5, color=cmap(i % 10))
        last = next((v for v in reversed(ys) if not np.isnan(v)), None)
        if last is not None:
            ends.append((occ, last, cmap(i % 10)))
    ax.axhline(50, color="#bbb", lw=0.8, ls="--")
    ax.set_xticks(range(len(windows)), windows)
    ax.set_xlim(-0.3, len(windows) - 0.85)
    ax.set_ylim(-3, 103)
    ax.set_xlabel("context window (narrow → wide)")
    ax.set_ylabel("% female (of gendered units)")
    ax.set_title(f"How the measured association depends on the window ({len(ends)} most "
                 "frequent occupations)", fontsize=10)
    ys = spread([e[1] for e in ends], 3.6, low=0, high=100)
    for (occ, y0, color), y in zip(ends, ys):
        ax.annotate(occ, (len(windows) - 1, y0), xytext=(len(windows) - 0.75, y),
                    textcoords="data", fontsize=8, color=color, va="center",
                    arrowprops=dict(arrowstyle="-", color="#ccc", lw=0.5), annotation_clip=False)
    return fig


ALL_PLOTS = {
    "data_vs_model": data_vs_model,
    "bias_trace": bias_trace,
    "amplification": amplification_bars,
    "source_heatmap": source_heatmap,
    "window_dependence": window_dependence,
}
