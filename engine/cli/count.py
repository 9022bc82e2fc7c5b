"""`tracebias count`, `spark-count` and `tag`: counting commands."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli.common import die as _die


def cmd_count(args: argparse.Namespace) -> int:
    from engine.count.counting import CountConfig
    from engine.lexicon import LexiconError, load_lexicon
    from engine.run.local import run_local
    from engine.corpus.shards import InputError
    from engine.count.windows import DEFAULT_WINDOWS

    try:
        lexicon = load_lexicon(args.lexicon)
        from engine.count.tagging import AttributeFilter

        config = CountConfig(lexicon, tuple(args.window) if args.window else DEFAULT_WINDOWS,
                             batch_bytes=int(args.batch_mb * (1 << 20)), bootstrap=args.bootstrap,
                             filters=tuple(AttributeFilter.parse(f) for f in args.filter or []),
                             tokenizer=args.tokenizer)
        summary = run_local(args.inputs, args.out, config, workers=args.workers, force=args.force,
                            progress=not args.quiet)
    except (InputError, LexiconError, ValueError) as e:
        _die(str(e))
    print(format_top(summary.out, config, args.top))
    print(_summary_text(summary))
    return 0


def _summary_text(summary) -> str:
    from engine.run.local import format_summary

    return format_summary(summary)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return c - h, c + h


def format_top(out_url: str, config, n: int) -> str:
    """The strongest associations: occupations with the most skewed female share."""
    import pyarrow.compute as pc

    from engine.run.output import OutputDir

    table = OutputDir(out_url).read_table("cooccurrence.parquet")
    win = config.windows[0].label
    rows = {}
    for r in table.filter(pc.equal(table["window"], win)).to_pylist():
        acc = rows.setdefault(r["occupation"], [0, 0, 0, 0])
        acc[0] += r["units"]
        acc[1] += r["female_only"]
        acc[2] += r["male_only"]
        acc[3] += r["both"]
    scored = []
    for occ, (units, f, m, both) in rows.items():
        n = f + m
        if n >= 5:
            lo, hi = wilson(f, n)
            # how far the 95% interval sits from parity: well-supported skews rank first
            strength = max(lo - 0.5, 0.5 - hi, 0.0)
            scored.append((strength, occ, units, f, m, both, f / n))
    scored.sort(key=lambda x: (-x[0], x[1]))
    lines = [f"strongest associations ({win} window; ranked by the distance of the 95% interval "
             "from 50%):",
             f"  {'occupation':<24}{'units':>9}{'female':>9}{'male':>9}{'both':>7}{'% female':>10}"]
    for _, occ, units, f, m, both, p in scored[:n]:
        lines.append(f"  {occ:<24}{units:>9,}{f:>9,}{m:>9,}{both:>7,}{100 * p:>9.1f}%")
    if not scored:
        lines.append("  (no occupation with enough gendered contexts)")
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
    import subprocess

    from engine.run.spark import build_pyfiles_zip, default_conf, spark_submit_command

    pyfiles = build_pyfiles_zip(Path(args.pyfiles))
    job_args = [*args.inputs, "--out", args.out, "--lexicon", args.lexicon]
    for w in args.window or []:
        job_args += ["--window", w]
    if args.force:
        job_args.append("--force")
    if args.bootstrap:
        job_args += ["--bootstrap", str(args.bootstrap)]
    conf = default_conf()
    for kv in args.conf or []:
        k, _, v = kv.partition("=")
        conf[k] = v
    cmd = spark_submit_command(job_args, args.master, pyfiles, conf, _job_file())
    print("+ " + " ".join(cmd), file=sys.stderr)
    return subprocess.call(cmd)


def cmd_tag(args: argparse.Namespace) -> int:
    from engine.lexicon import LexiconError, load_lexicon
    from engine.lexicon.matcher import compile_lexicon
    from engine.corpus.shards import InputError, expand_inputs
    from engine.count.tagging import tag_shard
    from engine.count.windows import parse_window

    try:
        shards = expand_inputs(args.inputs)
        compiled = compile_lexicon(load_lexicon(args.lexicon))
        window = parse_window(args.window)
    except (InputError, LexiconError, ValueError) as e:
        _die(str(e))
    name = args.name or Path(args.out.rstrip("/")).name
    total = rejected = 0
    for s in shards:
        d, r = tag_shard(s, args.out, compiled, window, name)
        total += d
        rejected += r
        if not args.quiet:
            print(f"  {s.rel}: {d:,} documents" + (f", {r} rejected rows" if r else ""),
                  file=sys.stderr)
    print(f"tagged {total:,} documents in {len(shards)} shards -> {args.out} "
          f"(attributes {name}__*; {rejected} rejected rows kept as placeholders)")
    return 0


def register(sub) -> None:
    c = sub.add_parser("count", help="count co-occurrences on this machine (all cores)",
                       description="Count gender-occupation co-occurrence windows in Dolma-style "
                       "shards on one machine, without Spark.")
    c.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="shard files, directories or globs; local paths or fsspec URLs (s3://, gs://, hdfs://)")
    c.add_argument("--out", required=True, help="output directory (local path or fsspec URL)")
    c.add_argument("--lexicon", default="default", help="built-in name or JSON file (default: default)")
    c.add_argument("--window", action="append", metavar="W",
                   help="sentence, paragraph, document or a word radius k (repeatable; default: "
                   "sentence paragraph document 5 10 20)")
    c.add_argument("--workers", type=int, default=None, help="threads (default: all cores)")
    c.add_argument("--force", action="store_true", help="recount shards that are already done")
    c.add_argument("--batch-mb", type=float, default=16, help="decompressed MB per batch (default 16)")
    c.add_argument("--tokenizer", default=None, metavar="TOKENIZER_JSON",
                   help="a Hugging Face tokenizer.json for model-token windows (--window tokens:10)")
    c.add_argument("--filter", action="append", metavar="ATTR_DIR:KEY<VALUE",
                   help="count only documents whose Dolma attribute passes, e.g. "
                   "attributes/toxicity:toxicity<0.5 (repeatable; ops < <= > >= == !=)")
    c.add_argument("--bootstrap", type=int, default=0, metavar="B",
                   help="document-level Poisson bootstrap replicates, e.g. 100 (default 0 = off)")
    c.add_argument("--top", type=int, default=12, help="rows in the printed association table")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=cmd_count)

    sc = sub.add_parser("spark-count", help="the same count on Spark (wraps spark-submit)",
                        description="Submit jobs/count_cooccurrence.py with spark-submit.")
    sc.add_argument("inputs", nargs="+", metavar="INPUT")
    sc.add_argument("--out", required=True)
    sc.add_argument("--master", default="local[*]", help="local[*], spark://host:7077, yarn, k8s://...")
    sc.add_argument("--lexicon", default="default")
    sc.add_argument("--window", action="append", metavar="W")
    sc.add_argument("--force", action="store_true")
    sc.add_argument("--bootstrap", type=int, default=0, metavar="B")
    sc.add_argument("--conf", action="append", metavar="KEY=VALUE", help="extra Spark conf")
    sc.add_argument("--pyfiles", default="dist/tracebias-engine.zip",
                    help="where to build the engine zip shipped to executors")
    sc.set_defaults(func=cmd_spark_count)

    tg = sub.add_parser("tag", help="write Dolma attribute files (occupation spans by gender context)",
                        description="Same relative paths, same rows, same order as the input "
                        "documents; see engine/tagging.py for the attributes.")
    tg.add_argument("inputs", nargs="+", metavar="INPUT")
    tg.add_argument("--out", required=True, help="attributes/<name>/ directory")
    tg.add_argument("--name", default=None, help="attribute prefix (default: the --out folder name)")
    tg.add_argument("--lexicon", default="default")
    tg.add_argument("--window", default="sentence", help="context that classifies each mention")
    tg.add_argument("--quiet", action="store_true")
    tg.set_defaults(func=cmd_tag)
