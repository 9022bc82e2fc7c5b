"""The binary-gender views against values computed by hand on the fixture of
tests/warehouse/fixtures.py, and the warehouse's build, settings and loading rules.

    occupation  data f/m (sources a+b)   p_data   model f/m/none   p_model  world %
    nurse       80/20 (70/20 + 10/0)     0.8      9/1/0            0.9      90
    engineer    10/40 (5/35 + 5/5)       0.2      1/8/1            1/9      10
    teacher     16/14                    0.5333   6/4/0            0.6      70
    pilot       1/4  (below min support) 0.2      0/10/0           0.0       5
"""
from __future__ import annotations

import json
import math
import shutil

import pytest

from engine.count import tables as T
from engine.warehouse import Warehouse, WarehouseError, parse_counts_arg
from engine.warehouse.schema import duckdb_type
from tests.warehouse.conftest import build, one, rows_by
from tests.warehouse.fixtures import DATA, write_generations, write_run

SUPPORTED = ("nurse", "engineer", "teacher")
P_DATA = {"nurse": 0.8, "engineer": 0.2, "teacher": 16 / 30}
P_MODEL = {"nurse": 0.9, "engineer": 1 / 9, "teacher": 0.6}
N_DATA = {"nurse": 100, "engineer": 50, "teacher": 30}


def test_data_share_wilson_and_log_odds(wh_ro):
    r = one(wh_ro, "SELECT * FROM data_share WHERE source = '*' AND occupation = 'nurse'")
    assert (r["female_only"], r["male_only"], r["female_and_male"], r["n"], r["units"]) == \
        (80, 20, 5, 100, 112)
    assert (r["window_label"], r["window_kind"], r["window_k"]) == ("sentence", "sentence", None)
    assert r["p"] == pytest.approx(0.8)
    assert r["log_odds"] == pytest.approx(math.log(80.5 / 20.5))
    assert (r["p_low"], r["p_high"]) == (pytest.approx(0.711169, abs=1e-6),
                                         pytest.approx(0.866634, abs=1e-6))
    a = one(wh_ro, "SELECT p FROM data_share WHERE source = 'a' AND occupation = 'nurse'")
    assert a["p"] == pytest.approx(70 / 90)
    assert one(wh_ro, "SELECT low_support FROM data_share WHERE source='*' AND occupation='pilot'")[
        "low_support"] is True


def test_term_level_share(wh_ro):
    r = one(wh_ro, "SELECT * FROM data_term_share WHERE source = '*' AND occupation = 'nurse'")
    assert (r["female_terms"], r["male_terms"]) == (90, 25)
    assert r["p"] == pytest.approx(90 / 115)
    shares = {d["term"]: d["share_of_gender_mentions"]
              for d in wh_ro.sql("SELECT * FROM term_share WHERE occupation = 'nurse'").to_dicts()}
    assert shares == {"she": pytest.approx(60 / 115), "her": pytest.approx(30 / 115),
                      "he": pytest.approx(25 / 115)}


def test_generations_are_classified_with_the_lexicon(wh_ro):
    r = one(wh_ro, "SELECT * FROM model_share WHERE template = '*' AND occupation = 'engineer'")
    assert (r["generations"], r["female_only"], r["male_only"], r["none"]) == (10, 1, 8, 1)
    assert r["p"] == pytest.approx(1 / 9) and r["kind"] == "generations"


def test_amplification_per_occupation(wh_ro):
    rows = rows_by(wh_ro, "SELECT * FROM amplification WHERE template = '*'", "occupation")
    assert rows["nurse"]["amplification"] == pytest.approx(0.1)
    assert rows["engineer"]["amplification"] == pytest.approx(1 / 9 - 0.2)
    assert rows["teacher"]["amplification"] == pytest.approx(0.6 - 16 / 30)
    assert rows["pilot"]["low_support"] is True
    assert rows["nurse"]["tvd_data_world"] == pytest.approx(0.1)
    assert rows["teacher"]["tvd_model_world"] == pytest.approx(0.1)
    # Zhao term: the model's minus the data's share of the gender the data favours
    assert rows["engineer"]["zhao_term"] == pytest.approx(0.2 - 1 / 9)


