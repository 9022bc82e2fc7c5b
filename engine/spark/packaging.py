"""Packaging for a real cluster: a relocatable Python environment with precompiled kernels.

``make dist`` (``python -m engine.spark.packaging dist``) builds, in ``dist/``:

    tracebias-<version>-py3-none-any.whl   the engine
    tracebias-env.tar.gz                   a venv-pack archive of a fresh virtualenv holding the
                                           wheel and what executors import (numpy, numba,
                                           pyarrow, fsspec, zstandard, isal, tokenizers; pinned
                                           to this environment's versions), with the numba
                                           kernels compiled into it

and Spark ships the archive to every executor (``--archives dist/tracebias-env.tar.gz#environment``,
``spark.pyspark.python=./environment/bin/python``), as Spark's Python package management guide
describes. pyspark itself is not in the archive: Spark puts its own ``pyspark.zip`` on the
executors' path, so the Python side always matches the cluster's Spark.

The kernels: numba caches a compiled function next to its source (``__pycache__``), keyed by the
source's content and the CPU; it looks for the cache under the source's directory. Executors
that import the engine from a per-application ``--py-files`` zip (the old way) see a new path in
every application and recompile every kernel (20-28 s per executor). Here the kernels are
compiled once, at ``make dist``, into the environment's own ``engine/**/__pycache__``; wherever
Spark unpacks the archive, the cache sits beside the source and is loaded, not rebuilt.
Executors must run on the CPU family of the machine that built the archive (numba keys the
cache on it; a different CPU compiles once per executor, correctly). Do not set
``NUMBA_CACHE_DIR`` for executors: it would move the cache away from the shipped one.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ENV_ARCHIVE = "tracebias-env.tar.gz"
ENV_ALIAS = "environment"  # the directory name executors unpack the archive into
EXECUTOR_PYTHON = f"./{ENV_ALIAS}/bin/python"
# the engine's dependencies executors never import (the driver has them; Spark ships pyspark)
DRIVER_ONLY = ("pyspark", "duckdb", "polars", "matplotlib", "tqdm")


def spark_home() -> Path:
    """``$SPARK_HOME`` when set, else the pyspark package's own Spark (pip installs one)."""
    env = os.environ.get("SPARK_HOME")
    if env:
        return Path(env)
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def spark_submit() -> Path:
    return spark_home() / "bin" / "spark-submit"


def executor_requirements() -> list[str]:
    """``name==version`` of every dependency executors import, pinned to this environment."""
    import re
    from importlib import metadata

    reqs = []
    for r in metadata.requires("tracebias") or []:
        if "extra ==" in r:
            continue
        name = re.split(r"[<>=!~; \[]", r, maxsplit=1)[0].strip()
        if name.lower() in DRIVER_ONLY:
            continue
        try:
            reqs.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            reqs.append(r.split(";")[0].strip())
    return reqs


def _run(cmd: list[str], log, **kw) -> None:
    log("+ " + " ".join(str(c) for c in cmd))
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def build_env(wheel: Path, dist: Path, build: Path, log=print) -> Path:
    """A fresh virtualenv with the wheel and the executor requirements, kernels compiled in,
    packed with venv-pack into ``dist/tracebias-env.tar.gz``."""
    env = build / "spark-env"
    if env.exists():
        shutil.rmtree(env)
    base = getattr(sys, "_base_executable", sys.executable)
    _run([base, "-m", "venv", env], log)
    py = env / "bin" / "python"
    pip_env = {k: v for k, v in os.environ.items() if k != "PIP_REQUIRE_VIRTUALENV"}
    _run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          *executor_requirements()], log, env=pip_env)
    _run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
          wheel], log, env=pip_env)
    warm_env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE_DIR")}
    t0 = time.perf_counter()
    _run([py, "-m", "engine.spark.packaging", "warm"], log, env=warm_env, cwd=build)
    log(f"kernels compiled into the environment in {time.perf_counter() - t0:.1f} s")
    out = dist / ENV_ARCHIVE
    tmp = out.with_name("tracebias-env.partial.tar.gz")
    tmp.unlink(missing_ok=True)
    venv_pack = Path(sys.executable).with_name("venv-pack")
    _run([venv_pack if venv_pack.exists() else "venv-pack", "--prefix", env, "--output", tmp,
          "--force", "--quiet"], log)
    os.replace(tmp, out)
    return out


