"""Windows in a model's own tokens: a BPE trained here on the fly (no download)."""
from __future__ import annotations

import gzip
import json
from collections import defaultdict

import pyarrow as pa
import pytest
from tokenizers import Tokenizer

from engine.count.config import CountConfig
from engine.count.counting import ShardCounter
from engine.lexicon import load_lexicon
from engine.count.model_tokens import surface_forms
from tests.conftest import train_bpe
from engine.run.local import run_local
from engine.corpus.synth import SynthConfig, generate_corpus
from engine.warehouse import Warehouse, parse_counts_arg


@pytest.fixture(scope="module")
def corpus_and_tokenizer(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tok")
    corpus = generate_corpus(tmp / "c", SynthConfig(shards=2, docs_per_shard=250,
                                                    inject_bad_lines=False))
    texts = [json.loads(x)["text"] for p in corpus.shards for x in gzip.open(p)]
    return corpus, texts, train_bpe(texts, tmp / "tokenizer.json", vocab_size=600)


def reference_token_windows(texts, lexicon, tokenizer_path, ks):
    """Straightforward Python: variants -> token tuples, leftmost-longest, ±k overlap."""
    tok = Tokenizer.from_file(tokenizer_path)
    kinds = [("gender", g) for g, _ in lexicon.gender_terms]
    kinds += [("target", t.name) for t in lexicon.targets for _ in t.forms]
    table = {}
    for (kind, label), (form, rule) in zip(kinds, surface_forms(lexicon)):
        f = form.strip()
        f = f[:-1] if f.endswith(".") else f
        bases = {f, " ".join(f.replace("-", " ").split())}
        for v in sorted({x for b in bases for x in (b, b.lower(), b[:1].upper() + b[1:])}):
            if rule == "capitalised" and v[:1] == v[:1].lower():
                continue  # Miss matches only capitalised, so the variant "miss" is not encoded
            if rule == "lower" and v != v.lower():
                continue
            if rule == "title" and (v[:1] == v[:1].lower() or v[1:] != v[1:].lower()):
                continue
            for text in (v, " " + v):
                ids = tuple(tok.encode(text, add_special_tokens=False).ids)
                if ids:
                    table.setdefault(ids, (kind, label))
    longest = max(map(len, table))
    out = defaultdict(lambda: [0, 0, 0])
    for text in texts:
        ids = tok.encode(text, add_special_tokens=False).ids
        mentions, i = [], 0
        while i < len(ids):
            for n in range(min(longest, len(ids) - i), 0, -1):
                hit = table.get(tuple(ids[i:i + n]))
                if hit:
                    mentions.append((hit, i, i + n - 1))
                    i += n
                    break
            else:
                i += 1
        genders = [(lab, a, b) for (kind, lab), a, b in mentions if kind == "gender"]
        gender_of = {f: g for g, f in lexicon.gender_terms}
        for (kind, name), a, b in mentions:
            if kind != "target":
                continue
            for k in ks:
                ctx = [gender_of[lab] for lab, ga, gb in genders if gb >= a - k and ga <= b + k]
                f, m = ctx.count("female"), ctx.count("male")
                row = out[(f"tokens:{k}", name)]
                row[0] += 1
                row[1] += f > 0 and m == 0
                row[2] += m > 0 and f == 0
    return dict(out)


def test_token_windows_equal_reference(corpus_and_tokenizer):
    _, texts, tok = corpus_and_tokenizer
    lex = load_lexicon("default")
    sc = ShardCounter(CountConfig(lex, ("tokens:3", "tokens:8"), tokenizer=tok))
    sc.add_texts(pa.array(texts), pa.array(["web"] * len(texts)))
    fast = {(r["window_label"], r["occupation"]): [r["units"], r["female_only"], r["male_only"]]
            for r in sc.table("cooccurrence").to_pylist()}
    assert fast == reference_token_windows(texts, lex, tok, (3, 8))
    assert sum(v[0] for v in fast.values()) > 1000


def test_word_vs_token_windows_in_sql(corpus_and_tokenizer, tmp_path):
    corpus, _, tok = corpus_and_tokenizer
    out = tmp_path / "out"
    s = run_local([str(corpus.root / "documents")], str(out),
                  CountConfig(load_lexicon("default"), ("sentence", 10, "tokens:10"), tokenizer=tok),
                  progress=False)
    assert s.manifest["tokenizer"]["model_tokens"]["path"] == tok
    assert len(s.manifest["tokenizer"]["model_tokens"]["sha256"]) == 64
    with Warehouse(tmp_path / "w.duckdb") as w:
        w.build([parse_counts_arg(f"synth={out}")])
        rows = w.sql("""
            SELECT occupation,
                   max(p) FILTER (WHERE window_label = 'words:10') AS p_words,
                   max(p) FILTER (WHERE window_label = 'tokens:10') AS p_tokens,
                   max(units) FILTER (WHERE window_label = 'words:10') AS units_words,
                   max(units) FILTER (WHERE window_label = 'tokens:10') AS units_tokens
            FROM data_share WHERE source = '*' GROUP BY occupation ORDER BY occupation""").to_dicts()
    by = {r["occupation"]: r for r in rows}
    assert by["nurse"]["units_words"] == by["nurse"]["units_tokens"]  # same mentions found
    assert by["nurse"]["p_tokens"] > 0.5 > by["engineer"]["p_tokens"]


def test_token_windows_need_a_tokenizer():
    with pytest.raises(ValueError, match="tokenizer"):
        CountConfig(load_lexicon("default"), ("tokens:5",))
