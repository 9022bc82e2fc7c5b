"""`tracebias prompts`, `generate`, `probe` and `dev tiny-model`: the model side."""
from __future__ import annotations

import argparse
import sys
import time

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


def _quiet_transformers() -> None:
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:
        pass


def cmd_generate(args: argparse.Namespace) -> int:
    from engine.models.generate import GenerateConfig, run_generation
    from engine.models.hf import ModelError

    cfg = GenerateConfig(args.model, args.model_name, args.stage, args.samples, args.temperature,
                         args.top_p, args.max_new_tokens, args.batch_size, args.seed, args.chat,
                         args.device)
    _quiet_transformers()
    try:
        n = run_generation(args.prompts, args.out, cfg, progress=not args.quiet)
    except (ModelError, RuntimeError, ValueError, OSError) as e:
        _die(str(e).splitlines()[0] if str(e) else type(e).__name__)
    print(f"wrote {n:,} generations to {args.out} ({cfg.label}, {cfg.stage}, {cfg.decoding})")
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from engine.lexicon import LexiconError, load_lexicon
    from engine.models.hf import ModelError

    wino_only = {"--data": args.data, "--pairs": args.pairs, "--all-pairs": args.all_pairs,
                 "--split": args.split != "all", "--type": args.type != "all", "--force": args.force}
    prompt_only = {"--axis": args.axis, "--chat": args.chat}
    wrong = [k for k, v in (prompt_only if args.task == "winobias" else wino_only).items() if v]
    if wrong:
        _die(f"{wrong[0]} does not apply to --task {args.task}")
    _quiet_transformers()
    t0 = time.perf_counter()
    try:
        if args.task == "winobias":
            return _probe_winobias(args, t0)
        if not args.prompts:
            _die("--prompts FILE is required (make one with `tracebias prompts --out FILE`), "
                 "or pass --task winobias")
        from engine.models.probe import ProbeConfig, run_probe

        lexicon = load_lexicon(args.lexicon or "tracing-bias")
        cfg = ProbeConfig(args.model, args.model_name, args.stage, args.axis, args.batch_size,
                          args.device, args.dtype, args.padding_side, args.chat)
        n = run_probe(args.prompts, args.out, cfg, lexicon, progress=not args.quiet)
    except (ModelError, LexiconError) as e:
        _die(str(e))
    print(f"probed {n:,} prompts in {time.perf_counter() - t0:.1f} s -> {args.out} "
          f"({cfg.label}, {cfg.stage}, decoding logprob); load with "
          f"`tracebias warehouse add-probes {args.out} --db DB`")
    return 0


def _probe_winobias(args: argparse.Namespace, t0: float) -> int:
    from engine.lexicon import load_lexicon
    from engine.models.winobias import WinoConfig, default_data_dir, run_winobias

    if args.prompts:
        _die("--prompts is for the prompt probe; --task winobias reads --data DIR")
    data = args.data or default_data_dir()
    if data is None:
        _die("no WinoBias data found: pass --data DIR (the {pro,anti}_stereotyped_type{1,2}.txt."
             "{dev,test} files of uclanlp/corefBias WinoBias/wino/data) or set TRACEBIAS_SHARED")
    from pathlib import Path

    if not Path(data).is_dir():
        _die(f"--data {data} is not a directory")
    lexicon = load_lexicon(args.lexicon or "default")
    cfg = WinoConfig(args.model, args.model_name, args.stage, args.batch_size, args.device,
                     args.dtype, args.padding_side)
    types = (1, 2) if args.type == "all" else (int(args.type),)
    splits = ("dev", "test") if args.split == "all" else (args.split,)
    r = run_winobias(cfg, data, args.out, lexicon, args.pairs, args.all_pairs, types, splits,
                     progress=not args.quiet, force=args.force)
    if r["skipped"]:
        print(f"{args.out} exists: nothing to do (delete it or pass --force to score again)")
        return 0
    for f, line, reason in r["problems"][:5]:
        print(f"  left out: {f} line {line}: {reason}", file=sys.stderr)
    if len(r["problems"]) > 5:
        print(f"  ... and {len(r['problems']) - 5} more (--pairs FILE lists every pair, used or "
              "not, with the reason)", file=sys.stderr)
    print(f"scored {r['pairs']:,} WinoBias pairs ({len(r['problems'])} left out) over "
          f"{r['occupations']} occupations in {time.perf_counter() - t0:.1f} s: pro-stereotypical "
          f"preferred in {100 * r['stereo_pref']:.1f}% of pairs, mean log-likelihood difference "
          f"{r['llr']:+.3f} -> {args.out} (load with `tracebias warehouse add-scores {args.out} "
          "--db DB`)")
    return 0


