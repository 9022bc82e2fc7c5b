"""Packaging for Spark executors: the --py-files zip and the spark-submit command line."""
from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

def build_pyfiles_zip(dest: str | Path) -> Path:
    """Zip the engine package (code + data) for ``spark-submit --py-files``."""
    import engine

    pkg = Path(engine.__file__).resolve().parent
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(pkg.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".json", ".tsv", ".md"):
                info = zipfile.ZipInfo(str(Path("engine") / p.relative_to(pkg)), (1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, p.read_bytes())
    os.replace(tmp, dest)
    return dest


def spark_submit_command(job_args: list[str], master: str, pyfiles: Path, conf: dict[str, str],
                         job_file: Path) -> list[str]:
    from engine.spark.cluster import spark_home

    cmd = [str(spark_home() / "bin" / "spark-submit"), "--master", master,
           "--py-files", str(pyfiles)]
    for k, v in sorted(conf.items()):
        cmd += ["--conf", f"{k}={v}"]
    return cmd + [str(job_file), *job_args]


def default_conf() -> dict[str, str]:
    py = sys.executable
    return {
        "spark.pyspark.python": py,
        "spark.pyspark.driver.python": py,
        "spark.executorEnv.NUMBA_CACHE_DIR": os.environ.get(
            "NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "tracebias-numba")),
        "spark.task.maxFailures": "4",
        "spark.ui.showConsoleProgress": "false",
        "spark.log.level": "WARN",
    }
