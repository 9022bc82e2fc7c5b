"""`tracebias count`, `spark-count`, `tag` and `contexts`: the counting commands.

The options of a count are declared once (engine.count.config.CountOptions) and added to
`count`, `spark-count` and the spark-submit job alike.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli.common import die as _die

MIN_SUPPORT = 20  # gendered units an occupation needs to be listed in the printed summary


def _config(args: argparse.Namespace):
    """Resolve the count options, or exit with one clear line before any work."""
    from engine.corpus.shards import InputError
    from engine.count.config import ConfigError, CountOptions
    from engine.lexicon import LexiconError

    try:
        return CountOptions.from_args(args).to_config()
    except (ConfigError, LexiconError, InputError, ValueError, OSError) as e:
        _die(str(e))


def cmd_count(args: argparse.Namespace) -> int:
    from engine.corpus.shards import InputError
    from engine.run.base import format_summary
    from engine.run.local import run_local
    from engine.run.output import OutputError

    config = _config(args)
    if args.top < 0:
        _die("--top must be >= 0")
    log = (lambda m: print(m, file=sys.stderr, flush=True)) if not args.quiet else None
    try:
        summary = run_local(args.inputs, args.out, config, workers=args.workers, force=args.force,
                            progress=not args.quiet, log=log,
                            own_process=getattr(args, "own_process", False))
    except (InputError, OutputError, ValueError) as e:
        _die(str(e))
    if args.quiet:
        for path, reason in summary.skipped_inputs:
            print(f"skipped {path}: {reason}", file=sys.stderr)
    print(format_top(summary.out, config, args.top))
    print(format_summary(summary))
    return 0


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return c - h, c + h


def format_top(out_url: str, config, top: int) -> str:
    """What the count found, in a few lines: the binary-gender associations when the lexicon
    has that axis, and the top groups of every axis by documents."""
    from engine.run.output import OutputDir

    out = OutputDir(out_url)
    parts = []
    if config.lexicon.has_binary_gender and config.lexicon.targets:
        parts.append(_gender_top(out.read_table("cooccurrence.parquet"), config, top))
    if not (config.lexicon.has_binary_gender and len(config.lexicon.axes) == 1):
        if config.lexicon.targets:
            parts.append(_group_top(out.read_table("group_cooccurrence.parquet"), config, top))
        parts.append(_axes_top(out, config, top))
    return "\n\n".join(parts)


def _group_top(table, config, top: int) -> str:
    """Per axis (other than binary gender), the target x group pairs whose share of the target's
    single-group units lies furthest above the group's share over all targets."""
    import pyarrow.compute as pc

    win = config.word_windows[0].label if config.word_windows else config.windows[0].label
    keys = ["axis", "target", "group_name"]
    summed = table.filter(pc.equal(table["window_label"], win)).group_by(
        keys, use_threads=False).aggregate([("units_only", "sum")])
    by_axis: dict[str, dict[tuple[str, str], int]] = {}  # axis -> (target, group) -> units_only
    for a, t, g, n in zip(*(summed[c].to_pylist() for c in [*keys, "units_only_sum"])):
        by_axis.setdefault(a, {})[(t, g)] = n
    lines = [f"strongest group associations ({win} window): per axis, the groups most "
             f"over-represented in a target's units (share of its units with exactly one group "
             f"of the axis; targets with at least {MIN_SUPPORT} such units)"]
    for axis in config.lexicon.axes:
        if axis.is_binary_gender:
            continue
        only = by_axis.get(axis.name, {})
        per_target: dict[str, int] = {}
        per_group: dict[str, int] = {}
        for (t, g), n in only.items():
            per_target[t] = per_target.get(t, 0) + n
            per_group[g] = per_group.get(g, 0) + n
        total = sum(per_group.values())
        scored = []
        for (t, g), n in only.items():
            if per_target[t] < MIN_SUPPORT or not total:
                continue
            base = per_group[g] / total
            lo, _ = wilson(n, per_target[t])
            if lo > base:  # evidence of over-representation: the interval lies above the base
                scored.append((lo - base, t, g, n, per_target[t], base))
        scored.sort(key=lambda x: (-x[0], x[1], x[2]))
        if not scored:
            lines.append(f"  {axis.name}: no target x group pair stands out")
            continue
        lines.append(f"  {axis.name}:")
        lines.append(f"    {'target':<24}{'group':<22}{'units':>7}{'share':>8}{'95% interval':>15}"
                     f"{'all targets':>13}")
        for _, t, g, n, tot, base in scored[:top]:
            lo, hi = wilson(n, tot)
            lines.append(f"    {t:<24}{g:<22}{tot:>7,}{100 * n / tot:>7.1f}%"
                         f"{f'{100 * lo:.1f}-{100 * hi:.1f}%':>15}{100 * base:>12.1f}%")
        if len(scored) > top:
            lines.append(f"    ... {len(scored) - top} more (--top N shows more)")
    return "\n".join(lines)


