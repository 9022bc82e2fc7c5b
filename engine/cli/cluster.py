"""`tracebias cluster up|down|status`: a local Spark standalone cluster."""
from __future__ import annotations

import argparse
from pathlib import Path



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


def register(sub) -> None:
    cl = sub.add_parser("cluster", help="a local Spark standalone cluster on 127.0.0.1")
    cl.add_argument("action", choices=["up", "down", "status"])
    cl.add_argument("--dir", default=".cluster", help="logs and PIDs (default .cluster)")
    cl.add_argument("--workers", type=int, default=2)
    cl.add_argument("--cores", type=int, default=1, help="cores per worker")
    cl.add_argument("--memory", default="2g", help="memory per worker")
    cl.set_defaults(func=cmd_cluster)
