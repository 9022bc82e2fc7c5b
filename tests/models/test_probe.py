"""`tracebias probe`: exact group shares from next-token probabilities, checked against a plain
reference computed one prompt and one continuation at a time from the model's logits (no
batching, no padding), on tiny random models built here (word-level and byte-level BPE)."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from engine.lexicon import lexicon_from_dict, load_lexicon  # noqa: E402
from engine.models import probe as probe_mod  # noqa: E402
from engine.models.hf import ModelError, load_model  # noqa: E402
from engine.models.probe import (ProbeConfig, encode_continuation, run_probe,  # noqa: E402
                                 surface_variants)
from engine.models.prompts import build_prompts  # noqa: E402
from engine.models.tiny import build_tiny_model  # noqa: E402

KIN = {  # a 3-group axis with a multi-word form, a hyphenated form and case rules
    "format": "tracebias-lexicon/2", "name": "kin", "version": "1",
    "axes": [{"name": "kin", "groups": [
        {"name": "elder", "forms": ["grandmother", "grandfather", "great-aunt"]},
        {"name": "peer", "forms": ["sister", "brother", {"form": "Miss", "case": "capitalised"}]},
        {"name": "young", "forms": ["niece", "nephew", "young man", {"form": "son", "case": "lower"}]},
    ]}],
    "targets": [{"name": "nurse"}, {"name": "engineer"}],
}


@pytest.fixture(scope="module")
def word_model(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("word"), initializer_range=0.6, seed=1)


@pytest.fixture(scope="module")
def bpe_model(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("bpe"), tokenizer="bpe", bpe_vocab_size=420,
                            initializer_range=0.6, seed=2, extra_words=["great", "aunt"])


def write_prompts(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def some_prompts(n_occ: int = 3) -> list[dict]:
    rows = [p for p in build_prompts(load_lexicon("tracing-bias"), "base")
            if p["occupation"] in ("nurse", "engineer", "carpenter")[:n_occ]]
    rows.append({"prompt_id": "trailing-space", "prompt": "The nurse is ", "occupation": "nurse",
                 "template": "The {occupation} is ", "template_id": "x"})
    return rows


# ---- the reference: one prompt, one continuation, one unpadded forward pass at a time ----------
def chained_logprob(model, prompt_ids: list[int], seq: tuple[int, ...]) -> float:
    ids = torch.tensor([prompt_ids + list(seq)])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0].double()
    lsm = torch.log_softmax(logits, dim=-1)
    return float(sum(lsm[len(prompt_ids) - 1 + j, t] for j, t in enumerate(seq)))


def reference_shares(model, tok, prompt: str, axis) -> tuple[list[float], list[float]]:
    text = prompt.rstrip()
    prompt_ids = tok(text)["input_ids"]
    owners: dict[tuple[int, ...], set[int]] = {}
    for gi, g in enumerate(axis.groups):
        for form, case in zip(g.forms, g.cases):
            for v in surface_variants(form, case):
                seq = tuple(encode_continuation(tok, " " + v, True))
                if tok.unk_token_id in seq:
                    continue
                owners.setdefault(seq, set()).add(gi)
    seqs = {s: next(iter(o)) for s, o in owners.items() if len(o) == 1}
    lp = {s: chained_logprob(model, prompt_ids, s) for s in seqs}
    mass = [0.0] * len(axis.groups)
    for s, g in seqs.items():
        longer = [d for d in seqs if len(d) > len(s) and d[: len(s)] == s]
        nearest = [d for d in longer
                   if not any(len(u) < len(d) and d[: len(u)] == u for u in longer)]
        mass[g] += math.exp(lp[s]) - sum(math.exp(lp[d]) for d in nearest)
    total = sum(mass)
    return [m / total for m in mass], [math.log(m) for m in mass]


_LOADED: dict = {}


def check_against_reference(model_dir, out, prompts, lexicon, axis_name=None, atol=2e-6):
    import polars as pl

    if str(model_dir) not in _LOADED:
        _LOADED[str(model_dir)] = load_model(model_dir)
    tok, model = _LOADED[str(model_dir)]
    axis = lexicon.axis(axis_name) if axis_name else lexicon.gender_axis
    df = pl.read_parquet(out)
    assert df.height == len(prompts) * len(axis.groups)
    for p in prompts:
        got = df.filter(pl.col("prompt_id") == p["prompt_id"])
        assert got["group_name"].to_list() == list(axis.group_names)
        shares, logmass = reference_shares(model, tok, p["prompt"], axis)
        np.testing.assert_allclose(got["share"].to_numpy(), shares, atol=atol, rtol=0)
        np.testing.assert_allclose(got["logprob"].to_numpy(), logmass, atol=5e-5, rtol=0)
        assert got["target"].to_list() == [p["occupation"]] * len(axis.groups)


# ---- tests ------------------------------------------------------------------------------------
def test_surface_variants():
    assert surface_variants("she") == ["she", "She"]
    assert surface_variants("Mrs.") == ["Mrs", "mrs"]
    assert surface_variants("Miss", "capitalised") == ["Miss"]
    assert surface_variants("son", "lower") == ["son"]
    assert surface_variants("great-aunt") == ["great-aunt", "Great-aunt", "great aunt", "Great aunt"]
    assert surface_variants("African-American") == [
        "African-American", "african-american", "African-american", "African American",
        "african american", "African american"]


@pytest.mark.parametrize("which", ["word", "bpe"])
def test_probe_equals_plain_per_prompt_computation(which, word_model, bpe_model, tmp_path):
    model_dir = word_model if which == "word" else bpe_model
    prompts = some_prompts(2)
    src = write_prompts(tmp_path / "p.jsonl", prompts)
    lex = load_lexicon("tracing-bias")
    n = run_probe(src, tmp_path / "o.parquet", ProbeConfig(str(model_dir), batch_size=5), lex,
                  progress=False)
    assert n == len(prompts)
    check_against_reference(model_dir, tmp_path / "o.parquet", prompts, lex)


def test_k_group_axis_with_multi_word_and_nested_forms(bpe_model, tmp_path):
    lex = lexicon_from_dict(KIN)
    prompts = some_prompts(2)
    src = write_prompts(tmp_path / "p.jsonl", prompts)
    run_probe(src, tmp_path / "o.parquet", ProbeConfig(str(bpe_model), batch_size=3), lex,
              progress=False)
    check_against_reference(bpe_model, tmp_path / "o.parquet", prompts, lex, "kin")
    meta = probe_mod.continuations_summary(tmp_path / "o.parquet")["after_word"]
    assert [" young man"] in meta["young"] and [" Miss"] in meta["peer"]
    assert [" great aunt"] in meta["elder"]


def test_nested_continuations_really_occur(bpe_model):
    """The BPE model makes " Mr" a token prefix of " Mrs": the exclusive-mass rule is exercised."""
    tok, _ = load_model(bpe_model)
    c = probe_mod.build_continuations(tok, load_lexicon("tracing-bias").gender_axis, True)
    nested = [(c.texts[i][0], c.texts[j][0]) for i, near in enumerate(c.nearest) for j in near]
    assert (" Mr", " Mrs") in nested
    assert c.multi_token > 20 and len(c.rows) > 1


def test_nested_forms_give_away_the_extension_mass(word_model, tmp_path):
    """Group A has "kind", group B "kind W" with W the model's likeliest word after "kind": the
    mass of " kind W" must move from A to B (a plain sum would count it twice)."""
    tok, model = load_model(word_model)
    prompt = "The nurse is"
    ids = tok(prompt)["input_ids"] + encode_continuation(tok, " kind", True)
    with torch.no_grad():
        probs = torch.softmax(model(input_ids=torch.tensor([ids])).logits[0, -1].double(), -1)
    vocab = tok.convert_ids_to_tokens(list(range(len(probs))))
    order = [int(i) for i in torch.argsort(probs, descending=True)]
    w = next(vocab[i] for i in order if vocab[i].isalpha() and vocab[i] not in ("kind", "late"))
    assert probs[vocab.index(w)] > 0.02  # large enough to matter
    lex = lexicon_from_dict({"format": "tracebias-lexicon/2", "name": "n", "version": "1",
                             "axes": [{"name": "a", "groups": [
                                 {"name": "A", "forms": ["kind"]},
                                 {"name": "B", "forms": [f"kind {w}"]},
                                 {"name": "C", "forms": ["late"]}]}],
                             "targets": [{"name": "zz"}]})
    prompts = [{"prompt_id": "0", "prompt": prompt, "occupation": "zz"}]
    src = write_prompts(tmp_path / "p.jsonl", prompts)
    run_probe(src, tmp_path / "o.parquet", ProbeConfig(str(word_model)), lex, progress=False)
    check_against_reference(word_model, tmp_path / "o.parquet", prompts, lex, "a")
    import polars as pl

    got = pl.read_parquet(tmp_path / "o.parquet")["logprob"].to_list()
    p_kind = chained_logprob(model, tok(prompt)["input_ids"], tuple(encode_continuation(
        tok, " kind", True)))
    assert got[0] < p_kind - 0.02  # A lost the " kind W" mass ...
    assert math.exp(got[0]) + math.exp(got[1]) == pytest.approx(math.exp(p_kind), rel=1e-5)


def test_padding_side_and_batch_size_do_not_change_results(bpe_model, tmp_path):
    import polars as pl

    prompts = some_prompts(3)
    src = write_prompts(tmp_path / "p.jsonl", prompts)
    lex = load_lexicon("tracing-bias")
    outs = []
    for i, (bs, side) in enumerate([(1, "right"), (7, "left"), (30, "left"), (4, "right")]):
        out = tmp_path / f"o{i}.parquet"
        run_probe(src, out, ProbeConfig(str(bpe_model), batch_size=bs, padding_side=side), lex,
                  progress=False)
        outs.append(pl.read_parquet(out))
    for df in outs[1:]:
        assert df.select("prompt_id", "group_name").equals(outs[0].select("prompt_id", "group_name"))
        np.testing.assert_allclose(df["share"].to_numpy(), outs[0]["share"].to_numpy(), atol=1e-6)
        np.testing.assert_allclose(df["logprob"].to_numpy(), outs[0]["logprob"].to_numpy(),
                                   atol=1e-5)
    # and the same run twice is bit-identical
    again = tmp_path / "again.parquet"
    run_probe(src, again, ProbeConfig(str(bpe_model), batch_size=7), lex, progress=False)
    assert pl.read_parquet(again).equals(outs[1])


def test_resume_after_a_crash_equals_one_run(word_model, tmp_path, monkeypatch):
    import polars as pl

    prompts = [p for p in build_prompts(load_lexicon("tracing-bias"), "base")][:40]
    src = write_prompts(tmp_path / "p.jsonl", prompts)
    lex = load_lexicon("tracing-bias")
    cfg = ProbeConfig(str(word_model), batch_size=6)
    run_probe(src, tmp_path / "whole.parquet", cfg, lex, progress=False)

    real = probe_mod.token_logprobs
    calls = {"n": 0}

    def crash_after_three(*a, **k):
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(probe_mod, "token_logprobs", crash_after_three)
    out = tmp_path / "o.parquet"
    with pytest.raises(KeyboardInterrupt):  # before the first 5-second flush: kept on the way out
        run_probe(src, out, cfg, lex, progress=False)
    parts = list((tmp_path / "o.parquet.partial").glob("part-*"))
    assert not out.exists() and len(parts) == 1
    assert pl.read_parquet(parts[0]).height == 3 * 6 * 2
    monkeypatch.setattr(probe_mod, "token_logprobs", real)
    assert run_probe(src, out, cfg, lex, progress=False) == 40 - 18
    assert not (tmp_path / "o.parquet.partial").exists()
    assert pl.read_parquet(out).equals(pl.read_parquet(tmp_path / "whole.parquet"))
    assert run_probe(src, out, cfg, lex, progress=False) == 0  # nothing left
    # new prompts in the file: only they are probed, the old rows stay
    more = prompts + [{"prompt_id": "extra", "prompt": "The nurse said", "occupation": "nurse"}]
    write_prompts(src, more)
    assert run_probe(src, out, cfg, lex, progress=False) == 1
    assert pl.read_parquet(out).height == 2 * 41
    # a different stage into the same file is refused
    with pytest.raises(ModelError, match="stage"):
        run_probe(src, out, ProbeConfig(str(word_model), stage="sft"), lex, progress=False)
    # and so is a model rebuilt in the same folder
    other = build_tiny_model(tmp_path / "m", seed=5)
    run_probe(src, tmp_path / "m.parquet", ProbeConfig(str(other)), lex, progress=False)
    build_tiny_model(tmp_path / "m", seed=6)
    write_prompts(src, more + [{"prompt_id": "x2", "prompt": "The nurse", "occupation": "nurse"}])
    with pytest.raises(ModelError, match="model_files"):
        run_probe(src, tmp_path / "m.parquet", ProbeConfig(str(other)), lex, progress=False)


WORDS = ["she", "he", "her", "him", "mother", "father", "aunt", "uncle", "nurse", "engineer",
         "kind", "late", "woman", "man", "girl", "boy", "sister", "brother"]


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_lexicons_and_batches_match_reference(bpe_model, data):
    """Random K-group axes (single and two-word forms), random prompts, batch sizes, padding."""
    k = data.draw(st.integers(2, 4), label="groups")
    forms: list[list[str]] = [[] for _ in range(k)]
    seen: set[str] = set()
    for g in range(k):  # words may repeat across forms, so one form can extend another
        for _ in range(data.draw(st.integers(1, 3))):
            f = " ".join(data.draw(st.lists(st.sampled_from(WORDS[:8]), min_size=1, max_size=2)))
            if f not in seen:
                seen.add(f)
                forms[g].append(f)
    forms = [f for f in forms if f]
    if len(forms) < 2:
        return
    lex = lexicon_from_dict({"format": "tracebias-lexicon/2", "name": "r", "version": "1",
                             "axes": [{"name": "a", "groups": [{"name": f"g{i}", "forms": f}
                                                                for i, f in enumerate(forms)]}],
                             "targets": [{"name": "zz"}]})
    n_prompts = data.draw(st.integers(1, 3))
    prompts = [{"prompt_id": str(i), "occupation": "zz",
                "prompt": " ".join(data.draw(st.lists(st.sampled_from(WORDS), min_size=1,
                                                      max_size=6)))}
               for i in range(n_prompts)]
    bs = data.draw(st.integers(1, 4))
    side = data.draw(st.sampled_from(["left", "right"]))
    with tempfile.TemporaryDirectory() as d:
        src = write_prompts(Path(d) / "p.jsonl", prompts)
        run_probe(src, Path(d) / "o.parquet",
                  ProbeConfig(str(bpe_model), batch_size=bs, padding_side=side), lex,
                  progress=False)
        check_against_reference(bpe_model, Path(d) / "o.parquet", prompts, lex, "a", atol=5e-6)


def test_cli_probe_end_to_end_and_errors(tmp_path):
    cli = [sys.executable, "-m", "engine.cli"]
    r = subprocess.run(cli + ["dev", "tiny-model", str(tmp_path / "tiny")], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert "noise" in r.stderr
    subprocess.run(cli + ["prompts", "--out", str(tmp_path / "p.jsonl")], check=True,
                   capture_output=True)
    r = subprocess.run(cli + ["probe", "--model", str(tmp_path / "tiny"), "--prompts",
                              str(tmp_path / "p.jsonl"), "--out", str(tmp_path / "o.parquet")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "probed 1,971 prompts" in r.stdout
    assert "1,971 of 1,971 prompts to do" in r.stderr and "33 forms -> 33 token sequences" in r.stderr
    assert "first batch took" in r.stderr
    import polars as pl

    df = pl.read_parquet(tmp_path / "o.parquet")
    assert df.height == 2 * 1971 and set(df["decoding"]) == {"logprob"}
    sums = df.group_by("prompt_id").agg(pl.col("share").sum())["share"].to_numpy()
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)
    for args, msg in [
        (["--model", str(tmp_path / "nope"), "--prompts", str(tmp_path / "p.jsonl")],
         "does not exist"),
        (["--model", str(tmp_path / "tiny")], "--prompts FILE is required"),
        (["--model", str(tmp_path / "tiny"), "--prompts", str(tmp_path / "p.jsonl"),
          "--axis", "race"], "has no axis 'race'"),
        (["--model", str(tmp_path / "tiny"), "--prompts", str(tmp_path / "missing.jsonl")],
         "does not exist"),
    ]:
        r = subprocess.run(cli + ["probe", "--out", str(tmp_path / "x.parquet")] + args,
                           capture_output=True, text=True)
        assert r.returncode == 2 and msg in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_chat_prompts_continue_without_a_leading_space(word_model, tmp_path):
    """--chat: the prompt goes through the chat template and the continuation is the reply's
    first word; equal to probing the templated text itself with bare continuations."""
    import shutil

    import polars as pl

    chat_dir = tmp_path / "chat-model"
    shutil.copytree(word_model, chat_dir)
    tok, model = load_model(chat_dir)
    tok.chat_template = ("{% for m in messages %}user : {{ m['content'] }} . {% endfor %}"
                         "assistant :")
    tok.save_pretrained(chat_dir)
    prompts = some_prompts(1)[:4]
    src = write_prompts(tmp_path / "p.jsonl", prompts)
    lex = load_lexicon("tracing-bias")
    run_probe(src, tmp_path / "chat.parquet", ProbeConfig(str(chat_dir), chat=True), lex,
              progress=False)
    meta = probe_mod.continuations_summary(tmp_path / "chat.parquet")
    assert list(meta) == ["bare"] and ["she", "She"] in meta["bare"]["female"]
    got = pl.read_parquet(tmp_path / "chat.parquet")
    axis = lex.gender_axis
    for p in prompts:
        text = f"user : {p['prompt']} . assistant :"
        ids = tok(text, add_special_tokens=False)["input_ids"]
        mass = []
        for g in axis.groups:
            seqs = {tuple(encode_continuation(tok, v, False)) for f in g.forms
                    for v in surface_variants(f)}
            mass.append(sum(math.exp(chained_logprob(model, ids, s)) for s in seqs))
        want = [m / sum(mass) for m in mass]
        have = got.filter(pl.col("prompt_id") == p["prompt_id"])["share"].to_list()
        np.testing.assert_allclose(have, want, atol=2e-6)


def test_output_columns_are_not_sql_reserved_words():
    import duckdb

    from engine.models.probe import SCHEMA
    from engine.models.winobias import PAIR_COLUMNS, SCORE_COLUMNS

    reserved = {r[0] for r in duckdb.sql("SELECT keyword_name FROM duckdb_keywords() "
                                         "WHERE keyword_category = 'reserved'").fetchall()}
    assert not (set(SCHEMA.names) | set(PAIR_COLUMNS) | set(SCORE_COLUMNS)) & reserved
