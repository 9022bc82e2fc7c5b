"""The built-in lexicons: they load, have the sizes their sources give, carry the documented
data decisions, and are rebuilt byte for byte by tools/build_lexicons.py."""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from engine.lexicon import builtin_names, form_words, load_lexicon
from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "engine" / "data"


def sizes(lex) -> dict:
    return {a.name: [len(g.forms) for g in a.groups] for a in lex.axes}


def cases_of(lex) -> dict[str, str]:
    out = {}
    for a in lex.axes:
        for g in a.groups:
            out.update(zip(g.forms, g.cases))
    for t in lex.targets:
        out.update(zip(t.forms, t.cases))
    return out


def test_builtin_names():
    assert builtin_names() == ["default", "holistic-bias", "identity-sentiment", "pronouns",
                               "tracing-bias", "weat"]


def test_every_builtin_has_provenance():
    for name in builtin_names():
        lex = load_lexicon(name)
        assert lex.description and lex.attribution, name
        assert lex.name == name


def test_tracing_bias_is_the_study_exactly():
    raw = json.loads((DATA / "lexicons" / "tracing-bias.json").read_text())
    assert raw["format"] == "tracebias-lexicon/1"
    lex = load_lexicon("tracing-bias")
    assert sizes(lex) == {"gender": [17, 16]}
    assert len(lex.targets) == 219
    assert all(t.forms == (t.name,) for t in lex.targets)
    assert set(cases_of(lex).values()) == {"any"}
    assert lex.genders["female"][:2] == ("Miss", "Mrs.")


def test_default_case_rules():
    lex = load_lexicon("default")
    assert lex.case == "as-written"
    assert lex.has_binary_gender and [a.name for a in lex.axes] == ["gender"]
    assert sizes(lex) == {"gender": [37, 33]}
    assert len(lex.targets) == 243
    cases = cases_of(lex)
    assert {f for f, c in cases.items() if c == "capitalised"} == {"CEO", "CEOs"}
    assert {f for f, c in cases.items() if c == "title"} == {"Miss", "Mrs.", "Ms.", "Mr."}
    assert {f for f, c in cases.items() if c == "lower"} == {
        "baker", "barber", "brewer", "brewers", "carpenter", "comics", "cook", "counsellors",
        "examiner", "fisher", "guard", "guards", "planner", "ranger", "rangers", "secretaries",
        "secretary", "supervisors", "teller"}
    assert lex.target("teller").cases == ("lower", "any")  # "tellers" is no surname
    # references as in the v1 file: from pct_female
    nurse = lex.target("nurse")
    assert nurse.reference["gender"]["female"] == pytest.approx(nurse.pct_female / 100)


def test_default_forms_unchanged_from_v1():
    """Only case rules changed: the v1 built-in's terms and targets are all still there."""
    old = load_lexicon(ROOT / "tests" / "data" / "default-lexicon-v1.json")
    new = load_lexicon("default")
    assert old.genders == new.genders
    assert [(t.name, t.forms, t.pct_female, t.sector) for t in old.targets] == \
        [(t.name, t.forms, t.pct_female, t.sector) for t in new.targets]
    assert [t.reference for t in old.targets] == [t.reference for t in new.targets]


HB_SIZES = {
    "ability": [3, 3, 5, 7, 5, 6, 3, 6],
    "age": [4, 14, 12, 30, 1],
    "body_type": [10, 9, 20, 11, 5, 18, 3, 11, 7, 37, 5, 8],
    "characteristics": [8, 3, 6, 3, 15, 13, 11, 7],
    "cultural": [7, 26],
    "gender_and_sex": [3, 2, 13, 24, 3, 4, 15],
    "nationality": [3, 2, 2, 2, 2, 2, 4, 4, 2, 1, 2],
    "political_ideologies": [1] * 23,
    "race_ethnicity": [1, 7, 3, 7, 4, 1, 1, 6, 2],
    "religion": [1] * 47,
    "sexual_orientation": [3, 2, 1, 2, 1, 2, 2, 3, 3],
    "socioeconomic_class": [10, 1, 1, 3, 2],
    "gender": [24, 22, 18],
}


