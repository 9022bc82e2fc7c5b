"""Window semantics on a hand-worked example (see docs/metrics.md for the definitions)."""
from __future__ import annotations

import pyarrow as pa
import pytest

from engine.count.config import CountConfig
from engine.count.counting import ShardCounter
from engine.count.windows import Window, parse_window

TEXT = ("The nurse said she was tired. Mr. Smith, the engineer, said he was fine!\n"
        "Her mother is a police officer and a nurse.")
WINDOWS = ("sentence", "paragraph", "document", 2, 5)


def counts(lexicon, texts, sources=None, windows=WINDOWS):
    c = ShardCounter(CountConfig(lexicon, windows))
    c.add_texts(pa.array(texts), pa.array(sources or ["web"] * len(texts)))
    rows = c.table("cooccurrence").to_pylist()
    return {(r["window_label"], r["occupation"]): (r["units"], r["male_only"], r["female_only"],
                                              r["female_and_male"], r["male_terms"], r["female_terms"])
            for r in rows}, c


def test_hand_worked_example(small_lexicon):
    got, _ = counts(small_lexicon, [TEXT])
    # (units, male_only, female_only, both, male_terms, female_terms)
    expected = {
        # sentences: "The nurse said she was tired." | "Mr. Smith, the engineer, said he was
        # fine!" (the "." after Mr does not end it) | "Her mother is a police officer and a nurse."
        ("sentence", "nurse"): (2, 0, 2, 0, 0, 2),
        ("sentence", "engineer"): (1, 1, 0, 0, 2, 0),
        ("sentence", "police officer"): (1, 0, 1, 0, 0, 1),
        # paragraphs: line 1 has she, Mr, he; line 2 has her
        ("paragraph", "nurse"): (2, 0, 1, 1, 2, 2),
        ("paragraph", "engineer"): (1, 0, 0, 1, 2, 1),
        ("paragraph", "police officer"): (1, 0, 1, 0, 0, 1),
        # one document: each occupation is one unit
        ("document", "nurse"): (1, 0, 0, 1, 2, 2),
        ("document", "engineer"): (1, 0, 0, 1, 2, 2),
        ("document", "police officer"): (1, 0, 0, 1, 2, 2),
        # ±2 words: nurse@1 sees she@3; engineer@9 sees he@11; police officer@18-19 and
        # nurse@22 see nothing
        ("words:2", "nurse"): (2, 0, 1, 0, 0, 1),
        ("words:2", "engineer"): (1, 1, 0, 0, 1, 0),
        ("words:2", "police officer"): (1, 0, 0, 0, 0, 0),
        # ±5 words: nurse@1 sees she@3, mr@6; engineer@9 sees mr@6, he@11, her@14;
        # police officer sees her@14; nurse@22 nothing
        ("words:5", "nurse"): (2, 0, 0, 1, 1, 1),
        ("words:5", "engineer"): (1, 0, 0, 1, 2, 1),
        ("words:5", "police officer"): (1, 0, 1, 0, 0, 1),
    }
    assert got == expected  # "officer" is never counted: "police officer" wins (longest)


def test_term_level_counts(small_lexicon):
    _, c = counts(small_lexicon, [TEXT])
    rows = {(r["window_label"], r["occupation"], r["term"]): (r["term_count"], r["units_with_term"])
            for r in c.table("term_cooccurrence").to_pylist()}
    assert rows[("sentence", "engineer", "Mr.")] == (1, 1)
    assert rows[("sentence", "engineer", "he")] == (1, 1)
    assert rows[("sentence", "nurse", "she")] == (1, 1)
    assert rows[("sentence", "nurse", "her")] == (1, 1)
    assert rows[("document", "nurse", "he")] == (1, 1)
    assert ("sentence", "nurse", "he") not in rows


@pytest.mark.parametrize("text,expected_units", [
    ("the police. officer", {"officer": 1}),  # punctuation breaks a multi-word form
    ("the police\nofficer", {"officer": 1}),  # so does a newline
    ("the police officers", {"police officer": 1}),
    ("POLICE OFFICER", {"police officer": 1}),  # case-insensitive
    ("nurses nurse", {"nurse": 1}),  # one sentence: one unit
])
def test_multiword_matching(small_lexicon, text, expected_units):
    got, _ = counts(small_lexicon, [text], windows=("sentence",))
    assert {occ: v[0] for (_, occ), v in got.items()} == expected_units


def test_occurrence_units_for_word_windows(small_lexicon):
    got, _ = counts(small_lexicon, ["nurse she nurse"], windows=(1,))
    assert got[("words:1", "nurse")] == (2, 0, 2, 0, 0, 2)  # each occurrence is a unit


def test_abbreviation_does_not_end_sentence(small_lexicon):
    got, _ = counts(small_lexicon, ["Mrs. Brown is a nurse.", "Brown is tall. She is a nurse."],
                    windows=("sentence",))
    # doc 1: Mrs. and nurse share a sentence; doc 2: "She" is in the nurse's sentence
    assert got[("sentence", "nurse")] == (2, 0, 2, 0, 0, 2)
    got, _ = counts(small_lexicon, ["She is tall! The nurse? He is."], windows=("sentence",))
    assert got[("sentence", "nurse")] == (1, 0, 0, 0, 0, 0)


def test_sources_are_kept_apart(small_lexicon):
    got, c = counts(small_lexicon, ["she nurse", "he nurse", ""], ["a", "b", "b"],
                    windows=("document",))
    by_source = {(r["source"], r["occupation"]): r["female_only"] for r in c.table("cooccurrence").to_pylist()}
    assert by_source == {("a", "nurse"): 1, ("b", "nurse"): 0}
    docs = {r["source"]: (r["documents"], r["words"]) for r in c.table("shards").to_pylist()}
    assert docs == {"a": (1, 2), "b": (2, 2)}


def test_parse_window():
    assert parse_window("sentence") == Window("sentence")
    assert parse_window("10") == Window("words", 10)
    assert parse_window("words:5") == Window("words", 5)
    assert parse_window("±20").label == "words:20"
    with pytest.raises(ValueError, match="bad window"):
        parse_window("sentense")
    with pytest.raises(ValueError):
        parse_window("0")
