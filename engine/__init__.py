"""tracebias: group x target co-occurrence analytics for pretraining corpora (every demographic
axis in one pass) and model-side amplification.

The folders are layers; a module imports only its own layer and lower ones
(tests/test_layers.py):

  engine.corpus       inputs -> shards and Arrow batches of documents
    shards              list_inputs/expand_inputs, read_shard (JSON Lines, Parquet), rejects
    inflate             gzip via ISA-L (zlib fallback), zstd; damaged members reported
    jsonscan            numba scanner: text/id/source of each JSON line into Arrow buffers
    parquet             Parquet document shards, streamed by row group
    synth               the seeded default corpus with planted associations
  engine.lexicon      lexicons as data
    lexicon             tracebias-lexicon/2 (axes, groups, targets, sets, references, case rules)
    unicode             character classes + lowercasing, read off `tokenizers`
    matcher             a lexicon -> hash table, trie of paths, entries, case rules
  engine.count        counting
    kernels             numba: bytes -> words -> mentions -> windows -> accumulators
    windows, config     window kinds; CountConfig and CountOptions (every option once)
    counting            per-shard counter -> Arrow tables; reduction of partials
    tables              every output table: name, schema, key, reduction
    bootstrap, model_tokens, tagging, classify, reference
  engine.run          executors
    base                listing, done-markers, process_shard, finalize, manifest, lock
    local               the thread-pool executor; output (directory layout); contexts
    process             settings for a process that only counts (the CLI, Spark's workers)
  engine.spark        Spark
    dataframe           cooccurrence(df, ...): mapInArrow over the counter, Spark reduction
    job                 the spark-submit job: Spark reads, per-file checkpoints, manifest last
    hfs                 files through Spark's Hadoop FileSystem; packaging: make dist
    cluster             a standalone master and workers on 127.0.0.1
  engine.models       prompts, generate, probe, winobias, the tiny test model
  engine.warehouse    the DuckDB warehouse; sql/*.sql holds every metric view
  engine.viz          plots (gender), groups (every axis), report
  engine.cli          the `tracebias` command, one module per command group
"""

__version__ = "0.2.0"

from hashlib import sha256 as _sha256  # noqa: E402
from pathlib import Path as _Path  # noqa: E402

KERNEL_PACKAGES = ("corpus", "count")  # the packages whose modules hold numba kernels


def _drop_stale_kernel_caches(root: _Path = _Path(__file__).parent,
                              packages: tuple[str, ...] = KERNEL_PACKAGES) -> None:
    """Keep numba's cached kernels only for the sources they were compiled from.

    numba invalidates a cached function when its own source file changes, not when a kernel or
    intrinsic it calls from another file does: after ``count/kernels.py`` changes, the cached
    ``tagging`` kernels would still run the old scan (after ``git pull`` on an editable install,
    say). So ``engine/__pycache__`` carries a digest of every source of the kernel packages;
    when it differs, their numba cache files are removed and compiled again on first use.
    About a millisecond per start; directories that cannot be written are left alone.
    """
    sources = sorted(p for pkg in packages for p in (root / pkg).glob("*.py"))
    digest = _sha256(b"".join(p.name.encode() + p.read_bytes() for p in sources)).hexdigest()
    stamp = root / "__pycache__" / "numba-sources.sha256"
    try:
        if stamp.read_text() == digest:
            return
    except OSError:
        pass
    try:
        for pkg in packages:
            for f in (root / pkg / "__pycache__").glob("*.nb[ic]"):
                f.unlink(missing_ok=True)
        stamp.parent.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        pass


_drop_stale_kernel_caches()
