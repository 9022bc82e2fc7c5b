"""A real Spark standalone cluster on this machine: one master and N workers on 127.0.0.1.

Started from the pyspark install (``spark-class org.apache.spark.deploy.master.Master`` and
``...deploy.worker.Worker``), with logs and PIDs under a folder (default ``.cluster/``, git-ignored).
Used by ``make cluster-up`` / ``make cluster-down`` and by the test fixtures.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalCluster:
    root: Path = Path(".cluster")
    workers: int = 2
    cores_per_worker: int = 1
    worker_memory: str = "2g"
    master_port: int = 7077
    webui_port: int = 8080

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.master_port}"

    def _env(self) -> dict:
        env = dict(os.environ)
        env.update(SPARK_HOME=str(spark_home()), SPARK_LOCAL_IP="127.0.0.1",
                   SPARK_LOG_DIR=str(self.root.resolve() / "logs"),
                   SPARK_PID_DIR=str(self.root.resolve()), SPARK_NO_DAEMONIZE="1")
        return env

    def _start(self, name: str, args: list[str]) -> int:
        self.root.mkdir(parents=True, exist_ok=True)
        log = open(self.root / f"{name}.log", "ab")
        cmd = [str(spark_home() / "bin" / "spark-class"), *args]
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self._env(),
                             start_new_session=True)
        (self.root / f"{name}.pid").write_text(str(p.pid))
        return p.pid

    def state(self) -> dict | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.webui_port}/json/", timeout=2) as r:
                return json.loads(r.read())
        except OSError:
            return None

    def alive_workers(self) -> int:
        st = self.state()
        return int(st.get("aliveworkers", 0)) if st else 0

    def up(self, timeout: float = 120) -> str:
        if self.pids():
            raise RuntimeError(f"a cluster already runs from {self.root} (make cluster-down first)")
        self._start("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                               "--port", str(self.master_port), "--webui-port", str(self.webui_port)])
        for i in range(1, self.workers + 1):
            work = self.root.resolve() / f"work-{i}"
            work.mkdir(parents=True, exist_ok=True)
            self._start(f"worker-{i}", ["org.apache.spark.deploy.worker.Worker", self.url,
                                        "--host", "127.0.0.1", "--cores", str(self.cores_per_worker),
                                        "--memory", self.worker_memory, "--work-dir", str(work),
                                        "--webui-port", str(free_port())])
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.alive_workers() >= self.workers:
                return self.url
            time.sleep(1)
        self.down()
        raise RuntimeError(f"cluster did not come up within {timeout:.0f}s; see {self.root}/*.log")

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

    def down(self) -> None:
        for name, pid in self.pids().items():
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.time() + 20
        while self.pids() and time.time() < deadline:
            time.sleep(0.5)
        for name, pid in self.pids().items():
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for f in self.root.glob("*.pid"):
            f.unlink(missing_ok=True)
