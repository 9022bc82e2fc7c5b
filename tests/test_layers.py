"""The layout is the architecture: lower layers never import higher ones (issue 9).

Layers, lowest first (a module may import its own layer and any lower one):

    engine (the package root), engine.corpus, engine.lexicon   data in
    engine.count                                             kernels, windows, tables
    engine.run                                               executors, outputs
    engine.spark, engine.models, engine.warehouse            Spark, model side, DuckDB
    engine.viz                                               figures, report
    engine.cli                                               the command line

Every `import` and `from ... import` of every module is checked, including imports inside
functions.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[1] / "engine"
RANK = {"corpus": 0, "lexicon": 0, "count": 1, "run": 2, "spark": 3, "models": 3,
        "warehouse": 3, "viz": 4, "cli": 5}


def layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "engine":
        return None
    return parts[1] if len(parts) > 1 and parts[1] in RANK else "root"


def imports(path: Path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for a in node.names:  # `from engine import plots` imports engine.plots
                yield node.lineno, f"{node.module}.{a.name}"


def violations() -> list[str]:
    out = []
    for path in sorted(ENGINE.rglob("*.py")):
        rel = path.relative_to(ENGINE.parent).with_suffix("")
        here = layer(".".join(rel.parts))
        if here in (None, "root"):
            continue
        for line, mod in imports(path):
            there = layer(mod)
            if there in (None, "root") or there == here:
                continue
            if RANK[there] > RANK[here] or (RANK[there] == RANK[here]):
                out.append(f"{rel}.py:{line}: {here} (layer {RANK[here]}) imports {mod} "
                           f"({there}, layer {RANK[there]})")
    return out


def test_no_layer_imports_a_higher_or_sibling_layer():
    assert violations() == []


def test_the_check_catches_an_upward_import(tmp_path, monkeypatch):
    fake = tmp_path / "engine" / "count"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("def f():\n    from engine.warehouse import Warehouse\n")
    monkeypatch.setattr(sys.modules[__name__], "ENGINE", tmp_path / "engine")
    found = violations()
    assert found and all("count" in f and "engine.warehouse" in f for f in found)


@pytest.mark.parametrize("package", sorted(RANK))
def test_every_layer_is_a_package_with_a_docstring(package):
    init = ENGINE / package / "__init__.py"
    assert init.is_file() and ast.get_docstring(ast.parse(init.read_text()))
