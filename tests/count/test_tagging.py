"""Dolma attribute output and attribute-filtered counting, on the real Dolma fixtures."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from engine.count.config import CountConfig
from engine.lexicon import load_lexicon
from engine.lexicon.matcher import compile_lexicon
from engine.run.local import run_local
from engine.corpus.shards import expand_inputs
from engine.count.tagging import AttributeFilter, tag_shard
from engine.count.windows import Window
from tests.conftest import SHARED

DOLMA = SHARED / "dolma-samples"


@pytest.fixture(scope="module")
def dolma():
    if not DOLMA.is_dir():
        pytest.skip(f"Dolma fixtures not found at {DOLMA}")
    return DOLMA


def lines(path):
    return [json.loads(x) for x in gzip.decompress(path.read_bytes()).decode().splitlines()]


def test_tag_writes_row_aligned_dolma_attributes(dolma, tmp_path):
    out = tmp_path / "attributes" / "tb"
    r = subprocess.run([sys.executable, "-m", "engine.cli", "tag",
                        str(dolma / "provided" / "documents"), str(dolma / "multiple_files"),
                        "--out", str(out), "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "tagged 30 documents in 3 shards" in r.stdout
    for doc_file, rel in [(dolma / "provided" / "documents" / "000.json.gz", "000.json.gz"),
                          (dolma / "multiple_files" / "cc_en_head-0091.jsonl.gz",
                           "cc_en_head-0091.jsonl.gz")]:
        docs, attrs = lines(doc_file), lines(out / rel)
        assert [a["id"] for a in attrs] == [d["id"] for d in docs]  # same rows, same order
        lex = load_lexicon("default")
        forms = {f.lower() for t in lex.targets for f in t.forms}
        n_spans = 0
        for d, a in zip(docs, attrs):
            at = a["attributes"]
            assert set(at) >= {"tb__female_context", "tb__male_context", "tb__mentions"}
            spans = [s for k in ("female", "male", "both", "no_gender")
                     for s in at[f"tb__{k}_context"]]
            assert at["tb__mentions"] == [[0, len(d["text"]), len(spans)]]
            for s, e, _ in spans:
                assert d["text"][s:e].lower() in forms  # character offsets into text
                n_spans += 1
        assert n_spans > 10


def test_context_class_of_a_span(tmp_path):
    p = tmp_path / "docs" / "a.jsonl"
    p.parent.mkdir()
    text = "Die Ärztin sagt: she is a nurse. He hired an engineer!\nA pilot."
    p.write_text(json.dumps({"id": "x", "text": text, "source": "t"}) + "\n\n" +
                 "not json\n" + json.dumps({"id": "y", "text": "nurse", "source": "t"}) + "\n")
    shard = expand_inputs([str(p)])[0]
    tag_shard(shard, str(tmp_path / "out"), compile_lexicon(load_lexicon("default")),
              Window("sentence"), "tb")
    rows = [json.loads(x) for x in (tmp_path / "out" / "a.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["x", None, "y"]  # rejected line keeps its row
    a = rows[0]["attributes"]
    span = lambda key: [text[s:e] for s, e, _ in a[key]]  # noqa: E731
    assert span("tb__female_context") == ["nurse"]
    assert span("tb__male_context") == ["engineer"]
    assert span("tb__no_gender_context") == ["pilot"]
    assert a["tb__occ__nurse"][0][2] == 1.0 and a["tb__occ__engineer"][0][2] == 2.0


def test_count_only_documents_that_pass_an_attribute_filter(dolma, tmp_path):
    docs = dolma / "provided" / "documents"
    tox = AttributeFilter.parse(f"{dolma / 'provided' / 'attributes' / 'toxicity'}:toxicity<0.5")
    shard = expand_inputs([str(docs)])[0]
    passing = int(tox.mask(shard).sum())
    assert 0 < passing < 10
    lex = load_lexicon("default")
    run_local([str(docs)], str(tmp_path / "all"), CountConfig(lex, ("document",)), progress=False)
    s = run_local([str(docs)], str(tmp_path / "f"), CountConfig(lex, ("document",), filters=(tox,)),
                  progress=False)
    assert s.totals["documents"] == passing and s.totals["filtered_out"] == 10 - passing
    assert s.manifest["filters"] == [tox.label()]
    full = pq.read_table(tmp_path / "all" / "cooccurrence.parquet")["units"].to_pylist()
    part = pq.read_table(tmp_path / "f" / "cooccurrence.parquet")["units"].to_pylist()
    assert sum(part) < sum(full)
    spans = AttributeFilter.parse(
        f"{dolma / 'provided' / 'attributes' / 'duplicate_paragraphs'}:bff_duplicate_paragraph_spans<1")
    assert 0 < int(spans.mask(shard).sum()) < 10  # span lists: the largest span score
    with pytest.raises(ValueError, match="bad filter"):
        AttributeFilter.parse("attributes/toxicity:toxicity")


def test_tag_with_token_windows_and_no_leftovers(tmp_path):
    """`tag --window tokens:5` used to crash with a KeyError and leave a .tmp-* file."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.jsonl").write_text("\n".join(json.dumps({"id": str(i), "text": t, "source": "s"})
                                            for i, t in enumerate(["she is a nurse", "he hired an "
                                                                  "engineer today"])) + "\n")
    out = tmp_path / "attrs" / "tb"
    cli = [sys.executable, "-m", "engine.cli", "tag", str(docs), "--out", str(out), "--quiet"]
    r = subprocess.run(cli + ["--window", "tokens:5"], capture_output=True, text=True)
    assert r.returncode == 2 and "--tokenizer" in r.stderr and "Traceback" not in r.stderr
    assert not list(tmp_path.rglob(".tmp-*"))
    vocab = {w: i for i, w in enumerate(["[UNK]", "she", "is", "a", "nurse", "he", "hired", "an",
                                         "engineer", "today"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "tok.json"))
    r = subprocess.run(cli + ["--window", "tokens:5", "--tokenizer", str(tmp_path / "tok.json")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in (out / "a.jsonl").read_text().splitlines()]
    assert rows[0]["attributes"]["tb__female_context"] == [[9, 14, 1.0]]
    assert rows[1]["attributes"]["tb__male_context"] == [[12, 20, 1.0]]
    assert not list(tmp_path.rglob(".tmp-*"))
