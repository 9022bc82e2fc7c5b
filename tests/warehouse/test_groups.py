"""K-group data-side views against values worked by hand from tests/warehouse/fixtures.py."""
from __future__ import annotations

import math
from statistics import mean, stdev

import pyarrow.parquet as pq
import pytest

from engine.warehouse.settings import percentile_tail
from tests.warehouse.conftest import one, rows_by
from tests.warehouse.fixtures import SENTIMENT, SETS


def wilson(k, n, z=1.96):
    p = k / n
    c = (p + z * z / (2 * n))
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (c - h) / (1 + z * z / n), (c + h) / (1 + z * z / n)


def pct(values, q):
    """numpy's / DuckDB's linear-interpolation quantile, written out."""
    v = sorted(values)
    h = (len(v) - 1) * q
    lo = math.floor(h)
    return v[lo] + (h - lo) * (v[min(lo + 1, len(v) - 1)] - v[lo])


def test_group_share_zero_fills_groups_and_pools_sources(wh_ro):
    rows = rows_by(wh_ro, "SELECT * FROM group_share WHERE source = '*' AND axis = 'religion' "
                       "AND target = 'nurse'", "group_name")
    assert {g: r["units_only"] for g, r in rows.items()} == {"christian": 33, "muslim": 10,
                                                              "jewish": 0}
    assert rows["christian"]["n"] == 43
    assert rows["christian"]["p"] == pytest.approx(33 / 43)
    assert rows["jewish"]["p"] == 0.0
    lo, hi = wilson(33, 43)
    assert (rows["christian"]["p_low"], rows["christian"]["p_high"]) == (pytest.approx(lo),
                                                                        pytest.approx(hi))
    assert rows["muslim"]["units_with"] == 12 and rows["christian"]["units_multi"] == 2
    assert rows["christian"]["units"] == 112 and rows["christian"]["low_support"] is False
    teacher = one(wh_ro, "SELECT * FROM group_share WHERE source = '*' AND axis = 'religion' "
                      "AND target = 'teacher' AND group_name = 'jewish'")
    assert (teacher["n"], teacher["low_support"]) == (10, True)


def test_group_share_of_the_gender_axis_equals_data_share(wh_ro):
    g = wh_ro.sql("SELECT source, target, p, n FROM group_share WHERE axis = 'gender' "
               "AND group_name = 'female' AND target IN ('nurse', 'engineer', 'teacher', 'pilot') "
               "ORDER BY ALL").rows()
    d = wh_ro.sql("SELECT source, occupation, p, n FROM data_share ORDER BY ALL").rows()
    assert g == d


def test_representation_reads_as_the_llama2_table(wh_ro):
    rows = wh_ro.sql("SELECT * FROM representation WHERE axis = 'religion' "
                  "ORDER BY documents DESC LIMIT 5").to_dicts()
    assert [r["term"] for r in rows] == ["Christian", "Muslim", "Jewish"]
    assert list(rows[0]) == ["axis", "group_name", "term", "documents", "mentions",
                             "pct_documents", "pct_axis_documents", "run"]
    # 200 documents in the corpus (shards), 15 mention the religion axis
    assert rows[0]["pct_documents"] == pytest.approx(100 * 10 / 200)
    assert rows[0]["pct_axis_documents"] == pytest.approx(100 * 10 / 15)
    she = one(wh_ro, "SELECT * FROM representation WHERE term = 'she'")
    assert (she["documents"], she["mentions"]) == (60, 92)  # sources a + b
    assert she["pct_axis_documents"] == pytest.approx(100 * 60 / 100)
    by_src = one(wh_ro, "SELECT * FROM representation_by_source WHERE term = 'she' AND source = 'b'")
    assert by_src["pct_documents"] == pytest.approx(100 * 10 / 50)
    assert by_src["pct_axis_documents"] == pytest.approx(100.0)
    g = one(wh_ro, "SELECT * FROM group_representation WHERE group_name = 'female'")
    assert (g["documents"], g["pct_documents"], g["pct_axis_documents"]) == \
        (70, pytest.approx(35.0), pytest.approx(70.0))
    a = one(wh_ro, "SELECT * FROM axis_representation WHERE axis = 'religion'")
    assert (a["documents"], a["pct_documents"], a["corpus_documents"]) == (15, 7.5, 200)
    raw = one(wh_ro, "SELECT sum(documents) AS d FROM representation_counts WHERE term = 'she'")
    assert raw["d"] == 60


