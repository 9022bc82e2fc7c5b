from __future__ import annotations

import pytest

from engine.warehouse import Warehouse, parse_counts_arg
from tests.warehouse.fixtures import set_world, write_generations, write_run


def build(tmp_path, bootstrap=False, generations=True, settings=None, name="w.duckdb"):
    run = write_run(tmp_path / ("counts-boot" if bootstrap else "counts"), bootstrap=bootstrap)
    w = Warehouse(tmp_path / name)
    w.build([parse_counts_arg(f"fx={run}")],
            {"min_support": 20, "min_model_support": 5, **(settings or {})})
    set_world(w)
    if generations:
        w.add_generations(write_generations(tmp_path / "gens.jsonl"))
    return w


@pytest.fixture
def wh(tmp_path):
    w = build(tmp_path)
    yield w
    w.close()


@pytest.fixture
def wh_boot(tmp_path):
    w = build(tmp_path, bootstrap=True)
    yield w
    w.close()


def one(w, query, params=None):
    rows = w.sql(query, params).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


def rows_by(w, query, key, params=None):
    return {tuple(r[k] for k in key) if isinstance(key, tuple) else r[key]: r
            for r in w.sql(query, params).to_dicts()}


@pytest.fixture(scope="module")
def wh_ro(tmp_path_factory):
    """One warehouse per test module for the tests that only read it."""
    w = build(tmp_path_factory.mktemp("ro"))
    yield w
    w.close()
