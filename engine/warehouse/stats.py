"""Deterministic resampling statistics for the warehouse: correlations, permutation p-values and
bootstrap percentile intervals (NumPy only).

Draws are counter-based, so they depend only on (seed, stream, draw, position), never on the
order rows arrive in: targets are sorted by name before they are numbered.

    h(seed, stream, b, i) = sm(sm(sm(sm(seed) ^ stream) ^ b) ^ i)     sm = splitmix64
    u = (h >> 11) / 2^53                                                  uniform in [0, 1)

* bootstrap draw b (stream 1) picks target floor(u(seed, 1, b, i) * n) for i = 0..n-1;
* permutation b (stream 2) orders the targets by h(seed, 2, b, i); when n! <= the number of
  permutations asked for, every permutation is enumerated instead (an exact test).

A two-sided permutation p-value is #{|T_perm| >= |T_obs|} / n! (exact) or
(1 + #{|T_perm| >= |T_obs|}) / (P + 1) (P random permutations). A percentile interval is the
(tail, 1 - tail) quantiles (linear interpolation, as DuckDB's quantile_cont) of the statistic
over the draws where it is defined.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
STREAM_BOOTSTRAP = 1
STREAM_PERMUTATION = 2
MAX_EXACT = 8  # never enumerate more than 8! = 40,320 permutations


def splitmix64(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def draw_hash(seed: int, stream: int, draws: int, n: int) -> np.ndarray:
    """uint64[draws, n]: h(seed, stream, b, i)."""
    s = splitmix64(splitmix64(np.array([seed], dtype=np.uint64)) ^ np.uint64(stream))
    b = splitmix64(s ^ np.arange(draws, dtype=np.uint64))
    return splitmix64(b[:, None] ^ np.arange(n, dtype=np.uint64)[None, :])


def bootstrap_indices(seed: int, draws: int, n: int) -> np.ndarray:
    """int64[draws, n]: the targets of each bootstrap draw (with replacement)."""
    u = (draw_hash(seed, STREAM_BOOTSTRAP, draws, n) >> np.uint64(11)).astype(np.float64) \
        * 2.0 ** -53
    return np.minimum((u * n).astype(np.int64), n - 1)


def permutations(seed: int, count: int, n: int) -> tuple[np.ndarray, bool]:
    """(int64[k, n] orders, exact): all n! orders when n! <= count, else ``count`` random ones."""
    if n <= MAX_EXACT and math.factorial(n) <= count:
        return np.array(list(itertools.permutations(range(n))), dtype=np.int64), True
    return np.argsort(draw_hash(seed, STREAM_PERMUTATION, count, n), axis=1,
                      kind="stable"), False


# ---- row-wise statistics: X, Y float[draws, n], M float[draws, n] weights (0 = left out) -----
def _wsum(a, m):
    return np.sum(np.where(m > 0, a * m, 0.0), axis=1)


def wmean(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return _wsum(x, m) / np.sum(m, axis=1)


def pearson(x: np.ndarray, y: np.ndarray, m: np.ndarray) -> np.ndarray:
    mx, my = wmean(x, m)[:, None], wmean(y, m)[:, None]
    dx, dy = np.where(m > 0, x - mx, 0.0), np.where(m > 0, y - my, 0.0)
    cov = _wsum(dx * dy, m)
    vx, vy = _wsum(dx * dx, m), _wsum(dy * dy, m)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.sqrt(vx * vy)
        r = np.where(scale > 1e-300, cov / scale, np.nan)
    return np.clip(r, -1.0, 1.0)


def ols_slope(x: np.ndarray, y: np.ndarray, m: np.ndarray) -> np.ndarray:
    mx, my = wmean(x, m)[:, None], wmean(y, m)[:, None]
    dx, dy = np.where(m > 0, x - mx, 0.0), np.where(m > 0, y - my, 0.0)
    vx = _wsum(dx * dx, m)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(vx > 1e-300, _wsum(dx * dy, m) / vx, np.nan)


def slope_through_half(x: np.ndarray, y: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Least-squares slope through (1/2, 1/2): sum (x-1/2)(y-1/2) / sum (x-1/2)^2."""
    den = _wsum((x - 0.5) ** 2, m)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1e-300, _wsum((x - 0.5) * (y - 0.5), m) / den, np.nan)


def average_ranks(x: np.ndarray, m: np.ndarray, block: int = 4_000_000) -> np.ndarray:
    """Rank of each entry among the weighted entries of its row, ties averaged (1-based)."""
    d, n = x.shape
    out = np.empty_like(x, dtype=np.float64)
    step = max(1, block // max(1, n * n))
    xv = np.where(m > 0, x, np.nan)
    for s in range(0, d, step):
        xs, ms = xv[s:s + step], m[s:s + step]
        less = np.sum(np.where(xs[:, None, :] < xs[:, :, None], ms[:, None, :], 0.0), axis=2)
        eq = np.sum(np.where(xs[:, None, :] == xs[:, :, None], ms[:, None, :], 0.0), axis=2)
        out[s:s + step] = less + (eq + 1.0) / 2.0
    return out


def spearman(x: np.ndarray, y: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Pearson correlation of average ranks (a target drawn twice is two tied entries)."""
    return pearson(average_ranks(x, m), average_ranks(y, m), m)


CORRELATIONS = {"pearson": pearson, "spearman": spearman, "slope": slope_through_half}
# the permutation test of each correlation (the slope through (1/2, 1/2) is tested through the
# OLS slope: both have the same numerator up to a permutation-invariant term; its p-value
# equals Pearson's)
PERMUTATION_STAT = {"pearson": pearson, "spearman": spearman, "slope": ols_slope}


def point(fn, *arrays) -> float:
    a = [np.asarray(x, dtype=np.float64)[None, :] for x in arrays]
    v = fn(*a, np.ones_like(a[0]))[0]
    return float(v) if np.isfinite(v) else None


def permutation_p(fn, x, y, count: int, seed: int) -> float | None:
    """Two-sided permutation p-value of fn(x, y) (see the module docstring)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = len(x)
    if count <= 0 or n < 3:
        return None
    obs = point(fn, x, y)
    if obs is None:
        return None
    orders, exact = permutations(seed, count, n)
    k = orders.shape[0]
    t = fn(np.broadcast_to(x, (k, n)), y[orders], np.ones((k, n)))
    tol = 1e-12 * max(1.0, abs(obs))
    hits = int(np.sum(np.abs(t) >= abs(obs) - tol))
    return hits / k if exact else (1 + hits) / (k + 1)


def percentile_interval(values: np.ndarray, tail: float) -> tuple[float | None, float | None]:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None, None
    lo, hi = np.quantile(v, [tail, 1.0 - tail])
    return float(lo), float(hi)


def draw_arrays(index: np.ndarray, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The drawn values: a (n,) array is indexed by the draw's targets; an (R, n) array of
    document replicates uses replicate (b mod R) in draw b."""
    d = index.shape[0]
    out = {}
    for name, a in arrays.items():
        a = np.asarray(a, dtype=np.float64)
        if a.ndim == 1:
            out[name] = a[index]
        else:
            rep = (np.arange(d) % a.shape[0])[:, None]
            out[name] = a[rep, index]
    return out
