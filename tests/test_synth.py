"""The default-corpus generator: deterministic, valid Dolma lines, planted truth recoverable."""
from __future__ import annotations

import gzip
import json

import pyarrow.parquet as pq
import pytest
import zstandard

from engine.counting import CountConfig
from engine.lexicon import load_lexicon
from engine.runner import run_local
from engine.synth import FEMALE, MALE, NOUNS, SynthConfig, generate_corpus

SMALL = SynthConfig(shards=2, docs_per_shard=300)


def test_same_seed_same_bytes(tmp_path):
    a = generate_corpus(tmp_path / "a", SMALL)
    b = generate_corpus(tmp_path / "b", SMALL)
    c = generate_corpus(tmp_path / "c", SynthConfig(seed=1, shards=2, docs_per_shard=300))
    assert [p.read_bytes() for p in a.shards] == [p.read_bytes() for p in b.shards]
    assert [p.read_bytes() for p in a.shards] != [p.read_bytes() for p in c.shards]


def test_lines_are_dolma_documents_except_planted_bad_ones(tmp_path):
    corpus = generate_corpus(tmp_path, SMALL)
    bad = {(b["shard"], b["line"]) for b in corpus.bad_lines}
    assert len(bad) == 3
    n = 0
    for path in corpus.shards:
        for i, line in enumerate(gzip.decompress(path.read_bytes()).decode().splitlines(), 1):
            if (path.name, i) in bad:
                continue
            d = json.loads(line)
            assert {"id", "text", "source", "added", "created", "metadata"} <= set(d)
            n += 1
    assert n == corpus.documents == 600


def test_filler_never_uses_lexicon_words():
    lex = load_lexicon("default")
    forms = {f.lower().rstrip(".") for _, f in lex.gender_terms}
    forms |= {f.lower() for t in lex.targets for f in t.forms}
    assert not forms & set(NOUNS)
    assert all(w.lower().rstrip(".") in forms for g in (FEMALE, MALE) for v in g.values() for w in v)


@pytest.mark.parametrize("compression", ["zstd", "none"])
def test_other_compressions(tmp_path, compression):
    corpus = generate_corpus(tmp_path, SynthConfig(shards=1, docs_per_shard=20,
                                                   compression=compression, inject_bad_lines=False))
    raw = corpus.shards[0].read_bytes()
    if compression == "zstd":
        raw = zstandard.ZstdDecompressor().stream_reader(raw).read()
    assert len(raw.decode().splitlines()) == 20


def test_engine_recovers_planted_rates(tmp_path):
    corpus = generate_corpus(tmp_path / "c", SynthConfig(shards=2, docs_per_shard=1500))
    run_local([str(corpus.root / "documents")], str(tmp_path / "out"),
              CountConfig(load_lexicon("default"), ("sentence",)), progress=False)
    planted = json.loads((corpus.root / "PLANTED.json").read_text())
    rows = {(r["source"], r["occupation"]): r
            for r in pq.read_table(tmp_path / "out" / "cooccurrence.parquet").to_pylist()}
    for s in planted["sentences"]:
        r = rows[(s["source"], s["occupation"])]
        # exact: every planted gendered sentence is one unit of the right class
        assert (r["female_only"], r["male_only"], r["both"]) == (
            s["female_only"], s["male_only"], s["both"]), s
    for p in planted["plants"]:
        s = next(x for x in planted["sentences"]
                 if (x["source"], x["occupation"]) == (p["source"], p["occupation"]))
        n = s["female_only"] + s["male_only"]
        assert abs(s["female_only"] / n - p["p_female"]) < 4 * (0.25 / n) ** 0.5 + 0.02
    rejects = pq.read_table(tmp_path / "out" / "rejects.parquet").to_pylist()
    assert sorted(r["line"] for r in rejects) == sorted(b["line"] for b in corpus.bad_lines)
