"""`tracebias warehouse`, `sql` and `report`: the analytics commands."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli.common import die as _die
from engine.cli.common import kv as _kv


def _print_settings(w) -> None:
    from engine.warehouse.settings import SETTINGS

    current = w.settings()
    width = max(map(len, SETTINGS))
    print("settings (change with `tracebias warehouse set KEY=VALUE ... --db FILE`):")
    for k, s in SETTINGS.items():
        print(f"  {k:<{width}} = {current.get(k, ''):<10}  {s.help}")


def cmd_warehouse(args: argparse.Namespace) -> int:
    from engine.lexicon import LexiconError, load_lexicon
    from engine.warehouse import Warehouse, WarehouseError, parse_counts_arg

    try:
        lexicon = load_lexicon(args.lexicon) if getattr(args, "lexicon", None) else None
        defaults = {"stage": args.stage, "decoding": args.decoding} if hasattr(args, "stage") else {}
        defaults = {k: v for k, v in defaults.items() if v is not None}
        if args.action != "build" and not Path(args.db).is_file():
            _die(f"no warehouse at {args.db}; create one with `tracebias warehouse build`")
        runs = [parse_counts_arg(c) for c in args.counts] if args.action == "build" else []
        with Warehouse(args.db) as w:
            if args.action == "build":
                for note in w.build(runs, _kv(args.set)):
                    print(f"note: {note}", file=sys.stderr)
                print(f"built {args.db}: runs {', '.join(r.name for r in runs)}")
            elif args.action == "set":
                if args.pairs:
                    w.set_many(_kv(args.pairs))
            elif args.action == "refresh":
                w.refresh()
            for f in getattr(args, "generations", None) or []:
                print(w.add_generations(f, lexicon, defaults).summary())
            for f in getattr(args, "scores", None) or []:
                print(w.add_scores(f, defaults).summary())
            for f in getattr(args, "probes", None) or []:
                from engine.warehouse.probes import ProbesAlreadyLoaded, add_probes

                try:
                    n = add_probes(w, f, defaults)
                    print(f"added {n:,} probe rows from {f}")
                except ProbesAlreadyLoaded as e:
                    print(str(e))
            _print_settings(w)
    except (WarehouseError, LexiconError) as e:
        _die(str(e))
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    import duckdb

    from engine.warehouse import Warehouse, WarehouseError

    if not Path(args.db).is_file():
        _die(f"no warehouse at {args.db}; create one with `tracebias warehouse build`")
    params = _kv(args.param) or None
    try:
        with Warehouse(args.db, read_only=True) as w:
            df = w.sql(args.query, params)
    except (duckdb.Error, WarehouseError) as e:
        _die(str(e).splitlines()[0])
    if args.format == "csv":
        df.write_csv(args.out) if args.out else print(df.write_csv(), end="")
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


def cmd_report(args: argparse.Namespace) -> int:
    import duckdb

    from engine.viz import verdict
    from engine.viz.report import has_model_outputs, write_report
    from engine.warehouse import Warehouse

    if not Path(args.db).is_file():
        _die(f"no warehouse at {args.db}; create one with `tracebias warehouse build`")
    try:
        index = write_report(args.db, args.out)
        with Warehouse(args.db, read_only=True) as w:
            sentences = verdict.sentences(w) if has_model_outputs(w) else []
    except duckdb.CatalogException as e:
        _die(f"{args.db} is not a warehouse of this version of tracebias ({str(e).splitlines()[0]}); "
             "rebuild it with `tracebias warehouse build`")
    except duckdb.Error as e:
        _die(f"{args.db}: {str(e).splitlines()[0]}")
    for line in sentences or ["no model outputs in the warehouse: no verdict (the report says "
                              "how to add them)"]:
        print(line)
    pngs = len(list(Path(args.out).glob("*.png")))
    print(f"wrote {index} ({pngs} figures, also as PNG files in {args.out}/)")
    return 0


def register(sub) -> None:
    from engine.warehouse.settings import describe

    keys = "settings:\n" + describe()
    wh = sub.add_parser("warehouse", help="build and fill the DuckDB warehouse")
    whs = wh.add_subparsers(dest="action", required=True)
    b = whs.add_parser(
        "build", help="create views over counts + lexicons + world statistics + metric views",
        description="Build (or rebuild) a warehouse. The file is written under a temporary name "
                    "and renamed, so a failed build leaves nothing half-built; rebuilding keeps "
                    "the file's model outputs and settings.",
        epilog=keys, formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--counts", action="append", required=True, metavar="[NAME=]DIR",
                   help="a finished tracebias-counts/2 directory (repeatable); NAME labels the "
                        "run (default: folder name)")
    b.add_argument("--db", required=True, help="DuckDB file to create or rebuild")
    b.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="a setting (repeatable; keys below)")
    b.add_argument("--generations", action="append", metavar="FILE",
                   help="also add generations (repeatable)")
    b.add_argument("--scores", action="append", metavar="FILE",
                   help="also add scores (repeatable)")
    ag = whs.add_parser("add-generations", help="classify and add model generations",
                        description="JSON Lines, CSV or Parquet with model, occupation, text and "
                                    "prompt or template (optional stage, decoding, prompt_id, "
                                    "sample). Lines that cannot be used are skipped and reported. "
                                    "A file already loaded adds nothing; a changed file at the "
                                    "same path replaces its earlier rows.")
    ag.add_argument("generations", nargs="+", metavar="FILE", help=".jsonl, .csv or .parquet")
    asc = whs.add_parser("add-scores", help="add per-occupation scores",
                         description="CSV (or .jsonl / .parquet) with columns model, occupation, "
                                     "metric, value and optionally stage: one number per model, "
                                     "stage, occupation and metric (e.g. logp_she_minus_he, or "
                                     "winobias_stereo_pref and winobias_llr from `tracebias "
                                     "probe --task winobias`).")
    asc.add_argument("scores", nargs="+", metavar="FILE", help=".csv, .jsonl or .parquet")
    ap = whs.add_parser("add-probes", help="add `tracebias probe` output (model_probes)",
                        description="Probe files (Parquet, CSV or JSON Lines) from `tracebias "
                                    "probe`: one row per (prompt, group) with the model's "
                                    "normalised probability share; they appear in model_share "
                                    "with decoding logprob.")
    ap.add_argument("probes", nargs="+", metavar="FILE", help=".parquet, .csv or .jsonl")
    st = whs.add_parser("set", help="change settings (without KEY=VALUE: list them)",
                        description="Validate and store settings, then refresh the derived "
                                    "tables.", epilog=keys,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    st.add_argument("pairs", nargs="*", metavar="KEY=VALUE", help="e.g. min_support=50 "
                    "data_window=words:10; none: print every key, its value and meaning")
    rf = whs.add_parser("refresh", help="recompute bias_trace and the statistics tables (after "
                                        "changing settings with SQL UPDATE)")
    for p_ in (ag, asc, ap, st, rf):
        p_.add_argument("--db", required=True, help="the warehouse DuckDB file")
    for p_ in (b, ag, asc, ap, st, rf):
        p_.add_argument("--stage", default=None, help="stage for rows that have none")
        p_.add_argument("--decoding", default=None, help="decoding for rows that have none")
        p_.add_argument("--lexicon", default=None,
                        help="lexicon for classifying generations (default: the lexicon.json of "
                             "the data_run)")
        p_.set_defaults(func=cmd_warehouse)

    q = sub.add_parser("sql", help="run SQL on a warehouse",
                       description="Run one DuckDB SQL statement on a warehouse (opened read-only) "
                       "and print the result; views and their columns: docs/metrics.md.")
    q.add_argument("query", help="the SQL, e.g. \"SELECT * FROM data_default ORDER BY p\"; "
                   "$NAME placeholders take --param values")
    q.add_argument("--db", required=True, help="the warehouse DuckDB file")
    q.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="named parameter, used as $NAME in the query")
    q.add_argument("--format", choices=["table", "csv", "parquet"], default="table",
                   help="table (default, printed), csv (printed or --out) or parquet (--out)")
    q.add_argument("--out", help="write to a file (csv, parquet)")
    q.add_argument("--max-rows", type=int, default=50,
                   help="rows printed in table format (default 50)")
    q.set_defaults(func=cmd_sql)

    rp = sub.add_parser("report", help="the verdict, figures (PNG) and tables as one "
                        "self-contained HTML page",
                        description="Writes OUT/index.html (figures embedded; open it in a "
                        "browser) and every figure as OUT/NAME.png. The page opens with one "
                        "verdict sentence per model and stage, then the model-vs-data summary, "
                        "the data side and a section per demographic axis of the warehouse.")
    rp.add_argument("--db", required=True, help="the warehouse DuckDB file (tracebias warehouse "
                    "build)")
    rp.add_argument("--out", default="report", help="output folder (default: report); its "
                    "earlier PNG files are replaced")
    rp.set_defaults(func=cmd_report)
