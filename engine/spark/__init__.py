"""Spark: the spark-submit job, packaging for executors, a local standalone cluster."""