def _gender_top(table, config, top: int) -> str:
    import pyarrow.compute as pc

    win = config.word_windows[0].label if config.word_windows else config.windows[0].label
    rows: dict[str, list[int]] = {}
    for r in table.filter(pc.equal(table["window_label"], win)).to_pylist():
        acc = rows.setdefault(r["occupation"], [0, 0, 0, 0])
        acc[0] += r["units"]
        acc[1] += r["female_only"]
        acc[2] += r["male_only"]
        acc[3] += r["female_and_male"]
    scored, low = [], 0
    for occ, (units, f, m, both) in rows.items():
        gendered = f + m
        if gendered < MIN_SUPPORT:
            low += 1
            continue
        lo, hi = wilson(f, gendered)
        # evidence of a skew: how far the 95% interval sits from parity
        strength = max(lo - 0.5, 0.5 - hi, 0.0)
        scored.append((strength, gendered, occ, units, f, m, both, f / gendered))
    scored.sort(key=lambda x: (-x[0], -x[1], x[2]))
    lines = [f"strongest gender associations ({win} window; ranked by how far the 95% Wilson "
             f"interval of the female share lies from 50%; occupations with at least "
             f"{MIN_SUPPORT} gendered units):",
             f"  {'occupation':<24}{'units':>9}{'female':>9}{'male':>9}{'both':>7}"
             f"{'% female':>10}{'95% interval':>16}"]
    for _, n, occ, units, f, m, both, p in scored[:top]:
        lo, hi = wilson(f, n)
        lines.append(f"  {occ:<24}{units:>9,}{f:>9,}{m:>9,}{both:>7,}{100 * p:>9.1f}%"
                     f"{f'{100 * lo:.1f}-{100 * hi:.1f}%':>16}")
    if not scored:
        lines.append("  (no occupation with enough gendered units)")
    if len(scored) > top:
        lines.append(f"  ... {len(scored) - top} more (--top N shows more)")
    if low:
        lines.append(f"  {low} occupations had fewer than {MIN_SUPPORT} gendered units")
    lines.append("  units: windows around an occupation mention; female/male = units whose "
                 "window holds only female/only male terms; both = both")
    return "\n".join(lines)


def _axes_top(out, config, top: int) -> str:
    import pyarrow.compute as pc

    gd = out.read_table("group_documents.parquet")
    ad = out.read_table("axis_documents.parquet")
    sh = out.read_table("shards.parquet")
    total_docs = int(pc.sum(sh["documents"]).as_py() or 0)
    lines = [f"demographic representation: documents mentioning each group "
             f"({total_docs:,} documents; a document counts once per group)"]
    axis_docs: dict[str, int] = {}
    for r in ad.to_pylist():
        axis_docs[r["axis"]] = axis_docs.get(r["axis"], 0) + r["documents"]
    group_docs: dict[tuple[str, str], int] = {}
    for r in gd.to_pylist():
        k = (r["axis"], r["group_name"])
        group_docs[k] = group_docs.get(k, 0) + r["documents"]
    show = max(1, min(top, 8))
    for axis in config.lexicon.axes:
        n_axis = axis_docs.get(axis.name, 0)
        pct = 100 * n_axis / total_docs if total_docs else 0.0
        groups = sorted(((n, g) for (a, g), n in group_docs.items() if a == axis.name),
                        key=lambda x: (-x[0], x[1]))
        head = ", ".join(f"{g} {n:,} ({100 * n / n_axis:.0f}%)" for n, g in groups[:show]) \
            if n_axis else "no mentions"
        more = f", ... {len(groups) - show} more" if len(groups) > show else ""
        lines.append(f"  {axis.name:<24} {n_axis:>9,} docs ({pct:4.1f}%)  {head}{more}")
    lines.append("  (% after a group: share of the documents that mention the axis; "
                 "SQL: tracebias warehouse build, then SELECT * FROM representation)")
    return "\n".join(lines)


