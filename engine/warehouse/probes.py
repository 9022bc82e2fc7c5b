"""Loading `tracebias probe` output into the warehouse's ``model_probes`` table.

A probe file (Parquet from `tracebias probe`, or CSV / JSON Lines with the same columns) has one
row per (prompt, group): ``model``, ``target`` (or ``occupation``), ``group_name`` and ``share``
are required; ``stage``, ``template``, ``decoding`` (default ``logprob``), ``axis`` (default
``gender``), ``prompt_id``, ``prompt`` and ``logprob`` are optional. The rows of the gender axis
appear in ``model_share`` with decoding ``logprob`` (kind ``probes``).

A file is identified by the SHA-256 of its bytes: loading the same content again adds nothing
(``ProbesAlreadyLoaded``), whatever its path. A file whose shares are not probabilities, or whose
shares do not sum to 1 over a prompt's groups, is refused as a whole with one line saying why.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from engine.warehouse import WarehouseError

REQUIRED = ("model", "target", "group_name", "share")
COLUMNS = ("model", "stage", "template", "decoding", "target", "axis", "group_name", "prompt_id",
           "prompt", "share", "logprob", "source_file", "content_sha256")
SUM_TOLERANCE = 1e-6


class ProbesAlreadyLoaded(WarehouseError):
    """The file's content is already in ``model_probes`` (nothing was added)."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read(path: Path) -> pl.DataFrame:
    p = str(path)
    try:
        if p.endswith(".parquet"):
            return pl.read_parquet(p)
        if p.endswith(".csv"):
            return pl.read_csv(p)
        if p.endswith((".jsonl", ".ndjson", ".json")):
            return pl.read_ndjson(p)
    except Exception as e:  # noqa: BLE001 -- any reader error is one line for the user
        raise WarehouseError(f"{p}: not a readable probe file ({str(e).splitlines()[0]})") from None
    raise WarehouseError(f"{p}: expected .parquet, .csv or .jsonl")


def normalize_probes(df: pl.DataFrame, path: str, sha: str, defaults: dict | None = None
                     ) -> pl.DataFrame:
    """The file's rows as ``model_probes`` columns, or a WarehouseError saying what is wrong."""
    defaults = defaults or {}
    if "target" not in df.columns and "occupation" in df.columns:
        df = df.rename({"occupation": "target"})
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise WarehouseError(f"{path}: probe rows need columns {', '.join(REQUIRED)} "
                             f"(missing {', '.join(missing)})")
    fill = {"stage": defaults.get("stage") or "unknown",
            "decoding": defaults.get("decoding") or "logprob", "axis": "gender",
            "template": None, "prompt_id": None, "prompt": None}
    df = df.with_columns([pl.lit(v, dtype=pl.Utf8).alias(k) for k, v in fill.items()
                          if k not in df.columns])
    if "logprob" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.Float64).alias("logprob"))
    try:
        df = df.select(
            pl.col("model").cast(pl.Utf8), pl.col("stage").cast(pl.Utf8).fill_null(fill["stage"]),
            pl.col("template").cast(pl.Utf8),
            pl.col("decoding").cast(pl.Utf8).fill_null(fill["decoding"]),
            pl.col("target").cast(pl.Utf8), pl.col("axis").cast(pl.Utf8).fill_null("gender"),
            pl.col("group_name").cast(pl.Utf8), pl.col("prompt_id").cast(pl.Utf8),
            pl.col("prompt").cast(pl.Utf8), pl.col("share").cast(pl.Float64),
            pl.col("logprob").cast(pl.Float64),
            pl.lit(path).alias("source_file"), pl.lit(sha).alias("content_sha256"))
    except pl.exceptions.PolarsError as e:
        raise WarehouseError(f"{path}: a column has the wrong type "
                             f"({str(e).splitlines()[0]})") from None
    for col in ("model", "target", "group_name"):
        n = df[col].null_count()
        if n:
            raise WarehouseError(f"{path}: {n:,} rows have no {col}")
    bad = df.filter(pl.col("share").is_null() | pl.col("share").is_nan()
                    | (pl.col("share") < 0) | (pl.col("share") > 1 + SUM_TOLERANCE))
    if bad.height:
        r = bad.row(0, named=True)
        raise WarehouseError(f"{path}: {bad.height:,} shares are not probabilities in [0, 1], "
                             f"e.g. {r['share']!r} for {r['target']!r} / {r['group_name']!r}")
    if df["prompt_id"].null_count() < df.height:
        sums = (df.filter(pl.col("prompt_id").is_not_null())
                .group_by("model", "stage", "axis", "prompt_id")
                .agg(pl.col("share").sum().alias("total"), pl.len().alias("groups"))
                .filter((pl.col("total") - 1).abs() > SUM_TOLERANCE))
        if sums.height:
            r = sums.row(0, named=True)
            raise WarehouseError(f"{path}: the shares of {sums.height:,} prompts do not sum to 1 "
                                 f"over their groups, e.g. prompt {r['prompt_id']!r}: "
                                 f"{r['total']:.6f} over {r['groups']} groups")
        dup = (df.filter(pl.col("prompt_id").is_not_null())
               .group_by("model", "stage", "axis", "prompt_id", "group_name").len()
               .filter(pl.col("len") > 1))
        if dup.height:
            r = dup.row(0, named=True)
            raise WarehouseError(f"{path}: {dup.height:,} (prompt, group) pairs appear more than "
                                 f"once, e.g. {r['prompt_id']!r} / {r['group_name']!r}")
    return df


