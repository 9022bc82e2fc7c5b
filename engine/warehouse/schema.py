"""DuckDB schemas of the warehouse: the count tables' views (from engine.count.tables), the user
tables (model outputs, loads) and the materialised statistics tables.

The count tables' names, columns and types live only in engine/count/tables.py; this module
turns them into DuckDB views (one per table, a UNION of the runs that list the table in their
manifest, or an empty typed view when no run has it). Every other table the warehouse creates is
declared here, so the DDL, the loaders and the docs agree on one list of columns.
"""
from __future__ import annotations

import pyarrow as pa

from engine.count.tables import TABLES, TableSpec

# The view a count table is read through, when it is not the table's own name: the
# `representation` name belongs to the derived view laid out like the Llama 2 table.
RAW_VIEW_NAMES = {"representation": "representation_counts"}

# Format of the warehouse file itself (bumped when its tables change incompatibly).
WAREHOUSE_FORMAT = "tracebias-warehouse/2"


def raw_view_name(table: str) -> str:
    return RAW_VIEW_NAMES.get(table, table)


def duckdb_type(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "VARCHAR"
    if pa.types.is_int64(t):
        return "BIGINT"
    if pa.types.is_int32(t):
        return "INTEGER"
    if pa.types.is_uint64(t):
        return "UBIGINT"
    if pa.types.is_float64(t):
        return "DOUBLE"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "BLOB"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    raise TypeError(f"no DuckDB type for Arrow type {t}")


def sql_literal(value: str) -> str:
    """A string as an SQL literal (view definitions cannot take parameters)."""
    return "'" + str(value).replace("'", "''") + "'"


def empty_view_sql(spec: TableSpec) -> str:
    """A typed, empty SELECT with the columns of ``spec`` after a leading ``run`` column."""
    cols = ["NULL::VARCHAR AS run"] + [f"NULL::{duckdb_type(f.type)} AS {f.name}"
                                       for f in spec.schema]
    return "SELECT " + ", ".join(cols) + " WHERE false"


def run_select_sql(spec: TableSpec, run: str, path: str) -> str:
    """SELECT of one run's Parquet file: ``run`` first, then the spec's columns in order."""
    cols = ", ".join(f"{f.name}::{duckdb_type(f.type)} AS {f.name}" for f in spec.schema)
    return (f"SELECT {sql_literal(run)} AS run, {cols} "
            f"FROM read_parquet({sql_literal(path)})")


def raw_views() -> list[TableSpec]:
    return list(TABLES)


# ---- user tables: model outputs and their loads ---------------------------------------------
MODEL_GENERATIONS = """
CREATE TABLE IF NOT EXISTS model_generations (
    gen_id BIGINT NOT NULL, model VARCHAR NOT NULL, stage VARCHAR NOT NULL, template VARCHAR NOT NULL,
    decoding VARCHAR NOT NULL, occupation VARCHAR NOT NULL, prompt_id VARCHAR, prompt VARCHAR,
    sample BIGINT, text VARCHAR NOT NULL, female_terms BIGINT, male_terms BIGINT, class VARCHAR,
    source_file VARCHAR NOT NULL, content_sha256 VARCHAR NOT NULL, line BIGINT NOT NULL)
"""
# one row per generation and axis of the lexicon it was classified with
# single_group: the group when exactly one group of the axis is mentioned, else NULL
GENERATION_AXES = """
CREATE TABLE IF NOT EXISTS generation_axes (
    gen_id BIGINT NOT NULL, axis VARCHAR NOT NULL, single_group VARCHAR,
    groups_present INTEGER NOT NULL, mentions BIGINT NOT NULL)
"""
# one row per generation and group mentioned at least once
GENERATION_GROUPS = """
CREATE TABLE IF NOT EXISTS generation_groups (
    gen_id BIGINT NOT NULL, axis VARCHAR NOT NULL, group_name VARCHAR NOT NULL,
    mentions BIGINT NOT NULL)
"""
MODEL_SCORES = """
CREATE TABLE IF NOT EXISTS model_scores (
    model VARCHAR NOT NULL, stage VARCHAR NOT NULL, occupation VARCHAR NOT NULL,
    metric VARCHAR NOT NULL, value DOUBLE, source_file VARCHAR, content_sha256 VARCHAR)
"""
# filled by `tracebias warehouse add-probes` (engine/warehouse/probes.py): one row per
# (prompt, group); share = the model's probability mass on the group, normalised over the
# axis's groups
MODEL_PROBES = """
CREATE TABLE IF NOT EXISTS model_probes (
    model VARCHAR NOT NULL, stage VARCHAR NOT NULL, template VARCHAR, decoding VARCHAR NOT NULL,
    target VARCHAR NOT NULL, axis VARCHAR NOT NULL, group_name VARCHAR NOT NULL,
    prompt_id VARCHAR, prompt VARCHAR, share DOUBLE NOT NULL, logprob DOUBLE,
    source_file VARCHAR, content_sha256 VARCHAR)
"""
# every file loaded into a model table: one row per (kind, path); re-loading the same content
# is a no-op, a changed file at the same path replaces its earlier rows
LOADS = """
CREATE TABLE IF NOT EXISTS loads (
    load_id BIGINT NOT NULL, kind VARCHAR NOT NULL, path VARCHAR NOT NULL,
    content_sha256 VARCHAR NOT NULL, rows_read BIGINT NOT NULL, rows_added BIGINT NOT NULL,
    rows_skipped BIGINT NOT NULL, lexicon_sha256 VARCHAR, loaded_at VARCHAR NOT NULL)
"""
# the lines of a loaded file that were skipped, with the reason
LOAD_REJECTS = """
CREATE TABLE IF NOT EXISTS load_rejects (
    load_id BIGINT NOT NULL, line BIGINT NOT NULL, reason VARCHAR NOT NULL, sample VARCHAR)
"""
USER_TABLES = {"model_generations": MODEL_GENERATIONS, "generation_axes": GENERATION_AXES,
               "generation_groups": GENERATION_GROUPS, "model_scores": MODEL_SCORES,
               "model_probes": MODEL_PROBES, "loads": LOADS, "load_rejects": LOAD_REJECTS}

# ---- lexicon tables (one set of rows per run, from the run's lexicon.json) --------------------
LEXICON_TABLES = {
    "lexicon_axes": "run VARCHAR, axis VARCHAR, axis_order INTEGER, groups INTEGER, "
                    "description VARCHAR",
    "lexicon_groups": "run VARCHAR, axis VARCHAR, group_name VARCHAR, group_order INTEGER, "
                      "forms INTEGER",
    "lexicon_terms": "run VARCHAR, axis VARCHAR, group_name VARCHAR, term VARCHAR, "
                     "case_rule VARCHAR",
    "lexicon_targets": "run VARCHAR, target VARCHAR, target_order INTEGER, target_set VARCHAR, "
                       "sector VARCHAR, pct_female DOUBLE, stats_source VARCHAR, forms INTEGER",
    "target_reference": "run VARCHAR, target VARCHAR, axis VARCHAR, group_name VARCHAR, "
                        "share DOUBLE",
    "run_replicates": "run VARCHAR, replicate INTEGER",
}

# ---- materialised statistics (engine/warehouse/resampling.py fills them on every refresh) ---
_CI = "{0} DOUBLE, {0}_low DOUBLE, {0}_high DOUBLE"
_CORR = "{0} DOUBLE, {0}_p DOUBLE, {0}_low DOUBLE, {0}_high DOUBLE"


def _cols(*parts: str) -> str:
    return ", ".join(parts)


STATS_TABLES = {
    "amplification_stats": _cols(
        "model VARCHAR, stage VARCHAR, template VARCHAR, decoding VARCHAR",
        "n_occupations BIGINT", _CORR.format("pearson"), _CORR.format("spearman"),
        _CORR.format("slope"), _CI.format("mean_amplification"),
        _CI.format("bias_amplification_zhao"), _CI.format("mean_tvd_data_world"),
        _CI.format("mean_tvd_model_world"),
        "resamples BIGINT, permutations BIGINT, resampling VARCHAR"),
    "group_amplification_stats": _cols(
        "model VARCHAR, stage VARCHAR, template VARCHAR, decoding VARCHAR, axis VARCHAR",
        "n_targets BIGINT", _CI.format("mean_abs_amplification"),
        _CI.format("bias_amplification_zhao"), _CI.format("mean_tvd_data_reference"),
        _CI.format("mean_tvd_model_reference"), _CI.format("bias_amp_t_to_a"),
        "resamples BIGINT, resampling VARCHAR"),
    "data_sta_stats": _cols(
        "run VARCHAR, window_label VARCHAR, axis VARCHAR", "n_targets BIGINT",
        _CI.format("sta"), "resamples BIGINT, resampling VARCHAR"),
    "bias_transfer": _cols(
        "model VARCHAR, stage VARCHAR, comparison VARCHAR, x_series VARCHAR, y_series VARCHAR",
        "n_occupations BIGINT, n_excluded BIGINT", _CORR.format("pearson"),
        _CORR.format("spearman"), "resamples BIGINT, permutations BIGINT, resampling VARCHAR"),
}


def stats_ddl(name: str) -> str:
    return f"CREATE OR REPLACE TABLE {name} ({STATS_TABLES[name]})"


def stats_columns(name: str) -> list[str]:
    return [c.strip().split(" ")[0] for c in STATS_TABLES[name].split(",")]
