"""The DuckDB warehouse: views over the Parquet counts, world statistics, model outputs and the
metric views of engine/warehouse/sql/."""
from engine.warehouse.warehouse import (CountsRun, Warehouse, WarehouseError, parse_counts_arg,
                                        read_table_file)

__all__ = ["CountsRun", "Warehouse", "WarehouseError", "parse_counts_arg", "read_table_file"]
