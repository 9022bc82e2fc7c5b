"""Figures and tables of the K-group axes (any lexicon with axes of 2-64 groups). Each figure
function takes a warehouse (Warehouse, DuckDB connection or path) or a polars DataFrame shaped
like the view it reads, and returns a matplotlib Figure.

    representation_chart     top groups and top terms (descriptors) of an axis by documents
    share_heatmap            group x target: each group's share of the single-group units
    set_association_forest   WEAT analogue: log-odds ratio of each group with set A vs set B
    identity_sentiment_bars  mean sentiment of the opinion words around each group

Tables: ``representation_table`` (the Llama 2 layout), ``axis_overview_table``.
"""
from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from engine.viz.common import (NEUTRAL, empty, frame, has_relation, new_figure,
                               setting, short, window_column, wrap)

BAR = "#5c6bc0"
SET_A, SET_B = "#3949ab", "#ef6c00"  # the two target sets of a set-association pair


# ---- what is there ---------------------------------------------------------------------------
def _rows(source, view: str, axis: str | None = None) -> pl.DataFrame:
    """All rows of ``view`` (for one axis), or the DataFrame itself."""
    if isinstance(source, pl.DataFrame):
        df = source
    elif not has_relation(source, view):
        return pl.DataFrame()
    elif axis is None:
        df = frame(source, f"SELECT * FROM {view}")
    else:
        df = frame(source, f"SELECT * FROM {view} WHERE axis = $a", {"a": axis})
    if axis is not None and "axis" in df.columns:
        df = df.filter(pl.col("axis") == axis)
    return df


def has_rows(source, view: str, axis: str | None = None) -> bool:
    if isinstance(source, pl.DataFrame):
        return source.height > 0
    if not has_relation(source, view):
        return False
    q = f"SELECT count(*) AS n FROM (SELECT 1 FROM {view}" + (
        " WHERE axis = $a" if axis else "") + " LIMIT 1)"
    return frame(source, q, {"a": axis} if axis else None)["n"][0] > 0


def axes_present(source) -> list[str]:
    """The axes with representation counts, in the lexicon's order when the warehouse has it."""
    if not has_relation(source, "axis_documents"):
        return []
    names = frame(source, "SELECT DISTINCT axis FROM axis_documents")["axis"].to_list()
    if has_relation(source, "lexicon_axes"):  # the data run's axes first, in its order
        order = frame(source, "SELECT run, axis, axis_order FROM lexicon_axes ORDER BY run")
        data_run = setting(source, "data_run")
        rank: dict[str, tuple] = {}
        for run, axis, o in order.iter_rows():
            key = (0 if run == data_run else 1, run if run != data_run else "", o)
            rank[axis] = min(rank.get(axis, key), key)
        return sorted(names, key=lambda a: (rank.get(a, (2, "", 0)), a))
    return sorted(names)


def _pick_run(source, df: pl.DataFrame, run: str | None = None) -> pl.DataFrame:
    """Rows of one run: ``run``, else the warehouse's data_run, when it has rows here; else
    the first run that has."""
    if "run" not in df.columns or df.height == 0:
        return df
    runs = sorted(df["run"].unique().to_list())
    want = run or setting(source, "data_run")
    run = want if want in runs else runs[0]
    return df.filter(pl.col("run") == run)


def _all_sources(df: pl.DataFrame) -> pl.DataFrame:
    """The all-sources rows (``source = '*'``) of a ``*_by_source`` view."""
    if "source" in df.columns and df.height and (df["source"] == "*").any():
        return df.filter(pl.col("source") == "*")
    return df


def _view(source, view: str, axis: str | None) -> pl.DataFrame:
    """One run's all-sources rows of a representation view (DataFrames pass through)."""
    return _pick_run(source, _all_sources(_rows(source, view, axis)))


# ---- representation --------------------------------------------------------------------------
def group_representation(source, axis: str | None = None) -> pl.DataFrame:
    """Per group: documents mentioning any of its terms, mentions, % of all documents and % of
    the documents that mention the axis (view group_representation_by_source, all sources)."""
    df = _view(source, "group_representation_by_source", axis)
    return df.sort(["axis", "documents", "group_name"], descending=[False, True, False]) \
        if df.height else df


