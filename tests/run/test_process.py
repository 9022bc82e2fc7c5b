"""Settings for a process that only counts (engine/run/process.py) and the CLI's use of them."""
from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from engine.run.process import keep_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_takes_the_settings():
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True  # idempotent


def test_the_cli_process_sets_them_and_freezes_the_collector(tmp_path):
    """`tracebias` as a process of its own: malloc settings applied, collector frozen after
    the imports; called in-process (argv given) it leaves the caller's interpreter alone."""
    code = ("import gc, sys\n"
            "from engine.cli import main\n"
            "import engine.run.process as P\n"
            "sys.argv = ['tracebias', 'lexicon', 'list']\n"
            "main()\n"
            "print('frozen', gc.get_freeze_count() > 1000, 'kept', P._KEPT is not None)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().endswith("frozen True kept True")
    code_in = ("import gc\n"
               "from engine.cli import main\n"
               "import engine.run.process as P\n"
               "main(['lexicon', 'list'])\n"
               "print('frozen', gc.get_freeze_count(), 'kept', P._KEPT)\n")
    out = subprocess.run([sys.executable, "-c", code_in], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().endswith("frozen 0 kept None")
