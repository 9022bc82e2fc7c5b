"""Executors: the per-shard step, completion markers and the final reduction (base), run locally or on Spark."""
