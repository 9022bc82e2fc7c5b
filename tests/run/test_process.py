"""Settings for a process that only counts (engine/run/process.py) and the CLI's use of them."""
from __future__ import annotations

import gzip
import json
import platform
import subprocess
import sys

import pytest

from engine.run.process import keep_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_takes_the_settings():
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True  # idempotent


def _python(code: str) -> str:
    """stdout of ``code`` run by this interpreter in a fresh process."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout


_PROBE = ("import gc, sys\n"
          "from engine.cli import main\n"
          "import engine.run.process as P\n"
          "{call}\n"
          "print('frozen', gc.get_freeze_count() > 1000, 'kept', P._KEPT)\n")


def test_the_cli_process_sets_them_and_freezes_the_collector():
    """`tracebias` as a process of its own: malloc settings applied, collector frozen after
    the imports; called in-process (argv given) it leaves the caller's interpreter alone."""
    own = _python(_PROBE.format(call="sys.argv = ['tracebias', 'lexicon', 'list']; main()"))
    assert own.strip().endswith(f"frozen True kept {platform.libc_ver()[0] == 'glibc'}")
    called = _python(_PROBE.format(call="main(['lexicon', 'list'])"))
    assert called.strip().endswith("frozen False kept None")


def test_a_count_process_never_imports_pandas(tmp_path):
    """`tracebias count` in its own process: pyarrow's first look for pandas happens in the
    warm-up, finds none, and is not repeated (0.14 s of every run); pandas still imports
    afterwards when asked for, and works with pyarrow."""
    src = tmp_path / "docs"
    src.mkdir()
    with gzip.open(src / "a.json.gz", "wt") as f:
        for i in range(50):
            f.write(json.dumps({"id": str(i), "source": "s",
                                "text": f"The nurse said she was tired. Doc {i}."}) + "\n")
    code = ("import sys\n"
            "from engine.cli import main\n"
            f"sys.argv = ['tracebias', 'count', {str(src)!r}, '--out', "
            f"{str(tmp_path / 'out')!r}, '--quiet']\n"
            "main()\n"
            "print('pandas imported', 'pandas' in sys.modules)\n"
            "import pandas, pyarrow as pa\n"
            "print('to_pandas', pa.table({'a': [1, 2]}).to_pandas()['a'].sum())\n")
    out = _python(code)
    assert "pandas imported False" in out
    assert "to_pandas 3" in out
    assert (tmp_path / "out" / "manifest.json").exists()
