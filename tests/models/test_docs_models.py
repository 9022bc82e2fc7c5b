"""Every ```bash block of docs/models.md runs, in order, in one temporary directory (blocks whose
first line is `# illustrative` are skipped: they need a model of the reader's own)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from engine.models.winobias import default_data_dir  # noqa: E402

DOC = Path(__file__).resolve().parents[2] / "docs" / "models.md"
BLOCK = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)


def bash_blocks(text: str) -> list[str]:
    return [b for b in BLOCK.findall(text)
            if not b.lstrip().startswith("# illustrative")]


def test_doc_has_runnable_and_illustrative_blocks():
    text = DOC.read_text()
    runnable = bash_blocks(text)
    assert len(runnable) >= 4
    assert len(BLOCK.findall(text)) == len(runnable) + 1  # the real-model example
    assert "tracebias dev tiny-model" in runnable[0] and "noise" in text


@pytest.mark.integration
def test_every_bash_block_of_docs_models_runs(tmp_path):
    if default_data_dir() is None:
        pytest.skip("the WinoBias files (../shared/data/winobias) are not here")
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    for i, block in enumerate(bash_blocks(DOC.read_text())):
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
        assert r.returncode == 0, f"block {i + 1}:\n{block}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    assert (tmp_path / "probe.parquet").is_file() and (tmp_path / "winobias.csv").is_file()
    assert (tmp_path / "religion.parquet").is_file()
