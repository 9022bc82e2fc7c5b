"""Run the prompt set through a Hugging Face causal LM (optional extra `tracebias[generate]`).

Batched, n samples per prompt, explicit decoding settings, and resumable: each finished batch is
appended (and flushed) to the output JSONL, and a re-run skips every (prompt_id, sample) already
there. Models load from a local path only (no downloads at run time).
"""
from __future__ import annotations

import json
import sys
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
    with open(path, encoding="utf-8") as f:
        prompts = [json.loads(line) for line in f if line.strip()]
    for p in prompts:
        missing = {"prompt_id", "prompt", "occupation"} - set(p)
        if missing:
            raise ValueError(f"{path}: prompt without {sorted(missing)}: {p}")
    return prompts


def run_generation(prompts_path: str | Path, out_path: str | Path, cfg: GenerateConfig,
                   progress: bool = True) -> int:
    """Generate the missing (prompt, sample) pairs; return how many were written."""
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:
        raise RuntimeError("tracebias generate needs the extra: pip install 'tracebias[generate]'") from e
    out = Path(out_path)
    prompts = load_prompts(prompts_path)
    done = _done_keys(out)
    todo = [(p, s) for p in prompts for s in range(cfg.samples) if (p["prompt_id"], s) not in done]
    if not todo:
        return 0
    tok = AutoTokenizer.from_pretrained(cfg.model_path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(cfg.model_path, local_files_only=True)
    model.eval()
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="gen", desc="generating", file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(out, "a", encoding="utf-8") as f:
        for start in range(0, len(todo), cfg.batch_size):
            batch = todo[start : start + cfg.batch_size]
            texts = [p["prompt"] for p, _ in batch]
            if cfg.chat and getattr(tok, "chat_template", None):
                texts = [tok.apply_chat_template([{"role": "user", "content": t}], tokenize=False,
                                                 add_generation_prompt=True) for t in texts]
            enc = tok(texts, return_tensors="pt", padding=True, return_attention_mask=True)
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
    if bar:
        bar.close()
    return written
