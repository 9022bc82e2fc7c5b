"""A real Spark standalone cluster on this machine: one master and N workers on 127.0.0.1.

Started from ``$SPARK_HOME`` (default: the pyspark install) with ``spark-class
org.apache.spark.deploy.master.Master`` and ``...deploy.worker.Worker``; logs, PIDs and the
master's real address (``cluster.json``) under a folder (default ``.cluster/``, git-ignored).
Ports: the master's port is checked free before it starts (a taken port fails at once, naming
it; port 0 picks a free one), and the URL and web UI the master really bound are read from its
log, so the workers join this master and nothing else. A master that does not come up fails
with the end of its log. Used by ``tracebias cluster up|down|status|url``, ``make cluster-*``,
the tests and the benchmarks.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from engine.spark.packaging import spark_home

STATE = "cluster.json"
_MASTER_AT = re.compile(r"Starting Spark master at (spark://\S+)")
_UI_AT = re.compile(r"MasterWebUI.*?started at (https?://\S+)|Bound MasterWebUI to \S+, and "
                    r"started at (https?://\S+)")


class ClusterError(RuntimeError):
    """The cluster cannot start (port taken, master down) or is not running."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class LocalCluster:
    root: Path = Path(".cluster")
    workers: int = 2
    cores_per_worker: int = 1
    worker_memory: str = "2g"
    master_port: int = 7077  # 0: any free port
    webui_port: int = 8080  # 0: any free port

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self._procs: list[subprocess.Popen] = []  # started here: reaped by down()

    # ---- state ---------------------------------------------------------------------------------
    def _state(self) -> dict:
        try:
            return json.loads((self.root / STATE).read_text())
        except (OSError, ValueError):
            return {}

    @property
    def url(self) -> str:
        """The master URL the running master reported (``cluster up`` reads it from its log)."""
        st = self._state()
        if st.get("url"):
            return st["url"]
        return f"spark://127.0.0.1:{self.master_port}"

    @property
    def ui(self) -> str | None:
        return self._state().get("ui")

    def _env(self) -> dict:
        env = dict(os.environ)
        env.update(SPARK_HOME=str(spark_home()), SPARK_LOCAL_IP="127.0.0.1",
                   SPARK_LOG_DIR=str(self.root.resolve() / "logs"),
                   SPARK_PID_DIR=str(self.root.resolve()), SPARK_NO_DAEMONIZE="1")
        return env

    def _start(self, name: str, args: list[str]) -> subprocess.Popen:
        self.root.mkdir(parents=True, exist_ok=True)
        log = open(self.root / f"{name}.log", "ab")
        cmd = [str(spark_home() / "bin" / "spark-class"), *args]
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self._env(),
                             start_new_session=True)
        log.close()  # the child holds its own descriptor
        (self.root / f"{name}.pid").write_text(str(p.pid))
        self._procs.append(p)
        return p

    def state(self) -> dict | None:
        ui = self.ui
        if not ui:
            return None
        try:
            with urllib.request.urlopen(f"{ui.rstrip('/')}/json/", timeout=2) as r:
                return json.loads(r.read())
        except (OSError, ValueError):
            return None

    def alive_workers(self) -> int:
        st = self.state()
        return int(st.get("aliveworkers", 0)) if st else 0

    # ---- up / down -----------------------------------------------------------------------------
    def up(self, timeout: float = 120) -> str:
        """Start the master, read the address it really bound, start the workers against it;
        return the master URL. Raises ClusterError (with the log's end) when it fails."""
        if self.pids():
            raise ClusterError(f"a cluster already runs from {self.root} ({self.url}); "
                               f"stop it first (tracebias cluster down --dir {self.root})")
        port = self.master_port or free_port()
        if not port_free(port):
            raise ClusterError(f"port {port} on 127.0.0.1 is in use by another process; choose "
                               f"another with --port N (or --port 0 for any free port)")
        ui_port = self.webui_port or free_port()
        if not port_free(ui_port):
            ui_port = free_port()
        (self.root / STATE).unlink(missing_ok=True)
        log_path = self.root / "master.log"
        self.root.mkdir(parents=True, exist_ok=True)
        offset = log_path.stat().st_size if log_path.exists() else 0
        master = self._start("master", ["org.apache.spark.deploy.master.Master", "--host",
                                        "127.0.0.1", "--port", str(port), "--webui-port",
                                        str(ui_port)])
        deadline = time.time() + timeout
        url = ui = None
        while time.time() < deadline:
            text = _read_from(log_path, offset)
            m = _MASTER_AT.search(text)
            u = _UI_AT.search(text)
            if m:
                url = m.group(1)
            if u:
                ui = u.group(1) or u.group(2)
            if url and ui:
                break
            if master.poll() is not None:
                break
            time.sleep(0.3)
        if not (url and ui):
            tail = "\n".join(_read_from(log_path, offset).strip().splitlines()[-8:])
            self.down()
            why = "exited" if master.poll() is not None else f"did not start within {timeout:.0f}s"
            raise ClusterError(f"the Spark master {why}; end of {log_path}:\n{tail}")
        if url != f"spark://127.0.0.1:{port}":
            self.down()
            raise ClusterError(f"the master bound {url}, not port {port} as asked; "
                               f"see {log_path}")
        (self.root / STATE).write_text(json.dumps({"url": url, "ui": ui}) + "\n")
        for i in range(1, self.workers + 1):
            work = self.root.resolve() / f"work-{i}"
            work.mkdir(parents=True, exist_ok=True)
            self._start(f"worker-{i}", ["org.apache.spark.deploy.worker.Worker", url,
                                        "--host", "127.0.0.1", "--cores", str(self.cores_per_worker),
                                        "--memory", self.worker_memory, "--work-dir", str(work),
                                        "--webui-port", str(free_port())])
        while time.time() < deadline:
            if self.alive_workers() >= self.workers:
                return url
            time.sleep(0.5)
        n = self.alive_workers()
        self.down()
        raise ClusterError(f"{n} of {self.workers} workers joined {url} within {timeout:.0f}s; "
                           f"see {self.root}/worker-*.log")

    def pids(self) -> dict[str, int]:
        out = {}
        for f in sorted(self.root.glob("*.pid")):
            try:
                pid = int(f.read_text().strip())
                os.kill(pid, 0)
                out[f.stem] = pid
            except (ValueError, ProcessLookupError, PermissionError):
                f.unlink(missing_ok=True)
        return out

    def kill_worker(self, i: int) -> None:
        """Kill worker i and everything it started (its executors), as a crash would."""
        pid = self.pids()[f"worker-{i}"]
        os.killpg(pid, signal.SIGKILL)
        for p in self._procs:
            if p.pid == pid:
                p.wait(timeout=10)

    def down(self) -> None:
        for name, pid in self.pids().items():
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.time() + 10
        while time.time() < deadline:
            for p in self._procs:
                p.poll()  # reap: a zombie still answers kill(pid, 0)
            if not self.pids():
                break
            time.sleep(0.3)
        for name, pid in self.pids().items():
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for f in self.root.glob("*.pid"):
            f.unlink(missing_ok=True)
        (self.root / STATE).unlink(missing_ok=True)
        for p in self._procs:  # no zombies of processes this object started
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self._procs.clear()


def _read_from(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""
