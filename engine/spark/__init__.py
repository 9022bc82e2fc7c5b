"""Spark: the DataFrame API, the spark-submit job, packaging for executors, a local cluster.

    engine.spark.dataframe  cooccurrence(df, ...): the tables of `tracebias count` for any DataFrame
    engine.spark.job        the spark-submit job (jobs/count_cooccurrence.py): listing, per-file
                            checkpoints, Spark's readers and writers, the manifest
    engine.spark.hfs        files through Spark's Hadoop FileSystem
    engine.spark.packaging  `make dist`: the wheel and the executors' environment archive
    engine.spark.cluster    a standalone cluster on 127.0.0.1 (`tracebias cluster up`)
"""
from engine.spark.dataframe import CountResult, cooccurrence

__all__ = ["CountResult", "cooccurrence"]
