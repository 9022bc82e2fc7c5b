"""Integration on the real English Wikipedia shards (skipped when ../shared is absent)."""
from __future__ import annotations

import pytest

from engine.count.counting import CountConfig, count_shard
from engine.lexicon import load_lexicon
from engine.count.reference import reference_count
from engine.corpus.shards import DocBatch, expand_inputs, read_shard

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("index,lexicon", [(0, "tracing-bias"), (7, "default")])
def test_fast_path_equals_reference_on_wikipedia(wiki_dir, index, lexicon):
    lex = load_lexicon(lexicon)
    shard = expand_inputs([str(wiki_dir)])[index]
    config = CountConfig(lex)
    fast = count_shard(shard, config)
    docs = [(t, s) for b in read_shard(shard) if isinstance(b, DocBatch)
            for t, s in zip(b.text.to_pylist(), b.source.to_pylist())]
    ref_cooc, ref_terms, ref_docs = reference_count(docs, lex, config.windows).as_plain()
    cooc = {(r["source"], r["window"], r["occupation"]):
            (r["units"], r["male_only"], r["female_only"], r["both"], r["male_terms"],
             r["female_terms"]) for r in fast.cooc_table().to_pylist()}
    terms = {(r["source"], r["window"], r["occupation"], r["gender"], r["term"]):
             (r["term_count"], r["units_with_term"]) for r in fast.term_table().to_pylist()}
    assert len(cooc) > 500
    assert cooc == ref_cooc
    assert terms == ref_terms
    assert {r["source"]: (r["documents"], r["bytes"], r["words"])
            for r in fast.shard_table("x").to_pylist()} == ref_docs
    assert fast.rejects == []


def test_all_shards_read_cleanly(wiki_dir):
    shards = expand_inputs([str(wiki_dir)])
    assert len(shards) == 12
    docs = 0
    for s in shards:
        for item in read_shard(s):
            assert isinstance(item, DocBatch)
            docs += len(item.text)
    assert docs == 6622
