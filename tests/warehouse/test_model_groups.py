"""Model side for K groups, probes, bias transfer and the verdict, against hand-worked values.

Generations (tests/warehouse/fixtures.py GENS): religion single-group classes per occupation:
nurse christian 4, muslim 2 (4 without religion); engineer 2 multi (christian and muslim);
teacher jewish 1; pilot none.
Probes (PROBES below, model m1, stage base, decoding logprob): female share per prompt.
"""
from __future__ import annotations

import itertools
import json
import math
from statistics import stdev

import pytest

from tests.warehouse.conftest import one, rows_by

PROBES = [  # (template, occupation, female share)
    ("T1", "nurse", 0.85), ("T1", "engineer", 0.15), ("T1", "teacher", 0.55), ("T1", "pilot", 0.1),
    ("T2", "nurse", 0.75), ("T2", "engineer", 0.25),
]
WINOBIAS = {"nurse": 0.9, "engineer": 0.7, "teacher": 0.6, "pilot": 0.8}


def add_probes(w):
    rows = []
    for tmpl, occ, s in PROBES:
        for g, share in (("female", s), ("male", 1 - s)):
            rows.append(("m1", "base", tmpl, "logprob", occ, "gender", g, f"{tmpl}:{occ}",
                         f"The {occ} said", share, math.log(share), "probe.parquet", "x"))
    w.con.executemany("INSERT INTO model_probes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      rows)
    w.refresh()


def pearson(x, y):
    mx, my = sum(x) / len(x), sum(y) / len(y)
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y))


def exact_p(x, y):
    obs = abs(pearson(x, y))
    perms = list(itertools.permutations(y))
    return sum(abs(pearson(x, list(p))) >= obs - 1e-12 for p in perms) / len(perms)


def test_model_group_share_per_axis(wh_ro):
    rows = rows_by(wh_ro, "SELECT * FROM model_group_share WHERE template = '*' "
                       "AND axis = 'religion' AND target = 'nurse'", "group_name")
    assert {g: r["units_only"] for g, r in rows.items()} == {"christian": 4, "muslim": 2,
                                                              "jewish": 0}
    assert rows["christian"]["n"] == 6 and rows["christian"]["generations"] == 10
    assert rows["christian"]["no_group"] == 4 and rows["christian"]["multi_group"] == 0
    assert rows["christian"]["p"] == pytest.approx(4 / 6)
    eng = one(wh_ro, "SELECT * FROM model_group_share WHERE template = '*' AND axis = 'religion' "
                  "AND target = 'engineer' AND group_name = 'christian'")
    assert (eng["n"], eng["multi_group"], eng["p"], eng["low_support"]) == (0, 2, None, True)
    g = one(wh_ro, "SELECT * FROM model_group_share WHERE template = 'T1' AND axis = 'gender' "
                "AND target = 'engineer' AND group_name = 'female'")
    assert (g["units_only"], g["n"], g["no_group"]) == (1, 9, 1)


def test_group_amplification_and_summary(wh_ro):
    r = one(wh_ro, "SELECT * FROM group_amplification WHERE template = '*' AND axis = 'religion' "
                "AND target = 'nurse' AND group_name = 'christian'")
    assert r["amplification"] == pytest.approx(4 / 6 - 33 / 43)
    assert r["p_reference"] == pytest.approx(0.5) and r["low_support"] is False
    s = one(wh_ro, "SELECT * FROM group_amplification_summary WHERE template = '*' "
                "AND axis = 'religion'")
    pd, pm, ref = [33 / 43, 10 / 43, 0.0], [4 / 6, 2 / 6, 0.0], [0.5, 0.3, 0.2]
    assert s["n_targets"] == 1 and s["n_low_support"] == 3
    assert s["mean_abs_amplification"] == pytest.approx(sum(abs(a - b) for a, b in zip(pm, pd)) / 3)
    assert s["mean_tvd_data_reference"] == pytest.approx(
        0.5 * sum(abs(a - b) for a, b in zip(pd, ref)))
    assert s["mean_tvd_model_reference"] == pytest.approx(
        0.5 * sum(abs(a - b) for a, b in zip(pm, ref)))
    # Zhao over K = 3 groups: only christian's data share exceeds 1/3
    assert s["bias_amplification_zhao"] == pytest.approx(4 / 6 - 33 / 43)
    # W&R T->A, P(a) pooled over every religion target of the data side
    tot = {"christian": 33 + 5 + 8 + 40, "muslim": 10 + 5 + 20, "jewish": 10 + 2 + 8}
    p_a = {g: v / sum(tot.values()) for g, v in tot.items()}
    t2a = [(b - a) if a > p_a[g] else (a - b)
           for g, a, b in zip(("christian", "muslim", "jewish"), pd, pm)]
    assert s["bias_amp_t_to_a"] == pytest.approx(sum(t2a) / 3)
    assert s["bias_amp_a_to_t"] == pytest.approx(0.0)  # one target: P(t|a) = 1 on both sides


