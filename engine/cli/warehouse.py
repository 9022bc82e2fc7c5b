"""`tracebias warehouse`, `sql` and `report`: the analytics commands."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli.common import die as _die, kv as _kv


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
    from engine.viz.report import write_report

    if not Path(args.db).is_file():
        _die(f"no warehouse at {args.db}; create one with `tracebias warehouse build`")
    index = write_report(args.db, args.out)
    print(f"wrote {index} and the figures as PNG in {args.out}")
    return 0


def register(sub) -> None:
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

    rp = sub.add_parser("report", help="figures (PNG) + a self-contained HTML page")
    rp.add_argument("--db", required=True)
    rp.add_argument("--out", default="report")
    rp.set_defaults(func=cmd_report)