def warm_kernels() -> dict[str, float]:
    """Compile (or load) every kernel a count runs, in this interpreter: word windows with and
    without bootstrap and contexts, and model-token windows (a tokenizer built here)."""
    import tempfile

    import pyarrow as pa

    from engine.count.config import CountConfig
    from engine.count.counting import ShardCounter
    from engine.lexicon import load_lexicon

    times = {}
    text = pa.array(["She is a nurse. He is an engineer, she said.\n\nThe teacher spoke."],
                    pa.string())
    src = pa.array(["warm"], pa.string())
    ids = pa.array(["warm-1"], pa.string())
    lex = load_lexicon("default")
    with tempfile.TemporaryDirectory() as tmp:
        tok = _tiny_tokenizer(Path(tmp) / "tokenizer.json")
        for label, cfg in [
            ("words", CountConfig(lex)),
            ("bootstrap", CountConfig(lex, bootstrap=2, contexts=0)),
            ("tokens", CountConfig(lex, ("sentence", "5", "tokens:5"), tokenizer=str(tok))),
        ]:
            t0 = time.perf_counter()
            c = ShardCounter(cfg)
            c.add_texts(text, src, ids)
            c.tables()
            times[label] = time.perf_counter() - t0
    from engine.corpus.shards import parse_chunk

    list(parse_chunk(b'{"text": "warm", "id": "1"}\nnot json\n', "warm", 1))
    return times


def _tiny_tokenizer(path: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0}
    for w in "she is a nurse . he an engineer , said the teacher spoke".split():
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(path))
    return path


def build_dist(dist: str | Path = "dist", build: str | Path = "build", log=print) -> dict:
    """The wheel and the environment archive (see module doc)."""
    root = Path(__file__).resolve().parents[2]
    dist, build = Path(dist).resolve(), Path(build).resolve()
    dist.mkdir(parents=True, exist_ok=True)
    build.mkdir(parents=True, exist_ok=True)
    for old in dist.glob("tracebias-*.whl"):
        old.unlink()
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
          "--disable-pip-version-check", "-w", dist, root], log)
    wheel = next(dist.glob("tracebias-*.whl"))
    env = build_env(wheel, dist, build, log)
    return {"wheel": wheel, "env": env}


def submit_command(job_args: list[str], master: str, conf: dict[str, str],
                   job_file: Path, archive: Path | None = None,
                   files: list[str] | None = None) -> list[str]:
    """The spark-submit command line for the job (with the environment archive when given)."""
    cmd = [str(spark_submit()), "--master", master]
    if archive is not None:
        cmd += ["--archives", f"{archive}#{ENV_ALIAS}"]
    if files:
        cmd += ["--files", ",".join(files)]
    for k, v in sorted(conf.items()):
        cmd += ["--conf", f"{k}={v}"]
    return cmd + [str(job_file), *job_args]


# The JVM flags `spark-count` gives a local-mode driver (which is the executor too): the quick
# compiler only, with the code cache the full compiler would have (with C1 alone the JVM reserves
# 48 MB, which a 1,000-shard run filled: "Out of space in CodeCache").
LOCAL_DRIVER_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"


def default_conf(archive: Path | None, master: str = "") -> dict[str, str]:
    """Executors run the packed environment's Python (or, without an archive, this one: right
    for local[*] and a cluster on this machine); the driver runs this Python.

    In local mode the driver is the executor too: 2 GB of heap (whole shards pass through it)
    and the JVM's quick compiler only (LOCAL_DRIVER_JAVA_OPTIONS). A local run is short and
    the JVM's compilers compete with the workers for the same cores: on a 4-large-shard run the
    JVM used about 27 of the 35 CPU seconds with both compilers and about 15 with the quick one
    (the Python workers about 8). Measured 2026-11-26 on 2 cores, 3 interleaved rounds: 4 large
    shards 26.3 -> 20.2 s, 2 small shards 19.7 -> 16.1 s, a 1,000-shard re-run 29.7 -> 22.6 s.
    A ``--conf spark.driver.extraJavaOptions=...`` of yours replaces these flags."""
    local = {"spark.driver.memory": "2g",
             "spark.driver.extraJavaOptions": LOCAL_DRIVER_JAVA_OPTIONS} \
        if master.startswith("local") else {}
    return {**local,
        "spark.pyspark.python": EXECUTOR_PYTHON if archive is not None else sys.executable,
        "spark.pyspark.driver.python": sys.executable,
        "spark.task.maxFailures": "4",
        "spark.ui.showConsoleProgress": "false",
        "spark.log.level": "WARN",
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["warm"]:
        times = warm_kernels()
        print("kernels ready: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
        return 0
    if args[:1] == ["dist"]:
        got = build_dist(*(args[1:3]))
        print(f"wheel:       {got['wheel']}\nenvironment: {got['env']} "
              f"({got['env'].stat().st_size / 1e6:.0f} MB; spark-submit --archives "
              f"{got['env']}#{ENV_ALIAS})")
        return 0
    print("usage: python -m engine.spark.packaging dist [DIST_DIR [BUILD_DIR]] | warm",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
