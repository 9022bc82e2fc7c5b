"""The DuckDB warehouse: counts (Parquet, read in place), lexicons, world statistics, model
outputs, and the metric views of engine/warehouse/sql/.

``build`` writes a new DuckDB file next to the target and renames it into place, so a failed
build never leaves a half-built database; rebuilding an existing file keeps its model outputs
and settings. Per run it creates one view per count table the run's manifest lists
(engine/count/tables.py has them all; a table no run has gets an empty typed view), the lexicon
tables from the run's lexicon.json, then runs sql/metrics.sql and every other sql/*.sql file in
name order, and fills the statistics tables (engine/warehouse/resampling.py).

``add_generations`` classifies model generations per axis with the same lexicon and kernels as
the corpus; ``add_scores`` loads per-occupation numbers from elsewhere. A file already loaded
(same SHA-256) adds nothing; a changed file at the same path replaces its earlier rows. Every
user value reaches SQL as a parameter or through a registered Arrow table.
"""
from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from engine.count.tables import TABLES
from engine.lexicon import Lexicon, lexicon_from_dict
from engine.warehouse import schema as sch
from engine.warehouse.loads import (
    LoadReport,
    parse_generations,
    parse_scores,
    read_records,
    sha256_file,
)
from engine.warehouse.runs import CountsRun, WarehouseError, lexicon_rows
from engine.warehouse.settings import SETTINGS, SettingError, normalise

KIND_TABLES = {"generations": "model_generations", "scores": "model_scores",
               "probes": "model_probes"}


def _sql_file(name: str) -> str:
    return resources.files("engine.warehouse").joinpath(f"sql/{name}").read_text()


def sql_files() -> list[str]:
    """metrics.sql first, then every other sql/*.sql in name order."""
    names = sorted(p.name for p in resources.files("engine.warehouse").joinpath("sql").iterdir()
                   if p.name.endswith(".sql"))
    return ["metrics.sql"] + [n for n in names if n != "metrics.sql"]


