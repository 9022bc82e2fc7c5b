"""The `warehouse` and `sql` commands, reserved words, and the SQL of docs/metrics.md."""
from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from engine.cli import main
from tests.warehouse.conftest import build
from tests.warehouse.fixtures import write_generations, write_run
from tests.warehouse.test_model_groups import add_probes

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_build_set_and_sql_from_the_command_line(tmp_path, capsys):
    counts = write_run(tmp_path / "c")
    gens = write_generations(tmp_path / "g.jsonl", extra=["{bad"])
    db = str(tmp_path / "w.duckdb")
    code, out, err = run(capsys, "warehouse", "build", "--counts", f"fx={counts}", "--db", db,
                         "--generations", str(gens), "--set", "min_model_support=5")
    assert code == 0, err
    assert f"built {db}: runs fx" in out
    assert "added 40 generations" in out and "skipped 1 of 41 lines: 1 not JSON (line 41" in out
    assert "min_model_support = 5" in out
    code, out, err = run(capsys, "warehouse", "set", "--db", db)
    assert code == 0
    for key in ("data_run", "data_window", "min_support", "z", "resamples", "permutations"):
        assert re.search(rf"^  {key} +=", out, re.MULTILINE), key
    code, out, err = run(capsys, "warehouse", "set", "z=abc", "--db", db)
    assert code == 2 and err == "tracebias: error: z=abc: not a number\n"
    code, out, err = run(capsys, "sql", "SELECT occupation, round(p, 3) AS p FROM data_default "
                         "ORDER BY p DESC", "--db", db, "--format", "csv")
    assert code == 0 and out.splitlines()[:2] == ["occupation,p", "nurse,0.8"]
    code, out, err = run(capsys, "sql", "SELECT p FROM data_default WHERE occupation = $o",
                         "--db", db, "--param", "o=nurse", "--format", "csv")
    assert out.splitlines() == ["p", "0.8"]
    code, out, err = run(capsys, "warehouse", "add-generations", str(gens), "--db", db)
    assert code == 0 and "already loaded" in out


@pytest.mark.parametrize("query", ["SELEC 1", "SELECT * FROM no_such_view",
                                   "SELECT window FROM data_share",
                                   "SELECT 1/0::INTEGER, error('boom')"])
def test_sql_errors_are_one_line(tmp_path, capsys, query):
    w = build(tmp_path, generations=False)
    w.close()
    code, _, err = run(capsys, "sql", query, "--db", str(tmp_path / "w.duckdb"))
    assert code == 2
    assert err.startswith("tracebias: error: ") and err.count("\n") == 1, err


def test_command_errors_are_one_line_and_create_nothing(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    code, _, err = run(capsys, "warehouse", "build", "--counts", str(tmp_path / "nope"),
                         "--db", str(db))
    assert (code, err.count("\n")) == (2, 1) and "no such counts directory" in err
    assert not db.exists()
    counts = write_run(tmp_path / "c")
    (counts / "shards.parquet").unlink()
    code, _, err = run(capsys, "warehouse", "build", "--counts", str(counts), "--db", str(db))
    assert code == 2 and "shards.parquet: missing (listed in manifest.json)" in err
    assert err.count("\n") == 1 and not db.exists()
    code, _, err = run(capsys, "sql", "SELECT 1", "--db", str(tmp_path / "none.duckdb"))
    assert code == 2 and "no warehouse at" in err
    (tmp_path / "text.duckdb").write_text("not a database\n")
    code, _, err = run(capsys, "sql", "SELECT 1", "--db", str(tmp_path / "text.duckdb"))
    assert code == 2 and "cannot open as a DuckDB database" in err and err.count("\n") == 1
    code, _, err = run(capsys, "warehouse", "set", "z=2", "--db", str(tmp_path / "none.duckdb"))
    assert code == 2 and "no warehouse at" in err and not (tmp_path / "none.duckdb").exists()


def test_no_column_is_a_reserved_word(tmp_path):
    w = build(tmp_path, bootstrap=True)
    add_probes(w)
    (tmp_path / "s.csv").write_text("model,stage,occupation,metric,value\n"
                                    "m1,base,nurse,winobias_llr,0.5\n")
    w.add_scores(tmp_path / "s.csv")
    reserved = {r[0] for r in w.con.execute(
        "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'"
    ).fetchall()}
    cols = w.con.execute("SELECT table_name, column_name FROM duckdb_columns() "
                         "WHERE NOT internal").fetchall()
    names = w.con.execute("SELECT table_name FROM duckdb_tables() UNION ALL "
                          "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    assert len({t for t, _ in cols}) > 50
    bad = [(t, c) for t, c in cols if c.lower() in reserved]
    bad += [(t, None) for (t,) in names if t.lower() in reserved]
    assert bad == []
    for f in sorted((ROOT / "engine" / "warehouse" / "sql").glob("*.sql")):
        text = f.read_text()
        assert '"window"' not in text and '"both"' not in text, f.name
    w.close()


def sql_blocks(path: Path) -> list[str]:
    return re.findall(r"```sql\n(.*?)```", path.read_text(), re.DOTALL)


def test_every_sql_block_of_docs_metrics_runs(tmp_path):
    blocks = sql_blocks(ROOT / "docs" / "metrics.md")
    assert len(blocks) >= 5
    w = build(tmp_path, bootstrap=True)
    add_probes(w)
    for block in blocks:
        for stmt in w.con.extract_statements(block):
            try:
                w.con.execute(stmt).fetchall()
            except duckdb.Error as e:  # pragma: no cover - the message is the failure
                pytest.fail(f"docs/metrics.md block failed: {stmt.query.strip()[:200]}\n{e}")
    w.close()


def test_the_counts_manifest_written_by_hand_matches_the_table_specs(tmp_path):
    # the fixture must keep using the real specs: a drift here would test nothing
    from engine.count import tables as T

    run_dir = write_run(tmp_path / "c", bootstrap=True)
    m = json.loads((run_dir / "manifest.json").read_text())
    assert m["format"] == T.FORMAT
    assert set(m["tables"]) == {t.name for t in T.produced(True, 2, 0)}


def test_docs_list_every_view_and_table_with_its_columns(tmp_path):
    from engine.count.tables import TABLES
    from engine.warehouse.schema import raw_view_name

    text = (ROOT / "docs" / "metrics.md").read_text()
    documented = {m.group(1): (m.group(2), m.group(3).strip()) for m in re.finditer(
        r"^\| `([a-z_]+)` \| (view|table) \| ([^|]+) \|$", text, re.MULTILINE)}
    w = build(tmp_path)
    count_views = {raw_view_name(t.name) for t in TABLES}
    actual = {t: (k, c) for t, k, c in w.con.execute("""
        SELECT c.table_name, CASE WHEN any_value(v.view_name) IS NULL THEN 'table' ELSE 'view' END,
               string_agg(c.column_name, ', ' ORDER BY c.column_index)
        FROM duckdb_columns() c LEFT JOIN duckdb_views() v ON v.view_name = c.table_name
        WHERE NOT c.internal AND c.table_name <> 'bias_trace' GROUP BY c.table_name""").fetchall()
              if t not in count_views}
    w.close()
    assert documented == actual
