"""The report's first lines: one verdict sentence per model and stage.

The quantity is the mean over occupations of (p_model − p_data) signed toward the gender the
data favours for the occupation — Zhao et al.'s bias amplification (`bias_amplification_zhao`):
positive when the model's generations move further into the data's skews, negative when they
move back toward parity. The verdict reads its interval:

    amplifies          the whole interval is above 0
    dampens            the whole interval is below 0
    follows            the interval includes 0 (the shifts cancel or are within noise)
    insufficient data  fewer than 3 occupations with support, or no interval

Rows come from the warehouse's ``amplification_verdict`` view when it has one, else from the
``amplification_stats`` table (intervals from resampling occupations), else from
``amplification_summary`` (point estimate only, no verdict beyond its sign).
"""
from __future__ import annotations

import html

import polars as pl

from engine.viz.common import frame, has_relation

ESTIMATE = "bias_amplification_zhao"


def verdict_rows(source) -> pl.DataFrame:
    """model, stage, decoding, n_occupations, estimate, low, high, verdict — template '*'."""
    if isinstance(source, pl.DataFrame):
        df = source
    elif has_relation(source, "amplification_verdict"):
        df = frame(source, "SELECT * FROM amplification_verdict")
    elif has_relation(source, "amplification_stats"):
        df = frame(source, "SELECT * FROM amplification_stats")
    else:
        df = frame(source, "SELECT * FROM amplification_summary")
    if "template" in df.columns:
        df = df.filter(pl.col("template") == "*")
    est = next(c for c in ("estimate", ESTIMATE) if c in df.columns)
    low = next((c for c in ("low", f"{est}_low") if c in df.columns), None)
    high = next((c for c in ("high", f"{est}_high") if c in df.columns), None)
    n = next((c for c in ("n_occupations", "n_targets", "n") if c in df.columns), None)
    out = df.select(
        pl.col("model"), pl.col("stage"),
        (pl.col("decoding") if "decoding" in df.columns else pl.lit("")).alias("decoding"),
        (pl.col(n) if n else pl.lit(None, pl.Int64)).alias("n_occupations"),
        pl.col(est).cast(pl.Float64).alias("estimate"),
        (pl.col(low) if low else pl.lit(None, pl.Float64)).cast(pl.Float64).alias("low"),
        (pl.col(high) if high else pl.lit(None, pl.Float64)).cast(pl.Float64).alias("high"),
        (pl.col("level") if "level" in df.columns else pl.lit(95)).alias("level"),
        *([pl.col("verdict")] if "verdict" in df.columns else []))
    if "verdict" not in out.columns:
        out = out.with_columns(
            pl.when(pl.col("low") > 0).then(pl.lit("amplifies"))
            .when(pl.col("high") < 0).then(pl.lit("dampens"))
            .when(pl.col("low").is_not_null()).then(pl.lit("follows"))
            .otherwise(pl.lit(None, pl.Utf8)).alias("verdict"))
    return out.sort(["model", "stage", "decoding"])


def _pp(v: float) -> str:
    return f"{100 * v:+.1f}".replace("-", "−")


def sentence(row: dict, several_decodings: bool = False) -> str:
    """One plain-text sentence for one verdict row."""
    who = f"{row['model']} / {row['stage']}"
    if several_decodings and row.get("decoding"):
        who += f" ({row['decoding']})"
    n = row.get("n_occupations")
    over = f"across {n} occupations" if n is not None else "across the occupations"
    est, lo, hi, v = row["estimate"], row["low"], row["high"], row["verdict"]
    if est is None:
        return f"{who}: no occupation has enough support on both the data and the model side."
    ci = (f"{row.get('level') or 95}% CI {_pp(lo)} to {_pp(hi)}"
          if lo is not None and hi is not None else None)
    if v == "insufficient data":
        return (f"{who}: too few occupations with enough support on both the data and the model "
                f"side for a verdict ({n if n is not None else 0}; at least 3 are needed).")
    if v == "amplifies":
        return (f"{who} amplifies the data's stereotypes: {over}, its generations move on average "
                f"{_pp(est)} percentage points further toward the gender the data favours ({ci}).")
    if v == "dampens":
        return (f"{who} dampens the data's stereotypes: {over}, its generations move on average "
                f"{100 * abs(est):.1f} percentage points back toward parity (shift toward the "
                f"stereotype {_pp(est)} pp, {ci}).")
    if v == "follows":
        return (f"{who} follows the data's stereotypes: {over}, the mean shift toward the gender "
                f"the data favours is {_pp(est)} percentage points, and its {ci} includes 0.")
    return (f"{who}: the mean shift toward the gender the data favours is {_pp(est)} percentage "
            f"points {over}; no interval (the warehouse computes none: tracebias warehouse set "
            "resamples=1000), so no verdict.")


def sentences(source) -> list[str]:
    rows = verdict_rows(source)
    several = rows.select("model", "stage").is_duplicated().any() if rows.height else False
    return [sentence(r, bool(several)) for r in rows.iter_rows(named=True)]


def sentences_html(source) -> list[str]:
    """The sentences with the model and the verdict word in bold."""
    out = []
    rows = verdict_rows(source)
    several = bool(rows.select("model", "stage").is_duplicated().any()) if rows.height else False
    for r in rows.iter_rows(named=True):
        s = html.escape(sentence(r, several))
        who = html.escape(f"{r['model']} / {r['stage']}")
        s = s.replace(who, f"<b>{who}</b>", 1)
        if r["verdict"] in ("amplifies", "dampens", "follows"):
            s = s.replace(f" {r['verdict']} ", f" <b class='v-{r['verdict']}'>{r['verdict']}</b> ", 1)
        out.append(s)
    return out
