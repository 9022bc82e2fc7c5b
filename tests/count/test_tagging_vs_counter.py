"""Tagging and counting share one window definition (engine.count.kernels.window_ranges): for
every window kind, model tokens included, the class a tagged span gets is the class its unit
counts as."""
from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest
from engine.corpus.shards import DocBatch
from engine.count.config import CountConfig
from engine.count.counting import ShardCounter
from engine.count.reference import find_mentions, tokenize
from engine.count.tagging import CLASS_NAMES, tag_batch
from engine.count.windows import parse_window
from engine.lexicon import load_lexicon, resolve_lexicon
from engine.lexicon.matcher import compile_lexicon
from tests.conftest import synthetic_texts, train_bpe


@pytest.fixture(scope="module")
def texts_and_tokenizer(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tagcount")
    texts = synthetic_texts(tmp / "c")
    return texts, train_bpe(texts, tmp / "tokenizer.json")


def tag_classes(texts, lexicon, window, tokenizer=None):
    """(occupation, class) of every tagged occupation span."""
    config = CountConfig(lexicon, (window,), tokenizer=tokenizer)
    batch = DocBatch(pa.array(texts), pa.array(["s"] * len(texts)), 1,
                     pa.array([str(i) for i in range(len(texts))]))
    rows = tag_batch(batch, config.compiled, parse_window(window), "tb",
                     config.token_matcher if tokenizer else None)
    out = Counter()
    for r in rows:
        for key, spans in r["attributes"].items():
            if key.startswith("tb__occ__"):
                for _, _, score in spans:
                    out[(key[len("tb__occ__"):].replace("_", " "), CLASS_NAMES[int(score)])] += 1
    return out


@pytest.mark.parametrize("window", ["words:3", "words:10", "tokens:4"])
def test_positional_windows_tag_exactly_the_counted_units(texts_and_tokenizer, window):
    texts, tok = texts_and_tokenizer
    lex = load_lexicon("default")
    tokenizer = tok if window.startswith("tokens") else None
    tagged = tag_classes(texts, lex, window, tokenizer)
    c = ShardCounter(CountConfig(lex, (window,), tokenizer=tokenizer))
    c.add_texts(pa.array(texts), pa.array(["s"] * len(texts)),
                pa.array([str(i) for i in range(len(texts))]))
    counted = Counter()
    for r in c.table("cooccurrence").to_pylist():  # one unit per mention in these windows
        counted[(r["occupation"], "female")] += r["female_only"]
        counted[(r["occupation"], "male")] += r["male_only"]
        counted[(r["occupation"], "both")] += r["female_and_male"]
        counted[(r["occupation"], "no_gender")] += (r["units"] - r["female_only"] -
                                                    r["male_only"] - r["female_and_male"])
    assert +counted == +tagged and sum(tagged.values()) > 300


@pytest.mark.parametrize("window", ["sentence", "paragraph", "document"])
def test_context_windows_tag_the_class_of_the_mention_context(texts_and_tokenizer, window):
    texts, _ = texts_and_tokenizer
    lex = load_lexicon("default")
    tagged = tag_classes(texts, lex, window)
    key = {"sentence": lambda m: m.sentence, "paragraph": lambda m: m.paragraph,
           "document": lambda m: 0}[window]
    expected = Counter()
    for text in texts:
        mentions = find_mentions(tokenize(text, {"mr", "mrs", "ms", "dr", "prof", "st", "jr",
                                                 "sr", "vs"}), lex)
        for t in (m for m in mentions if m.kind == "target"):
            groups = {g for m in mentions if m.kind == "group" and key(m) == key(t)
                      for _, g, _ in m.entries}
            cls = CLASS_NAMES[("female" in groups) + 2 * ("male" in groups)]
            expected[(t.label, cls)] += 1
    assert tagged == expected and sum(expected.values()) > 300


def test_kgroup_axes_are_tagged(tmp_path):
    lex = resolve_lexicon("holistic-bias", targets="default", axes=["religion"])
    batch = DocBatch(pa.array(["The Hindu engineer arrived. A nurse spoke."]), pa.array(["s"]),
                     1, pa.array(["d"]))
    rows = tag_batch(batch, compile_lexicon(lex), parse_window("sentence"), "x")
    a = rows[0]["attributes"]
    assert a["x__religion__hindu_context"] == [[10, 18, 1.0]]
    assert a["x__religion__no_group_context"] == [[30, 35, 1.0]]
    assert a["x__mentions"] == [[0, 42, 2]]
