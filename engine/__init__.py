"""tracebias: gender-occupation co-occurrence analytics for pretraining corpora.

Module map (one concern each):

  counting (the core)
    engine.corpus.shards        inputs -> shards; streaming decompression; Arrow batches; rejects
    engine.lexicon       lexicons (gender classes, occupation targets) as data
    engine.lexicon.unicode       character classes + lowercasing, read off `tokenizers`
    engine.lexicon.matcher       a lexicon -> the vocabulary hash table and trie the kernels use
    engine.count.kernels       numba kernels: UTF-8 bytes -> words -> mentions -> every window
    engine.count.windows       window kinds: sentence, paragraph, document, words:k
    engine.count.counting      per-shard accumulators -> Arrow tables; reduction of partials
    engine.run.output        output layout, Parquet schemas, atomic writes
    engine.count.reference     the slow, obviously-correct reference path on `tokenizers`

  executors
    engine.run.local        the idempotent per-shard step + the local thread-pool executor
    engine.run.spark  the same step distributed with Spark; engine.spark.job its entry point
    engine.spark.cluster       a Spark standalone cluster on 127.0.0.1 (make cluster-up)

  analytics
    engine.warehouse     the DuckDB warehouse (views over Parquet, world stats, model outputs)
    engine/sql/metrics.sql   every metric as SQL macros and views (formulas: docs/metrics.md)
    engine.count.classify      generations -> female/male/both/none with the corpus kernels
    engine.models.prompts       the prompt set; engine.models.generate runs it through a local HF model
    engine.viz.plots         the five figures; engine.viz.report the PNG + HTML report

  engine.corpus.synth         the seeded default corpus (and synthetic model outputs)
  engine.cli           the `tracebias` command
"""

__version__ = "0.1.0"
