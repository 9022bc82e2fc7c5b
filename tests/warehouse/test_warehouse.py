"""The DuckDB layer: every metric against values computed by hand on a small fixture.

Fixture (sentence window): data female/male units and model generations per occupation

    occupation  data f/m (sources a+b)   p_data   model f/m/none   p_model  world %
    nurse       80/20 (70/20 + 10/0)     0.8      9/1/0            0.9      90
    engineer    10/40 (5/35 + 5/5)       0.2      1/8/1            1/9      10
    teacher     16/14                    0.5333   6/4/0            0.6      70
    pilot       1/4  (below min support) 0.2      0/10/0           0.0       5

Hand-worked results over the 3 supported occupations are in the asserts below.
"""
from __future__ import annotations

import json
import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.lexicon import load_lexicon
from engine.run.output import COOC_SCHEMA, REJECT_SCHEMA, SHARD_SCHEMA, TERM_SCHEMA
from engine.warehouse import Warehouse, WarehouseError, parse_counts_arg

DATA = {  # (source, occupation): (female_only, male_only, both, units)
    ("a", "nurse"): (70, 20, 5, 100), ("b", "nurse"): (10, 0, 0, 12),
    ("a", "engineer"): (5, 35, 0, 45), ("b", "engineer"): (5, 5, 0, 11),
    ("a", "teacher"): (16, 14, 0, 33), ("a", "pilot"): (1, 4, 0, 6),
}
GENS = {"nurse": (9, 1, 0), "engineer": (1, 8, 1), "teacher": (6, 4, 0), "pilot": (0, 10, 0)}
WORLD = {"nurse": 90.0, "engineer": 10.0, "teacher": 70.0, "pilot": 5.0}


def write_counts(d):
    d.mkdir(parents=True)
    rows = [{"source": s, "window": "sentence", "window_kind": "sentence", "window_k": None,
             "occupation": o, "units": u, "male_only": m, "female_only": f, "both": b,
             "male_terms": m + b, "female_terms": f + b} for (s, o), (f, m, b, u) in DATA.items()]
    pq.write_table(pa.Table.from_pylist(rows, COOC_SCHEMA), d / "cooccurrence.parquet")
    terms = [{"source": "a", "window": "sentence", "window_kind": "sentence", "window_k": None,
              "occupation": "nurse", "gender": g, "term": t, "term_count": c, "units_with_term": c}
             for g, t, c in (("female", "she", 60), ("female", "her", 30), ("male", "he", 25))]
    pq.write_table(pa.Table.from_pylist(terms, TERM_SCHEMA), d / "term_cooccurrence.parquet")
    pq.write_table(SHARD_SCHEMA.empty_table(), d / "shards.parquet")
    pq.write_table(REJECT_SCHEMA.empty_table(), d / "rejects.parquet")
    lex = load_lexicon("tracing-bias")
    (d / "manifest.json").write_text(json.dumps({
        "lexicon": {"name": lex.name, "version": lex.version, "sha256": lex.sha256()},
        "windows": ["sentence"], "totals": {"documents": 10}, "started": "s", "finished": "f"}))


def write_generations(path):
    text = {"female": "She is kind.", "male": "He is kind.", "none": "They are kind."}
    with open(path, "w") as fh:
        for occ, (f, m, none) in GENS.items():
            for cls, n in (("female", f), ("male", m), ("none", none)):
                for i in range(n):
                    fh.write(json.dumps({"model": "m1", "stage": "base", "occupation": occ,
                                         "template": "T1", "prompt": f"The {occ} is",
                                         "text": text[cls]}) + "\n")


@pytest.fixture
def wh(tmp_path):
    write_counts(tmp_path / "counts")
    write_generations(tmp_path / "gens.jsonl")
    w = Warehouse(tmp_path / "w.duckdb")
    w.build([parse_counts_arg(f"fx={tmp_path / 'counts'}")],
            {"min_support": 20, "min_model_support": 5})
    for occ, pct in WORLD.items():
        w.con.execute("DELETE FROM world_stats WHERE occupation = ?", [occ])
        w.con.execute("INSERT INTO world_stats VALUES (?, ?, 'test', 'test', '')", [occ, pct])
    w.add_generations(tmp_path / "gens.jsonl", load_lexicon("tracing-bias"))
    yield w
    w.close()


def one(w, query, params=None):
    rows = w.sql(query, params).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


def test_data_share_wilson_and_log_odds(wh):
    r = one(wh, "SELECT * FROM data_share WHERE source = '*' AND occupation = 'nurse'")
    assert (r["female_only"], r["male_only"], r["n"], r["units"]) == (80, 20, 100, 112)
    assert r["p"] == pytest.approx(0.8)
    assert r["log_odds"] == pytest.approx(math.log(80.5 / 20.5))
    assert (r["p_low"], r["p_high"]) == (pytest.approx(0.711169, abs=1e-6),
                                         pytest.approx(0.866634, abs=1e-6))
    a = one(wh, "SELECT p FROM data_share WHERE source = 'a' AND occupation = 'nurse'")
    assert a["p"] == pytest.approx(70 / 90)
    assert one(wh, "SELECT low_support FROM data_share WHERE source='*' AND occupation='pilot'")[
        "low_support"] is True


