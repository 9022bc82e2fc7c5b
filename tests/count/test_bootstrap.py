"""Document-level Poisson bootstrap: deterministic weights, independent of partitioning, and
percentile intervals that cover planted rates at about the nominal rate."""
from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.count.bootstrap import POISSON_CDF, weights
from engine.count.config import CountConfig
from engine.count.kernels import poisson_weights
from engine.lexicon import load_lexicon
from engine.run.local import run_local
from engine.corpus.synth import SynthConfig, generate_corpus
from engine.warehouse import Warehouse, parse_counts_arg


@settings(max_examples=200, deadline=None)
@given(doc_id=st.text(max_size=40))
def test_kernel_weights_equal_the_definition(doc_id):
    raw = np.frombuffer(doc_id.encode("utf-8"), dtype=np.uint8)
    out = np.zeros(50, dtype=np.int64)
    poisson_weights(raw, 0, len(raw), POISSON_CDF, out)
    assert out.tolist() == weights(doc_id, 50)


def test_weights_are_poisson_one():
    w = np.array([weights(f"doc-{i}", 100) for i in range(400)])
    assert abs(w.mean() - 1) < 0.03 and abs(w.var() - 1) < 0.06
    assert abs((w == 0).mean() - np.exp(-1)) < 0.02


def test_replicates_do_not_depend_on_partitioning(tmp_path):
    corpus = generate_corpus(tmp_path / "c", SynthConfig(shards=3, docs_per_shard=200))
    outs = []
    for i, (workers, batch) in enumerate([(1, 16 << 20), (2, 5000)]):
        out = tmp_path / f"o{i}"
        run_local([str(corpus.root / "documents")], str(out),
                  CountConfig(load_lexicon("default"), ("sentence", 5), batch_bytes=batch,
                              bootstrap=20), workers=workers, progress=False)
        outs.append((out / "bootstrap.parquet").read_bytes())
    assert outs[0] == outs[1]
    t = pq.read_table(tmp_path / "o0" / "bootstrap.parquet")
    assert sorted(set(t["replicate"].to_pylist())) == list(range(20))


def test_intervals_cover_planted_rates(tmp_path):
    """95% percentile intervals vs the planted p_female of every (source, occupation)."""
    hits, total, widths = 0, 0, []
    for seed in (1, 2):
        corpus = generate_corpus(tmp_path / f"c{seed}",
                                 SynthConfig(seed=seed, shards=2, docs_per_shard=700))
        out = tmp_path / f"o{seed}"
        run_local([str(corpus.root / "documents")], str(out),
                  CountConfig(load_lexicon("default"), ("sentence",), bootstrap=100),
                  progress=False)
        db = tmp_path / f"w{seed}.duckdb"
        with Warehouse(db) as w:
            w.build([parse_counts_arg(f"synth={out}")])
            ci = {(r["source"], r["occupation"]): r for r in
                  w.sql("SELECT * FROM data_share_ci WHERE source <> '*'").to_dicts()}
        for plant in corpus.plants:
            r = ci[(plant.source, plant.occupation)]
            assert r["replicates"] == 100
            total += 1
            hits += r["p_low"] <= plant.p_female <= r["p_high"]
            widths.append(r["p_high"] - r["p_low"])
    coverage = hits / total
    assert total == 84
    assert 0.85 <= coverage <= 1.0, coverage
    assert 0.02 < np.mean(widths) < 0.3


def test_summary_intervals(tmp_path):
    corpus = generate_corpus(tmp_path / "c", SynthConfig(shards=1, docs_per_shard=900))
    from engine.corpus.synth import generate_model_outputs

    generate_model_outputs(tmp_path / "g.jsonl", samples=40)
    run_local([str(corpus.root / "documents")], str(tmp_path / "o"),
              CountConfig(load_lexicon("default"), ("sentence",), bootstrap=50), progress=False)
    with Warehouse(tmp_path / "w.duckdb") as w:
        w.build([parse_counts_arg(f"s={tmp_path / 'o'}")], {"min_support": 5})
        w.add_generations(tmp_path / "g.jsonl")
        rows = w.sql("SELECT * FROM amplification_summary_ci WHERE template = '*' "
                     "ORDER BY stage").to_dicts()
        point = {r["stage"]: r for r in w.sql(
            "SELECT * FROM amplification_summary WHERE template = '*'").to_dicts()}
        amp = w.sql("SELECT * FROM amplification_ci WHERE template = '*'").to_dicts()
    assert [r["stage"] for r in rows] == ["base", "tuned"]
    for r in rows:
        assert r["replicates"] == 50
        assert r["slope_low"] <= point[r["stage"]]["slope"] <= r["slope_high"]
        assert r["pearson_low"] <= r["pearson_high"]
    # base sharpens the data (slope > 1), tuned dampens it (slope < 1), beyond the intervals
    assert rows[0]["slope_low"] > 1 and rows[1]["slope_high"] < 1
    assert all(a["amplification_low"] <= a["amplification_high"] for a in amp)
