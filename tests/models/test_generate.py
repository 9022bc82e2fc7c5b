"""`tracebias prompts` + `tracebias generate` with a tiny randomly initialised model built here
(engine.models.tiny, no download), then the generations flow into the warehouse."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from engine.lexicon import load_lexicon  # noqa: E402
from engine.models.generate import GenerateConfig, run_generation  # noqa: E402
from engine.models.prompts import build_prompts, write_prompts  # noqa: E402
from engine.models.tiny import build_tiny_model  # noqa: E402


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
    from engine.warehouse import parse_counts_arg
    from tests.warehouse.fixtures import write_run

    counts = write_run(tmp_path / "counts")  # the warehouse tests' hand-made run (nurse, engineer)
    with Warehouse(tmp_path / "w.duckdb") as w:
        w.build([parse_counts_arg(str(counts))])
        report = w.add_generations(tmp_path / "g.jsonl")
        assert report.rows_added == 36 and not report.rejects
        got = w.sql("SELECT sum(generations) AS n FROM model_share WHERE template = '*'").to_dicts()
        assert got[0]["n"] == 36


def test_generate_missing_model_is_one_line(tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"prompt_id": "x", "prompt": "The nurse is",
                                   "occupation": "nurse"}) + "\n")
    cli = [sys.executable, "-m", "engine.cli", "generate", "--prompts", str(prompts),
           "--out", str(tmp_path / "g.jsonl")]
    r = subprocess.run(cli + ["--model", str(tmp_path / "no-such-model")], capture_output=True,
                       text=True)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1, r.stderr
    assert "does not exist" in r.stderr and "Repo id" not in r.stderr
    r = subprocess.run(cli + ["--model", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2 and "no config.json" in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "g.jsonl").exists()


def test_generate_prints_plan_and_estimate(tiny_model, tmp_path):
    rows = [p for p in build_prompts(load_lexicon("tracing-bias"), "base")][:6]
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = subprocess.run([sys.executable, "-m", "engine.cli", "generate", "--model", str(tiny_model),
                        "--prompts", str(prompts), "--out", str(tmp_path / "g.jsonl"),
                        "--samples", "2", "--max-new-tokens", "4", "--batch-size", "5"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "12 generations to make = 6 prompts x 2 samples - 0 already in" in r.stderr
    assert "3 batches of 5" in r.stderr
    assert "first batch took" in r.stderr and "for the remaining 7 generations" in r.stderr
    assert "wrote 12 generations" in r.stdout
