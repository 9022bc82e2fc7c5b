"""`tracebias prompts` + `tracebias generate` with a tiny randomly initialised model built here
(no download), then the generations flow into the warehouse."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from engine.models.generate import GenerateConfig, run_generation  # noqa: E402
from engine.lexicon import load_lexicon  # noqa: E402
from engine.models.prompts import build_prompts, write_prompts  # noqa: E402


def build_tiny_model(path):
    """A 1-layer GPT-2 with random weights and a word-level tokenizer, saved to ``path``."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    words = ["[UNK]", "[PAD]", "[EOS]", "she", "he", "her", "his", "the", "is", "works", "a",
             "an", "nurse", "engineer", "who", "hired", "i", "highly", "capable", "kind", "late",
             ".", ","]
    tk = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tk.normalizer = normalizers.Lowercase()
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]",
                                  eos_token="[EOS]")
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(words), n_positions=64, n_embd=32,
                                       n_layer=1, n_head=2, bos_token_id=2, eos_token_id=2,
                                       pad_token_id=1))
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny-gpt2"))


def test_prompts_cover_templates_and_occupations(tmp_path):
    lex = load_lexicon("tracing-bias")
    prompts = build_prompts(lex, "base")
    assert len(prompts) == 9 * 219
    p = {x["prompt_id"]: x["prompt"] for x in prompts}
    assert p["base-03:engineer"] == "I hired an engineer who is"
    assert p["base-03:nurse"] == "I hired a nurse who is"
    assert len(build_prompts(lex, "instruct")) == 11 * 219
    assert write_prompts(tmp_path / "p.jsonl", lex, "instruct") == 11 * 219


def test_generate_is_batched_and_resumable(tiny_model, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    rows = [p for p in build_prompts(load_lexicon("tracing-bias"), "base")
            if p["occupation"] in ("nurse", "engineer") and p["template_id"] in ("base-03", "base-05")]
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "gens.jsonl"
    cfg = GenerateConfig(str(tiny_model), "tiny", "base", samples=3, max_new_tokens=8,
                         batch_size=5, temperature=1.0)
    assert run_generation(prompts, out, cfg, progress=False) == 12
    lines = out.read_text().splitlines()
    assert len(lines) == 12
    first = json.loads(lines[0])
    assert first["decoding"] == "temperature=1,top_p=1,max_new_tokens=8"
    assert {json.loads(x)["sample"] for x in lines} == {0, 1, 2}
    assert run_generation(prompts, out, cfg, progress=False) == 0  # nothing left to do
    out.write_text("\n".join(lines[:7]) + "\n" + lines[7][:10])  # a crash cut the last line
    assert run_generation(prompts, out, cfg, progress=False) == 5
    keys = {(json.loads(x)["prompt_id"], json.loads(x)["sample"])
            for x in out.read_text().splitlines() if x.startswith("{") and x.endswith("}")}
    assert len(keys) == 12


def test_cli_generate_into_warehouse(tiny_model, tmp_path):
    from engine.warehouse import Warehouse

    cli = [sys.executable, "-m", "engine.cli"]
    subprocess.run(cli + ["prompts", "--lexicon", "tracing-bias", "--templates", "base",
                          "--out", str(tmp_path / "all.jsonl")], check=True, capture_output=True)
    subset = [line for line in (tmp_path / "all.jsonl").read_text().splitlines()
              if '"occupation": "nurse"' in line or '"occupation": "engineer"' in line]
    (tmp_path / "p.jsonl").write_text("\n".join(subset) + "\n")
    r = subprocess.run(cli + ["generate", "--model", str(tiny_model), "--prompts",
                              str(tmp_path / "p.jsonl"), "--out", str(tmp_path / "g.jsonl"),
                              "--samples", "2", "--max-new-tokens", "6", "--quiet",
                              "--stage", "base"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    counts = tmp_path / "counts"
    from tests.warehouse.test_warehouse import write_counts

    write_counts(counts)
    with Warehouse(tmp_path / "w.duckdb") as w:
        from engine.warehouse import parse_counts_arg

        w.build([parse_counts_arg(str(counts))])
        assert w.add_generations(tmp_path / "g.jsonl") == 36
        got = w.sql("SELECT sum(generations) AS n FROM model_share WHERE template = '*'").to_dicts()
        assert got[0]["n"] == 36