def add_probes(warehouse, path: str | Path, defaults: dict | None = None) -> int:
    """Insert a probe file's rows into ``model_probes``; return the number of rows added.

    Raises ``ProbesAlreadyLoaded`` (a WarehouseError) when the same content was loaded before,
    and WarehouseError for a missing or malformed file; nothing is added in either case. When
    the warehouse keeps a ``loads`` table, the load is recorded there like generations and
    scores, and a changed file at the same path replaces the rows of its earlier version.
    """
    p = Path(path)
    if not p.is_file():
        raise WarehouseError(f"probe file not found: {path}")
    con = warehouse.con

    def has_table(name: str) -> bool:
        return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                                [name]).fetchall()[0][0])

    if not has_table("model_probes"):
        raise WarehouseError(f"{warehouse.path} has no model_probes table; rebuild it with "
                             "`tracebias warehouse build` (this tracebias creates it)")
    sha = _sha256(p)
    prev = con.execute("SELECT any_value(source_file), count(*) FROM model_probes "
                       "WHERE content_sha256 = ?", [sha]).fetchall()[0]
    if prev[1]:
        raise ProbesAlreadyLoaded(f"{path}: already loaded (same content as {prev[0]}, sha256 "
                                  f"{sha[:12]}); nothing added")
    raw = _read(p)
    tracked = has_table("loads") and hasattr(warehouse, "_load_status") \
        and hasattr(warehouse, "_store_load")
    key = str(p.resolve()) if tracked else str(path)
    df = normalize_probes(raw, key, sha, defaults)
    if tracked:  # the warehouse's own bookkeeping of loaded files (engine/warehouse/loads.py)
        from engine.warehouse.loads import LoadReport

        status, other = warehouse._load_status("probes", key, sha)
        if status == "unchanged":
            raise ProbesAlreadyLoaded(f"{path}: already loaded (same content as {other}); "
                                      "nothing added")
        report = LoadReport(key, "probes", status=status, rows_read=raw.height,
                            rows_added=df.height)
        warehouse._store_load(report, sha, {"model_probes": df.select(COLUMNS).to_arrow()},
                              None, other if status == "replaced" else None)
    else:
        con.register("probe_src", df.to_arrow())
        try:
            con.execute(f"INSERT INTO model_probes ({', '.join(COLUMNS)}) "
                        f"SELECT {', '.join(COLUMNS)} FROM probe_src")
        finally:
            con.unregister("probe_src")
    refresh = getattr(warehouse, "refresh_trace", None)
    if callable(refresh):
        refresh()
    return df.height