def _world_stats_table() -> pa.Table:
    import pyarrow.csv as pcsv

    raw = resources.files("engine").joinpath("data/labour_stats.tsv").read_bytes()
    return pcsv.read_csv(pa.BufferReader(raw), parse_options=pcsv.ParseOptions(delimiter="\t"),
                         convert_options=pcsv.ConvertOptions(column_types={
                             "occupation": pa.string(), "pct_female": pa.float64(),
                             "sector": pa.string(), "source": pa.string(), "year": pa.string()}))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _remove_db_files(path: Path) -> None:
    for p in (path, Path(str(path) + ".wal")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


class Warehouse:
    """A DuckDB warehouse file. Use as a context manager or call close()."""

    def __init__(self, db: str | Path, read_only: bool = False):
        self.path = Path(db)
        self.read_only = read_only
        self._con = None
        if read_only:
            self._connect()

    # ---- connection ------------------------------------------------------------------------
    def _connect(self):
        if self._con is None:
            if self.read_only and not self.path.is_file():
                raise WarehouseError(f"no warehouse at {self.path}; create one with "
                                     "`tracebias warehouse build`")
            try:
                self._con = duckdb.connect(str(self.path), read_only=self.read_only)
            except duckdb.Error as e:
                raise WarehouseError(f"{self.path}: cannot open as a DuckDB database "
                                     f"({str(e).splitlines()[0]})") from None
        return self._con

    @property
    def con(self):
        return self._connect()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    # ---- queries ---------------------------------------------------------------------------
    def sql(self, query: str, params=None) -> pl.DataFrame:
        """Run a query (with optional $name / ? parameters) and return a polars DataFrame."""
        rel = self.con.sql(query, params=params) if params else self.con.sql(query)
        return rel.pl() if rel is not None else pl.DataFrame()

    def _one(self, query: str, params=None):
        rows = self.con.execute(query, params or []).fetchall()  # consume the whole result
        return rows[0] if rows else None

    def _has_table(self, name: str) -> bool:
        return bool(self._one("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                              [name])[0])

    # ---- settings --------------------------------------------------------------------------
    def setting(self, key: str) -> str | None:
        row = self._one("SELECT value FROM settings WHERE key = ?", [key])
        return row[0] if row else None

    def settings(self) -> dict[str, str]:
        return dict(self.con.execute("SELECT key, value FROM settings ORDER BY key").fetchall())

    def _run_windows(self) -> dict[str, list[str]]:
        return {r: list(w or []) for r, w in
                self.con.execute("SELECT run, windows FROM runs").fetchall()}

    def set(self, key: str, value) -> None:
        self.set_many({key: value})

    def set_many(self, pairs: dict) -> None:
        """Validate every pair first (one clear line on error, nothing changed), then store them
        and refresh the derived tables."""
        if not self._has_table("settings"):
            raise WarehouseError(f"{self.path} is not a tracebias warehouse (no settings table)")
        new = validate_settings(pairs, self.settings(), self._run_windows())
        self.con.execute("BEGIN TRANSACTION")
        try:
            for k, v in new.items():
                self.con.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", [k, v])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.refresh()

    # ---- building --------------------------------------------------------------------------
    def build(self, runs: list[CountsRun], settings: dict | None = None) -> list[str]:
        """Build the warehouse from ``runs`` (atomically); return notes for the user."""
        if not runs:
            raise WarehouseError("at least one --counts directory is required")
        names = [r.name for r in runs]
        if len(set(names)) != len(names):
            raise WarehouseError(f"duplicate run names {names}: use NAME=DIR")
        windows = {r.name: r.windows for r in runs}
        carry, old_settings = ({}, {})
        if self.path.exists():
            carry, old_settings = self._carry_over()
        defaults = {k: s.default for k, s in SETTINGS.items() if s.default is not None}
        first = runs[0]
        defaults["data_run"] = first.name
        defaults["data_window"] = ("sentence" if "sentence" in first.windows or not first.windows
                                   else first.windows[0])
        base = dict(defaults)
        # settings of the file being rebuilt are kept when they still fit the new runs
        for k, v in old_settings.items():
            if k in SETTINGS:
                try:
                    base.update(validate_settings({k: v}, base, windows))
                except WarehouseError:
                    pass
        final = {**base, **validate_settings(settings or {}, base, windows)}
        notes = [f"{r.path}/{f}: not listed in manifest.json; not loaded"
                 for r in runs for f in r.ignored]
        self.close()
        tmp = self.path.parent / f".{self.path.name}.building-{uuid.uuid4().hex[:8]}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(tmp))
            try:
                _build_into(con, runs, final, carry)
                con.execute("CHECKPOINT")
            except duckdb.IOException as e:  # a run's file changed or vanished since the check
                raise WarehouseError(f"build failed, {self.path} left as it was: "
                                     f"{str(e).splitlines()[0]}") from None
            finally:
                con.close()
            os.replace(tmp, self.path)
            # a WAL left by a crashed writer of the old file must not replay onto the new one
            Path(str(self.path) + ".wal").unlink(missing_ok=True)
        except BaseException:
            _remove_db_files(tmp)
            raise
        return notes

    def _carry_over(self) -> tuple[dict[str, pa.Table], dict[str, str]]:
        """The model outputs and settings of the existing file, to keep them across a rebuild."""
        con = self.con
        tables = {n for (n,) in con.execute(
            "SELECT table_name FROM duckdb_tables()").fetchall()}
        if not tables:
            return {}, {}
        fmt = None
        if "warehouse_info" in tables:
            rows = con.execute("SELECT value FROM warehouse_info WHERE key = 'format'").fetchall()
            fmt = rows[0][0] if rows else None
        settings = dict(con.execute("SELECT key, value FROM settings").fetchall()) \
            if "settings" in tables else {}
        if fmt != sch.WAREHOUSE_FORMAT:
            rows = sum(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                       for t in ("model_generations", "model_scores") if t in tables)
            if rows:
                raise WarehouseError(
                    f"{self.path} holds {rows:,} model-output rows in an older warehouse format "
                    f"({fmt or 'tracebias-warehouse/1'}); build into a new --db and load the "
                    "files again, or delete it")
            return {}, settings
        return ({n: con.sql(f"SELECT * FROM {n}").to_arrow_table() for n in sch.USER_TABLES
                 if n in tables}, settings)

    def refresh(self) -> None:
        """Recompute the tables that depend on settings and model outputs: bias_trace and the
        resampled statistics."""
        refresh_all(self.con)

    refresh_trace = refresh  # the name older callers use

    # ---- model outputs ---------------------------------------------------------------------
    def lexicon(self) -> Lexicon:
        """The lexicon of ``data_run`` (its lexicon.json), used to classify generations."""
        run = self.setting("data_run")
        row = self._one("SELECT lexicon_json FROM runs WHERE run = ?", [run])
        if row is None:
            raise WarehouseError(f"data_run {run!r} is not a run of this warehouse")
        return lexicon_from_dict(json.loads(row[0]), f"lexicon.json of run {run!r}")

    def _load_status(self, kind: str, path: str, sha: str):
        same = self._one("SELECT path FROM loads WHERE kind = ? AND content_sha256 = ?",
                         [kind, sha])
        if same is not None:
            return "unchanged", same[0]
        prev = self._one("SELECT load_id FROM loads WHERE kind = ? AND path = ?", [kind, path])
        return ("replaced", prev[0]) if prev is not None else ("added", None)

    def _store_load(self, report: LoadReport, sha: str, tables: dict[str, pa.Table],
                    lexicon_sha: str | None, replace_id) -> None:
        con = self.con
        table = KIND_TABLES[report.kind]
        con.execute("BEGIN TRANSACTION")
        try:
            if replace_id is not None:
                if report.kind == "generations":
                    for t in ("generation_axes", "generation_groups"):
                        con.execute(f"DELETE FROM {t} WHERE gen_id IN (SELECT gen_id FROM "
                                    "model_generations WHERE source_file = ?)", [report.path])
                report.replaced_rows = con.execute(
                    f"SELECT count(*) FROM {table} WHERE source_file = ?",
                    [report.path]).fetchall()[0][0]
                con.execute(f"DELETE FROM {table} WHERE source_file = ?", [report.path])
                con.execute("DELETE FROM load_rejects WHERE load_id = ?", [replace_id])
                con.execute("DELETE FROM loads WHERE load_id = ?", [replace_id])
            for name, data in tables.items():
                con.register("_load_src", data)
                try:
                    con.execute(f"INSERT INTO {name} ({', '.join(data.column_names)}) "
                                f"SELECT * FROM _load_src")
                finally:
                    con.unregister("_load_src")
            load_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM loads").fetchall()[0][0]
            con.execute("INSERT INTO loads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [load_id, report.kind, report.path, sha, report.rows_read,
                         report.rows_added, report.rows_skipped, lexicon_sha, _now()])
            if report.rejects:
                con.executemany("INSERT INTO load_rejects VALUES (?, ?, ?, ?)",
                                [(load_id, ln, reason, sample)
                                 for ln, reason, sample in report.rejects])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _begin_load(self, path: str | Path, kind: str):
        """Read a file to load: (records, bad lines, key, sha256, report, status, the earlier
        load it replaces or equals); status "unchanged" means there is nothing to do."""
        p = Path(path)
        records, bad, n_read = read_records(p)
        key = str(p.resolve())
        sha = sha256_file(p)
        report = LoadReport(key, kind, rows_read=n_read)
        status, other = self._load_status(kind, key, sha)
        if status == "unchanged":
            report.status, report.same_as = status, other
        return records, bad, key, sha, report, status, other

    def add_generations(self, path: str | Path, lexicon: Lexicon | None = None,
                        defaults: dict | None = None) -> LoadReport:
        """Classify and add a generations file; see engine/warehouse/loads.py for its format."""
        records, bad, key, sha, report, status, other = self._begin_load(path, "generations")
        if status == "unchanged":
            return report
        lex = lexicon or self.lexicon()
        df, rejects = parse_generations(records, bad, {t.name for t in lex.targets},
                                        defaults or {}, str(path))
        report.rejects = rejects
        base = self._one("SELECT coalesce(max(gen_id), -1) + 1 FROM model_generations")[0]
        tables = classify_generations(df, lex, base, key, sha)
        report.rows_added = df.height
        report.status = status
        self._store_load(report, sha, tables, lex.sha256(),
                         other if status == "replaced" else None)
        self.refresh()
        return report

    def add_scores(self, path: str | Path, defaults: dict | None = None) -> LoadReport:
        """Add per-occupation scores (model, stage, occupation, metric, value)."""
        records, bad, key, sha, report, status, other = self._begin_load(path, "scores")
        if status == "unchanged":
            return report
        targets = {r[0] for r in self.con.execute(
            "SELECT target FROM lexicon_targets WHERE run = setting('data_run')").fetchall()}
        df, rejects = parse_scores(records, bad, targets, defaults or {}, str(path))
        report.rejects = rejects
        df = df.with_columns(pl.lit(key).alias("source_file"), pl.lit(sha).alias("content_sha256"))
        report.rows_added = df.height
        report.status = status
        self._store_load(report, sha, {"model_scores": df.to_arrow()}, None,
                         other if status == "replaced" else None)
        self.refresh()
        return report


# ---- settings validation ----------------------------------------------------------------------
def validate_settings(pairs: dict, current: dict, windows: dict[str, list[str]]) -> dict:
    """Normalised values of ``pairs``; data_run and data_window must name a run of the warehouse
    and a window that run counted (checked on the combination after the change)."""
    out = {}
    for k, v in (pairs or {}).items():
        try:
            out[k] = normalise(k, v)
        except SettingError as e:
            raise WarehouseError(str(e)) from None
    run = out.get("data_run", current.get("data_run"))
    win = out.get("data_window", current.get("data_window"))
    if "data_run" in out and run not in windows:
        raise WarehouseError(f"data_run={run}: not a run of this warehouse "
                             f"(runs: {', '.join(windows)})")
    if ("data_run" in out or "data_window" in out) and run in windows and windows[run] \
            and win not in windows[run]:
        if "data_window" not in out and "data_run" in out:
            raise WarehouseError(f"data_run={run}: that run has no window {win!r} (the current "
                                 f"data_window; its windows: {', '.join(windows[run])}); set "
                                 "data_window too")
        raise WarehouseError(f"data_window={win}: run {run!r} was not counted with that window "
                             f"(windows: {', '.join(windows[run])})")
    return out


# ---- build steps ------------------------------------------------------------------------------
def _build_into(con, runs: list[CountsRun], settings: dict, carry: dict) -> None:
    con.execute("CREATE TABLE warehouse_info (key VARCHAR PRIMARY KEY, value VARCHAR)")
    from engine import __version__

    con.executemany("INSERT INTO warehouse_info VALUES (?, ?)",
                    [("format", sch.WAREHOUSE_FORMAT), ("tracebias", __version__),
                     ("built", _now())])
    con.execute("CREATE TABLE settings (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.executemany("INSERT INTO settings VALUES (?, ?)", sorted(settings.items()))
    con.execute("""CREATE TABLE runs (run VARCHAR, path VARCHAR, format VARCHAR, lexicon VARCHAR,
                   lexicon_version VARCHAR, lexicon_sha256 VARCHAR, windows VARCHAR[],
                   replicates INTEGER, documents BIGINT, started VARCHAR, finished VARCHAR,
                   tables VARCHAR[], lexicon_json JSON, manifest JSON)""")
    for r in runs:
        m = r.manifest
        lexm = m.get("lexicon") if isinstance(m.get("lexicon"), dict) else {}
        totals = m.get("totals") if isinstance(m.get("totals"), dict) else {}
        con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [r.name, str(r.path), m.get("format"), lexm.get("name", r.lexicon.name),
                     lexm.get("version", r.lexicon.version), r.lexicon.sha256(), r.windows,
                     r.replicates, totals.get("documents"), m.get("started"), m.get("finished"),
                     sorted(r.tables), json.dumps(r.lexicon_json), json.dumps(m)])
    # one view per count table: the runs whose manifest lists it, or an empty typed view
    for spec in TABLES:
        parts = [sch.run_select_sql(spec, r.name, str(r.tables[spec.name]))
                 for r in runs if r.has(spec.name)]
        body = " UNION ALL ".join(parts) if parts else sch.empty_view_sql(spec)
        con.execute(f"CREATE VIEW {sch.raw_view_name(spec.name)} AS {body}")
    # lexicon tables
    for name, cols in sch.LEXICON_TABLES.items():
        con.execute(f"CREATE TABLE {name} ({cols})")
    for r in runs:
        for name, rows in lexicon_rows(r.name, r.lexicon).items():
            if rows:
                con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(rows[0]))})",
                                rows)
        if r.replicates:
            con.executemany("INSERT INTO run_replicates VALUES (?, ?)",
                            [(r.name, b) for b in range(r.replicates)])
    world = _world_stats_table()
    con.register("world_src", world)
    con.execute("CREATE TABLE world_stats AS SELECT * FROM world_src")
    con.unregister("world_src")
    # occupations of the data run's lexicon with labour statistics the shipped table lacks
    con.execute("""INSERT INTO world_stats
                   SELECT target, pct_female, sector, 'lexicon of run ' || run, NULL
                   FROM lexicon_targets
                   WHERE run = ? AND pct_female IS NOT NULL
                     AND target NOT IN (SELECT occupation FROM world_stats)""",
                [settings["data_run"]])
    for ddl in sch.USER_TABLES.values():
        con.execute(ddl)
    for name, data in carry.items():
        cols = [c for c in data.column_names
                if c in {r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()}]
        con.register("_carry", data)
        try:
            con.execute(f"INSERT INTO {name} ({', '.join(cols)}) SELECT {', '.join(cols)} "
                        "FROM _carry")
        finally:
            con.unregister("_carry")
    for name in sch.STATS_TABLES:
        con.execute(sch.stats_ddl(name))
    for f in sql_files():
        run_sql_file(con, f)
    refresh_all(con)


