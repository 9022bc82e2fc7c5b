"""The numba fast path must give exactly the tables of the `tokenizers`-based reference path:
the study's lexicons, and random K-group lexicons (overlapping multi-word and hyphenated forms,
forms in two axes, case rules) on random text, for every window kind."""
from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.count.config import CountConfig
from engine.count.counting import ShardCounter
from engine.count.reference import fast_as_plain, reference_count
from engine.lexicon import lexicon_from_dict, load_lexicon

WINDOWS = ("sentence", "paragraph", "document", 1, 3, 10)

FRAGMENTS = [
    # lexicon words in several cases, plural and multi-word forms
    "she", "She", "HER", "hers", "herself", "he", "He", "him", "his", "himself", "Mr.", "Mrs.",
    "mr", "MRS", "Miss", "miss", "woman", "man", "mother", "father", "wife", "husband", "sister",
    "nurse", "Nurse", "nurses", "secretary", "engineer", "carpenter", "police", "officer",
    "police officer", "construction worker", "doctor", "teacher", "chief executive", "Teller",
    "teller",
    # abbreviations and sentence punctuation, hyphens
    "Dr.", "St.", "vs.", ".", "!", "?", "?!", "...", ",", ";", ":", "(", ")", "-", "--", "'",
    # non-ASCII letters, curly quotes, dashes, emoji, combining marks, special lowercasing
    "naïve", "Ärztin", "café", "İstanbul", "ΣΟΦΊΑ", "straße", "ẞ", "\u212a", "“", "”", "‘", "’",
    "—", "–", "…", "😀", "👩‍⚕️", "e\u0301", "٣", "中文", "\u00a0", "\u2028", "\u3000",
    # plain filler
    "the", "a", "works", "as", "and", "with", "3.5", "e.g.", "U.S.", "_", "x_y",
]
SEPARATORS = [" ", " ", " ", "", "\n", "\n\n", "\t", "  ", " \r\n", "-"]


@st.composite
def documents(draw, fragments=FRAGMENTS):
    parts = draw(st.lists(st.tuples(st.sampled_from(fragments) | st.text(max_size=4),
                                    st.sampled_from(SEPARATORS)), max_size=60))
    return "".join(a + b for a, b in parts)


def fast_counts(lexicon, texts, sources, windows=WINDOWS):
    c = ShardCounter(CountConfig(lexicon, windows, contexts=0))
    c.add_texts(pa.array(texts, pa.string()), pa.array(sources, pa.string()))
    return fast_as_plain(c.tables())


def ref_counts(lexicon, texts, sources, windows=WINDOWS):
    cfg = CountConfig(lexicon, windows, contexts=0)
    return reference_count(zip(texts, sources), lexicon, cfg.windows).as_plain()


@pytest.fixture(scope="module")
def lexicons():
    return {name: load_lexicon(name) for name in ("tracing-bias", "default")}


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(st.tuples(documents(), st.sampled_from(["web", "books", ""])), max_size=6),
       name=st.sampled_from(["tracing-bias", "default"]))
def test_fast_equals_reference(lexicons, docs, name):
    texts = [d for d, _ in docs]
    sources = [s for _, s in docs]
    assert fast_counts(lexicons[name], texts, sources) == ref_counts(lexicons[name], texts,
                                                                      sources)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=200))
def test_arbitrary_unicode_words_and_bytes(lexicons, text):
    lex = lexicons["tracing-bias"]
    assert fast_counts(lex, [text], ["s"]) == ref_counts(lex, [text], ["s"])


# ---- random K-group lexicons --------------------------------------------------------------------
WORDS = ["alpha", "beta", "gamma", "delta", "omega", "kappa", "sigma", "zeta", "Rho", "Tau",
         "naïve", "Ärzt", "straße", "xi",
         # around the scan's 8-byte chunks: 7, 8, 9, 15, 16 and 17 bytes
         "Kappa_7", "Engineer", "engineers", "Mathematicians", "internationalist",
         "Internationalists"]
CASES = ["any", "any", "lower", "capitalised", "title"]


