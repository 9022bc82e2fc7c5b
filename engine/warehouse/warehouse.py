"""The DuckDB warehouse: counts (Parquet, read in place), world statistics and model outputs.

``build`` creates a DuckDB file whose views read the Parquet counts of one or more runs without
copying them, loads the shipped labour statistics, and defines the metric views of
engine/sql/metrics.sql. ``add_generations`` classifies model generations with the same lexicon
and kernels as the corpus; ``add_scores`` loads per-occupation numbers from elsewhere.
Every user value reaches SQL as a parameter or through a registered Arrow table.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from engine.count.classify import classify, gender_counts
from engine.lexicon import Lexicon, load_lexicon
from engine.lexicon.matcher import compile_lexicon

DEFAULT_SETTINGS = {"min_support": "20", "min_model_support": "10", "z": "1.96",
                    "data_window": "sentence"}
EMPTY_BOOTSTRAP = ("SELECT NULL::VARCHAR AS run, NULL::VARCHAR AS source, NULL::VARCHAR AS \"window\", "
                   "NULL::VARCHAR AS window_kind, NULL::INTEGER AS window_k, NULL::VARCHAR AS occupation, "
                   "NULL::INTEGER AS replicate, NULL::BIGINT AS units, NULL::BIGINT AS female_only, "
                   "NULL::BIGINT AS male_only WHERE false")
TABLE_NAMES = ("cooccurrence", "term_cooccurrence", "shards", "rejects")

GENERATIONS_DDL = """
CREATE TABLE IF NOT EXISTS model_generations (
    model VARCHAR NOT NULL, stage VARCHAR NOT NULL, template VARCHAR, decoding VARCHAR NOT NULL,
    occupation VARCHAR NOT NULL, prompt VARCHAR, sample BIGINT, text VARCHAR,
    female_terms BIGINT NOT NULL, male_terms BIGINT NOT NULL, class VARCHAR NOT NULL,
    source_file VARCHAR)
"""
SCORES_DDL = """
CREATE TABLE IF NOT EXISTS model_scores (
    model VARCHAR NOT NULL, stage VARCHAR NOT NULL, occupation VARCHAR NOT NULL,
    metric VARCHAR NOT NULL, value DOUBLE, source_file VARCHAR)