def test_the_k_group_summary_of_gender_equals_the_binary_views(wh_ro):
    k = one(wh_ro, "SELECT * FROM group_amplification_summary WHERE template = '*' "
                "AND axis = 'gender'")
    b = one(wh_ro, "SELECT * FROM amplification_summary WHERE template = '*'")
    assert k["n_targets"] == b["n_occupations"]
    assert k["bias_amplification_zhao"] == pytest.approx(b["bias_amplification_zhao"])
    assert k["mean_abs_amplification"] == pytest.approx(b["mean_abs_amplification"])
    assert k["bias_amp_t_to_a"] == pytest.approx(b["directional_amplification"])
    assert k["bias_amp_a_to_t"] == pytest.approx(b["directional_amplification_a_to_t"])
    # the lexicon's reference is the labour statistics here
    assert k["mean_tvd_data_reference"] == pytest.approx(b["mean_tvd_data_world"])
    assert k["mean_tvd_model_reference"] == pytest.approx(b["mean_tvd_model_world"])
    # the same resampled draws: the same interval
    assert k["bias_amplification_zhao_low"] == pytest.approx(b["bias_amplification_zhao_low"])
    assert k["bias_amplification_zhao_high"] == pytest.approx(b["bias_amplification_zhao_high"])


def test_class_rates_neutral_and_both(wh_ro):
    rows = rows_by(wh_ro, "SELECT * FROM class_rates WHERE template = '*'", "axis")
    g = rows["gender"]
    assert (g["generations"], g["single_group"], g["multi_group"], g["no_group"]) == (40, 39, 0, 1)
    assert g["rate_none"] == pytest.approx(1 / 40) and g["rate_multi_low"] == 0.0
    r = rows["religion"]
    assert (r["single_group"], r["multi_group"], r["no_group"]) == (7, 2, 31)
    assert r["rate_multi"] == pytest.approx(2 / 40)


def test_probes_enter_model_share_as_logprob(wh):
    add_probes(wh)
    rows = rows_by(wh, "SELECT * FROM model_share WHERE kind = 'probes'", ("template",
                                                                            "occupation"))
    r = rows[("*", "nurse")]
    assert (r["decoding"], r["n"], r["prompts"], r["generations"]) == ("logprob", 2, 2, None)
    assert r["p"] == pytest.approx(0.8)
    sd = stdev([0.85, 0.75])
    assert (r["p_low"], r["p_high"]) == (pytest.approx(0.8 - 1.96 * sd / math.sqrt(2)),
                                         pytest.approx(0.8 + 1.96 * sd / math.sqrt(2)))
    assert r["log_odds"] == pytest.approx(math.log(0.8 / 0.2))
    one_prompt = rows[("T1", "teacher")]
    assert (one_prompt["p"], one_prompt["p_low"], one_prompt["low_support"]) == (0.55, None, False)
    # amplification, the summary and the trace take them as one more decoding
    a = one(wh, "SELECT * FROM amplification WHERE decoding = 'logprob' AND template = '*' "
                "AND occupation = 'engineer'")
    assert a["amplification"] == pytest.approx(0.2 - 0.2, abs=1e-12) and a["kind"] == "probes"
    s = one(wh, "SELECT * FROM amplification_summary WHERE decoding = 'logprob' "
                "AND template = '*'")
    assert s["n_occupations"] == 3 and s["mean_amplification"] == pytest.approx(
        ((0.8 - 0.8) + (0.2 - 0.2) + (0.55 - 16 / 30)) / 3)
    t = one(wh, "SELECT * FROM bias_trace WHERE occupation = 'nurse'")
    assert t["m1 / base / logprob %"] == pytest.approx(80.0)
    assert t["m1 / base / generations %"] == pytest.approx(90.0)
    k = one(wh, "SELECT * FROM model_group_share WHERE kind = 'probes' AND template = '*' "
                "AND target = 'nurse' AND group_name = 'male'")
    assert (k["p"], k["n"]) == (pytest.approx(0.2), 2)