def test_term_level_share(wh):
    r = one(wh, "SELECT * FROM data_term_share WHERE source = '*' AND occupation = 'nurse'")
    assert (r["female_terms"], r["male_terms"]) == (90, 25)
    assert r["p"] == pytest.approx(90 / 115)
    shares = {d["term"]: d["share_of_gender_mentions"]
              for d in wh.sql("SELECT * FROM term_share WHERE occupation = 'nurse'").to_dicts()}
    assert shares == {"she": pytest.approx(60 / 115), "her": pytest.approx(30 / 115),
                      "he": pytest.approx(25 / 115)}


def test_generations_are_classified_with_the_lexicon(wh):
    r = one(wh, "SELECT * FROM model_share WHERE template = '*' AND occupation = 'engineer'")
    assert (r["generations"], r["female_only"], r["male_only"], r["none"]) == (10, 1, 8, 1)
    assert r["p"] == pytest.approx(1 / 9)


def test_amplification_per_occupation(wh):
    rows = {d["occupation"]: d for d in wh.sql(
        "SELECT * FROM amplification WHERE template = '*'").to_dicts()}
    assert rows["nurse"]["amplification"] == pytest.approx(0.1)
    assert rows["engineer"]["amplification"] == pytest.approx(1 / 9 - 0.2)
    assert rows["teacher"]["amplification"] == pytest.approx(0.6 - 16 / 30)
    assert rows["pilot"]["low_support"] is True
    assert rows["nurse"]["tvd_data_world"] == pytest.approx(0.1)
    assert rows["teacher"]["tvd_model_world"] == pytest.approx(0.1)


def test_summary_metrics_by_hand(wh):
    s = one(wh, "SELECT * FROM amplification_summary WHERE template = '*'")
    assert s["n_occupations"] == 3 and s["n_low_support"] == 1
    assert s["mean_amplification"] == pytest.approx(0.0777778 / 3, abs=1e-6)
    assert s["mean_abs_amplification"] == pytest.approx(0.2555556 / 3, abs=1e-6)
    assert s["mean_tvd_data_world"] == pytest.approx(0.3666667 / 3, abs=1e-6)
    assert s["mean_tvd_model_world"] == pytest.approx(0.1111111 / 3, abs=1e-6)
    # Zhao et al. 2017: nurse +0.1, engineer +0.0889 (data favours men), teacher +0.0667
    assert s["bias_amplification_zhao"] == pytest.approx(0.2555556 / 3, abs=1e-6)
    # Wang & Russakovsky 2021 (T->A): pooled P(female) = 106/180 = 0.5889 > teacher's 0.533,
    # so teacher counts against: (0.2 + 0.1778 - 0.1333) / 6
    assert s["directional_amplification"] == pytest.approx(0.2444444 / 6, abs=1e-6)
    x = [0.8, 0.2, 16 / 30]
    y = [0.9, 1 / 9, 0.6]
    mx, my = sum(x) / 3, sum(y) / 3
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y))
    vx = sum((a - mx) ** 2 for a in x)
    vy = sum((b - my) ** 2 for b in y)
    assert s["pearson"] == pytest.approx(cov / math.sqrt(vx * vy))
    assert s["spearman"] == pytest.approx(1.0)
    assert s["slope"] == pytest.approx(0.24 / 0.1811111, abs=1e-5)  # through (0.5, 0.5)
    assert s["slope_ols"] == pytest.approx(cov / vx)


def test_bias_trace_side_by_side(wh):
    r = one(wh, "SELECT * FROM bias_trace WHERE occupation = 'nurse'")
    assert r["world_pct"] == 90.0
    assert r["data_pct"] == pytest.approx(80.0)
    assert r["m1 / base %"] == pytest.approx(90.0)


def test_settings_change_views(wh):
    wh.set("min_support", 3)
    s = one(wh, "SELECT n_occupations FROM amplification_summary WHERE template = '*'")
    assert s["n_occupations"] == 4


def test_scores_and_parameters(wh, tmp_path):
    (tmp_path / "scores.csv").write_text(
        "model,stage,occupation,metric,value\nm1,base,nurse,logp_she_minus_he,1.5\n"
        "m1,base,engineer,logp_she_minus_he,-2.0\nm1,base,teacher,logp_she_minus_he,0.3\n")
    assert wh.add_scores(tmp_path / "scores.csv") == 3
    r = one(wh, "SELECT * FROM score_correlation")
    assert r["n_occupations"] == 3 and r["pearson"] > 0.9
    # a hostile value is only ever a parameter
    hostile = "nurse'; DROP TABLE model_scores; --"
    assert wh.sql("SELECT * FROM data_share WHERE occupation = $occ", {"occ": hostile}).height == 0
    assert wh.sql("SELECT count(*) AS n FROM model_scores").to_dicts()[0]["n"] == 3


def test_errors(tmp_path):
    with pytest.raises(WarehouseError, match="not a finished counts directory"):
        parse_counts_arg(str(tmp_path))
    write_counts(tmp_path / "c")
    with pytest.raises(WarehouseError, match="run name"):
        parse_counts_arg(f"bad name={tmp_path / 'c'}")
    (tmp_path / "g.jsonl").write_text(json.dumps({"model": "m", "text": "x"}) + "\n")
    with Warehouse(tmp_path / "w.duckdb") as w:
        w.build([parse_counts_arg(str(tmp_path / "c"))])
        with pytest.raises(WarehouseError, match="generations need columns"):
            w.add_generations(tmp_path / "g.jsonl")
