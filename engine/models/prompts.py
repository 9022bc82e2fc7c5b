"""The prompt set: the study's templates x a lexicon's occupations.

`tracebias prompts --lexicon NAME --templates base|instruct --out prompts.jsonl` writes one
JSON object per prompt (prompt_id, template_id, group, template, occupation, prompt) for users
to run through their model (or through `tracebias generate`).
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from engine.lexicon import Lexicon

KINDS = ("base", "instruct")


def templates(kind: str) -> list[dict]:
    if kind not in KINDS:
        raise ValueError(f"unknown template set {kind!r}; choose from {', '.join(KINDS)}")
    data = json.loads(resources.files("engine").joinpath("data/prompt_templates.json").read_text())
    return data[kind]


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def build_prompts(lexicon: Lexicon, kind: str = "base") -> list[dict]:
    out = []
    for t in templates(kind):
        for target in lexicon.targets:
            occ = target.name
            out.append({"prompt_id": f"{t['id']}:{occ}", "template_id": t["id"],
                        "group": t["group"], "template": t["template"], "occupation": occ,
                        "prompt": t["template"].format(occupation=occ, a=article(occ))})
    return out


def write_prompts(path: str | Path, lexicon: Lexicon, kind: str = "base") -> int:
    prompts = build_prompts(lexicon, kind)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for p in prompts:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    return len(prompts)