def _job_file() -> Path:
    """jobs/count_cooccurrence.py from a source checkout, or a generated launcher."""
    repo = Path(__file__).resolve().parents[2] / "jobs" / "count_cooccurrence.py"
    if repo.is_file():
        return repo
    import tempfile

    f = Path(tempfile.mkdtemp(prefix="tracebias-job-")) / "count_cooccurrence.py"
    f.write_text("from engine.spark.job import main\nraise SystemExit(main())\n")
    return f


def cmd_spark_count(args: argparse.Namespace) -> int:
    """Build the spark-submit command of jobs/count_cooccurrence.py and run it."""
    import os
    import subprocess

    from engine.count.config import CountOptions
    from engine.spark.job import job_argv
    from engine.spark.packaging import ENV_ARCHIVE, default_conf, spark_home, submit_command

    _config(args)  # the same checks as `count`, before Spark starts
    local = args.master.startswith("local")
    archive = None
    if args.archive != "none" and not local:
        archive = Path(args.archive or Path("dist") / ENV_ARCHIVE)
        if not archive.is_file():
            _die(f"{archive} not found: run `make dist` first (it builds the environment "
                 f"executors run), or pass --archive none to run executors on {sys.executable}")
    job_args = [*args.inputs, "--out", args.out, *CountOptions.from_args(args).to_argv()]
    job_args += job_argv(args)
    conf = default_conf(archive, args.master)
    for kv in args.conf or []:
        k, sep, v = kv.partition("=")
        if not sep:
            _die(f"--conf expects KEY=VALUE, got {kv!r}")
        conf[k] = v
    if not (spark_home() / "bin" / "spark-submit").exists():
        _die(f"no spark-submit under SPARK_HOME={spark_home()}")
    cmd = submit_command(job_args, args.master, conf, _job_file(), archive)
    print("+ " + " ".join(cmd), file=sys.stderr)
    env = {**os.environ, "SPARK_HOME": str(spark_home())}
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return subprocess.call(cmd, env=env)


def cmd_tag(args: argparse.Namespace) -> int:
    from engine.corpus.shards import InputError, expand_inputs
    from engine.count.config import ConfigError
    from engine.count.tagging import tag_shard
    from engine.count.windows import parse_window
    from engine.lexicon import LexiconError, resolve_lexicon
    from engine.lexicon.matcher import compile_lexicon

    try:
        shards = expand_inputs(args.inputs)
        lexicon = resolve_lexicon(args.lexicon, args.targets, args.axis or None)
        compiled = compile_lexicon(lexicon)
        window = parse_window(args.window)
        if window.kind == "tokens" and not args.tokenizer:
            raise ConfigError("--window tokens:k needs --tokenizer PATH/tokenizer.json")
        token_matcher = None
        if args.tokenizer:
            from engine.count.model_tokens import compile_token_matcher

            token_matcher = compile_token_matcher(lexicon, compiled, args.tokenizer)
    except (InputError, LexiconError, ConfigError, ValueError) as e:
        _die(str(e))
    name = args.name or Path(args.out.rstrip("/")).name
    total = rejected = 0
    for s in shards:
        d, r = tag_shard(s, args.out, compiled, window, name, token_matcher)
        total += d
        rejected += r
        if not args.quiet:
            print(f"  {s.rel}: {d:,} documents" + (f", {r} rejected rows" if r else ""),
                  file=sys.stderr)
    print(f"tagged {total:,} documents in {len(shards)} shards -> {args.out} "
          f"(attributes {name}__*; {rejected} rejected rows kept as placeholders)")
    return 0


def cmd_contexts(args: argparse.Namespace) -> int:
    from engine.run.contexts import ContextsError, format_contexts, query_contexts

    try:
        rows = query_contexts(args.counts, target=args.target, axis=args.axis,
                              group=args.group, limit=args.limit)
    except ContextsError as e:
        _die(str(e))
    print(format_contexts(rows, width=args.width))
    return 0


