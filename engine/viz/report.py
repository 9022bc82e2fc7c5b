"""`tracebias report`: the figures as PNG plus one self-contained HTML page with the key tables."""
from __future__ import annotations

import base64
import html
import io
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from engine.viz import plots
from engine.warehouse import Warehouse

TABLES = {
    "Summary per model and stage": (
        "SELECT model, stage, decoding, n_occupations, n_low_support, "
        "round(mean_amplification, 4) AS mean_amplification, "
        "round(mean_tvd_data_world, 4) AS tvd_data_world, round(mean_tvd_model_world, 4) AS tvd_model_world, "
        "round(bias_amplification_zhao, 4) AS zhao_ba, round(directional_amplification, 4) AS directional_ba, "
        "round(pearson, 3) AS pearson, round(spearman, 3) AS spearman, round(slope, 3) AS slope "
        "FROM amplification_summary WHERE template = '*' ORDER BY model, stage"),
    "Bias trace (most skewed occupations in the data)": (
        "SELECT * FROM bias_trace WHERE data_pct IS NOT NULL AND NOT data_low_support "
        "ORDER BY abs(data_pct - 50) DESC LIMIT 30"),
    "Data: female share per occupation": (
        "SELECT occupation, n, round(100 * p, 1) AS pct_female, round(100 * p_low, 1) AS ci_low, "
        "round(100 * p_high, 1) AS ci_high, low_support FROM data_default ORDER BY p DESC NULLS LAST"),
    "Corpus": ("SELECT run, source, sum(documents) AS documents, sum(words) AS words, "
               "sum(rejects) AS rejects FROM shards GROUP BY ALL ORDER BY run, source"),
}


def _table_html(df: pl.DataFrame, max_rows: int = 60) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in df.columns)
    rows = []
    for r in df.head(max_rows).iter_rows():
        cells = []
        for v in r:
            if isinstance(v, float):
                v = f"{v:.4g}"
            cells.append(f"<td>{html.escape('' if v is None else str(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = f"<p class=more>{df.height - max_rows} more rows</p>" if df.height > max_rows else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def write_report(db: str | Path, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parts = []
    with Warehouse(db, read_only=True) as w:
        for name, fn in plots.ALL_PLOTS.items():
            fig = fn(w)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=110)
            plots.plt.close(fig)
            (out / f"{name}.png").write_bytes(buf.getvalue())
            b64 = base64.b64encode(buf.getvalue()).decode()
            parts.append(f"<figure><img alt='{name}' src='data:image/png;base64,{b64}'>"
                         f"<figcaption>{name}.png</figcaption></figure>")
        tables = [f"<h2>{html.escape(t)}</h2>{_table_html(w.sql(q))}" for t, q in TABLES.items()]
        runs = w.sql("SELECT run, path, lexicon, lexicon_sha256, finished FROM runs")
        settings = w.sql("SELECT key, value FROM settings ORDER BY key")
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>tracebias report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}}
table{{border-collapse:collapse;font-size:13px;margin:0.5em 0 1.5em}}td,th{{border:1px solid #ddd;padding:3px 7px;text-align:right}}
th{{background:#f4f4f4}}td:first-child,th:first-child{{text-align:left}}img{{max-width:100%}}figure{{margin:1.5em 0}}
figcaption{{color:#888;font-size:12px}}.more{{color:#888;font-size:12px}}</style></head><body>
<h1>tracebias report</h1><p>Warehouse <code>{html.escape(str(db))}</code>, generated {now}.
Metrics and formulas: docs/metrics.md.</p>
<h2>Runs</h2>{_table_html(runs)}<h2>Settings</h2>{_table_html(settings)}
{''.join(tables)}<h2>Figures</h2>{''.join(parts)}</body></html>"""
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