def test_holistic_bias_sizes_and_decisions():
    lex = load_lexicon("holistic-bias")
    assert sizes(lex) == HB_SIZES
    descriptors = sum(sum(v) for k, v in HB_SIZES.items() if k != "gender")
    assert descriptors == 570  # 583 in v1.1, minus nonce (8) and 5 dropped forms
    assert lex.targets == () and lex.case == "any"
    assert lex.license == "CC BY-SA 4.0" and "CC BY-SA 4.0" in lex.attribution
    forms = {f for a in lex.axes for g in a.groups for f in g.forms}
    assert not forms & {"Bahá'í", "Jehovah's Witness", "LGBTQ+", "homemaker", "blicket"}
    assert {"LGBTQ", "African-American", "Seventh-Day Adventist", "20-year-old"} <= forms
    religion = lex.axis("religion")
    assert religion.group("seventh_day_adventist").forms == ("Seventh-Day Adventist",)
    assert lex.axis("gender").group_names == ("female", "male", "neutral")
    assert not lex.has_binary_gender
    for a in lex.axes:  # no two forms of an axis match the same words
        words = [form_words(f)[0] for g in a.groups for f in g.forms]
        assert len(words) == len(set(words)), a.name


def test_pronouns():
    lex = load_lexicon("pronouns")
    assert sizes(lex) == {"pronoun_gender": [4, 4, 6], "grammatical_person": [10, 5, 14]}
    pg = lex.axis("pronoun_gender")
    assert pg.group("they").forms == ("they", "them", "their", "theirs", "themselves", "themself")
    third = lex.axis("grammatical_person").group("third").forms
    assert set(third) == {f for g in pg.groups for f in g.forms} and "it" not in third
    cases = cases_of(lex)
    assert cases["I"] == "capitalised" and cases["us"] == "lower" and cases["she"] == "any"


WEAT_AXES = {
    "weat1_flowers_insects": [25, 25], "weat2_instruments_weapons": [25, 25],
    "weat3_race_names": [32, 32], "weat4_race_names": [18, 18],
    "weat6_gender_names": [8, 8], "weat7_gender_terms": [8, 8], "weat8_gender_terms": [8, 8],
    "weat9_disease": [6, 6], "weat10_age_names": [8, 8],
}
WEAT_SETS = {"arts": 9, "career": 8, "family": 8, "math": 8, "permanent": 7, "pleasant": 26,
             "science": 8, "temporary": 7, "unpleasant": 31}


def test_weat():
    lex = load_lexicon("weat")
    assert sizes(lex) == WEAT_AXES
    assert {s: sum(t.set == s for t in lex.targets) for s in lex.target_sets} == WEAT_SETS
    assert len(lex.targets) == 112 and all(t.set for t in lex.targets)
    assert lex.target("family").set == "family"
    names = {t.name for t in lex.targets}
    assert not names & {"cancer", "bomb"}
    assert "cancer" in lex.axis("weat9_disease").group("physical").forms
    assert "bomb" in lex.axis("weat2_instruments_weapons").group("weapons").forms
    cases = cases_of(lex)
    assert cases["Bill"] == cases["Einstein"] == cases["NASA"] == "capitalised"
    assert cases["rose"] == cases["he"] == "any"


def test_identity_sentiment():
    lex = load_lexicon("identity-sentiment")
    hb = load_lexicon("holistic-bias")
    assert [a.name for a in lex.axes] == ["nationality", "race_ethnicity", "religion"]
    for a in lex.axes:
        assert a == hb.axis(a.name)
    per_set = {s: sum(t.set == s for t in lex.targets) for s in lex.target_sets}
    assert per_set == {"negative": 4777, "positive": 2001}
    names = {t.name for t in lex.targets}
    assert {"naïve", "well-known", "2-faced"} <= names
    assert not names & {"a+", "f**k", "anti-", "spiritual"}
    assert lex.target("envious").set == "negative"
    assert "CC BY-SA 4.0" in lex.license


