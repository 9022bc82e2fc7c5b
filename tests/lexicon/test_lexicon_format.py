"""The lexicon formats (docs/lexicons.md): loading, every validation rule, case rules, v1
compatibility, canonical JSON and combining lexicons."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from engine.lexicon import (LexiconError, Target, form_words, lexicon_from_dict, load_lexicon,
                            resolve_lexicon)
from tests.conftest import small_lexicon_dict

DOCS = Path(__file__).resolve().parents[2] / "docs" / "lexicons.md"

# the exact shape of issue 11, item 1
ISSUE_EXAMPLE = {
    "format": "tracebias-lexicon/2", "name": "x", "version": "1",
    "axes": [{"name": "religion", "groups": [{"name": "christian", "forms": ["Christian", "Christians"]},
                                             {"name": "muslim", "forms": ["Muslim", "Muslims"]}]}],
    "targets": [{"name": "war", "forms": ["war", "wars"], "set": "conflict"}],
}


def v2(**over) -> dict:
    d = copy.deepcopy(ISSUE_EXAMPLE)
    d.update(over)
    return d


def refused(d, *fragments: str) -> str:
    with pytest.raises(LexiconError) as e:
        lexicon_from_dict(d, "test.json")
    msg = str(e.value)
    assert msg.startswith("test.json: "), msg
    assert "\n" not in msg
    for f in fragments:
        assert f in msg, (f, msg)
    return msg


def test_issue_example_loads():
    lex = lexicon_from_dict(ISSUE_EXAMPLE)
    assert [a.name for a in lex.axes] == ["religion"]
    assert lex.axis("religion").group_names == ("christian", "muslim")
    assert lex.axis("religion").group("muslim").forms == ("Muslim", "Muslims")
    assert lex.target("war").set == "conflict"
    assert lex.target("war").cases == ("any", "any")
    assert lex.target_sets == ("conflict",)
    assert not lex.has_binary_gender and lex.gender_terms == ()


def test_every_json_example_in_the_docs_loads():
    blocks = re.findall(r"```json\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 3
    loaded = [lexicon_from_dict(json.loads(b), f"docs/lexicons.md block {i}")
              for i, b in enumerate(blocks)]
    assert lexicon_from_dict(json.loads(blocks[0])).to_json() == \
        lexicon_from_dict(ISSUE_EXAMPLE).to_json()
    full = next(lex for lex in loaded if lex.name == "my-lexicon" and len(lex.axes) == 2)
    nurse = full.target("nurse")
    assert nurse.reference == {"race_ethnicity": {"black": 0.25, "white": 0.75},
                               "gender": {"female": pytest.approx(0.874),
                                          "male": pytest.approx(0.126)}}
    assert full.target("teller").cases == ("lower", "any")
    assert full.target("war").forms == ("war",)
    female = full.axis("gender").group("female")
    assert dict(zip(female.forms, female.cases))["Mrs."] == "capitalised"
    assert dict(zip(female.forms, female.cases))["she"] == "any"


# ---- validation: every error names the offending entry ------------------------------------
def test_duplicate_form_within_an_axis():
    d = v2()
    d["axes"][0]["groups"][1]["forms"].append("christians")
    refused(d, "'christians'", "religion/muslim", "religion/christian", "at most one group")


def test_hyphen_and_space_forms_are_the_same_form():
    d = v2()
    d["axes"][0]["groups"][0]["forms"] = ["African-American"]
    d["axes"][0]["groups"][1]["forms"] = ["African American"]
    refused(d, "'African American'", "religion/muslim", "religion/christian")


def test_same_form_in_two_axes_is_allowed():
    d = v2()
    d["axes"].append({"name": "other", "groups": [{"name": "a", "forms": ["Christian"]},
                                                  {"name": "b", "forms": ["Muslim"]}]})
    lex = lexicon_from_dict(d)
    assert lex.axis("other").group("a").forms == ("Christian",)


def test_form_both_group_term_and_target():
    d = v2()
    d["targets"].append({"name": "muslim people", "forms": ["muslims"]})
    refused(d, "'muslims'", "target 'muslim people'", "group religion/muslim", "also a group term")


def test_form_of_two_targets():
    d = v2()
    d["targets"].append({"name": "conflict", "forms": ["wars"]})
    refused(d, "'wars'", "target 'conflict'", "target 'war'")


@pytest.mark.parametrize("n", [1, 65])
def test_group_count_bounds(n):
    d = v2()
    d["axes"][0]["groups"] = [{"name": f"g{i}", "forms": [f"word{i}"]} for i in range(n)]
    refused(d, "axis 'religion'", "2 to 64 groups", f"got {n}")


def test_64_groups_load():
    d = v2()
    d["axes"][0]["groups"] = [{"name": f"g{i}", "forms": [f"word{i}"]} for i in range(64)]
    assert len(lexicon_from_dict(d).axis("religion").groups) == 64


def test_bad_case_rule():
    d = v2()
    d["axes"][0]["groups"][0]["forms"][0] = {"form": "Christian", "case": "upper"}
    refused(d, "group religion/christian", "'Christian'", "'upper'", "any, lower, capitalised")


def test_bad_lexicon_case_mode():
    refused(v2(case="exact"), "'case'", "any, as-written", "'exact'")


def test_form_object_with_unknown_key():
    d = v2()
    d["targets"][0]["forms"][0] = {"form": "war", "case": "lower", "note": "x"}
    refused(d, "target 'war'", "'form' and 'case'", "note")


def test_form_object_without_case_takes_the_default():
    d = v2(case="as-written")
    d["targets"][0]["forms"] = [{"form": "War"}, {"form": "wars", "case": "lower"}]
    assert lexicon_from_dict(d).target("war").cases == ("capitalised", "lower")


@pytest.mark.parametrize("form,bad", [("Bahá'í", "'"), ("LGBTQ+", "+"), ("anti-", "-"),
                                      ("-ism", "-"), ("a--b", "--"), ("f**k", "**")])
def test_form_with_punctuation(form, bad):
    d = v2()
    d["axes"][0]["groups"][0]["forms"] = [form]
    refused(d, "group religion/christian", repr(form), f"punctuation {bad!r}")


@pytest.mark.parametrize("form", ["", "   ", ".", 3, None])
def test_empty_or_non_text_form(form):
    d = v2()
    d["targets"][0]["forms"] = [form]
    refused(d, "target 'war'")


def test_empty_group_and_duplicate_names():
    d = v2()
    d["axes"][0]["groups"][1]["forms"] = []
    refused(d, "group religion/muslim", "non-empty 'forms'")
    d = v2()
    d["axes"][0]["groups"][1]["name"] = "christian"
    refused(d, "duplicate group name 'christian'", "axis 'religion'")
    d = v2()
    d["axes"].append(copy.deepcopy(d["axes"][0]))
    refused(d, "duplicate axis name 'religion'")
    d = v2()
    d["targets"].append({"name": "war", "forms": ["battle"]})
    refused(d, "duplicate target name 'war'")


def test_missing_keys_and_bad_top_level():
    for key in ("name", "version", "axes", "targets"):
        d = v2()
        del d[key]
        refused(d, f"missing key {key!r}")
    refused(v2(axes=[]), "'axes' must be a non-empty list")
    refused(v2(targets={}), "'targets' must be a list")
    refused(v2(name=""), "'name'")
    refused(v2(version=None), "'version'")
    with pytest.raises(LexiconError, match="'format' must be"):
        lexicon_from_dict(v2(format="tracebias-lexicon/3"))


@pytest.mark.parametrize("where,what", [
    ("lexicon", "the lexicon has unknown key 'colour'"),
    ("axis", "axis 'religion' has unknown key 'colour'"),
    ("group", "group religion/christian has unknown key 'colour'"),
    ("target", "target 'war' has unknown key 'colour'"),
])
def test_unknown_keys_in_v2(where, what):
    d = v2()
    obj = {"lexicon": d, "axis": d["axes"][0], "group": d["axes"][0]["groups"][0],
           "target": d["targets"][0]}[where]
    obj["colour"] = "blue"
    refused(d, what)


@pytest.mark.parametrize("ref,fragment", [
    ({"gender": {"female": 1.0}}, "axis 'gender'"),
    ({"religion": {"hindu": 1.0}}, "group 'hindu'"),
    ({"religion": {"christian": 0.6, "muslim": 0.6}}, "sum to 1.2000"),
    ({"religion": {"christian": 1.5, "muslim": -0.5}}, "[0, 1]"),
    ({"religion": {"christian": "half", "muslim": 0.5}}, "'half'"),
    ({"religion": {}}, "reference['religion']"),
    ([0.5, 0.5], "'reference' must be an object"),
])
def test_bad_reference(ref, fragment):
    d = v2()
    d["targets"][0]["reference"] = ref
    refused(d, "target 'war'", fragment)


def test_reference_with_missing_groups_means_zero_share():
    d = v2()
    d["targets"][0]["reference"] = {"religion": {"christian": 1.0}}
    assert lexicon_from_dict(d).target("war").reference == {"religion": {"christian": 1.0}}


@pytest.mark.parametrize("pct", [-1, 100.5, "50", True])
def test_bad_pct_female(pct):
    d = v2()
    d["targets"][0]["pct_female"] = pct
    refused(d, "target 'war'", "pct_female")


def test_non_string_set():
    d = v2()
    d["targets"][0]["set"] = 3
    refused(d, "target 'war': set must be a string")


# ---- case rules ---------------------------------------------------------------------------
def test_case_any_by_default_and_as_written():
    d = small_lexicon_dict()
    lex = lexicon_from_dict(d)
    assert all(c == "any" for a in lex.axes for g in a.groups for c in g.cases)
    d["case"] = "as-written"
    lex = lexicon_from_dict(d)
    female = lex.axis("gender").group("female")
    assert dict(zip(female.forms, female.cases)) == {"she": "any", "her": "any",
                                                     "Mrs.": "capitalised"}


def test_explicit_case_wins_over_as_written():
    d = v2(case="as-written")
    d["axes"][0]["groups"][0]["forms"] = [{"form": "Christian", "case": "any"}, "Christians",
                                          {"form": "christendom", "case": "capitalised"}]
    g = lexicon_from_dict(d).axis("religion").group("christian")
    assert g.cases == ("any", "capitalised", "capitalised")


def test_form_words():
    assert form_words("Mrs.") == (("mrs",), False)
    assert form_words("African-American") == (("african", "american"), True)
    assert form_words("  police   officer ") == (("police", "officer"), False)
    assert form_words("20-year-old") == (("20", "year", "old"), True)
    with pytest.raises(LexiconError):
        form_words("Mrs..")


# ---- v1 -----------------------------------------------------------------------------------
def test_v1_loads_as_the_gender_axis():
    d = small_lexicon_dict()
    d["targets"][0]["pct_female"] = 87.4
    lex = lexicon_from_dict(d)
    assert [a.name for a in lex.axes] == ["gender"]
    assert lex.axis("gender").group_names == ("female", "male")
    assert lex.has_binary_gender
    assert lex.genders == {"female": ("she", "her", "Mrs."), "male": ("he", "his", "Mr.")}
    assert lex.gender_terms[0] == ("female", "she") and lex.gender_terms[-1] == ("male", "Mr.")
    nurse = lex.target("nurse")
    assert nurse.reference == {"gender": {"female": pytest.approx(0.874),
                                          "male": pytest.approx(0.126)}}
    assert lex.target("engineer").reference == {}


def test_v1_errors():
    d = small_lexicon_dict()
    d["genders"]["neutral"] = ["they"]
    with pytest.raises(LexiconError, match="exactly the classes"):
        lexicon_from_dict(d)
    d = small_lexicon_dict()
    d["genders"]["male"] = []
    with pytest.raises(LexiconError, match="gender class 'male' needs a non-empty list"):
        lexicon_from_dict(d)
    d = small_lexicon_dict()
    d["targets"] = []
    with pytest.raises(LexiconError, match="'targets' must be a non-empty list"):
        lexicon_from_dict(d)
    d = small_lexicon_dict()
    d["targets"].append({"name": "mrs", "forms": ["Mrs"]})
    with pytest.raises(LexiconError, match="also a group term"):
        lexicon_from_dict(d)


def test_v1_and_its_v2_equivalent_have_the_same_digest():
    d1 = small_lexicon_dict()
    d1["targets"][0]["pct_female"] = 87.4
    d2 = {"format": "tracebias-lexicon/2", "name": d1["name"], "version": d1["version"],
          "axes": [{"name": "gender", "groups": [{"name": g, "forms": f}
                                                 for g, f in d1["genders"].items()]}],
          "targets": d1["targets"]}
    a, b = lexicon_from_dict(d1), lexicon_from_dict(d2)
    assert a.to_json() == b.to_json()
    assert a.sha256() == b.sha256()


def test_v2_gender_reference_from_pct_female_only_on_the_binary_gender_axis():
    d = v2()
    d["targets"][0]["pct_female"] = 40.0
    assert lexicon_from_dict(d).target("war").reference == {}
    d["axes"].append({"name": "gender", "groups": [{"name": "female", "forms": ["she"]},
                                                   {"name": "male", "forms": ["he"]}]})
    assert lexicon_from_dict(d).target("war").reference == {
        "gender": {"female": 0.4, "male": 0.6}}
    d["targets"][0]["reference"] = {"gender": {"female": 0.5, "male": 0.5}}
    assert lexicon_from_dict(d).target("war").reference["gender"] == {"female": 0.5,
                                                                      "male": 0.5}


# ---- canonical JSON -----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["default", "tracing-bias", "holistic-bias", "pronouns", "weat",
                                  "identity-sentiment"])
def test_round_trip_keeps_the_digest(name):
    lex = load_lexicon(name)
    again = lexicon_from_dict(json.loads(json.dumps(lex.to_json())), "round trip")
    assert again.sha256() == lex.sha256()
    assert again == lex
    assert [t.reference for t in again.targets] == [t.reference for t in lex.targets]


def test_digest_changes_with_content_and_case():
    a = lexicon_from_dict(ISSUE_EXAMPLE)
    d = v2()
    d["targets"][0]["forms"][0] = {"form": "war", "case": "lower"}
    b = lexicon_from_dict(d)
    assert a.sha256() != b.sha256()
    assert b.to_json()["targets"][0]["forms"] == [{"form": "war", "case": "lower"}, "wars"]


def test_load_lexicon_from_file(tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps(ISSUE_EXAMPLE))
    assert load_lexicon(p).sha256() == lexicon_from_dict(ISSUE_EXAMPLE).sha256()
    p.write_text("{not json")
    with pytest.raises(LexiconError, match="not valid JSON"):
        load_lexicon(p)
    with pytest.raises(LexiconError, match="no built-in lexicon and no file named"):
        load_lexicon(tmp_path / "missing.json")


# ---- combining ----------------------------------------------------------------------------
def test_select_axes():
    lex = load_lexicon("holistic-bias").select_axes(["religion", "gender"])
    assert [a.name for a in lex.axes] == ["religion", "gender"]
    with pytest.raises(LexiconError, match="no axis 'faith'.*axes: ability"):
        load_lexicon("holistic-bias").select_axes(["faith"])


def test_select_axes_drops_references_to_other_axes():
    d = v2()
    d["axes"].append({"name": "gender", "groups": [{"name": "female", "forms": ["she"]},
                                                   {"name": "male", "forms": ["he"]}]})
    d["targets"][0]["reference"] = {"religion": {"christian": 0.5, "muslim": 0.5}}
    d["targets"][0]["pct_female"] = 30
    lex = lexicon_from_dict(d).select_axes(["religion"])
    assert lex.target("war").reference == {"religion": {"christian": 0.5, "muslim": 0.5}}
    assert lexicon_from_dict(lex.to_json()).sha256() == lex.sha256()


def test_with_targets_crosses_axes_and_targets():
    lex = resolve_lexicon("holistic-bias", targets="tracing-bias")
    assert [a.name for a in lex.axes] == [a.name for a in load_lexicon("holistic-bias").axes]
    tb = load_lexicon("tracing-bias")
    assert [t.name for t in lex.targets] == [t.name for t in tb.targets]
    # % women says nothing about the axis {female, male, neutral}: the reference goes
    assert all(t.reference == {} for t in lex.targets)
    assert [t.pct_female for t in lex.targets] == [t.pct_female for t in tb.targets]
    same = resolve_lexicon("default", targets="tracing-bias")
    assert [t.reference for t in same.targets] == [t.reference for t in tb.targets]
    assert lexicon_from_dict(lex.to_json()).sha256() == lex.sha256()


def test_with_targets_keeps_case_rules():
    lex = resolve_lexicon("pronouns", targets="default")
    assert lex.target("teller").cases == ("lower", "any")
    assert lex.target("CEO").cases == ("capitalised", "capitalised")
    first = lex.axis("grammatical_person").group("first")
    assert dict(zip(first.forms, first.cases))["I"] == "capitalised"


def test_with_targets_lists_every_clash():
    with pytest.raises(LexiconError) as e:
        resolve_lexicon("holistic-bias", targets="identity-sentiment")
    msg = str(e.value)
    assert "share 57 forms" in msg and "'beautiful' (target 'beautiful', group " \
        "body_type/attractive)" in msg and "--axis" in msg and "and 47 more" in msg
    # leaving those axes out works
    lex = resolve_lexicon("holistic-bias", targets="identity-sentiment",
                          axes=["religion", "nationality"])
    assert len(lex.targets) == 6778


def test_resolve_lexicon_errors_name_the_problem():
    with pytest.raises(LexiconError, match="no built-in lexicon and no file named 'nope'"):
        resolve_lexicon("nope")
    with pytest.raises(LexiconError, match="no axis 'colour'"):
        resolve_lexicon("pronouns", axes=["colour"])


def test_target_defaults():
    t = Target("x", ("x", "xs"))
    assert t.cases == ("any", "any") and t.reference == {} and t.set is None


def test_the_error_message_quoted_in_the_docs():
    d = v2()
    d["axes"][0]["groups"].append({"name": "islam", "forms": ["Islam", "Muslims"]})
    with pytest.raises(LexiconError) as e:
        lexicon_from_dict(d, "lexicon.json")
    assert f"`{e.value}`" in " ".join(DOCS.read_text(encoding="utf-8").split())