def _pearson(x, y):
    mx, my = sum(x) / len(x), sum(y) / len(y)
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y))


def test_summary_metrics_by_hand(wh_ro):
    s = one(wh_ro, "SELECT * FROM amplification_summary WHERE template = '*'")
    assert s["n_occupations"] == 3 and s["n_low_support"] == 1
    assert s["mean_amplification"] == pytest.approx(0.0777778 / 3, abs=1e-6)
    assert s["mean_abs_amplification"] == pytest.approx(0.2555556 / 3, abs=1e-6)
    assert s["mean_tvd_data_world"] == pytest.approx(0.3666667 / 3, abs=1e-6)
    assert s["mean_tvd_model_world"] == pytest.approx(0.1111111 / 3, abs=1e-6)
    # Zhao et al. 2017: nurse +0.1, engineer +0.0889 (data favours men), teacher +0.0667
    assert s["bias_amplification_zhao"] == pytest.approx(0.2555556 / 3, abs=1e-6)
    x = [P_DATA[o] for o in SUPPORTED]
    y = [P_MODEL[o] for o in SUPPORTED]
    assert s["pearson"] == pytest.approx(_pearson(x, y))
    assert s["spearman"] == pytest.approx(1.0)
    assert s["slope"] == pytest.approx(0.24 / 0.1811111, abs=1e-5)  # through (0.5, 0.5)
    mx = sum(x) / 3
    assert s["slope_ols"] == pytest.approx(
        sum((a - mx) * (b - sum(y) / 3) for a, b in zip(x, y)) / sum((a - mx) ** 2 for a in x))


def test_directional_amplification_both_directions_by_hand(wh_ro):
    """Wang & Russakovsky 2021 with P(a) from the whole data side (pilot included)."""
    s = one(wh_ro, "SELECT * FROM amplification_summary WHERE template = '*'")
    f = {"nurse": 80, "engineer": 10, "teacher": 16, "pilot": 1}
    m = {"nurse": 20, "engineer": 40, "teacher": 14, "pilot": 4}
    p_female = sum(f.values()) / (sum(f.values()) + sum(m.values()))  # 107/185
    p_a = {"female": p_female, "male": 1 - p_female}
    pd = {("female", o): P_DATA[o] for o in SUPPORTED} | {("male", o): 1 - P_DATA[o]
                                                          for o in SUPPORTED}
    pm = {("female", o): P_MODEL[o] for o in SUPPORTED} | {("male", o): 1 - P_MODEL[o]
                                                           for o in SUPPORTED}
    # T -> A: Delta = P_model(a|t) - P_data(a|t)
    t2a = 0.0
    for a in ("female", "male"):
        for o in SUPPORTED:
            d = pm[a, o] - pd[a, o]
            t2a += d if pd[a, o] > p_a[a] else -d
    assert s["directional_amplification"] == pytest.approx(t2a / 6)
    assert s["directional_amplification"] == pytest.approx(0.2444444 / 6, abs=1e-6)
    # A -> T: P(t|a) by Bayes with the data's P(t) = n_t / sum n
    a2t = 0.0
    for a in ("female", "male"):
        zd = sum(pd[a, o] * N_DATA[o] for o in SUPPORTED)
        zm = sum(pm[a, o] * N_DATA[o] for o in SUPPORTED)
        for o in SUPPORTED:
            d = pm[a, o] * N_DATA[o] / zm - pd[a, o] * N_DATA[o] / zd
            a2t += d if pd[a, o] > p_a[a] else -d
    assert s["directional_amplification_a_to_t"] == pytest.approx(a2t / 6)
    assert s["directional_amplification_a_to_t"] == pytest.approx(0.0525384, abs=1e-6)


