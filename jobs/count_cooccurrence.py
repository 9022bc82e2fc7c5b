"""spark-submit entry point: count gender-occupation co-occurrences on a Spark cluster.

    spark-submit --master spark://HOST:7077 --py-files dist/tracebias-engine.zip \
        jobs/count_cooccurrence.py INPUT... --out DIR [--lexicon NAME|PATH] [--window W ...] [--force]

`tracebias spark-count ...` builds this command (and the --py-files zip) for you. The job itself
is engine/spark_job.py; the counting is the engine's (engine/spark_runner.py).
"""
from engine.spark.job import main

if __name__ == "__main__":
    raise SystemExit(main())