def term_representation(source, axis: str | None = None) -> pl.DataFrame:
    """Per term (descriptor): documents, mentions, % of all documents, % of the documents
    that mention the axis (view representation_by_source, all sources)."""
    df = _view(source, "representation_by_source", axis)
    return df.sort(["documents", "term"], descending=[True, False]) if df.height else df


def _corpus_documents(g: pl.DataFrame) -> int:
    """All documents of the run, from a group's documents and its % of documents."""
    r = g.filter(pl.col("pct_documents") > 0).head(1)
    return int(round(100 * r["documents"][0] / r["pct_documents"][0])) if r.height else 0


def representation_table(source, axis: str, top: int = 15) -> pl.DataFrame:
    """The Llama 2 layout for one axis: group, documents, % of documents, % of the documents
    mentioning the axis, mentions, and the group's most frequent term."""
    g = group_representation(source, axis)
    if g.height == 0:
        return g
    t = term_representation(source, axis) if not isinstance(source, pl.DataFrame) else None
    out = g.select(pl.col("group_name").alias("group"), "documents",
                   pl.col("pct_documents").round(2).alias("% of documents"),
                   pl.col("pct_axis_documents").round(1).alias(f"% of documents mentioning {axis}"),
                   "mentions")
    if t is not None and t.height:
        top_term = (t.sort(["documents", "term"], descending=[True, False])
                    .group_by("group_name", maintain_order=True)
                    .agg(pl.col("term").first().alias("most frequent term"),
                         (pl.col("documents") > 0).sum().alias("terms mentioned")))
        out = out.join(top_term.rename({"group_name": "group"}), on="group", how="left")
    return out.head(top)


def _pick_run_per_axis(source, df: pl.DataFrame) -> pl.DataFrame:
    """For each axis, the rows of one run: the data run when it has the axis, else the first."""
    if "run" not in df.columns or df.height == 0:
        return df
    data_run = setting(source, "data_run")
    chosen = (df.select("axis", "run").unique()
              .with_columns((pl.col("run") != data_run).alias("_other"))
              .sort(["axis", "_other", "run"]).unique("axis", keep="first", maintain_order=True))
    return df.join(chosen.select("axis", "run"), on=["axis", "run"], how="semi")


def axis_overview_table(source) -> pl.DataFrame:
    """One row per axis (each from the data run when it has the axis, else the first run that
    has it): documents mentioning it, % of all documents, groups mentioned of the lexicon's
    groups, the most mentioned group."""
    a = _pick_run_per_axis(source, _all_sources(_rows(source, "axis_representation_by_source")))
    if a.height == 0:
        return a
    g = _all_sources(_rows(source, "group_representation_by_source")).join(
        a.select("axis", "run"), on=["axis", "run"], how="semi")
    top = (g.sort(["documents", "group_name"], descending=[True, False])
           .group_by("axis", maintain_order=True)
           .agg(pl.col("group_name").first().alias("most mentioned group"),
                (pl.col("documents") > 0).sum().alias("groups mentioned")))
    out = a.join(top, on="axis", how="left")
    if has_relation(source, "lexicon_axes"):
        sizes = frame(source, "SELECT run, axis, groups FROM lexicon_axes")
        out = out.join(sizes.rename({"groups": "groups in lexicon"}), on=["run", "axis"],
                       how="left")
    order = {ax: i for i, ax in enumerate(axes_present(source))}
    cols = ["axis", "run", "documents", "% of documents", "mentions", "groups mentioned",
            *(["groups in lexicon"] if "groups in lexicon" in out.columns else []),
            "most mentioned group"]
    return (out.with_columns(pl.col("axis").replace_strict(order, default=10**6).alias("_o"),
                             pl.col("pct_documents").round(1).alias("% of documents"))
            .sort(["_o", "axis"]).select(cols))