def run_sql_file(con, name: str) -> None:
    """Execute one sql/*.sql file statement by statement, naming the statement that fails."""
    for stmt in con.extract_statements(_sql_file(name)):
        try:
            con.execute(stmt)
        except duckdb.Error as e:
            head = next((ln.strip() for ln in stmt.query.splitlines()
                         if ln.strip() and not ln.strip().startswith("--")), "")
            raise RuntimeError(f"sql/{name}: {head[:80]}: {str(e).splitlines()[0]}") from e


def refresh_all(con) -> None:
    from engine.warehouse.resampling import refresh_stats

    refresh_trace_table(con)
    refresh_stats(con)


def refresh_trace_table(con) -> None:
    """(Re)build the wide `bias_trace` table: one row per occupation, one column per series."""
    series = con.execute("SELECT DISTINCT series, series_order FROM bias_trace_long "
                         "WHERE series NOT IN ('world', 'data') ORDER BY series_order, series"
                         ).fetchall()
    con.execute("""
        CREATE OR REPLACE TABLE bias_trace AS
        SELECT w.occupation, w.sector, w.pct_female AS world_pct, 100 * d.p AS data_pct,
               d.n AS data_n, d.low_support AS data_low_support
        FROM world_stats w LEFT JOIN data_default d USING (occupation)
        WHERE d.occupation IS NOT NULL
           OR w.occupation IN (SELECT occupation FROM model_share)
    """)
    for i, (name, _) in enumerate(series):
        col = f"s{i}"
        con.execute(f"ALTER TABLE bias_trace ADD COLUMN {col} DOUBLE")
        con.execute(f"UPDATE bias_trace SET {col} = l.pct FROM bias_trace_long l "
                    f"WHERE l.occupation = bias_trace.occupation AND l.series = ?", [name])
        quoted = '"' + name.replace('"', '""') + ' %"'
        con.execute(f"ALTER TABLE bias_trace RENAME COLUMN {col} TO {quoted}")


