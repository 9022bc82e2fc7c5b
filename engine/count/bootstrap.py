"""Document-level Poisson bootstrap, computed in the same single pass as the counts.

Each document gets B integer weights w_b ~ Poisson(1), b = 0..B-1, drawn deterministically
from its id: h = FNV-1a-64(id UTF-8 bytes); x_b = splitmix64(h XOR ((b + 1) * 0x9E3779B97F4A7C15));
u_b = (x_b >> 11) / 2^53; w_b = min{k : u_b < F(k)} with F the Poisson(1) CDF. Every unit of a
document then counts w_b times in replicate b. Because the weights depend only on (id, b),
the replicate counts are the same whatever the sharding, batching, workers or retries.

Replicate b's female share p_b = female_only_b / (female_only_b + male_only_b); the percentile
interval is the (alpha/2, 1 - alpha/2) quantiles of p_b over b (views in engine/sql/metrics.sql).
Documents without an id all share the weights of the empty id: give documents ids.
"""
from __future__ import annotations

import math

import numpy as np

DEFAULT_REPLICATES = 100


def poisson_cdf(kmax: int = 20) -> np.ndarray:
    """P(X <= k) for X ~ Poisson(1), k = 0..kmax (float64)."""
    out, acc, term = [], 0.0, math.exp(-1.0)
    for k in range(kmax + 1):
        acc += term
        out.append(acc)
        term /= k + 1
    return np.array(out, dtype=np.float64)


POISSON_CDF = poisson_cdf()
_M64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    z = (x + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def weights(doc_id: str, replicates: int) -> list[int]:
    """The replicate weights of one document, in plain Python (mirrors the numba kernel)."""
    h = 0xCBF29CE484222325
    for byte in doc_id.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & _M64
    out = []
    for b in range(replicates):
        x = _splitmix64(h ^ (((b + 1) * 0x9E3779B97F4A7C15) & _M64))
        u = (x >> 11) / 9007199254740992.0
        k = 0
        while k < len(POISSON_CDF) and u >= POISSON_CDF[k]:
            k += 1
        out.append(k)
    return out