def representation_chart(source, axis: str, top: int = 15,
                         terms: pl.DataFrame | None = None) -> Figure:
    """Two panels for one axis: the groups and the terms (descriptors) mentioned in the most
    documents, as % of all documents (bar labels: document counts). With a DataFrame, ``source``
    is shaped like group_representation and ``terms`` like representation."""
    g = group_representation(source, axis)
    t = terms if terms is not None else (
        term_representation(source, axis) if not isinstance(source, pl.DataFrame) else None)
    if t is not None and "axis" in t.columns:
        t = t.filter(pl.col("axis") == axis)
    if g.height == 0:
        return empty(f"No representation counts for the axis {axis!r}.",
                     title=f"Representation: {axis}")
    total = _corpus_documents(g)
    g = g.filter(pl.col("documents") > 0).head(top)
    panels = [("groups", g, g["group_name"].to_list())]
    if t is not None and t.height and t.group_by("group_name").len()["len"].max() == 1:
        # every group is one descriptor (religion, political ideologies): one panel, the groups
        # labelled with their terms
        term_of = dict(t.select("group_name", "term").iter_rows())
        panels = [("groups", g, [term_of.get(x, x) for x in g["group_name"].to_list()])]
    elif t is not None and t.height:
        t = t.sort(["documents", "term"], descending=[True, False]).filter(
            pl.col("documents") > 0).head(top)
        # a term is labelled with its group when the group is a bucket of several terms
        labels = [term if term.lower().replace(" ", "_").replace("-", "_") == grp.lower()
                  else f"{term} ({grp})"
                  for term, grp in zip(t["term"].to_list(), t["group_name"].to_list())]
        panels.append(("terms (descriptors)", t, labels))
    heights = [max(d.height, 1) for _, d, _ in panels]
    fig, axes = new_figure(8.6, 0.25 * sum(heights) + 1.3 * len(panels) + 0.6, len(panels), 1,
                           height_ratios=[h + 2.2 for h in heights])
    for ax, (what, d, labels) in zip(axes[:, 0], panels):
        y = np.arange(d.height)[::-1]
        pct = d["pct_documents"].to_numpy()
        ax.barh(y, pct, color=BAR, alpha=0.85, height=0.7)
        ax.set_yticks(y, [short(s, 40) for s in labels], fontsize=8)
        ax.set_ylim(-0.6, d.height - 0.4)
        xmax = float(pct.max()) if len(pct) else 1.0
        ax.set_xlim(0, xmax * 1.2 if xmax > 0 else 1)
        ax.set_xticks([t for t in ax.get_xticks() if 0 <= t <= min(100.0, xmax * 1.2)])
        for yi, p, docs in zip(y, pct, d["documents"].to_list()):
            ax.text(p + xmax * 0.012, yi, f"{docs:,}", va="center", fontsize=7, color="#444")
        ax.set_xlabel("% of all documents (bar label: documents)", fontsize=9)
        ax.set_title(f"{what} by documents" + (f" (top {top})" if d.height == top else ""),
                     fontsize=10, loc="left")
    fig.suptitle(f"Representation of the {axis} axis: documents mentioning each"
                 + (f" (of {total:,} documents)" if total else ""), fontsize=10)
    return fig


# ---- group x target shares -------------------------------------------------------------------
def _group_share_rows(source, axis: str, run: str | None, window: str | None,
                      top_targets: int, top_groups: int) -> pl.DataFrame:
    """group_share rows of one axis, run and window, all sources, for the targets and groups
    with the most single-group units (the selection is made in SQL: the view is large)."""
    if isinstance(source, pl.DataFrame):
        return source
    if not has_relation(source, "group_share"):
        return pl.DataFrame()
    have = frame(source, "SELECT DISTINCT run, window_label FROM group_share WHERE axis = $a",
                 {"a": axis})
    if have.height == 0:
        return pl.DataFrame()
    run = _pick_run(source, have, run)["run"][0]
    windows = have.filter(pl.col("run") == run)["window_label"].to_list()
    window = window or setting(source, "data_window", None)
    if window not in windows:
        window = "sentence" if "sentence" in windows else sorted(windows)[0]
    return frame(source, """
        WITH s AS (SELECT * FROM group_share
                   WHERE axis = $a AND run = $r AND window_label = $w AND source = '*'),
        t AS (SELECT target FROM s GROUP BY target
              ORDER BY sum(units_only) DESC, target LIMIT $nt),
        g AS (SELECT group_name FROM s GROUP BY group_name
              ORDER BY sum(units_only) DESC, group_name LIMIT $ng)
        SELECT *, (SELECT count(DISTINCT group_name) FROM s) AS groups_total,
               (SELECT count(DISTINCT target) FROM s) AS targets_total
        FROM s WHERE target IN (SELECT target FROM t) AND group_name IN (SELECT group_name FROM g)
        """, {"a": axis, "r": run, "w": window, "nt": top_targets, "ng": top_groups})


