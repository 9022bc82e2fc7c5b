"""spark-submit entry point: count co-occurrences on a Spark cluster (the tables of `tracebias count`).

    make dist
    spark-submit --master spark://HOST:7077 --archives dist/tracebias-env.tar.gz#environment \
        --conf spark.pyspark.python=./environment/bin/python \
        jobs/count_cooccurrence.py INPUT... --out DIR [every `tracebias count` option] [--force]

`tracebias spark-count ...` builds this command for you. The job is engine/spark/job.py, a thin
wrapper over the DataFrame API engine/spark/dataframe.py; docs/spark.md has the details.
"""
from engine.spark.job import main

if __name__ == "__main__":
    raise SystemExit(main())