def register(sub) -> None:
    from engine.count.config import add_count_arguments
    from engine.spark.job import add_job_arguments

    c = sub.add_parser("count", help="count co-occurrences on this machine (all cores)",
                       description="Count group x target co-occurrence windows (and the "
                       "documents mentioning each group) in Dolma-style shards on one machine.")
    c.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="shard files, directories or globs; local paths or fsspec URLs "
                   "(s3://, gs://, hdfs://)")
    c.add_argument("--out", required=True, help="output directory (local path or fsspec URL)")
    add_count_arguments(c)
    c.add_argument("--workers", type=int, default=None, help="threads (default: all cores)")
    c.add_argument("--force", action="store_true", help="recount shards that are already done")
    c.add_argument("--top", type=int, default=12, help="rows in the printed summary (default 12)")
    c.add_argument("--quiet", action="store_true", help="no progress bar or progress messages")
    c.set_defaults(func=cmd_count)

    sc = sub.add_parser("spark-count", help="the same count on Spark (wraps spark-submit)",
                        description="Submit jobs/count_cooccurrence.py with spark-submit "
                        "($SPARK_HOME, default the pyspark install): Spark reads the shards, "
                        "counts them with the engine's kernels and writes the same tables and "
                        "manifest as `count`; every `count` option works here too. "
                        "docs/spark.md has the details.")
    sc.add_argument("inputs", nargs="+", metavar="INPUT",
                    help="shard files, directories or globs Spark can read (file paths, "
                    "hdfs://, s3a://, ...)")
    sc.add_argument("--out", required=True, help="output directory (any Hadoop filesystem)")
    add_count_arguments(sc)
    sc.add_argument("--master", default="local[*]",
                    help="local[*], spark://host:7077, yarn, k8s://... (default local[*])")
    sc.add_argument("--conf", action="append", metavar="KEY=VALUE",
                    help="extra Spark configuration (repeatable)")
    sc.add_argument("--archive", default=None, metavar="PATH|none",
                    help="the environment executors run (default dist/tracebias-env.tar.gz, "
                    "built by `make dist`; not used with local[*]; none: executors run this "
                    "Python, which works on one machine only)")
    add_job_arguments(sc)
    sc.set_defaults(func=cmd_spark_count)

    tg = sub.add_parser("tag", help="write Dolma attribute files (target spans by group context)",
                        description="Same relative paths, same rows, same order as the input "
                        "documents; engine/count/tagging.py documents the attributes.")
    tg.add_argument("inputs", nargs="+", metavar="INPUT", help="shard files or directories")
    tg.add_argument("--out", required=True, help="the attributes/<name>/ directory to write")
    tg.add_argument("--name", default=None,
                    help="attribute prefix (default: the --out folder name)")
    tg.add_argument("--lexicon", default="default", metavar="NAME|FILE",
                    help="built-in lexicon name or JSON file (default: default)")
    tg.add_argument("--targets", default=None, metavar="NAME|FILE",
                    help="take the targets from this lexicon instead")
    tg.add_argument("--axis", action="append", default=[], metavar="AXIS",
                    help="tag only this axis (repeatable; default: all)")
    tg.add_argument("--window", default="sentence",
                    help="the window that classifies each mention: sentence, paragraph, "
                    "document, k words or tokens:k (default sentence)")
    tg.add_argument("--tokenizer", default=None, metavar="TOKENIZER_JSON",
                    help="a Hugging Face tokenizer.json, for --window tokens:k")
    tg.add_argument("--quiet", action="store_true", help="no per-shard lines")
    tg.set_defaults(func=cmd_tag)

    cx = sub.add_parser("contexts", help="sample mentions in context (audit homonyms)",
                        description="Keyword-in-context lines for a target, a group or a "
                        "target x group pair, drawn deterministically during the count "
                        "(no second pass over the corpus).")
    cx.add_argument("counts", metavar="COUNTS_DIR", help="a counts directory (tracebias count --out)")
    cx.add_argument("--target", default=None, help="a target (occupation) name")
    cx.add_argument("--axis", default=None, help="the group's axis (default: any)")
    cx.add_argument("--group", default=None, help="a group name (with --target: the pair)")
    cx.add_argument("--limit", type=int, default=20, help="lines to print (default 20)")
    cx.add_argument("--width", type=int, default=60, help="characters of context on each side")
    cx.set_defaults(func=cmd_contexts)