def share_heatmap(source, axis: str, window: str | None = None, top_targets: int = 25,
                  top_groups: int = 12, run: str | None = None) -> Figure:
    """Each group's share p of a target's single-group units (group_share, all sources), for
    the targets and groups with the most units, in the warehouse's data window (or ``window``)."""
    df = _pick_run(source, _rows(source, "group_share", axis), run) if isinstance(
        source, pl.DataFrame) else _group_share_rows(source, axis, run, window, top_targets,
                                                     top_groups)
    if df.height == 0:
        return empty(f"No group x target counts for the axis {axis!r} (the lexicon has no "
                     "targets for it).", title=f"Group shares: {axis}")
    wcol = window_column(df)
    windows = df[wcol].unique().to_list()
    window = window or setting(source, "data_window", None)
    if window not in windows:
        window = "sentence" if "sentence" in windows else sorted(windows)[0]
    df = df.filter(pl.col(wcol) == window)
    if "source" in df.columns:
        df = df.filter(pl.col("source") == "*") if (df["source"] == "*").any() else df
    tgt = (df.group_by("target").agg(pl.col("units_only").sum().alias("u"))
           .sort(["u", "target"], descending=[True, False]).head(top_targets))
    grp = (df.group_by("group_name").agg(pl.col("units_only").sum().alias("u"))
           .sort(["u", "group_name"], descending=[True, False]).head(top_groups))
    groups_ = grp["group_name"].to_list()
    if "group_order" in df.columns:  # the lexicon's order of the groups shown
        order = dict(df.select("group_name", "group_order").unique().iter_rows())
        groups_ = sorted(groups_, key=lambda g: (order.get(g, 10**6), g))
    # targets sorted by the share of the axis's most frequent group: patterns line up
    lead = grp["group_name"][0]
    lead_p = dict(df.filter(pl.col("group_name") == lead).select("target", "p").iter_rows())
    targets = sorted(tgt["target"].to_list(),
                     key=lambda t: (-(lead_p.get(t) if lead_p.get(t) is not None else -1), t))
    grid = np.full((len(targets), len(groups_)), np.nan)
    for r in df.filter(pl.col("target").is_in(targets) & pl.col("group_name").is_in(groups_)
                       ).iter_rows(named=True):
        if r["p"] is not None:
            grid[targets.index(r["target"]), groups_.index(r["group_name"])] = 100 * r["p"]
    width = max(0.62 * len(groups_) + 4.4, 7.0)
    fig, axes = new_figure(width, 0.27 * len(targets) + 2.6)
    ax = axes[0][0]
    vmax = max(np.nanmax(grid) if np.isfinite(grid).any() else 1.0, 1.0)
    im = ax.imshow(grid, cmap="Purples", vmin=0, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(groups_)), [short(s, 22) for s in groups_], rotation=40, ha="right",
                  fontsize=8)
    ax.set_yticks(range(len(targets)), [short(s, 28) for s in targets], fontsize=8)
    for i in range(len(targets)):
        for j in range(len(groups_)):
            if np.isfinite(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.0f}", ha="center", va="center", fontsize=6.5,
                        color="white" if grid[i, j] > 0.6 * vmax else "#222")
    fig.colorbar(im, ax=ax, label="% of the target's single-group units")
    ax.set_xlabel(f"group ({axis} axis)")
    ax.set_ylabel("target (most units)")
    n_groups = df["groups_total"][0] if "groups_total" in df.columns else df["group_name"].n_unique()
    n_targets = df["targets_total"][0] if "targets_total" in df.columns else df["target"].n_unique()
    fig.suptitle(wrap(f"{axis} × targets: the groups' shares of each target's single-group "
                      f"units ({window} window)", int(width * 13)) +
                 f"\n{len(groups_)} of {n_groups} groups and {len(targets)} of {n_targets} "
                 "targets: those with the most units", fontsize=10)
    return fig


# ---- set association (WEAT analogue) ---------------------------------------------------------
def _window_rows(source, df: pl.DataFrame, window: str | None = None
                 ) -> tuple[pl.DataFrame, str | None]:
    """The rows of one window: ``window``, else the warehouse's data_window, when present;
    else sentence, else the first."""
    wcol = window_column(df) if ("window_label" in df.columns or "window" in df.columns) else None
    if not wcol or df.height == 0:
        return df, None
    windows = df[wcol].unique().to_list()
    w = window or setting(source, "data_window", None)
    w = w if w in windows else ("sentence" if "sentence" in windows else sorted(windows)[0])
    return df.filter(pl.col(wcol) == w), w