def test_summary_permutation_p_values_are_exact_for_three_occupations(wh_ro):
    """n = 3: all 3! pairings are enumerated. Pearson: only the observed pairing reaches
    |r| = 0.9973; Spearman: the observed and the reversed ranks reach |rho| = 1."""
    s = one(wh_ro, "SELECT * FROM amplification_summary WHERE template = '*'")
    assert s["pearson_p"] == pytest.approx(1 / 6)
    assert s["spearman_p"] == pytest.approx(2 / 6)
    assert s["slope_p"] == pytest.approx(s["pearson_p"])
    assert s["resamples"] == 1000 and s["resampling"] == "targets"
    # every bootstrap draw is a mean of the three per-occupation values: inside their range
    terms = [0.1, 0.2 - 1 / 9, 0.6 - 16 / 30]
    assert min(terms) - 1e-12 <= s["bias_amplification_zhao_low"] \
        <= s["bias_amplification_zhao"] <= s["bias_amplification_zhao_high"] <= max(terms) + 1e-12
    amps = [P_MODEL[o] - P_DATA[o] for o in SUPPORTED]
    assert min(amps) - 1e-12 <= s["mean_amplification_low"] < s["mean_amplification_high"] \
        <= max(amps) + 1e-12


def test_bias_trace_side_by_side(wh_ro):
    r = one(wh_ro, "SELECT * FROM bias_trace WHERE occupation = 'nurse'")
    assert r["world_pct"] == 90.0
    assert r["data_pct"] == pytest.approx(80.0)
    assert r["m1 / base %"] == pytest.approx(90.0)


def test_settings_change_views(wh):
    wh.set("min_support", 3)
    s = one(wh, "SELECT n_occupations, resamples FROM amplification_summary WHERE template = '*'")
    assert s["n_occupations"] == 4
    wh.set_many({"resamples": 0, "permutations": 0})
    s = one(wh, "SELECT * FROM amplification_summary WHERE template = '*'")
    assert s["pearson_p"] is None and s["mean_amplification_low"] is None


@pytest.mark.parametrize("pair, message", [
    (("z", "abc"), "z=abc: not a number"),
    (("z", "-1.96"), "z=-1.96: must be a positive number"),
    (("min_support", "abc"), "min_support=abc: not a whole number"),
    (("min_support", "-3"), "min_support=-3: must be 0 or more"),
    (("colour", "red"), "unknown setting 'colour'; settings: data_run"),
    (("data_window", "words:5"), "data_window=words:5: run 'fx' was not counted with that window"),
    (("data_run", "other"), "data_run=other: not a run of this warehouse"),
])
def test_settings_are_validated(wh, pair, message):
    before = wh.settings()
    with pytest.raises(WarehouseError, match=message.replace("(", r"\(").replace("*", r"\*")):
        wh.set(*pair)
    assert wh.settings() == before


def test_a_window_the_run_counted_is_accepted(wh):
    wh.set("data_window", "words:10")  # counted (manifest windows), no rows in the fixture
    assert wh.setting("data_window") == "words:10"
    assert wh.sql("SELECT * FROM data_default").height == 0


def test_scores_and_parameters(wh, tmp_path):
    (tmp_path / "scores.csv").write_text(
        "model,stage,occupation,metric,value\nm1,base,nurse,logp_she_minus_he,1.5\n"
        "m1,base,engineer,logp_she_minus_he,-2.0\nm1,base,teacher,logp_she_minus_he,0.3\n"
        "m1,base,Nurses,logp_she_minus_he,0.3\nm1,base,teacher,logp_she_minus_he,abc\n")
    rep = wh.add_scores(tmp_path / "scores.csv")
    assert (rep.rows_added, rep.rows_skipped) == (3, 2)
    assert "unknown occupation 'Nurses' (did you mean 'nurse'? plural differs)" in rep.summary()
    assert "value is not a number ('abc')" in rep.summary()
    r = one(wh, "SELECT * FROM score_correlation")
    assert r["n_occupations"] == 3 and r["pearson"] > 0.9
    assert wh.add_scores(tmp_path / "scores.csv").status == "unchanged"
    # a hostile value is only ever a parameter
    hostile = "nurse'; DROP TABLE model_scores; --"
    assert wh.sql("SELECT * FROM data_share WHERE occupation = $occ", {"occ": hostile}).height == 0
    assert wh.sql("SELECT count(*) AS n FROM model_scores").to_dicts()[0]["n"] == 3