"""


class WarehouseError(ValueError):
    pass


@dataclass(frozen=True)
class CountsRun:
    name: str
    path: Path
    manifest: dict


def parse_counts_arg(arg: str) -> CountsRun:
    """``DIR`` or ``NAME=DIR``; the directory must hold a finished run (manifest.json)."""
    name, sep, path = arg.partition("=")
    if not sep:
        name, path = "", arg
    p = Path(path).resolve()
    name = name or p.name
    if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", name):
        raise WarehouseError(f"run name {name!r}: use letters, digits, '_', '.', '-' (NAME=DIR)")
    mf = p / "manifest.json"
    if not mf.is_file():
        raise WarehouseError(f"{path} is not a finished counts directory (no manifest.json)")
    manifest = json.loads(mf.read_text())
    return CountsRun(name, p, manifest)


def _sql_file(name: str) -> str:
    return resources.files("engine.warehouse").joinpath(f"sql/{name}").read_text()


def _quote_path(p: Path) -> str:
    # paths go into view definitions (views cannot take parameters); quote as SQL literals
    return "'" + str(p).replace("'", "''") + "'"


def _world_stats_table() -> pa.Table:
    import pyarrow.csv as pcsv

    raw = resources.files("engine").joinpath("data/labour_stats.tsv").read_bytes()
    return pcsv.read_csv(pa.BufferReader(raw), parse_options=pcsv.ParseOptions(delimiter="\t"),
                         convert_options=pcsv.ConvertOptions(column_types={
                             "occupation": pa.string(), "pct_female": pa.float64(),
                             "sector": pa.string(), "source": pa.string(), "year": pa.string()}))


class Warehouse:
    """A DuckDB warehouse file. Use as a context manager or call close()."""

    def __init__(self, db: str | Path, read_only: bool = False):
        self.path = Path(db)
        self.con = duckdb.connect(str(self.path), read_only=read_only)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.con.close()

    # ---- queries ---------------------------------------------------------------------------
    def sql(self, query: str, params=None) -> pl.DataFrame:
        """Run a query (with optional $name / ? parameters) and return a polars DataFrame."""
        rel = self.con.sql(query, params=params) if params else self.con.sql(query)
        return rel.pl() if rel is not None else pl.DataFrame()

    def _one(self, query: str, params=None):
        rows = self.con.execute(query, params or []).fetchall()  # consume the whole result
        return rows[0] if rows else None

    def setting(self, key: str) -> str | None:
        row = self._one("SELECT value FROM settings WHERE key = ?", [key])
        return row[0] if row else None

    def set(self, key: str, value) -> None:
        self.con.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", [key, str(value)])
        self.refresh_trace()

    # ---- building --------------------------------------------------------------------------
    def build(self, runs: list[CountsRun], settings: dict | None = None) -> None:
        if not runs:
            raise WarehouseError("at least one --counts directory is required")
        names = [r.name for r in runs]
        if len(set(names)) != len(names):
            raise WarehouseError(f"duplicate run names {names}: use NAME=DIR")
        con = self.con
        con.execute("CREATE TABLE IF NOT EXISTS settings (key VARCHAR PRIMARY KEY, value VARCHAR)")
        defaults = dict(DEFAULT_SETTINGS, data_run=runs[0].name)
        for k, v in {**defaults, **(settings or {})}.items():
            con.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", [k, str(v)])
        con.execute("CREATE OR REPLACE TABLE runs (run VARCHAR, path VARCHAR, lexicon VARCHAR, "
                    "lexicon_version VARCHAR, lexicon_sha256 VARCHAR, windows VARCHAR[], "
                    "documents BIGINT, started VARCHAR, finished VARCHAR, manifest JSON)")
        for r in runs:
            m = r.manifest
            con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [r.name, str(r.path), m["lexicon"]["name"], m["lexicon"]["version"],
                         m["lexicon"]["sha256"], m["windows"], m["totals"]["documents"],
                         m["started"], m["finished"], json.dumps(m)])
        for t in TABLE_NAMES:
            parts = [f"SELECT {self._literal(r.name)} AS run, * FROM read_parquet("
                     f"{_quote_path(r.path / f'{t}.parquet')})" for r in runs]
            con.execute(f"CREATE OR REPLACE VIEW {t} AS " + " UNION ALL BY NAME ".join(parts))
        boot = [f"SELECT {self._literal(r.name)} AS run, * FROM read_parquet("
                f"{_quote_path(r.path / 'bootstrap.parquet')})"
                for r in runs if (r.path / "bootstrap.parquet").is_file()]
        con.execute("CREATE OR REPLACE VIEW bootstrap AS "
                    + (" UNION ALL BY NAME ".join(boot) if boot else EMPTY_BOOTSTRAP))
        world = _world_stats_table()
        con.register("world_src", world)
        con.execute("CREATE OR REPLACE TABLE world_stats AS SELECT * FROM world_src")
        con.unregister("world_src")
        con.execute(GENERATIONS_DDL)
        con.execute(SCORES_DDL)
        con.execute(_sql_file("metrics.sql"))
        self.refresh_trace()

    @staticmethod
    def _literal(value: str) -> str:
        # DDL (view definitions) cannot take parameters: run names are restricted to a safe
        # alphabet by parse_counts_arg, paths are escaped; every other value is a parameter
        return "'" + value.replace("'", "''") + "'"

    def refresh_trace(self) -> None:
        """(Re)build the wide `bias_trace` table: one row per occupation, one column per series."""
        con = self.con
        series = con.execute("SELECT DISTINCT series, series_order FROM bias_trace_long "
                             "WHERE series NOT IN ('world', 'data') ORDER BY series_order, series"
                             ).fetchall()
        con.execute("""
            CREATE OR REPLACE TABLE bias_trace AS
            SELECT w.occupation, w.sector, w.pct_female AS world_pct, 100 * d.p AS data_pct,
                   d.n AS data_n, d.low_support AS data_low_support
            FROM world_stats w LEFT JOIN data_default d USING (occupation)
            WHERE d.occupation IS NOT NULL OR w.occupation IN (SELECT occupation FROM model_generations)
        """)
        for i, (name, _) in enumerate(series):
            col = f"s{i}"
            con.execute(f"ALTER TABLE bias_trace ADD COLUMN {col} DOUBLE")
            con.execute(f"UPDATE bias_trace SET {col} = l.pct FROM bias_trace_long l "
                        f"WHERE l.occupation = bias_trace.occupation AND l.series = ?", [name])
            quoted = '"' + name.replace('"', '""') + ' %"'
            con.execute(f"ALTER TABLE bias_trace RENAME COLUMN {col} TO {quoted}")

    # ---- model outputs ---------------------------------------------------------------------
    def lexicon(self) -> Lexicon:
        row = self._one("SELECT lexicon, lexicon_sha256 FROM runs WHERE run = ?",
                        [self.setting("data_run")])
        if row is None:
            raise WarehouseError(f"data_run {self.setting('data_run')!r} is not a run of this warehouse")
        name, sha = row
        lex = load_lexicon(name)
        if lex.sha256() != sha:
            raise WarehouseError(f"the installed lexicon {name!r} differs from the one the counts "
                                 "used; pass --lexicon with the same file")
        return lex

    def add_generations(self, path: str | Path, lexicon: Lexicon | None = None,
                        defaults: dict | None = None) -> int:
        df = read_table_file(path)
        df = normalize_generations(df, defaults or {})
        lex = lexicon or self.lexicon()
        counts = gender_counts(pa.array(df["text"].to_list(), pa.large_string()),
                               compile_lexicon(lex))
        df = df.with_columns(pl.Series("female_terms", counts[:, 0]),
                             pl.Series("male_terms", counts[:, 1]),
                             pl.Series("class", classify(counts).tolist()),
                             pl.lit(str(path)).alias("source_file"))
        self.con.register("gen_src", df.to_arrow())
        self.con.execute("""
            INSERT INTO model_generations
            SELECT model, stage, template, decoding, occupation, prompt, sample, text,
                   female_terms, male_terms, class, source_file FROM gen_src""")
        self.con.unregister("gen_src")
        self.refresh_trace()
        return df.height

    def add_scores(self, path: str | Path, defaults: dict | None = None) -> int:
        df = read_table_file(path)
        missing = {"model", "occupation", "metric", "value"} - set(df.columns)
        if missing:
            raise WarehouseError(f"{path}: scores need columns model, occupation, metric, value "
                                 f"(missing {sorted(missing)})")
        if "stage" not in df.columns:
            df = df.with_columns(pl.lit((defaults or {}).get("stage", "unknown")).alias("stage"))
        df = df.select(pl.col("model").cast(pl.Utf8), pl.col("stage").cast(pl.Utf8),
                       pl.col("occupation").cast(pl.Utf8), pl.col("metric").cast(pl.Utf8),
                       pl.col("value").cast(pl.Float64), pl.lit(str(path)).alias("source_file"))
        self.con.register("score_src", df.to_arrow())
        self.con.execute("INSERT INTO model_scores SELECT * FROM score_src")
        self.con.unregister("score_src")
        self.refresh_trace()
        return df.height


def read_table_file(path: str | Path) -> pl.DataFrame:
    p = str(path)
    if not Path(p).is_file():
        raise WarehouseError(f"file not found: {p}")
    if p.endswith((".jsonl", ".ndjson", ".json")):
        return pl.read_ndjson(p)
    if p.endswith(".csv"):
        return pl.read_csv(p)
    if p.endswith(".parquet"):
        return pl.read_parquet(p)
    raise WarehouseError(f"{p}: expected .jsonl, .csv or .parquet")


def normalize_generations(df: pl.DataFrame, defaults: dict) -> pl.DataFrame:
    missing = [c for c in ("model", "occupation", "text") if c not in df.columns]
    if missing or not ({"prompt", "template"} & set(df.columns)):
        raise WarehouseError("generations need columns model, occupation, text and prompt or "
                             f"template (missing {missing or ['prompt/template']})")
    add = []
    for col, default in (("stage", defaults.get("stage", "unknown")),
                         ("decoding", defaults.get("decoding", "")), ("template", None),
                         ("prompt", None)):
        if col not in df.columns:
            add.append(pl.lit(default, dtype=pl.Utf8).alias(col))
    if "sample" not in df.columns:
        add.append(pl.int_range(0, pl.len(), dtype=pl.Int64).alias("sample"))
    df = df.with_columns(add) if add else df
    return df.select(
        pl.col("model").cast(pl.Utf8), pl.col("stage").cast(pl.Utf8).fill_null("unknown"),
        pl.col("template").cast(pl.Utf8), pl.col("decoding").cast(pl.Utf8).fill_null(""),
        pl.col("occupation").cast(pl.Utf8), pl.col("prompt").cast(pl.Utf8),
        pl.col("sample").cast(pl.Int64), pl.col("text").cast(pl.Utf8).fill_null(""))
