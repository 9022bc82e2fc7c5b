"""What every figure shares: reading a view, making a figure, placing labels, checking layout.

Figures are made with ``matplotlib.figure.Figure`` directly, never through pyplot: a figure
returned into a notebook cell is then displayed exactly once (by its PNG repr), nothing keeps a
reference to it, and no ``close`` is needed.
"""
from __future__ import annotations

import io
import re
import textwrap
from pathlib import Path

import matplotlib
import numpy as np
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

FEMALE, MALE, NEUTRAL = "#c2185b", "#1565c0", "#777777"
TOWARD, AWAY = "#d84315", "#00897b"  # toward the data's stereotype / away from it
SERIES_COLORS = ["#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#8d6e63", "#f9a825"]
DPI = 110  # the report's PNG resolution; the layout checks measure at the same scale


# ---- reading ---------------------------------------------------------------------------------
def frame(source, sql: str, params=None) -> pl.DataFrame:
    """The rows of ``sql`` from a warehouse (Warehouse, DuckDB connection or path), or
    ``source`` itself when it is already a polars DataFrame shaped like the view."""
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


def has_relation(source, name: str) -> bool:
    """Whether the warehouse has a view or table ``name`` (False for a DataFrame)."""
    if isinstance(source, pl.DataFrame):
        return False
    df = frame(source, "SELECT count(*) AS n FROM duckdb_views() WHERE view_name = $n "
                       "UNION ALL SELECT count(*) FROM duckdb_tables() WHERE table_name = $n",
               {"n": name})
    return int(df["n"].sum()) > 0


def setting(source, key: str, default: str | None = None) -> str | None:
    """A warehouse setting (``settings`` table); ``default`` for a DataFrame or a missing key."""
    if isinstance(source, pl.DataFrame) or not has_relation(source, "settings"):
        return default
    df = frame(source, "SELECT value FROM settings WHERE key = $k", {"k": key})
    return df["value"][0] if df.height else default


def window_column(df: pl.DataFrame) -> str:
    """``window_label`` (counts format 2); ``window`` in warehouses built before the rename."""
    return "window_label" if "window_label" in df.columns else "window"


# ---- figures ---------------------------------------------------------------------------------
class TraceFigure(Figure):
    """A Figure that shows itself as one PNG in Jupyter (no pyplot, no inline backend)."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=DPI)
        return buf.getvalue()


def new_figure(width: float, height: float, nrows: int = 1, ncols: int = 1, **kw):
    """A constrained-layout Figure and its axes grid (always 2-D), without pyplot."""
    fig = TraceFigure(figsize=(width, height), layout="constrained", dpi=DPI)
    FigureCanvasAgg(fig)  # a canvas that can measure text (label placement, layout checks)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def empty(msg: str, width: float = 8, height: float = 2.2, title: str | None = None) -> Figure:
    """A figure that says why there is nothing to draw (and what to do about it)."""
    fig, axes = new_figure(width, height)
    ax = axes[0][0]
    ax.text(0.5, 0.5, wrap(msg, 95), ha="center", va="center", transform=ax.transAxes,
            color="#555", fontsize=10)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=11)
    return fig


def wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def spread(values, min_gap: float, low: float | None = None, high: float | None = None):
    """Positions as close as possible to ``values`` but at least ``min_gap`` apart (order kept):
    for labels at the end of lines or beside points that must not overlap."""
    v = np.asarray(values, dtype=float)
    order = np.argsort(v, kind="stable")
    pos = v[order].copy()
    for i in range(1, len(pos)):
        pos[i] = max(pos[i], pos[i - 1] + min_gap)
    if high is not None and len(pos) and pos[-1] > high:  # pushed past the top: shift down
        pos[-1] = high
        for i in range(len(pos) - 2, -1, -1):
            pos[i] = min(pos[i], pos[i + 1] - min_gap)
    if low is not None and len(pos) and pos[0] < low:
        pos += low - pos[0]
    out = np.empty_like(pos)
    out[order] = pos
    return out


def short(text: str, n: int) -> str:
    """Shorten at a word boundary with an ellipsis (never mid-word)."""
    if len(text) <= n:
        return text
    cut = text[: n - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


# ---- layout checks (used by the tests; cheap enough to call anywhere) -------------------------
UNIT_RE = re.compile(r"\(.+\)|%")


def layout_problems(fig: Figure) -> list[str]:
    """What makes a figure unreadable, measured from the rendered text extents:

    * a visible text (title, label, tick label, annotation, legend entry) outside the figure
      (a cut title or label);
    * two visible texts overlapping each other (tick labels of an axis, annotations, a title
      and a legend, ...);
    * a data axes without a title, or an axis label without a unit (``(...)`` or ``%``).
    """
    problems: list[str] = []
    canvas = fig.canvas if hasattr(fig.canvas, "get_renderer") else FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    fw, fh = fig.bbox.width, fig.bbox.height

    def visible_texts(artists):
        out = []
        for t in artists:
            if t.get_visible() and t.get_text().strip():
                # the text's own box (an annotation's extent would include its leader line)
                bb = matplotlib.text.Text.get_window_extent(t, renderer)
                out.append((t.get_text().replace("\n", " "), bb))
        return out

    hidden = set()  # tick labels outside the view limits exist but are not drawn
    for ax in fig.axes:
        for axis, k in ((ax.xaxis, 0), (ax.yaxis, 1)):
            lo, hi = sorted(axis.get_view_interval())
            for t in axis.get_ticklabels():
                v = t.get_position()[k]
                if not (lo - 1e-9 * max(1, abs(lo)) <= v <= hi + 1e-9 * max(1, abs(hi))):
                    hidden.add(id(t))
    all_texts = visible_texts(t for t in fig.findobj(matplotlib.text.Text) if id(t) not in hidden)
    for text, bb in all_texts:
        if bb.x0 < -1 or bb.y0 < -1 or bb.x1 > fw + 1 or bb.y1 > fh + 1:
            problems.append(f"text {text[:40]!r} is cut by the figure edge")

    def overlaps(items, what):
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                (a, ba), (b, bb) = items[i], items[j]
                ix = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
                iy = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
                if ix > 1 and iy > 1:
                    problems.append(f"{what}: {a[:30]!r} overlaps {b[:30]!r}")

    overlaps(all_texts, "texts")  # titles, legends, labels, annotations: none may collide
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison:
            continue
        is_colorbar = hasattr(ax, "_colorbar") or ax.get_label() == "<colorbar>"
        if is_colorbar:
            continue
        if not (ax.get_title() or ax.get_title(loc="left") or fig._suptitle is not None):
            problems.append("an axes without a title (and no figure title)")
        labels = [lab for lab in (ax.get_xlabel(), ax.get_ylabel()) if lab]
        if not labels:
            problems.append(f"axes {ax.get_title()[:40]!r} has no axis label")
        for lab in labels:
            if not UNIT_RE.search(lab):
                problems.append(f"axis label {lab!r} has no unit")
    return problems