# ---- classification of generations --------------------------------------------------------------
def group_counts_of(texts: list[str], lex: Lexicon) -> tuple[tuple[tuple[str, str], ...],
                                                               np.ndarray]:
    """(group columns, int64[n, C] mentions) of each text, with the corpus kernels."""
    from engine.count.classify import group_counts
    from engine.lexicon.matcher import compile_lexicon

    compiled = compile_lexicon(lex)
    counts = group_counts(pa.array(texts, pa.large_string()), compiled)
    return tuple(compiled.group_columns), counts


def classify_generations(df: pl.DataFrame, lex: Lexicon, base_id: int, source_file: str,
                         sha: str) -> dict[str, pa.Table]:
    """Rows of model_generations, generation_axes and generation_groups for ``df``."""
    n = df.height
    cols, counts = group_counts_of(df["text"].to_list(), lex)
    gen_ids = np.arange(base_id, base_id + n, dtype=np.int64)
    col_index = {c: i for i, c in enumerate(cols)}
    g = lex.gender_axis
    if g is not None and n:
        f = counts[:, col_index[(g.name, "female")]]
        m = counts[:, col_index[(g.name, "male")]]
        cls = np.array(("none", "female", "male", "both"), dtype=object)[(f > 0) * 1 + (m > 0) * 2]
        female, male, klass = f, m, cls.tolist()
    else:
        female = male = pa.nulls(n, pa.int64())
        klass = pa.nulls(n, pa.string())
    gens = pa.table({
        "gen_id": gen_ids, "model": df["model"].to_arrow(), "stage": df["stage"].to_arrow(),
        "template": df["template"].to_arrow(), "decoding": df["decoding"].to_arrow(),
        "occupation": df["occupation"].to_arrow(), "prompt_id": df["prompt_id"].to_arrow(),
        "prompt": df["prompt"].to_arrow(), "sample": df["sample"].to_arrow(),
        "text": df["text"].to_arrow(),
        "female_terms": pa.array(female, pa.int64()), "male_terms": pa.array(male, pa.int64()),
        "class": pa.array(klass, pa.string()),
        "source_file": pa.array([source_file] * n, pa.string()),
        "content_sha256": pa.array([sha] * n, pa.string()), "line": df["line"].to_arrow()})
    ax_id, ax_name, ax_single, ax_present, ax_mentions = [], [], [], [], []
    gg_id, gg_axis, gg_group, gg_mentions = [], [], [], []
    for axis in lex.axes:
        idx = [col_index[(axis.name, grp.name)] for grp in axis.groups]
        sub = counts[:, idx]
        present = (sub > 0).sum(axis=1)
        names = np.array(axis.group_names, dtype=object)
        single = np.where(present == 1, names[np.argmax(sub > 0, axis=1)], None) if n else []
        ax_id.append(gen_ids)
        ax_name.extend([axis.name] * n)
        ax_single.extend(list(single))
        ax_present.append(present.astype(np.int32))
        ax_mentions.append(sub.sum(axis=1))
        rows, colsel = np.nonzero(sub)
        gg_id.append(gen_ids[rows])
        gg_axis.extend([axis.name] * len(rows))
        gg_group.extend(names[colsel].tolist())
        gg_mentions.append(sub[rows, colsel])
    cat = (lambda parts, dt: np.concatenate(parts).astype(dt) if parts
           else np.zeros(0, dtype=dt))
    axes_t = pa.table({"gen_id": cat(ax_id, np.int64), "axis": pa.array(ax_name, pa.string()),
                       "single_group": pa.array(ax_single, pa.string()),
                       "groups_present": cat(ax_present, np.int32),
                       "mentions": cat(ax_mentions, np.int64)})
    groups_t = pa.table({"gen_id": cat(gg_id, np.int64), "axis": pa.array(gg_axis, pa.string()),
                         "group_name": pa.array(gg_group, pa.string()),
                         "mentions": cat(gg_mentions, np.int64)})
    return {"model_generations": gens, "generation_axes": axes_t, "generation_groups": groups_t}


def read_table_file(path: str | Path) -> pl.DataFrame:
    """A .jsonl / .csv / .parquet file as a DataFrame (for callers that want the whole file)."""
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
