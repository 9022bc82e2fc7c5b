"""`tracebias cluster up|down|status|url`: a local Spark standalone cluster."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.cli.common import die


def cmd_cluster(args: argparse.Namespace) -> int:
    from engine.spark.cluster import ClusterError, LocalCluster

    c = LocalCluster(Path(args.dir), workers=args.workers, cores_per_worker=args.cores,
                     worker_memory=args.memory, master_port=args.port,
                     webui_port=args.webui_port)
    if args.action == "up":
        try:
            url = c.up()
        except ClusterError as e:
            die(str(e))
        print(f"Spark master {url} with {c.alive_workers()} workers; UI {c.ui}; "
              f"logs and PIDs in {args.dir}/")
    elif args.action == "down":
        c.down()
        print("cluster stopped")
    elif args.action == "url":
        if not c.pids():
            die(f"no cluster runs from {args.dir} (tracebias cluster up --dir {args.dir})")
        print(c.url)
    else:
        running = bool(c.pids())
        print(json.dumps({"running": running, "url": c.url if running else None,
                          "ui": c.ui if running else None, "processes": c.pids(),
                          "alive_workers": c.alive_workers() if running else 0}, indent=2))
    return 0


def register(sub) -> None:
    cl = sub.add_parser("cluster", help="a local Spark standalone cluster on 127.0.0.1",
                        description="Start, stop or inspect a Spark standalone master and "
                        "workers on this machine (logs, PIDs and the master's address in --dir).")
    cl.add_argument("action", choices=["up", "down", "status", "url"],
                    help="up: start; down: stop; status: processes and workers; url: print the "
                    "running master's URL (for --master)")
    cl.add_argument("--dir", default=".cluster", help="logs, PIDs and state (default .cluster)")
    cl.add_argument("--workers", type=int, default=2, help="workers to start (default 2)")
    cl.add_argument("--cores", type=int, default=1, help="cores per worker (default 1)")
    cl.add_argument("--memory", default="2g", help="memory per worker (default 2g)")
    cl.add_argument("--port", type=int, default=7077,
                    help="master port (default 7077; 0 = any free port); a taken port fails")
    cl.add_argument("--webui-port", type=int, default=8080,
                    help="master web UI port (default 8080; another free one if taken)")
    cl.set_defaults(func=cmd_cluster)