# ---- loading generations -------------------------------------------------------------------
def test_skipped_generation_lines_are_reported(wh, tmp_path):
    bad = [
        "{not json",
        json.dumps({"model": "m1", "occupation": "nurse", "prompt": "p", "text": None}),
        json.dumps({"model": "m1", "occupation": "nurse", "prompt": "p", "text": 42}),
        json.dumps({"model": "m1", "occupation": "Nurse", "prompt": "p", "text": "she"}),
        json.dumps({"model": "m1", "occupation": "nurses", "prompt": "p", "text": "she"}),
        json.dumps({"model": "m1", "occupation": "astronaut", "prompt": "p", "text": "she"}),
        json.dumps({"model": "m1", "occupation": "nurse", "template": "*", "text": "she"}),
        json.dumps([1, 2]),
    ]
    path = write_generations(tmp_path / "g2.jsonl", model="m9", extra=bad)
    rep = wh.add_generations(path)
    assert (rep.rows_read, rep.rows_added, rep.rows_skipped) == (48, 40, 8)
    reasons = {line: reason for line, reason, _ in rep.rejects}
    assert reasons[41].startswith("not JSON")
    assert reasons[42] == "text is not a string (null)"
    assert reasons[43] == "text is not a string (int)"
    assert reasons[44] == "unknown occupation 'Nurse' (did you mean 'nurse'? case differs)"
    assert reasons[45] == "unknown occupation 'nurses' (did you mean 'nurse'? plural differs)"
    assert reasons[46] == "unknown occupation 'astronaut'"
    assert reasons[47] == "template '*' is reserved for the rows that pool all templates"
    assert reasons[48] == "not a JSON object (list)"
    summary = rep.summary()
    assert summary.startswith(f"added 40 generations from {path}; skipped 8 of 48 lines:")
    assert "3 unknown occupation" in summary and "see the load_rejects table" in summary
    stored = wh.sql("SELECT line, reason FROM load_rejects ORDER BY line").to_dicts()
    assert [r["line"] for r in stored] == list(range(41, 49))


def test_loads_are_idempotent_by_content(wh, tmp_path):
    n0 = one(wh, "SELECT count(*) AS n FROM model_generations")["n"]
    again = wh.add_generations(tmp_path / "gens.jsonl")
    assert again.status == "unchanged" and "already loaded" in again.summary()
    copy = tmp_path / "copy.jsonl"
    shutil.copy(tmp_path / "gens.jsonl", copy)
    assert wh.add_generations(copy).status == "unchanged"
    assert one(wh, "SELECT count(*) AS n FROM model_generations")["n"] == n0
    # a grown file at the same path (a resumed `generate`) replaces its earlier rows
    with open(tmp_path / "gens.jsonl", "a") as fh:
        fh.write(json.dumps({"model": "m1", "stage": "base", "occupation": "pilot",
                             "template": "T1", "text": "She flew."}) + "\n")
    rep = wh.add_generations(tmp_path / "gens.jsonl")
    assert (rep.status, rep.replaced_rows, rep.rows_added) == ("replaced", n0, n0 + 1)
    assert one(wh, "SELECT count(*) AS n FROM model_generations")["n"] == n0 + 1
    assert one(wh, "SELECT count(*) AS n FROM generation_axes")["n"] == 2 * (n0 + 1)
    assert one(wh, "SELECT count(*) AS n FROM loads WHERE kind = 'generations'")["n"] == 1
    r = one(wh, "SELECT female_only, male_only FROM model_share "
                "WHERE template = '*' AND occupation = 'pilot'")
    assert (r["female_only"], r["male_only"]) == (1, 10)


def test_generations_without_template_are_their_own_group(wh, tmp_path):
    wh.add_generations(write_generations(tmp_path / "nt.jsonl", template=None))
    rows = wh.sql("SELECT template, count(*) AS k, sum(generations) AS g FROM model_share "
                  "WHERE occupation = 'nurse' GROUP BY template ORDER BY template").to_dicts()
    assert rows == [{"template": "(none)", "k": 1, "g": 10}, {"template": "*", "k": 1, "g": 20},
                    {"template": "T1", "k": 1, "g": 10}]
    dup = wh.sql("SELECT model, stage, template, decoding, occupation, kind, count(*) FROM "
                 "model_share GROUP BY ALL HAVING count(*) > 1")
    assert dup.height == 0


