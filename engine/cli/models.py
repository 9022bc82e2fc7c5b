"""`tracebias prompts` and `generate`: the model side."""
from __future__ import annotations

import argparse

from engine.cli.common import die as _die


def cmd_prompts(args: argparse.Namespace) -> int:
    from engine.lexicon import LexiconError, load_lexicon
    from engine.models.prompts import write_prompts

    try:
        n = write_prompts(args.out, load_lexicon(args.lexicon), args.templates)
    except (LexiconError, ValueError) as e:
        _die(str(e))
    print(f"wrote {n:,} prompts ({args.templates} templates x {args.lexicon} occupations) to {args.out}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from engine.models.generate import GenerateConfig, run_generation

    cfg = GenerateConfig(args.model, args.model_name, args.stage, args.samples, args.temperature,
                         args.top_p, args.max_new_tokens, args.batch_size, args.seed, args.chat)
    try:
        n = run_generation(args.prompts, args.out, cfg, progress=not args.quiet)
    except (RuntimeError, ValueError, OSError) as e:
        _die(str(e))
    print(f"wrote {n:,} generations to {args.out} ({cfg.label}, {cfg.stage}, {cfg.decoding})")
    return 0


def register(sub) -> None:
    pr = sub.add_parser("prompts", help="write the prompt set (templates x occupations)")
    pr.add_argument("--lexicon", default="tracing-bias")
    pr.add_argument("--templates", choices=["base", "instruct"], default="base")
    pr.add_argument("--out", required=True, help="output .jsonl")
    pr.set_defaults(func=cmd_prompts)

    g = sub.add_parser("generate", help="run prompts through a local Hugging Face causal LM",
                       description="Needs the extra: pip install 'tracebias[generate]'. Resumable.")
    g.add_argument("--model", required=True, help="local model directory (no downloads)")
    g.add_argument("--prompts", required=True, help="prompts .jsonl from `tracebias prompts`")
    g.add_argument("--out", required=True, help="generations .jsonl (appended, resumable)")
    g.add_argument("--model-name", default=None, help="label for the model (default: folder name)")
    g.add_argument("--stage", default="base", help="base, sft, instruct, dpo, ...")
    g.add_argument("--samples", type=int, default=5, help="samples per prompt")
    g.add_argument("--temperature", type=float, default=0.7, help="0 = greedy")
    g.add_argument("--top-p", type=float, default=1.0)
    g.add_argument("--max-new-tokens", type=int, default=48)
    g.add_argument("--batch-size", type=int, default=8)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--chat", action="store_true", help="apply the tokenizer's chat template")
    g.add_argument("--quiet", action="store_true")
    g.set_defaults(func=cmd_generate)