def test_bias_transfer_by_hand(wh, tmp_path):
    add_probes(wh)
    (tmp_path / "wb.csv").write_text("model,stage,occupation,metric,value\n" + "".join(
        f"m1,base,{o},winobias_stereo_pref,{v}\n" for o, v in WINOBIAS.items()))
    wh.add_scores(tmp_path / "wb.csv")
    rows = rows_by(wh, "SELECT * FROM bias_transfer", "comparison")
    assert set(rows) == {"data_vs_probe", "probe_vs_generation", "winobias_vs_data"}
    # (a) data vs probe: pilot is below data support, excluded and counted
    a = rows["data_vs_probe"]
    x, y = [0.8, 0.2, 16 / 30], [0.8, 0.2, 0.55]  # engineer, nurse, teacher in any order
    assert (a["n_occupations"], a["n_excluded"], a["x_series"], a["y_series"]) == \
        (3, 1, "data", "probe:logprob")
    assert a["pearson"] == pytest.approx(pearson(x, y))
    assert a["pearson_p"] == pytest.approx(exact_p(x, y))
    assert a["spearman"] == pytest.approx(1.0) and a["spearman_p"] == pytest.approx(2 / 6)
    # (b) probed vs generated share, all four occupations
    b = rows["probe_vs_generation"]
    x, y = [0.2, 0.8, 0.1, 0.55], [1 / 9, 0.9, 0.0, 0.6]
    assert (b["n_occupations"], b["n_excluded"]) == (4, 0)
    assert b["pearson"] == pytest.approx(pearson(x, y))
    assert b["pearson_p"] == pytest.approx(exact_p(x, y))
    assert b["y_series"] == "generation:"
    # (c) WinoBias vs the data's share of the stereotypical gender (labour statistics)
    c = rows["winobias_vs_data"]
    x = [0.8, 1 - 0.2, 16 / 30]  # nurse (female-majority), engineer (male), teacher (female)
    y = [0.9, 0.7, 0.6]
    assert (c["n_occupations"], c["n_excluded"], c["y_series"]) == (3, 1, "winobias_stereo_pref")
    assert c["pearson"] == pytest.approx(pearson(x, y))
    assert c["pearson_low"] <= c["pearson_high"]


def test_bias_transfer_resamples_documents_with_replicates(wh_boot):
    add_probes(wh_boot)
    r = one(wh_boot, "SELECT * FROM bias_transfer WHERE comparison = 'data_vs_probe'")
    assert r["resampling"] == "targets + documents (2 replicates)"
    p = one(wh_boot, "SELECT * FROM bias_transfer WHERE comparison = 'probe_vs_generation'")
    assert p["resampling"] == "targets"
    s = one(wh_boot, "SELECT resampling FROM amplification_summary WHERE template = '*' "
                     "AND decoding = ''")
    assert s["resampling"] == "targets + documents (2 replicates)"
    k = one(wh_boot, "SELECT * FROM group_amplification_summary WHERE template = '*' "
                     "AND decoding = '' AND axis = 'gender'")
    assert k["resampling"] == "targets + documents (2 replicates)"
    assert k["bias_amplification_zhao_low"] <= k["bias_amplification_zhao_high"]


def _gens(path, model, counts):
    with open(path, "w") as fh:
        for occ, (f, m) in counts.items():
            for text, n in (("She did.", f), ("He did.", m)):
                fh.writelines(json.dumps({"model": model, "stage": "base", "occupation": occ,
                                         "template": "T1", "text": text}) + "\n" for _ in range(n))
    return path


def test_verdict_labels_and_sentence(wh, tmp_path):
    # m2 moves every occupation back toward parity; m3: +0.1, -0.1 and 0 toward the data's side
    wh.add_generations(_gens(tmp_path / "m2.jsonl", "m2",
                             {"nurse": (7, 3), "engineer": (3, 7), "teacher": (5, 5)}))
    wh.add_generations(_gens(tmp_path / "m3.jsonl", "m3",
                             {"nurse": (9, 1), "engineer": (3, 7), "teacher": (8, 7)}))
    v = rows_by(wh, "SELECT * FROM amplification_verdict WHERE template = '*'", "model")
    m1 = v["m1"]
    assert m1["verdict"] == "amplifies" and m1["level"] == 95
    assert m1["estimate"] == pytest.approx((0.1 + (0.2 - 1 / 9) + (0.6 - 16 / 30)) / 3)
    assert 0.6 - 16 / 30 - 1e-12 <= m1["low"] <= m1["estimate"] <= m1["high"] <= 0.1 + 1e-12
    assert m1["sentence"] == (
        f"m1 / base amplifies the data's stereotypes: {100 * m1['estimate']:+.1f} points toward "
        f"the gender the data favours for each occupation (95% interval {100 * m1['low']:+.1f} "
        f"to {100 * m1['high']:+.1f}; 3 occupations)")
    assert v["m2"]["verdict"] == "dampens" and v["m2"]["high"] < 0
    assert v["m2"]["estimate"] == pytest.approx((-0.1 - 0.1 + (0.5 - 16 / 30)) / 3)
    assert v["m3"]["verdict"] == "follows" and v["m3"]["low"] < 0 < v["m3"]["high"]
    wh.set("min_support", 40)  # nurse and engineer only
    v = one(wh, "SELECT * FROM amplification_verdict WHERE template = '*' AND model = 'm1'")
    assert v["verdict"] == "insufficient data" and "too few occupations" in v["sentence"]