def test_generations_need_their_columns(wh, tmp_path):
    (tmp_path / "g.jsonl").write_text(json.dumps({"model": "m", "text": "x"}) + "\n")
    with pytest.raises(WarehouseError, match="generations need columns"):
        wh.add_generations(tmp_path / "g.jsonl")
    with pytest.raises(WarehouseError, match="file not found"):
        wh.add_generations(tmp_path / "missing.jsonl")


# ---- building --------------------------------------------------------------------------------
def test_every_count_table_has_a_view_and_missing_ones_are_empty_and_typed(wh_ro):
    cols = {(r["table_name"], r["column_name"]): r["data_type"] for r in wh_ro.sql(
        "SELECT table_name, column_name, data_type FROM duckdb_columns()").to_dicts()}
    for spec in T.TABLES:
        view = "representation_counts" if spec.name == "representation" else spec.name
        assert cols[(view, "run")] == "VARCHAR"
        for f in spec.schema:
            assert cols[(view, f.name)] == duckdb_type(f.type), (view, f.name)
    assert one(wh_ro, "SELECT count(*) AS n FROM contexts")["n"] == 0  # not in the manifest
    assert one(wh_ro, "SELECT count(*) AS n FROM bootstrap")["n"] == 0
    assert one(wh_ro, "SELECT count(*) AS n FROM rejects")["n"] == 1
    assert one(wh_ro, "SELECT tables FROM runs")["tables"] == sorted(
        json.loads(one(wh_ro, "SELECT manifest FROM runs")["manifest"])["tables"])


def test_lexicon_tables(wh_ro):
    t = rows_by(wh_ro, "SELECT * FROM lexicon_targets", "target")
    assert (t["nurse"]["sector"], t["nurse"]["pct_female"], t["nurse"]["target_set"]) == \
        ("Health", 90.0, None)
    assert t["office"]["target_set"] == "career"
    ref = rows_by(wh_ro, "SELECT * FROM target_reference WHERE target = 'nurse'",
                  ("axis", "group_name"))
    assert ref[("religion", "muslim")]["share"] == pytest.approx(0.3)
    assert ref[("gender", "female")]["share"] == pytest.approx(0.9)
    g = wh_ro.sql("SELECT axis, group_name FROM lexicon_groups ORDER BY axis, group_order").rows()
    assert g == [("gender", "female"), ("gender", "male"), ("religion", "christian"),
                 ("religion", "muslim"), ("religion", "jewish")]


def test_unlisted_parquet_files_are_not_loaded(tmp_path):
    run = write_run(tmp_path / "c")
    shutil.copy(run / "cooccurrence.parquet", run / "bootstrap.parquet")  # stale, not listed
    r = parse_counts_arg(str(run))
    assert r.ignored == ("bootstrap.parquet",)
    with Warehouse(tmp_path / "w.duckdb") as w:
        notes = w.build([r])
        assert notes == [f"{run}/bootstrap.parquet: not listed in manifest.json; not loaded"]
        assert one(w, "SELECT count(*) AS n FROM bootstrap")["n"] == 0


def _edit_manifest(run, fn):
    m = json.loads((run / "manifest.json").read_text())
    fn(m)
    (run / "manifest.json").write_text(json.dumps(m))


@pytest.mark.parametrize("damage, message", [
    (lambda run: (run / "cooccurrence.parquet").unlink(),
     r"cooccurrence.parquet: missing \(listed in manifest.json\)"),
    (lambda run: _edit_manifest(run, lambda m: m["tables"]["shards"].update(bytes=5)),
     r"shards.parquet: [\d,]+ bytes, manifest.json says 5"),
    (lambda run: _edit_manifest(run, lambda m: m["tables"]["shards"].update(rows=3)),
     r"shards.parquet: 2 rows, manifest.json says 3"),
    (lambda run: _edit_manifest(run, lambda m: m.update(format="tracebias-counts/1")),
     r"counts format tracebias-counts/1 is older than tracebias-counts/2"),
    (lambda run: _edit_manifest(run, lambda m: m.pop("format")),
     r"is older than tracebias-counts/2"),
    (lambda run: _edit_manifest(run, lambda m: m.pop("tables")),
     r"no 'tables' object"),
    (lambda run: (run / "lexicon.json").unlink(), r"lexicon.json: missing"),
    (lambda run: (run / "manifest.json").unlink(), r"is not a finished counts directory"),
    (lambda run: (run / "target_units.parquet").write_bytes(b"garbage"),
     r"target_units.parquet: "),
])
def test_inconsistent_runs_are_refused_naming_the_file(tmp_path, damage, message):
    run = write_run(tmp_path / "c")
    damage(run)
    with pytest.raises(WarehouseError, match=message) as e:
        parse_counts_arg(str(run))
    assert "\n" not in str(e.value)