def _interval(df: pl.DataFrame, est: str, boot: tuple[str, str], wald: tuple[str, str]):
    """(low, high, kind): the document-bootstrap interval when the run has replicates, else
    the analytic one."""
    if boot[0] in df.columns and df[boot[0]].drop_nulls().len() == df.height and df.height:
        return df[boot[0]].to_numpy(), df[boot[1]].to_numpy(), "document bootstrap"
    lo = df[wald[0]].to_numpy() if wald[0] in df.columns else np.full(df.height, np.nan)
    hi = df[wald[1]].to_numpy() if wald[1] in df.columns else np.full(df.height, np.nan)
    return lo, hi, "analytic"


def weat_pairs(source, axis: str) -> list[tuple[str, str]]:
    """The target-set pairs an axis is meant for, read from the lexicon's axis description
    ("... (x pleasant / unpleasant)", as in the weat lexicon); [] when it names none."""
    import re

    if isinstance(source, pl.DataFrame) or not has_relation(source, "lexicon_axes"):
        return []
    d = frame(source, "SELECT description FROM lexicon_axes WHERE axis = $a AND description "
                      "IS NOT NULL LIMIT 1", {"a": axis})
    if d.height == 0:
        return []
    return [(a.strip(), b.strip()) for a, b in
            re.findall(r"x\s+([\w-]+(?: [\w-]+)?)\s*/\s*([\w-]+(?: [\w-]+)?)", d["description"][0])]


