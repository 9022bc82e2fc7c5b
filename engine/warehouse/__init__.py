"""The DuckDB warehouse: views over the Parquet counts, lexicons, world statistics, model outputs
and the metric views of engine/warehouse/sql/ (docs/metrics.md)."""
from engine.warehouse.loads import LoadReport
from engine.warehouse.runs import CountsRun, WarehouseError, parse_counts_arg
from engine.warehouse.warehouse import Warehouse, read_table_file

__all__ = ["CountsRun", "LoadReport", "Warehouse", "WarehouseError", "parse_counts_arg",
           "read_table_file"]
