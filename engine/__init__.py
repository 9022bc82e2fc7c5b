"""tracebias: gender-occupation co-occurrence analytics for pretraining corpora.

Module map (one concern each):

  counting (the core)
    engine.shards        inputs -> shards; streaming decompression; Arrow batches; rejects
    engine.lexicon       lexicons (gender classes, occupation targets) as data
    engine.unicode       character classes + lowercasing, read off `tokenizers`
    engine.matcher       a lexicon -> the vocabulary hash table and trie the kernels use
    engine.kernels       numba kernels: UTF-8 bytes -> words -> mentions -> every window
    engine.windows       window kinds: sentence, paragraph, document, words:k
    engine.counting      per-shard accumulators -> Arrow tables; reduction of partials
    engine.output        output layout, Parquet schemas, atomic writes
    engine.reference     the slow, obviously-correct reference path on `tokenizers`

  executors
    engine.runner        the idempotent per-shard step + the local thread-pool executor
    engine.spark_runner  the same step distributed with Spark; engine.spark_job its entry point
    engine.cluster       a Spark standalone cluster on 127.0.0.1 (make cluster-up)

  analytics
    engine.warehouse     the DuckDB warehouse (views over Parquet, world stats, model outputs)
    engine/sql/metrics.sql   every metric as SQL macros and views (formulas: docs/metrics.md)
    engine.classify      generations -> female/male/both/none with the corpus kernels
    engine.prompts       the prompt set; engine.generate runs it through a local HF model
    engine.plots         the five figures; engine.report the PNG + HTML report

  engine.synth         the seeded default corpus (and synthetic model outputs)
  engine.cli           the `tracebias` command
"""

__version__ = "0.1.0"
