"""Counting: numba kernels, windows, per-shard accumulators, output tables, tagging, classification and the reference path."""
