"""Integration on the real English Wikipedia shards (skipped when ../shared is absent)."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
from pathlib import Path

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from engine.corpus.shards import DocBatch, expand_inputs, read_shard
from engine.count.config import CountConfig
from engine.count.counting import count_shard
from engine.count.reference import fast_as_plain, reference_count
from engine.lexicon import lexicon_from_dict, load_lexicon
from engine.run.local import run_local

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "data"

# a K-group lexicon with hyphenated forms, case rules and a form in two axes, for real text
KGROUP = {
    "format": "tracebias-lexicon/2", "name": "wiki-kgroup", "version": "1", "case": "as-written",
    "axes": [
        {"name": "religion", "groups": [
            {"name": "christian", "forms": ["Christian", "Christians", "Catholic", "Protestant"]},
            {"name": "muslim", "forms": ["Muslim", "Muslims", "Islamic"]},
            {"name": "jewish", "forms": ["Jewish", "Jew", "Jews"]},
            {"name": "hindu", "forms": ["Hindu", "Hindus"]}]},
        {"name": "nationality", "groups": [
            {"name": "american", "forms": ["American", "Americans", "African-American"]},
            {"name": "british", "forms": ["British", "English"]},
            {"name": "french", "forms": ["French"]},
            {"name": "german", "forms": ["German", "Germans"]}]},
        {"name": "race", "groups": [
            {"name": "black", "forms": ["African-American", "African Americans", "Black"]},
            {"name": "white", "forms": [{"form": "white", "case": "lower"}, "Caucasian"]}]},
        {"name": "gender", "groups": [
            {"name": "female", "forms": ["she", "her", "woman", "women", "Mrs.", "Miss"]},
            {"name": "male", "forms": ["he", "his", "man", "men", "Mr."]}]}],
    "targets": [
        {"name": "war", "forms": ["war", "wars"], "set": "conflict"},
        {"name": "peace", "forms": ["peace"], "set": "harmony"},
        {"name": "teller", "forms": [{"form": "teller", "case": "lower"}]},
        {"name": "scientist", "forms": ["scientist", "scientists"]},
        {"name": "writer", "forms": ["writer", "writers", "co-writer"]}],
}


@pytest.mark.parametrize("index,lexicon", [(0, "tracing-bias"), (7, "default"), (3, "kgroup")])
def test_fast_path_equals_reference_on_wikipedia(wiki_dir, index, lexicon):
    lex = lexicon_from_dict(KGROUP) if lexicon == "kgroup" else load_lexicon(lexicon)
    shard = expand_inputs([str(wiki_dir)])[index]
    config = CountConfig(lex, contexts=0)
    fast = fast_as_plain(count_shard(shard, config).tables())
    docs = [(t, s) for b in read_shard(shard) if isinstance(b, DocBatch)
            for t, s in zip(b.text.to_pylist(), b.source.to_pylist())]
    ref = reference_count(docs, lex, config.windows).as_plain()
    assert len(fast["target_units"]) > 100
    if lexicon == "kgroup":
        assert len(fast["group"]) > 100 and len(fast["representation"]) > 20
    for name in ref:
        assert fast[name] == ref[name], name


def _csv_sha(path: Path) -> tuple[int, str]:
    t = pq.read_table(path)
    buf = io.BytesIO()
    pcsv.write_csv(t, buf)
    return t.num_rows, hashlib.sha256(buf.getvalue()).hexdigest()


def test_v1_outputs_unchanged(wiki_dir, tmp_path):
    """The binary-gender tables equal those of the code before K-group counting (commit
    22ccf76), stored in tests/data: the tracing-bias lexicon and that commit's default one."""
    expected = json.loads((DATA / "v1-wikipedia-expected.json").read_text())["tables"]
    lexicons = {"tracing-bias": load_lexicon("tracing-bias"),
                "default": lexicon_from_dict(json.loads(
                    (DATA / "default-lexicon-v1.json").read_text()), "default v1")}
    for name, lex in lexicons.items():
        out = tmp_path / name
        run_local([str(wiki_dir)], str(out), CountConfig(lex, bootstrap=20, contexts=0),
                  progress=False)
        for table in ("cooccurrence", "term_cooccurrence", "bootstrap"):
            rows, sha = _csv_sha(out / f"{table}.parquet")
            want = expected[f"{name}/{table}"]
            assert (rows, sha) == (want["rows"], want["sha256"]), f"{name}/{table}"
    # and the one stored in full, for a readable diff when the digest test fails
    stored = pcsv.read_csv(io.BytesIO(gzip.decompress(
        (DATA / "v1-tracing-bias-wikipedia-cooccurrence.csv.gz").read_bytes())))
    got = pq.read_table(tmp_path / "tracing-bias" / "cooccurrence.parquet")
    assert got.to_pylist() == stored.cast(got.schema).to_pylist()


def test_all_shards_read_cleanly(wiki_dir):
    shards = expand_inputs([str(wiki_dir)])
    assert len(shards) == 12
    docs = 0
    for s in shards:
        for item in read_shard(s):
            assert isinstance(item, DocBatch)
            docs += len(item.text)
    assert docs == 6622