def set_association_forest(source, axis: str | None = None,
                           pairs: list[tuple[str, str]] | None = None, top: int = 40,
                           run: str | None = None, window: str | None = None) -> Figure:
    """Forest plot of the corpus WEAT analogue: per group and pair of target sets (A vs B),
    the log-odds ratio of the group's single-group units with set A rather than set B against
    the other groups of the axis, with its 95% interval; + : the group leans to A. Pairs: the
    ones the lexicon's axis description names (WEAT's design), else every pair with support."""
    df = _pick_run(source, _all_sources(_rows(source, "set_association", axis)), run)
    df, window = _window_rows(source, df, window)
    if df.height and axis is not None:
        pairs = pairs if pairs is not None else weat_pairs(source, axis)
        if pairs:
            keep = pl.lit(False)
            for a, b in pairs:
                keep = keep | ((pl.col("set_a") == a) & (pl.col("set_b") == b)) | (
                    (pl.col("set_a") == b) & (pl.col("set_b") == a))
            df = df.filter(keep)
    if "low_support" in df.columns:
        df = df.filter(~pl.col("low_support"))
    # a group needs min_support of its own single-group units with the two sets together
    min_support = int(setting(source, "min_support", "20") or 20)
    left_out = df.filter(pl.col("units_a") + pl.col("units_b") < min_support).height \
        if "units_a" in df.columns else 0
    if left_out:
        df = df.filter(pl.col("units_a") + pl.col("units_b") >= min_support)
    if df.height == 0:
        return empty("No set association with enough support (the lexicon needs target sets, "
                     f"and a group at least {min_support} units with the two sets).",
                     title="Set association" + (f": {axis}" if axis else ""))
    df = (df.with_columns(pl.col("log_odds_ratio").abs().alias("_k"))
          .sort("_k", descending=True).head(top)
          .sort(["axis", "set_a", "set_b", "log_odds_ratio"],
                descending=[False, False, False, True]))
    lows, highs, kind = _interval(df, "log_odds_ratio", ("lor_boot_low", "lor_boot_high"),
                                  ("lor_low", "lor_high"))
    rows = df.to_dicts()
    fig, axes = new_figure(9.0, 0.3 * len(rows) + 2.1)
    ax = axes[0][0]
    y = np.arange(len(rows))[::-1]
    v = df["log_odds_ratio"].to_numpy()
    ax.hlines(y, lows, highs, color="#555", lw=1.2)
    ax.scatter(v, y, color=[SET_A if x > 0 else SET_B if x < 0 else NEUTRAL for x in v], s=28,
               zorder=3)
    ax.axvline(0, color="#333", lw=0.8)
    pairs_shown = {(r.get("axis"), r["set_a"], r["set_b"]) for r in rows}
    one_pair = len({(a, b) for _, a, b in pairs_shown}) == 1
    labels, prev = [], None
    for i, r in enumerate(rows):
        pair = (r.get("axis"), r["set_a"], r["set_b"])
        if prev is not None and pair != prev:
            ax.axhline(y[i] + 0.5, color="#ddd", lw=0.8)
        prev = pair
        who = r["group_name"] if axis else f"{r['group_name']} ({r['axis']})"
        labels.append(short(who if one_pair else f"{who}: {r['set_a']} vs {r['set_b']}", 50))
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    a, b = (rows[0]["set_a"], rows[0]["set_b"]) if one_pair else ("set A", "set B")
    ax.set_xlabel(f"log-odds ratio, {a} vs {b} (natural log; 95% CI, {kind})")
    ax.set_title("Set association, a corpus WEAT analogue" + (f": {axis}" if axis else "")
                 + (f", {a} vs {b}" if one_pair else "")
                 + (f" ({window} window)" if window else "")
                 + (f"\n{left_out} groups with fewer than {min_support} units left out"
                    if left_out else ""), fontsize=10)
    fig.legend(handles=[Patch(color=SET_A, label=f"the group co-occurs more with {a}"),
                        Patch(color=SET_B, label=f"the group co-occurs more with {b}")],
               loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    return fig


# ---- identity sentiment ----------------------------------------------------------------------
def identity_sentiment_bars(source, axis: str | None = None, top: int = 30,
                            run: str | None = None, window: str | None = None) -> Figure:
    """Per group: mean sentiment (pos − neg) / (pos + neg) of the units around its mentions
    that hold a positive or a negative opinion word, with its 95% interval; the groups with
    the most such units, sorted by sentiment."""
    df = _pick_run(source, _all_sources(_rows(source, "identity_sentiment", axis)), run)
    df, window = _window_rows(source, df, window)
    if "low_support" in df.columns:
        df = df.filter(~pl.col("low_support"))
    df = df.drop_nulls("sentiment") if df.height else df
    if df.height == 0:
        return empty("No identity sentiment with enough support (count with the "
                     "identity-sentiment lexicon).",
                     title="Identity sentiment" + (f": {axis}" if axis else ""))
    df = (df.sort(["n", "group_name"], descending=[True, False]).head(top)
          .sort((["axis"] if axis is None else []) + ["sentiment"],
                descending=[False] * (axis is None) + [True]))
    lows, highs, kind = _interval(df, "sentiment", ("sentiment_boot_low", "sentiment_boot_high"),
                                  ("sentiment_low", "sentiment_high"))
    rows = df.to_dicts()
    fig, axes = new_figure(9.0, 0.28 * len(rows) + 2.0)
    ax = axes[0][0]
    y = np.arange(len(rows))[::-1]
    v = df["sentiment"].to_numpy()
    ax.barh(y, v, color=["#43a047" if x > 0 else "#e53935" for x in v], alpha=0.8, height=0.7)
    ax.errorbar(v, y, xerr=np.nan_to_num(np.vstack([v - lows, highs - v]).clip(min=0)),
                fmt="none", ecolor="#333", lw=0.7, capsize=1.5)
    ax.axvline(0, color="#333", lw=0.8)
    labels = [short((r["group_name"] if axis else f"{r['group_name']} ({r['axis']})")
                    + f"  n={r['n']:,}", 48) for r in rows]
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ext = np.concatenate([np.abs(v), np.abs(np.nan_to_num(lows)), np.abs(np.nan_to_num(highs))])
    span = min(1.0, max(0.1, float(ext.max()) * 1.1))
    ax.set_xlim(-span, span)
    ax.set_xlabel("mean sentiment (pos − neg) / (pos + neg), −1 to +1 "
                  f"(95% CI, {kind}; n = units with an opinion word)", fontsize=9)
    ax.set_title("Sentiment of the contexts of identity mentions"
                 + (f": {axis}" if axis else "") + (f" ({window} window)" if window else ""),
                 fontsize=10)
    return fig


ALL_GROUP_PLOTS = {
    "representation": representation_chart,
    "group_share": share_heatmap,
    "set_association": set_association_forest,
    "identity_sentiment": identity_sentiment_bars,
}