def test_set_association_log_odds_ratio_and_effect_size(wh_ro):
    r = one(wh_ro, "SELECT * FROM set_association WHERE source = '*' AND axis = 'gender' "
                "AND group_name = 'female' AND set_a = 'career' AND set_b = 'family'")
    a = SETS["office"][0] + SETS["salary"][0]  # female with career targets: 15
    b = SETS["home"][0] + SETS["children"][0]  # female with family targets: 70
    c = SETS["office"][1] + SETS["salary"][1]  # the rest of the axis (male) with career: 45
    d = SETS["home"][1] + SETS["children"][1]  # 30
    assert (r["units_a"], r["units_b"], r["rest_a"], r["rest_b"]) == (a, b, c, d)
    lor = math.log((a + .5) * (d + .5) / ((b + .5) * (c + .5)))
    se = math.sqrt(1 / (a + .5) + 1 / (b + .5) + 1 / (c + .5) + 1 / (d + .5))
    assert r["log_odds_ratio"] == pytest.approx(lor)
    assert (r["lor_low"], r["lor_high"]) == (pytest.approx(lor - 1.96 * se),
                                             pytest.approx(lor + 1.96 * se))
    s = {t: math.log((f + .5) / (m + .5)) for t, (f, m) in SETS.items()}
    d_eff = (mean([s["office"], s["salary"]]) - mean([s["home"], s["children"]])) / stdev(
        s.values())
    assert r["effect_size"] == pytest.approx(d_eff)
    assert (r["targets_a"], r["targets_b"], r["replicates"], r["lor_boot_low"]) == (2, 2, 0, None)
    male = one(wh_ro, "SELECT * FROM set_association WHERE source = '*' AND group_name = 'male' "
                   "AND set_a = 'career' AND set_b = 'family'")
    assert male["log_odds_ratio"] == pytest.approx(-lor)
    # a pair of sets of which the axis never meets one gets no row
    assert wh_ro.sql("SELECT * FROM set_association WHERE axis = 'gender' "
                  "AND 'positive' IN (set_a, set_b)").height == 0


def test_identity_sentiment(wh_ro):
    rows = rows_by(wh_ro, "SELECT * FROM identity_sentiment WHERE source = '*'", "group_name")
    pos = {g: sum(SENTIMENT[t].get(g, 0) for t in ("wonderful", "lovely"))
           for g in ("christian", "muslim", "jewish")}
    neg = {g: SENTIMENT["terrible"].get(g, 0) for g in pos}
    for g, p in pos.items():
        r = rows[g]
        n = p + neg[g]
        assert (r["positive_units"], r["negative_units"], r["n"]) == (p, neg[g], n)
        assert r["sentiment"] == pytest.approx((p - neg[g]) / n)
        lo, hi = wilson(p, n)
        assert (r["sentiment_low"], r["sentiment_high"]) == (pytest.approx(2 * lo - 1),
                                                            pytest.approx(2 * hi - 1))
    assert rows["christian"]["sentiment"] == pytest.approx(0.5)
    assert rows["jewish"]["low_support"] is True and rows["muslim"]["low_support"] is False
    assert (rows["christian"]["positive_targets"], rows["christian"]["negative_targets"]) == (2, 1)


def test_identity_sentiment_follows_the_set_settings(wh):
    wh.set_many({"positive_set": "family", "negative_set": "career"})
    r = one(wh, "SELECT * FROM identity_sentiment WHERE source = '*' AND group_name = 'female'")
    assert (r["positive_units"], r["negative_units"]) == (70, 15)


def test_replicate_intervals_of_set_association_and_sentiment(wh_boot, tmp_path):
    """Two document replicates: the percentile interval of two values v0 <= v1 is
    (v0 + t (v1 - v0), v1 - t (v1 - v0)), t = 1 - Phi(1.96)."""
    gb = pq.read_table(tmp_path / "counts-boot" / "group_bootstrap.parquet").to_pylist()
    t = percentile_tail(1.96)

    def units(rep, target, group, col="units_only"):
        return sum(r[col] for r in gb if r["replicate"] == rep and r["target"] == target
                   and r["group_name"] == group)

    lors = []
    for rep in (0, 1):
        a = units(rep, "office", "female") + units(rep, "salary", "female")
        b = units(rep, "home", "female") + units(rep, "children", "female")
        c = units(rep, "office", "male") + units(rep, "salary", "male")
        d = units(rep, "home", "male") + units(rep, "children", "male")
        lors.append(math.log((a + .5) * (d + .5) / ((b + .5) * (c + .5))))
    r = one(wh_boot, "SELECT * FROM set_association WHERE source = '*' AND group_name = 'female' "
                     "AND set_a = 'career' AND set_b = 'family'")
    assert r["replicates"] == 2
    assert (r["lor_boot_low"], r["lor_boot_high"]) == (pytest.approx(pct(lors, t)),
                                                      pytest.approx(pct(lors, 1 - t)))
    sents = []
    for rep in (0, 1):
        p = sum(units(rep, x, "christian", "units_with") for x in ("wonderful", "lovely"))
        n = units(rep, "terrible", "christian", "units_with")
        sents.append((p - n) / (p + n))
    s = one(wh_boot, "SELECT * FROM identity_sentiment WHERE source = '*' "
                     "AND group_name = 'christian'")
    assert s["replicates"] == 2
    assert (s["sentiment_boot_low"], s["sentiment_boot_high"]) == (
        pytest.approx(pct(sents, t)), pytest.approx(pct(sents, 1 - t)))