def cmd_tiny_model(args: argparse.Namespace) -> int:
    from pathlib import Path

    from engine.lexicon import LexiconError, load_lexicon
    from engine.models.hf import ModelError, require_torch
    from engine.models.tiny import NOISE_WARNING, build_tiny_model, text_words

    out = Path(args.dir)
    if args.layers < 1 or args.width < 2 or args.width % 2:
        _die("--layers must be at least 1 and --width an even number of at least 2")
    if out.exists() and any(out.iterdir()) and not args.force:
        _die(f"{out} exists and is not empty (pass --force to overwrite)")
    try:
        require_torch()
        lexicons = [load_lexicon(x) for x in (args.lexicon or ["tracing-bias", "default"])]
        extra: set[str] = set()
        for p in args.vocab_from or []:
            if not Path(p).exists():
                _die(f"--vocab-from {p} does not exist")
            extra |= text_words(p)
    except (LexiconError, ModelError) as e:
        _die(str(e))
    _quiet_transformers()
    build_tiny_model(out, lexicons, extra, seed=args.seed, n_layer=args.layers, n_embd=args.width)
    print(f"built a tiny random model in {out}")
    print(NOISE_WARNING.format(path=out), file=sys.stderr)
    return 0


def register(sub) -> None:
    pr = sub.add_parser("prompts", help="write the prompt set (templates x occupations)")
    pr.add_argument("--lexicon", default="tracing-bias",
                    help="built-in lexicon name or lexicon JSON file whose targets fill the "
                         "templates (default: tracing-bias)")
    pr.add_argument("--templates", choices=["base", "instruct"], default="base",
                    help="template set: base (sentence starts) or instruct (requests)")
    pr.add_argument("--out", required=True, help="output .jsonl")
    pr.set_defaults(func=cmd_prompts)

    g = sub.add_parser("generate", help="run prompts through a local Hugging Face causal LM",
                       description="Sample generations from a local model (no downloads). Needs "
                       "the extra: pip install 'tracebias[generate]'. Resumable: re-running with "
                       "the same --out skips the (prompt, sample) pairs already written.")
    g.add_argument("--model", required=True, help="local model directory (no downloads)")
    g.add_argument("--prompts", required=True, help="prompts .jsonl from `tracebias prompts`")
    g.add_argument("--out", required=True, help="generations .jsonl (appended, resumable)")
    g.add_argument("--model-name", default=None, help="label for the model (default: folder name)")
    g.add_argument("--stage", default="base", help="base, sft, instruct, dpo, ...")
    g.add_argument("--samples", type=int, default=5, help="samples per prompt (default 5)")
    g.add_argument("--temperature", type=float, default=0.7, help="0 = greedy (default 0.7)")
    g.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (default 1)")
    g.add_argument("--max-new-tokens", type=int, default=48,
                   help="tokens generated per sample (default 48)")
    g.add_argument("--batch-size", type=int, default=8, help="sequences per batch (default 8)")
    g.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    g.add_argument("--chat", action="store_true", help="apply the tokenizer's chat template")
    g.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:N")
    g.add_argument("--quiet", action="store_true", help="no plan, estimate or progress bar")
    g.set_defaults(func=cmd_generate)

    p = sub.add_parser(
        "probe", help="exact next-word group shares (or WinoBias scores) from a local causal LM",
        description="Default task: for every prompt, the model's next-token probability mass on "
        "each group's forms (the gender terms of the lexicon, or the groups of --axis), "
        "normalised over the groups -> Parquet, one row per (prompt, group); load it with "
        "`tracebias warehouse add-probes`. --task winobias: per-occupation WinoBias "
        "log-likelihood scores -> CSV/Parquet for `tracebias warehouse add-scores`. Formulas in "
        "docs/models.md. Resumable; no sampling, so no noise beyond float rounding.")
    p.add_argument("--model", required=True, help="local model directory (no downloads)")
    p.add_argument("--task", choices=["prompts", "winobias"], default="prompts",
                   help="prompts (default): group shares per prompt; winobias: pro/anti "
                        "sentence-pair log-likelihood scores per occupation")
    p.add_argument("--prompts", help="prompts .jsonl from `tracebias prompts` (task prompts)")
    p.add_argument("--out", required=True,
                   help="task prompts: output .parquet (resumable); task winobias: scores "
                        ".csv or .parquet")
    p.add_argument("--lexicon", default=None,
                   help="lexicon name or JSON file: its axis's groups are probed (default "
                        "tracing-bias); for winobias, names the occupations (default: default)")
    p.add_argument("--axis", default=None,
                   help="axis whose groups are probed (default: gender, or the lexicon's only axis)")
    p.add_argument("--model-name", default=None, help="label for the model (default: folder name)")
    p.add_argument("--stage", default="base", help="base, sft, instruct, dpo, ... (default base)")
    p.add_argument("--batch-size", type=int, default=16,
                   help="prompts (winobias: sentences) per forward pass (default 16)")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:N")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32",
                   help="model weights' dtype (default float32; log-softmax is always float32)")
    p.add_argument("--padding-side", choices=["left", "right"], default="left",
                   help="where batches are padded; results do not depend on it (default left, "
                        "which lets the model skip unused logits)")
    p.add_argument("--chat", action="store_true",
                   help="wrap prompts in the tokenizer's chat template; the continuation is then "
                        "the reply's first word (no leading space)")
    p.add_argument("--data", default=None,
                   help="winobias: directory with the WinoBias files (default: "
                        "$TRACEBIAS_SHARED/winobias or ../shared/data/winobias)")
    p.add_argument("--split", choices=["dev", "test", "all"], default="all",
                   help="winobias: which split (default all)")
    p.add_argument("--type", choices=["1", "2", "all"], default="all",
                   help="winobias: sentence type 1 or 2 (default all)")
    p.add_argument("--all-pairs", action="store_true",
                   help="winobias: keep pairs that differ in more than the pronouns")
    p.add_argument("--pairs", default=None,
                   help="winobias: also write every pair, scored or left out with the reason "
                        "(.csv or .parquet)")
    p.add_argument("--force", action="store_true", help="winobias: score again when --out exists")
    p.add_argument("--quiet", action="store_true", help="no plan, estimate or progress bar")
    p.set_defaults(func=cmd_probe)

    dev = sub.add_parser("dev", help="developer tools (test models)")
    dsub = dev.add_subparsers(dest="dev_command", required=True)
    t = dsub.add_parser("tiny-model", help="build a tiny random causal LM to try probe/generate",
                        description="Save a 1-layer GPT-2 with random weights and a word-level "
                        "tokenizer that knows every word of the prompt templates and the lexicons. "
                        "Its outputs are noise: use it to try the commands, never as a result.")
    t.add_argument("dir", help="output directory (created)")
    t.add_argument("--lexicon", action="append",
                   help="lexicon whose words join the vocabulary (repeatable; default "
                        "tracing-bias and default)")
    t.add_argument("--vocab-from", action="append", metavar="PATH",
                   help="also add the words of this text file or directory (repeatable), e.g. "
                        "the WinoBias folder")
    t.add_argument("--seed", type=int, default=0, help="weight initialisation seed (default 0)")
    t.add_argument("--layers", type=int, default=1, help="transformer layers (default 1)")
    t.add_argument("--width", type=int, default=32, help="embedding width (default 32)")
    t.add_argument("--force", action="store_true", help="overwrite a non-empty directory")
    t.set_defaults(func=cmd_tiny_model)
