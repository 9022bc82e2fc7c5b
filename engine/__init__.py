"""tracebias: gender-occupation co-occurrence analytics for pretraining corpora.

Module map (one concern each):
    engine.shards     reading Dolma-style shards into Arrow batches, rejects
    engine.lexicon    lexicons (gender classes, occupation targets) as data
    engine.unicode    character tables shared by the fast and reference tokenizers
    engine.matcher    compiling a lexicon into the integer tables the kernels use
    engine.kernels    numba kernels: tokenize + match + count windows on UTF-8 bytes
    engine.reference  the slow, obviously-correct reference path (tokenizers + Python)
    engine.windows    window specifications (sentence, paragraph, document, words:k)
    engine.counting   per-shard counting and the reduction of partial counts
    engine.output     Parquet schemas, atomic writes, manifest
    engine.synth      the seeded default-corpus generator
    engine.cli        the `tracebias` command
"""

__version__ = "0.1.0"