def test_data_share_ci_uses_the_replicates(wh_boot, tmp_path):
    boot = pq.read_table(tmp_path / "counts-boot" / "bootstrap.parquet").to_pylist()
    ps = []
    for rep in (0, 1):
        f = sum(r["female_only"] for r in boot if r["replicate"] == rep
                and r["occupation"] == "nurse")
        m = sum(r["male_only"] for r in boot if r["replicate"] == rep
                and r["occupation"] == "nurse")
        ps.append(f / (f + m))
    t = percentile_tail(1.96)
    r = one(wh_boot, "SELECT * FROM data_share_ci WHERE source = '*' AND occupation = 'nurse'")
    assert r["replicates"] == 2
    assert (r["p_low"], r["p_high"]) == (pytest.approx(pct(ps, t)), pytest.approx(pct(ps, 1 - t)))


def test_data_sta_is_the_mean_tvd_to_the_reference(wh_ro):
    g = one(wh_ro, "SELECT * FROM data_sta WHERE axis = 'gender'")
    # |p - w| over the supported occupations: nurse .1, engineer .1, teacher 16/30 - .7
    assert g["n_targets"] == 3 and g["n_low_support"] == 1
    assert g["sta"] == pytest.approx((0.1 + 0.1 + (0.7 - 16 / 30)) / 3)
    assert g["sta_low"] <= g["sta"] <= g["sta_high"]
    assert g["sta_low"] >= 0.1 - 1e-12 and g["sta_high"] <= 0.7 - 16 / 30 + 1e-12
    r = one(wh_ro, "SELECT * FROM data_sta WHERE axis = 'religion'")
    nurse = 0.5 * (abs(33 / 43 - .5) + abs(10 / 43 - .3) + abs(0 - .2))
    engineer = 0.5 * (abs(.25 - .6) + abs(.25 - .2) + abs(.5 - .2))
    assert (r["n_targets"], r["n_low_support"]) == (2, 1)  # teacher: 10 units < 20
    assert r["sta"] == pytest.approx((nurse + engineer) / 2)
    # the reference of teacher names one group only: the others count as 0
    tv = one(wh_ro, "SELECT tvd FROM target_tvd WHERE source = '*' AND axis = 'religion' "
                 "AND target = 'teacher'")
    assert tv["tvd"] == pytest.approx(0.5 * (abs(.8 - 1) + 0 + abs(.2 - 0)))


def test_data_sta_resamples_documents_with_replicates(wh_boot):
    g = one(wh_boot, "SELECT * FROM data_sta WHERE axis = 'gender'")
    assert g["resampling"] == "targets + documents (2 replicates)"
    assert g["sta_low"] is not None and g["sta_low"] <= g["sta_high"]


def test_data_class_rates(wh_ro):
    r = one(wh_ro, "SELECT * FROM data_class_rates WHERE source = '*' AND axis = 'religion'")
    # religion rows: nurse 100 + 12 units (2 multi), engineer 45 (source a only), teacher 33,
    # pilot 6 (none), sentiment targets 29 + 15 + 24 units with one group each
    units = 112 + 45 + 33 + 6 + 29 + 15 + 24
    none = (100 - 40 - 2) + (12 - 3) + (45 - 20) + (33 - 10) + 6
    assert (r["units"], r["units_multi"], r["units_none"]) == (units, 2, none)
    assert r["rate_none"] == pytest.approx(none / units)
    assert r["units_single"] == units - none - 2


def test_sector_trace(wh):
    rows = rows_by(wh, "SELECT * FROM sector_trace", ("sector", "series"))
    assert rows[("Health", "world")]["mean_pct"] == 90.0
    assert rows[("Health", "data")]["mean_pct"] == pytest.approx(80.0)
    assert rows[("Health", "m1 / base")]["mean_pct"] == pytest.approx(90.0)
    assert ("Transport", "data") not in rows  # pilot is below support
    wh.set("min_support", 3)
    wh.con.execute("UPDATE world_stats SET sector = 'Health' WHERE occupation = 'engineer'")
    r = one(wh, "SELECT * FROM sector_trace WHERE sector = 'Health' AND series = 'data'")
    sd = stdev([80.0, 20.0])
    assert (r["occupations"], r["mean_pct"]) == (2, pytest.approx(50.0))
    assert (r["pct_low"], r["pct_high"]) == (pytest.approx(50 - 1.96 * sd / math.sqrt(2)),
                                             pytest.approx(50 + 1.96 * sd / math.sqrt(2)))
