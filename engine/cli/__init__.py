"""The `tracebias` command line."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _die(msg: str, code: int = 2) -> None:
    print(f"tracebias: error: {msg}", file=sys.stderr)
    raise SystemExit(code)


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


def cmd_lexicon_show(args: argparse.Namespace) -> int:
    from engine.lexicon import LexiconError, load_lexicon

    try:
        lex = load_lexicon(args.name)
    except LexiconError as e:
        _die(str(e))
    if args.json:
        import json

        print(json.dumps(lex.to_json(), indent=2, ensure_ascii=False))
        return 0
    print(f"lexicon {lex.name} v{lex.version}  sha256 {lex.sha256()[:16]}")
    if lex.description:
        print(lex.description)
    for g, terms in lex.genders.items():
        print(f"\n{g} terms ({len(terms)}): {', '.join(terms)}")
    print(f"\noccupations ({len(lex.targets)}):")
    print(f"  {'name':<28}{'% female':>9}  {'sector':<40} forms")
    for t in lex.targets:
        pct = f"{t.pct_female:.1f}" if t.pct_female is not None else "-"
        print(f"  {t.name:<28}{pct:>9}  {(t.sector or '-')[:40]:<40} {', '.join(t.forms)}")
    return 0


def cmd_lexicon_list(args: argparse.Namespace) -> int:
    from engine.lexicon import builtin_names, load_lexicon

    for name in builtin_names():
        lex = load_lexicon(name)
        print(f"{name:<16} v{lex.version:<6} {len(lex.gender_terms):>4} gender terms "
              f"{len(lex.targets):>4} occupations  {lex.description[:60]}")
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from engine.corpus.synth import SynthConfig, generate_corpus

    cfg = SynthConfig(seed=args.seed, shards=args.shards, docs_per_shard=args.docs_per_shard,
                      compression=args.compression, inject_bad_lines=not args.no_bad_lines)
    corpus = generate_corpus(args.out, cfg)
    print(f"wrote {len(corpus.shards)} shards ({corpus.documents} documents) to {args.out}")
    if args.model_outputs:
        from engine.corpus.synth import generate_model_outputs

        n = generate_model_outputs(Path(args.out) / "generations.jsonl", seed=args.seed)
        print(f"wrote {n} synthetic model generations to {Path(args.out) / 'generations.jsonl'}")
    return 0


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


def cmd_cluster(args: argparse.Namespace) -> int:
    from engine.spark.cluster import LocalCluster

    c = LocalCluster(Path(args.dir), workers=args.workers, cores_per_worker=args.cores,
                     worker_memory=args.memory)
    if args.action == "up":
        url = c.up()
        print(f"Spark master {url} with {c.alive_workers()} workers; "
              f"UI http://127.0.0.1:{c.webui_port}; logs and PIDs in {args.dir}/")
    elif args.action == "down":
        c.down()
        print("cluster stopped")
    else:
        print({"processes": c.pids(), "alive_workers": c.alive_workers()})
    return 0


def _kv(items) -> dict:
    out = {}
    for kv in items or []:
        k, sep, v = kv.partition("=")
        if not sep:
            _die(f"expected KEY=VALUE, got {kv!r}")
        out[k] = v
    return out


def cmd_warehouse(args: argparse.Namespace) -> int:
    from engine.lexicon import LexiconError, load_lexicon
    from engine.warehouse import Warehouse, WarehouseError, parse_counts_arg

    try:
        lexicon = load_lexicon(args.lexicon) if getattr(args, "lexicon", None) else None
        defaults = {"stage": args.stage, "decoding": args.decoding} if hasattr(args, "stage") else {}
        defaults = {k: v for k, v in defaults.items() if v is not None}
        with Warehouse(args.db) as w:
            if args.action == "build":
                w.build([parse_counts_arg(c) for c in args.counts], _kv(args.set))
                print(f"built {args.db}: runs {', '.join(c for c in args.counts)}")
            elif args.action == "set":
                for k, v in _kv(args.pairs).items():
                    w.set(k, v)
            for f in getattr(args, "generations", None) or []:
                n = w.add_generations(f, lexicon, defaults)
                print(f"added {n:,} generations from {f}")
            for f in getattr(args, "scores", None) or []:
                n = w.add_scores(f, defaults)
                print(f"added {n:,} scores from {f}")
            print(w.sql("SELECT key, value FROM settings ORDER BY key"))
    except (WarehouseError, LexiconError) as e:
        _die(str(e))
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    import duckdb

    from engine.warehouse import Warehouse

    if not Path(args.db).is_file():
        _die(f"no warehouse at {args.db}; create one with `tracebias warehouse build`")
    params = _kv(args.param) or None
    try:
        with Warehouse(args.db, read_only=True) as w:
            df = w.sql(args.query, params)
    except duckdb.Error as e:
        _die(str(e).splitlines()[0])
    if args.format == "csv":
        out = df.write_csv(args.out) if args.out else print(df.write_csv(), end="")
    elif args.format == "parquet":
        if not args.out:
            _die("--format parquet needs --out FILE")
        df.write_parquet(args.out)
    else:
        import polars as pl

        with pl.Config(tbl_rows=args.max_rows, tbl_cols=-1, tbl_width_chars=200,
                       fmt_str_lengths=60):
            print(df)
    if args.out:
        print(f"wrote {len(df):,} rows to {args.out}", file=sys.stderr)
    return 0


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


def cmd_report(args: argparse.Namespace) -> int:
    from engine.viz.report import write_report

    if not Path(args.db).is_file():
        _die(f"no warehouse at {args.db}; create one with `tracebias warehouse build`")
    index = write_report(args.db, args.out)
    print(f"wrote {index} and the figures as PNG in {args.out}")
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    from engine import __version__

    p = argparse.ArgumentParser(prog="tracebias", description=(
        "Gender-occupation co-occurrence analytics for pretraining corpora."))
    p.add_argument("--version", action="version", version=f"tracebias {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

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

    lx = sub.add_parser("lexicon", help="inspect lexicons")
    lsub = lx.add_subparsers(dest="lexicon_command", required=True)
    show = lsub.add_parser("show", help="print a lexicon")
    show.add_argument("name", help="built-in name or JSON file")
    show.add_argument("--json", action="store_true", help="print the lexicon file format")
    show.set_defaults(func=cmd_lexicon_show)
    lsub.add_parser("list", help="list built-in lexicons").set_defaults(func=cmd_lexicon_list)

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

    cl = sub.add_parser("cluster", help="a local Spark standalone cluster on 127.0.0.1")
    cl.add_argument("action", choices=["up", "down", "status"])
    cl.add_argument("--dir", default=".cluster", help="logs and PIDs (default .cluster)")
    cl.add_argument("--workers", type=int, default=2)
    cl.add_argument("--cores", type=int, default=1, help="cores per worker")
    cl.add_argument("--memory", default="2g", help="memory per worker")
    cl.set_defaults(func=cmd_cluster)

    wh = sub.add_parser("warehouse", help="build and fill the DuckDB warehouse")
    whs = wh.add_subparsers(dest="action", required=True)
    b = whs.add_parser("build", help="create views over counts + world statistics + metric views")
    b.add_argument("--counts", action="append", required=True, metavar="[NAME=]DIR",
                   help="a counts directory (repeatable); NAME labels the run (default: folder name)")
    b.add_argument("--db", required=True, help="DuckDB file to create or update")
    b.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="settings: min_support, min_model_support, z, data_window, data_run")
    b.add_argument("--generations", action="append", metavar="FILE", help="also add generations")
    b.add_argument("--scores", action="append", metavar="FILE", help="also add scores")
    ag = whs.add_parser("add-generations", help="classify and add model generations")
    ag.add_argument("generations", nargs="+", metavar="FILE", help=".jsonl, .csv or .parquet")
    asc = whs.add_parser("add-scores", help="add per-occupation scores (model, occupation, metric, value)")
    asc.add_argument("scores", nargs="+", metavar="FILE")
    st = whs.add_parser("set", help="change settings, e.g. min_support=50 data_window=words:10")
    st.add_argument("pairs", nargs="+", metavar="KEY=VALUE")
    for p_ in (ag, asc, st):
        p_.add_argument("--db", required=True, help="the warehouse DuckDB file")
    for p_ in (b, ag, asc, st):
        p_.add_argument("--stage", default=None, help="stage when the file has none")
        p_.add_argument("--decoding", default=None, help="decoding when the file has none")
        p_.add_argument("--lexicon", default=None,
                        help="lexicon for classifying generations (default: the counts' lexicon)")
        p_.set_defaults(func=cmd_warehouse)

    q = sub.add_parser("sql", help="run SQL on a warehouse")
    q.add_argument("query")
    q.add_argument("--db", required=True)
    q.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="named parameter, used as $NAME in the query")
    q.add_argument("--format", choices=["table", "csv", "parquet"], default="table")
    q.add_argument("--out", help="write to a file (csv, parquet)")
    q.add_argument("--max-rows", type=int, default=50)
    q.set_defaults(func=cmd_sql)

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

    rp = sub.add_parser("report", help="figures (PNG) + a self-contained HTML page")
    rp.add_argument("--db", required=True)
    rp.add_argument("--out", default="report")
    rp.set_defaults(func=cmd_report)

    s = sub.add_parser("synth", help="generate the seeded default corpus with planted associations")
    s.add_argument("out", help="output directory")
    s.add_argument("--seed", type=int, default=20261124)
    s.add_argument("--shards", type=int, default=5)
    s.add_argument("--docs-per-shard", type=int, default=1200)
    s.add_argument("--compression", choices=["gzip", "zstd", "none"], default="gzip")
    s.add_argument("--no-bad-lines", action="store_true", help="do not plant malformed lines")
    s.add_argument("--model-outputs", action="store_true",
                   help="also write generations.jsonl of a synthetic model (base amplifies, tuned dampens)")
    s.set_defaults(func=cmd_synth)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `tracebias sql ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