def test_a_file_of_another_schema_is_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    run = write_run(tmp_path / "c")
    old = pq.read_table(run / "cooccurrence.parquet").rename_columns(
        ["source", "window", "window_kind", "window_k", "occupation", "units", "male_only",
         "female_only", "both", "male_terms", "female_terms"])
    pq.write_table(old, run / "cooccurrence.parquet")
    _edit_manifest(run, lambda m: m["tables"]["cooccurrence"].update(
        bytes=(run / "cooccurrence.parquet").stat().st_size))
    with pytest.raises(WarehouseError, match="columns window_label, female_and_male are missing"):
        parse_counts_arg(str(run))
    assert isinstance(old, pa.Table)


def test_a_failed_build_leaves_the_old_warehouse_untouched(tmp_path):
    w = build(tmp_path)
    w.close()
    before = (tmp_path / "w.duckdb").read_bytes()
    run2 = write_run(tmp_path / "c2")
    r2 = parse_counts_arg(f"x={run2}")
    (run2 / "group_cooccurrence.parquet").unlink()  # vanishes after the check
    with Warehouse(tmp_path / "w.duckdb") as w, \
            pytest.raises(WarehouseError, match="group_cooccurrence.parquet") as e:
        w.build([r2])
    assert "\n" not in str(e.value) and "left as it was" in str(e.value)
    assert (tmp_path / "w.duckdb").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if "building" in p.name] == []
    # nothing is created for a new path either
    with Warehouse(tmp_path / "new.duckdb") as w, pytest.raises(WarehouseError):
        w.build([r2])
    assert not (tmp_path / "new.duckdb").exists()


def test_a_rebuild_keeps_model_outputs_and_settings(tmp_path):
    w = build(tmp_path)
    w.set("min_support", 25)
    n = one(w, "SELECT count(*) AS n FROM model_generations")["n"]
    w.close()
    with Warehouse(tmp_path / "w.duckdb") as w:
        w.build([parse_counts_arg(f"fx={tmp_path / 'counts'}")], {"min_model_support": 5})
        assert one(w, "SELECT count(*) AS n FROM model_generations")["n"] == n
        assert w.setting("min_support") == "25"
        assert one(w, "SELECT count(*) AS n FROM loads")["n"] == 1
        assert w.add_generations(tmp_path / "gens.jsonl").status == "unchanged"


def test_build_settings_are_validated_before_any_work(tmp_path):
    run = write_run(tmp_path / "c")
    with Warehouse(tmp_path / "w.duckdb") as w, pytest.raises(WarehouseError, match="z=x"):
        w.build([parse_counts_arg(str(run))], {"z": "x"})
    assert not (tmp_path / "w.duckdb").exists()


def test_two_runs_and_their_names(tmp_path):
    a, b = write_run(tmp_path / "a"), write_run(tmp_path / "b")
    with Warehouse(tmp_path / "w.duckdb") as w:
        with pytest.raises(WarehouseError, match="duplicate run names"):
            w.build([parse_counts_arg(f"x={a}"), parse_counts_arg(f"x={b}")])
        w.build([parse_counts_arg(f"x={a}"), parse_counts_arg(f"y={b}")])
        r = one(w, "SELECT count(DISTINCT run) AS runs, sum(units) AS u FROM cooccurrence")
        assert r == {"runs": 2, "u": 2 * sum(v[3] for v in DATA.values())}
        assert w.setting("data_run") == "x"
        w.set("data_run", "y")
    with pytest.raises(WarehouseError, match="run name"):
        parse_counts_arg(f"bad name={a}")


def write_counts(d):
    """The fixture run (kept for callers of the former helper of this module)."""
    return write_run(d)
