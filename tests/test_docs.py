"""Every code block of the README and docs/ runs (issue 13): bash blocks as written, in order,
in a sandbox laid out like a checkout after `make run` (data/default-corpus, results/default,
results/default-religion, results/default.duckdb, and ../shared when it exists); SQL blocks
against that warehouse (each SELECT of the README must return rows); Python blocks with the
project's interpreter.

A block can be marked by an HTML comment on the line(s) just above it:
    <!-- doc-test: skip: <reason> -->     not run here (the reason says why or where it runs)
    <!-- doc-test: integration -->        needs ../shared/data (skipped when it is absent)
    <!-- ... tests/... runs this block ... -->   run by the named test instead
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FENCE = re.compile(r"((?:<!--.*?-->\s*\n)*)```(bash|sql|python)\n(.*?)```", re.S)
# run by their own tests (docs/models.md: tests/models/test_docs_models.py; docs/spark.md:
# tests/spark; docs/metrics.md SQL: also tests/warehouse/test_cli.py on a hand-made run)
OWN_TESTS = {"models.md", "spark.md"}


@dataclass
class Block:
    file: str
    line: int
    lang: str
    code: str
    marks: str

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}:{self.lang}"


def blocks(path: Path) -> list[Block]:
    text = path.read_text()
    out = []
    for m in FENCE.finditer(text):
        line = text[: m.start(2)].count("\n") + 1
        out.append(Block(path.name, line, m.group(2), m.group(3), m.group(1)))
    return out


def doc_files() -> list[Path]:
    return [ROOT / "README.md"] + sorted(p for p in (ROOT / "docs").glob("*.md")
                                        if p.name not in OWN_TESTS)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Path:
    """A working directory like a checkout after `make run` (a smaller corpus), ../shared linked."""
    base = tmp_path_factory.mktemp("docs")
    work = base / "work"
    work.mkdir()
    if SHARED.is_dir():
        (base / "shared").symlink_to(SHARED.parent)
    env = _env()
    steps = [
        "tracebias synth data/default-corpus --shards 2 --docs-per-shard 600 --model-outputs",
        "tracebias count data/default-corpus/documents --out results/default --lexicon default "
        "--quiet",
        "tracebias count data/default-corpus/documents --out results/default-religion "
        "--lexicon holistic-bias --axis religion --targets default --window sentence "
        "--window document --quiet",
        "tracebias warehouse build --counts default=results/default "
        "--counts religion=results/default-religion --db results/default.duckdb "
        "--generations data/default-corpus/generations.jsonl --set min_model_support=10",
    ]
    for cmd in steps:
        r = subprocess.run(["bash", "-c", cmd], cwd=work, env=env, capture_output=True, text=True)
        assert r.returncode == 0, f"{cmd}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return work


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    env["PYTHONPATH"] = str(ROOT)
    return env


def _skip_reason(b: Block) -> str | None:
    if "doc-test: skip" in b.marks:
        return b.marks.split("doc-test: skip", 1)[1].split("-->")[0].strip(" :")
    if re.search(r"tests/\S+ runs this block", b.marks):
        return "run by " + re.search(r"(tests/\S+)", b.marks).group(1)
    if "doc-test: integration" in b.marks and not SHARED.is_dir():
        return f"needs {SHARED}"
    return None


def run_block(b: Block, work: Path) -> None:
    reason = _skip_reason(b)
    if reason:
        pytest.skip(reason)
    if b.lang == "bash":
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", b.code], cwd=work, env=_env(),
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, f"{b.id} failed:\n{b.code}\n--- stdout\n{r.stdout[-3000:]}" \
                                  f"\n--- stderr\n{r.stderr[-3000:]}"
    elif b.lang == "python":
        r = subprocess.run([sys.executable, "-c", b.code], cwd=work, env=_env(),
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, f"{b.id} failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    else:
        cwd = os.getcwd()
        os.chdir(work)
        try:
            con = duckdb.connect("results/default.duckdb", read_only=True)
            for stmt in [s.strip() for s in re.split(r";\s*(?:\n|$)", b.code) if s.strip()]:
                body = "\n".join(x for x in stmt.splitlines() if not x.strip().startswith("--"))
                if not body.strip():
                    continue
                try:
                    rows = con.execute(body).fetchall()
                except duckdb.Error as e:
                    raise AssertionError(f"{b.id}: {e}\n{body}") from None
                if b.file == "README.md" and body.lstrip().upper().startswith("SELECT"):
                    assert rows, f"{b.id}: no rows from\n{body}"
            con.close()
        finally:
            os.chdir(cwd)


ALL = [b for p in doc_files() for b in blocks(p)]


@pytest.mark.parametrize("block", [b for b in ALL if b.file == "README.md"], ids=lambda b: b.id)
def test_readme_block(sandbox, block):
    run_block(block, sandbox)


@pytest.mark.parametrize("block", [b for b in ALL if b.file != "README.md"], ids=lambda b: b.id)
def test_docs_block(sandbox, block):
    run_block(block, sandbox)


def test_every_block_is_found():
    """The parser sees the blocks (a test that finds none would pass vacuously)."""
    readme = [b for b in ALL if b.file == "README.md"]
    assert sum(b.lang == "bash" for b in readme) >= 8
    assert sum(b.lang == "sql" for b in readme) >= 2
    assert any(b.lang == "python" for b in readme)
