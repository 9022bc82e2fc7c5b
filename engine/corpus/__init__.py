"""The shard readers: inputs -> shards -> Arrow batches of documents; the synthetic corpus."""
