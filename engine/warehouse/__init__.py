"""The DuckDB warehouse: views over the Parquet counts, world statistics, model outputs and the
metric views of engine/warehouse/sql/.

The names below are loaded on first use, so that importing a light module of this package
(e.g. engine.warehouse.settings, for the command line's help) does not load DuckDB and polars.
"""
from __future__ import annotations

import importlib

_LAZY = {
    "LoadReport": "engine.warehouse.loads",
    "CountsRun": "engine.warehouse.runs",
    "WarehouseError": "engine.warehouse.runs",
    "parse_counts_arg": "engine.warehouse.runs",
    "Warehouse": "engine.warehouse.warehouse",
    "read_table_file": "engine.warehouse.warehouse",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'engine.warehouse' has no attribute {name!r}")