@pytest.mark.parametrize("name", ["default", "holistic-bias", "identity-sentiment", "pronouns",
                                  "tracing-bias", "weat"])
def test_every_builtin_compiles_for_the_kernels(name):
    from engine.lexicon.matcher import compile_lexicon

    compiled = compile_lexicon(load_lexicon(name))
    assert compiled.n_targets == len(load_lexicon(name).targets)


def test_holistic_bias_crosses_with_the_occupations():
    from engine.lexicon import resolve_lexicon

    for targets in ("tracing-bias", "default"):
        lex = resolve_lexicon("holistic-bias", targets=targets)
        assert len(lex.axes) == 13
    assert len(resolve_lexicon("pronouns", targets="tracing-bias").targets) == 219
    assert len(resolve_lexicon("weat", targets="default").targets) == 243


# ---- the build script ---------------------------------------------------------------------
def _build_module():
    spec = importlib.util.spec_from_file_location("build_lexicons",
                                                  ROOT / "tools" / "build_lexicons.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    if not (SHARED / "holistic-bias" / "descriptors.json").is_file():
        pytest.skip(f"shared source data not found at {SHARED}")
    out = tmp_path_factory.mktemp("built")
    log = _build_module().build_all(SHARED, out)
    return out, log.lines


def test_build_reproduces_the_shipped_files_byte_for_byte(rebuilt):
    out, _ = rebuilt
    built = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert [str(p) for p in built] == [
        "labour_stats.tsv", "lexicons/default.json", "lexicons/holistic-bias.json",
        "lexicons/identity-sentiment.json", "lexicons/pronouns.json",
        "lexicons/tracing-bias.json", "lexicons/weat.json", "prompt_templates.json"]
    for rel in built:
        assert (out / rel).read_bytes() == (DATA / rel).read_bytes(), rel


def test_build_log_states_every_decision(rebuilt):
    _, lines = rebuilt
    text = "\n".join(lines)
    for fragment in ("dropped \"Bahá'í\"", "dropped \"Jehovah's Witness\"",
                     "dropped 'LGBTQ+' (gender_and_sex/queer)",
                     "dropped 'LGBTQ+' (sexual_orientation/queer)",
                     "dropped 'homemaker' (characteristics/job_status)",
                     "axis 'nonce' left out",
                     "kept 570 of 575 descriptors",
                     "'family' is in the attribute sets ['family', 'pleasant']",
                     "'cancer' is a group term", "'bomb' is a group term",
                     "positive: 2006 words, kept 2001", "negative: 4783 words, kept 4777",
                     "spiritual (religion/spiritual)",
                     "envious, enviously, enviousness are in both lists"):
        assert fragment in text, fragment
    assert len([ln for ln in lines if "dropped" in ln and ln.startswith("holistic-bias")]) == 5


def test_shipped_files_match_the_documented_counts():
    """docs/lexicons.md's table quotes these numbers; keep them in step."""
    doc = (ROOT / "docs" / "lexicons.md").read_text(encoding="utf-8")
    for fragment in ("| `holistic-bias` | 13 axes, 149 groups (below) | 634 (570 descriptors + 64 nouns)",
                     "6,778: positive 2,001, negative 4,777", "| `weat` | 9 axes of 2 groups (below) | 276 | 112 in 9 sets",
                     "| `default` | gender (female, male) | 70 (37 + 33) | 243"):
        assert fragment in doc, fragment
    hb = load_lexicon("holistic-bias")
    for a in hb.axes:
        row = re.search(rf"^\| {a.name} \| (\d+) \| (\d+) \|", doc, re.M)
        assert row, a.name
        assert (int(row[1]), int(row[2])) == (len(a.groups), sum(len(g.forms) for g in a.groups))