@st.composite
def kgroup_case(draw):
    """A random K-group lexicon and documents made of renderings of its own phrases.

    Phrases (1-3 words) are shared: the same phrase may be a form in two axes (with different
    case rules), phrases share prefixes, forms are written with spaces or hyphens. Documents
    render phrases with random joiners (space, hyphen, spaced hyphen, double hyphen) and random
    case, between filler, so that matches, near-misses and case-rule failures are all common.
    """
    pool = draw(st.lists(st.sampled_from(WORDS), min_size=4, max_size=8, unique=True))
    phrases = draw(st.lists(st.lists(st.sampled_from(pool), min_size=1, max_size=3).map(tuple),
                            min_size=4, max_size=9, unique=True))

    def render_form(ph):
        joiner = draw(st.sampled_from([" ", " ", "-"])) if len(ph) > 1 else " "
        style = draw(st.sampled_from(["as", "as", "cap", "lower"]))
        text = joiner.join(ph)
        text = text.capitalize() if style == "cap" else text.lower() if style == "lower" else text
        case = draw(st.sampled_from(CASES))
        return text if case == "any" else {"form": text, "case": case}

    n_targets = draw(st.integers(1, min(3, len(phrases) - 2)))
    target_phr, group_phr = phrases[:n_targets], phrases[n_targets:]
    targets = [{"name": f"t{i}", "forms": [render_form(p)]} for i, p in enumerate(target_phr)]
    axes = []
    for a in range(draw(st.integers(1, 3))):
        chosen = draw(st.lists(st.sampled_from(group_phr), min_size=2, max_size=len(group_phr),
                               unique=True))
        n_groups = draw(st.integers(2, max(2, min(4, len(chosen)))))
        groups = [{"name": f"g{g}", "forms": []} for g in range(n_groups)]
        for i, ph in enumerate(chosen):
            groups[i % n_groups]["forms"].append(render_form(ph))
        axes.append({"name": f"axis{a}", "groups": [g for g in groups if g["forms"]]})
    axes = [a for a in axes if len(a["groups"]) >= 2]
    if not axes:
        axes = [{"name": "axis0", "groups": [{"name": "g0", "forms": ["zzz"]},
                                              {"name": "g1", "forms": ["yyy"]}]}]
    lexicon = lexicon_from_dict({"format": "tracebias-lexicon/2", "name": "random",
                                 "version": "1", "case": draw(st.sampled_from(["any", "as-written"])),
                                 "axes": axes, "targets": targets}, "<hypothesis>")

    def render_text():
        parts = []
        for _ in range(draw(st.integers(0, 30))):
            if draw(st.booleans()):
                ph = draw(st.sampled_from(phrases))
                joiner = draw(st.sampled_from([" ", " ", "-", " - ", "--", "\n"]))
                text = joiner.join(ph)
                style = draw(st.sampled_from(["as", "cap", "lower", "upper"]))
                text = {"as": text, "cap": text[:1].upper() + text[1:], "lower": text.lower(),
                        "upper": text.upper()}[style]
                parts.append(text)
            else:
                parts.append(draw(st.sampled_from(KG_FILLER)))
            parts.append(draw(st.sampled_from(SEPARATORS)))
        return "".join(parts)

    docs = [(render_text(), draw(st.sampled_from(["web", "books"])))
            for _ in range(draw(st.integers(1, 4)))]
    return lexicon, docs


KG_FILLER = WORDS + ["-", ".", "!", "the", "and", "Mr.", "—", "😀", "\u00a0", "İ", "x",
                     "Engineeré", "engineer_", "internationalis", "INTERNATIONALISTé", "ß"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=kgroup_case())
def test_kgroup_fast_equals_reference(case):
    lexicon, docs = case
    texts = [d for d, _ in docs]
    sources = [s for _, s in docs]
    assert fast_counts(lexicon, texts, sources) == ref_counts(lexicon, texts, sources)


def test_hyphen_and_case_rules_by_hand():
    lex = lexicon_from_dict({
        "format": "tracebias-lexicon/2", "name": "h", "version": "1", "case": "as-written",
        "axes": [{"name": "race", "groups": [
            {"name": "black", "forms": ["African-American", "Black"]},
            {"name": "white", "forms": ["white", "European-American"]}]}],
        "targets": [{"name": "teller", "forms": [{"form": "teller", "case": "lower"}]},
                    {"name": "nurse", "forms": ["nurse"]}]})
    text = ("The African American nurse. The African-American teller. Teller said the "
            "african-american NURSE. A black cat and a White nurse. Black - American")
    got = fast_counts(lex, [text], ["s"], ("sentence",))
    assert got == ref_counts(lex, [text], ["s"], ("sentence",))
    rep = got["representation"]
    # "African American", "African-American" match; "african-american" too (the form's case
    # rule is `any`: "African-American" has a capital but as-written applies to plain forms
    # written with a capital initial -> capitalised, so the lowercase one does not match)
    assert rep[("s", "race", "black", "African-American")] == (1, 2)
    assert ("s", "race", "black", "Black") in rep  # "Black - American": hyphen token, no path
    assert rep[("s", "race", "white", "white")] == (1, 1)  # "White" matches the `any` form
    units = got["target_units"]
    assert units[("s", "sentence", "race", "teller")] == (1, 0, 0)  # "Teller" is not a teller
    assert units[("s", "sentence", "race", "nurse")][0] == 3  # NURSE matches: rule any


def test_batches_and_partitioning_do_not_change_counts(lexicons):
    lex = lexicons["default"]
    texts = ["She is a nurse. He is an engineer.", "His wife, a nurse, met Mr. Jones.",
             "police officers and nurses\nwomen and men", ""] * 5
    sources = ["web", "books"] * 10
    whole = ShardCounter(CountConfig(lex, WINDOWS))
    whole.add_texts(pa.array(texts), pa.array(sources), pa.array([str(i) for i in range(20)]))
    parts = ShardCounter(CountConfig(lex, WINDOWS))
    for i in range(0, len(texts), 3):
        parts.add_texts(pa.array(texts[i:i + 3]), pa.array(sources[i:i + 3]),
                        pa.array([str(j) for j in range(i, min(i + 3, 20))]))
    a, b = whole.tables(), parts.tables()
    for name in a:
        if name != "contexts":
            assert a[name].equals(b[name]), name
    key = ["key_kind", "target", "axis", "group_name", "priority", "doc_id", "char_start"]
    assert a["contexts"].select(key).equals(b["contexts"].select(key))


def test_sliced_and_large_string_arrays(lexicons):
    lex = lexicons["tracing-bias"]
    texts = pa.array(["x", "she is a nurse", "he is a nurse", "y"])
    src = pa.array(["a"] * 4)
    a = ShardCounter(CountConfig(lex, ("sentence",)))
    a.add_texts(texts.slice(1, 2), src.slice(1, 2))
    b = ShardCounter(CountConfig(lex, ("sentence",)))
    b.add_texts(pa.array(["she is a nurse", "he is a nurse"], pa.large_string()), src.slice(0, 2))
    assert a.tables()["cooccurrence"].equals(b.tables()["cooccurrence"])
