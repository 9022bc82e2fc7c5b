"""The numba fast path must give exactly the counts of the `tokenizers`-based reference path."""
from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.count.counting import CountConfig, ShardCounter
from engine.lexicon import load_lexicon
from engine.count.reference import reference_count

WINDOWS = ("sentence", "paragraph", "document", 1, 3, 10)

FRAGMENTS = [
    # lexicon words in several cases, plural and multi-word forms
    "she", "She", "HER", "hers", "herself", "he", "He", "him", "his", "himself", "Mr.", "Mrs.",
    "mr", "MRS", "Miss", "woman", "man", "mother", "father", "wife", "husband", "sister",
    "nurse", "Nurse", "nurses", "secretary", "engineer", "carpenter", "police", "officer",
    "police officer", "construction worker", "doctor", "teacher", "chief executive",
    # abbreviations and sentence punctuation
    "Dr.", "St.", "vs.", ".", "!", "?", "?!", "...", ",", ";", ":", "(", ")", "-", "'",
    # non-ASCII letters, curly quotes, dashes, emoji, combining marks, special lowercasing
    "naïve", "Ärztin", "café", "İstanbul", "ΣΟΦΊΑ", "straße", "ẞ", "\u212a", "“", "”", "‘", "’",
    "—", "–", "…", "😀", "👩‍⚕️", "e\u0301", "٣", "中文", "\u00a0", "\u2028", "\u3000",
    # plain filler
    "the", "a", "works", "as", "and", "with", "3.5", "e.g.", "U.S.", "_", "x_y",
]
SEPARATORS = [" ", " ", " ", "", "\n", "\n\n", "\t", "  ", " \r\n"]


@st.composite
def documents(draw):
    parts = draw(st.lists(st.tuples(st.sampled_from(FRAGMENTS) | st.text(max_size=4),
                                    st.sampled_from(SEPARATORS)), max_size=60))
    return "".join(a + b for a, b in parts)


def fast_counts(lexicon, texts, sources, windows=WINDOWS):
    c = ShardCounter(CountConfig(lexicon, windows))
    c.add_texts(pa.array(texts, pa.string()), pa.array(sources, pa.string()))
    cooc = {(r["source"], r["window"], r["occupation"]):
            (r["units"], r["male_only"], r["female_only"], r["both"], r["male_terms"],
             r["female_terms"]) for r in c.cooc_table().to_pylist()}
    terms = {(r["source"], r["window"], r["occupation"], r["gender"], r["term"]):
             (r["term_count"], r["units_with_term"]) for r in c.term_table().to_pylist()}
    docs = {r["source"]: (r["documents"], r["bytes"], r["words"])
            for r in c.shard_table("x").to_pylist()}
    return cooc, terms, docs


def ref_counts(lexicon, texts, sources, windows=WINDOWS):
    cfg = CountConfig(lexicon, windows)
    return reference_count(zip(texts, sources), lexicon, cfg.windows).as_plain()


@pytest.fixture(scope="module")
def lexicons():
    return {name: load_lexicon(name) for name in ("tracing-bias", "default")}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(st.tuples(documents(), st.sampled_from(["web", "books", ""])), max_size=6),
       name=st.sampled_from(["tracing-bias", "default"]))
def test_fast_equals_reference(lexicons, docs, name):
    texts = [d for d, _ in docs]
    sources = [s for _, s in docs]
    assert fast_counts(lexicons[name], texts, sources) == ref_counts(lexicons[name], texts, sources)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_arbitrary_unicode_words_and_bytes(lexicons, text):
    lex = lexicons["tracing-bias"]
    assert fast_counts(lex, [text], ["s"]) == ref_counts(lex, [text], ["s"])


def test_batches_and_partitioning_do_not_change_counts(lexicons):
    lex = lexicons["default"]
    texts = ["She is a nurse. He is an engineer.", "His wife, a nurse, met Mr. Jones.",
             "police officers and nurses\nwomen and men", ""] * 5
    sources = ["web", "books"] * 10
    whole = ShardCounter(CountConfig(lex, WINDOWS))
    whole.add_texts(pa.array(texts), pa.array(sources))
    parts = ShardCounter(CountConfig(lex, WINDOWS))
    for i in range(0, len(texts), 3):
        parts.add_texts(pa.array(texts[i:i + 3]), pa.array(sources[i:i + 3]))
    assert whole.cooc_table().equals(parts.cooc_table())
    assert whole.term_table().equals(parts.term_table())


def test_sliced_and_large_string_arrays(lexicons):
    lex = lexicons["tracing-bias"]
    texts = pa.array(["x", "she is a nurse", "he is a nurse", "y"])
    src = pa.array(["a"] * 4)
    a = ShardCounter(CountConfig(lex, ("sentence",)))
    a.add_texts(texts.slice(1, 2), src.slice(1, 2))
    b = ShardCounter(CountConfig(lex, ("sentence",)))
    b.add_texts(pa.array(["she is a nurse", "he is a nurse"], pa.large_string()), src.slice(0, 2))
    assert a.cooc_table().equals(b.cooc_table())
