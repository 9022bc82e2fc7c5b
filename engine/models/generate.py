"""Run the prompt set through a Hugging Face causal LM (optional extra `tracebias[generate]`).

Batched, n samples per prompt, explicit decoding settings, and resumable: each finished batch is
appended (and flushed) to the output JSONL, and a re-run skips every (prompt_id, sample) already
there. Models load from a local path only (no downloads at run time).
"""
from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GenerateConfig:
    model_path: str
    model_name: str | None = None  # label in the output (default: the folder name)
    stage: str = "base"  # base / sft / instruct / dpo ...
    samples: int = 5
    temperature: float = 0.7  # 0 = greedy
    top_p: float = 1.0
    max_new_tokens: int = 48
    batch_size: int = 8
    seed: int = 0
    chat: bool = False  # wrap prompts with the tokenizer's chat template (instruct models)
    device: str = "auto"  # auto (CUDA when available), cpu, cuda, cuda:N

    @property
    def decoding(self) -> str:
        if self.temperature <= 0:
            return f"greedy,max_new_tokens={self.max_new_tokens}"
        return f"temperature={self.temperature:g},top_p={self.top_p:g},max_new_tokens={self.max_new_tokens}"

    @property
    def label(self) -> str:
        return self.model_name or Path(self.model_path).name


def _drop_partial_tail(out: Path) -> None:
    """A crash can cut the last line; drop it so appended lines stay one JSON object each."""
    if not out.exists() or out.stat().st_size == 0:
        return
    data = out.read_bytes()
    if not data.endswith(b"\n"):
        out.write_bytes(data[: data.rfind(b"\n") + 1])


def _done_keys(out: Path) -> set[tuple[str, int]]:
    done = set()
    _drop_partial_tail(out)
    if out.exists():
        with open(out, encoding="utf-8") as f:
            for line in f:
                try:
                    r = json.loads(line)
                    done.add((r["prompt_id"], int(r["sample"])))
                except (ValueError, KeyError):
                    continue  # a line cut by a crash: regenerated
    return done


def load_prompts(path: str | Path) -> list[dict]:
    """The prompts of a JSON Lines file; a bad line is a ValueError naming the file and line."""
    prompts = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                p = json.loads(line)
            except ValueError as e:
                raise ValueError(f"{path} line {n}: not JSON ({e})") from None
            if not isinstance(p, dict):
                raise ValueError(f"{path} line {n}: not a JSON object")
            missing = {"prompt_id", "prompt", "occupation"} - set(p)
            if missing:
                raise ValueError(f"{path} line {n}: prompt without {sorted(missing)}")
            prompts.append(p)
    return prompts


def run_generation(prompts_path: str | Path, out_path: str | Path, cfg: GenerateConfig,
                   progress: bool = True) -> int:
    """Generate the missing (prompt, sample) pairs; return how many were written.

    Bad arguments (a model directory that does not exist, a missing prompts file, ...) raise a
    one-line ``ModelError`` before any model is loaded. Unless ``progress`` is off, it prints the
    number of generations it is about to make, then a time estimate after the first batch.
    """
    from engine.models.hf import (ModelError, check_model_dir, fmt_seconds, load_model,
                                  require_torch, resolve_device, warm_up)

    if cfg.samples < 1 or cfg.batch_size < 1 or cfg.max_new_tokens < 1:
        raise ModelError("--samples, --batch-size and --max-new-tokens must be at least 1")
    check_model_dir(cfg.model_path)
    out = Path(out_path)
    try:
        prompts = load_prompts(prompts_path)
    except FileNotFoundError:
        raise ModelError(f"prompts file {prompts_path} does not exist") from None
    require_torch()
    import torch

    device = resolve_device(cfg.device)
    done = _done_keys(out)
    todo = [(p, s) for p in prompts for s in range(cfg.samples) if (p["prompt_id"], s) not in done]
    say = _say if progress else (lambda msg: None)
    n_batches = math.ceil(len(todo) / cfg.batch_size)
    say(f"generate: {len(todo):,} generations to make = {len(prompts):,} prompts x "
        f"{cfg.samples} samples - {len(prompts) * cfg.samples - len(todo):,} already in {out}; "
        f"{n_batches:,} batches of {cfg.batch_size}, up to {cfg.max_new_tokens} new tokens each, "
        f"on {device}")
    if not todo:
        return 0
    tok, model = load_model(cfg.model_path, device)
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    warm_up(model, tok.pad_token_id, device)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="gen", desc="generating", file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    t0 = time.perf_counter()
    with open(out, "a", encoding="utf-8") as f:
        for start in range(0, len(todo), cfg.batch_size):
            batch = todo[start : start + cfg.batch_size]
            texts = [p["prompt"] for p, _ in batch]
            if cfg.chat and getattr(tok, "chat_template", None):
                texts = [tok.apply_chat_template([{"role": "user", "content": t}], tokenize=False,
                                                 add_generation_prompt=True) for t in texts]
            enc = tok(texts, return_tensors="pt", padding=True, return_attention_mask=True)
            enc = {k: v.to(device) for k, v in enc.items()}
            torch.manual_seed(cfg.seed * 1_000_003 + start)  # reproducible per batch position
            with torch.no_grad():
                gen = model.generate(**enc, do_sample=cfg.temperature > 0,
                                     temperature=cfg.temperature if cfg.temperature > 0 else None,
                                     top_p=cfg.top_p if cfg.temperature > 0 else None,
                                     max_new_tokens=cfg.max_new_tokens, pad_token_id=tok.pad_token_id)
            new = gen[:, enc["input_ids"].shape[1]:]
            for (p, s), ids in zip(batch, new):
                f.write(json.dumps({
                    "model": cfg.label, "stage": cfg.stage, "decoding": cfg.decoding,
                    "template": p.get("template"), "template_id": p.get("template_id"),
                    "prompt_id": p["prompt_id"], "prompt": p["prompt"],
                    "occupation": p["occupation"], "sample": s,
                    "text": tok.decode(ids, skip_special_tokens=True)}, ensure_ascii=False) + "\n")
            f.flush()
            written += len(batch)
            if bar:
                bar.update(len(batch))
            if start == 0:
                took = time.perf_counter() - t0
                left = len(todo) - written
                msg = (f"generate: first batch took {took:.2f} s; about "
                       f"{fmt_seconds(took * left / len(batch))} for the remaining {left:,} generations")
                bar.write(msg, file=sys.stderr) if bar else say(msg)
    if bar:
        bar.close()
    return written


def _say(msg: str) -> None:
    print(msg, file=sys.stderr)


