"""The case rules of the built-ins, end to end: `tracebias count` on a tiny corpus (issue 13:
the verb "miss" is not the title "Miss", the surname "Teller" is not the occupation)."""
from __future__ import annotations

import json

import pyarrow.parquet as pq

from engine.cli import main

TEXT = ("Miss Smith met the teller at noon. Edward Teller did not miss the meeting. "
        "Ms. Jones has MS. "
        "A Native American and an African-American teller spoke to us in the US.\n"
        "I mean i.e. nothing. African American voters.")


def count(tmp_path, lexicon: str):
    src = tmp_path / "docs.jsonl"
    src.write_text(json.dumps({"id": "d1", "text": TEXT}) + "\n")
    out = tmp_path / lexicon
    assert main(["count", str(src), "--out", str(out), "--lexicon", lexicon,
                 "--window", "sentence", "--quiet"]) == 0
    rep = pq.read_table(out / "representation.parquet").to_pylist()
    units = pq.read_table(out / "target_units.parquet").to_pylist()
    return ({(r["axis"], r["term"]): r["mentions"] for r in rep},
            {(r["axis"], r["target"]): r["units"] for r in units})


def test_default_case_rules_in_a_count(tmp_path):
    rep, units = count(tmp_path, "default")
    assert rep[("gender", "Miss")] == 1  # "miss the meeting" is a verb
    assert rep[("gender", "Ms.")] == 1  # "MS" (multiple sclerosis) is no honorific: `title`
    assert units[("gender", "teller")] == 2  # sentences 1 and 3; "Edward Teller" is no teller
    rep, units = count(tmp_path, "tracing-bias")  # the study's lists: case any
    assert rep[("gender", "Miss")] == 2
    assert units[("gender", "teller")] == 3
    assert ("gender", "Ms.") not in rep  # the study has no Ms.


def test_pronoun_and_hyphen_rules_in_a_count(tmp_path):
    rep, _ = count(tmp_path, "pronouns")
    assert rep[("grammatical_person", "us")] == 1  # not "US"
    assert rep[("grammatical_person", "I")] == 1  # not the "i" of "i.e."
    rep, _ = count(tmp_path, "holistic-bias")
    assert rep[("race_ethnicity", "Native American")] == 1
    assert rep[("race_ethnicity", "African-American")] == 2  # with or without the hyphen
    assert ("nationality", "American") not in rep  # leftmost-longest: inside longer forms
