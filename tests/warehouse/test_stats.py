"""engine.warehouse.stats: draws, ranks, correlations and tests against hand-worked values."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from engine.warehouse import stats as st

M64 = (1 << 64) - 1


def sm64(x: int) -> int:
    """splitmix64 in plain Python integers (the documented definition)."""
    z = (x + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def test_draws_follow_the_documented_hash():
    h = st.draw_hash(7, st.STREAM_BOOTSTRAP, 3, 4)
    for b in range(3):
        for i in range(4):
            assert int(h[b, i]) == sm64(sm64(sm64(sm64(7) ^ 1) ^ b) ^ i)
    idx = st.bootstrap_indices(7, 3, 4)
    u = [(sm64(sm64(sm64(sm64(7) ^ 1) ^ 0) ^ i) >> 11) / 2 ** 53 for i in range(4)]
    assert idx[0].tolist() == [int(x * 4) for x in u]
    assert np.array_equal(idx, st.bootstrap_indices(7, 3, 4))  # deterministic
    assert not np.array_equal(idx, st.bootstrap_indices(8, 3, 4))


def test_average_ranks_with_ties_and_a_mask():
    r = st.average_ranks(np.array([[3.0, 1.0, 3.0, 2.0]]), np.ones((1, 4)))
    assert r.tolist() == [[3.5, 1.0, 3.5, 2.0]]
    r = st.average_ranks(np.array([[3.0, 1.0, 3.0, 2.0]]), np.array([[1.0, 1.0, 0.0, 1.0]]))
    assert r[0, [0, 1, 3]].tolist() == [3.0, 1.0, 2.0]


def test_exact_permutation_p_values_by_hand():
    # x = 1..3, y = (1, 3, 2): r = 0.5; the six pairings give r = .5, 1, -.5, -1, .5, -.5
    assert st.permutation_p(st.pearson, [1, 2, 3], [1, 3, 2], 1000, 0) == pytest.approx(1.0)
    # a perfect line: only the identity and the reversal reach |r| = 1 among 4! pairings
    assert st.permutation_p(st.pearson, [1, 2, 3, 4], [2, 4, 6, 8], 1000, 0) == \
        pytest.approx(2 / 24)
    assert st.permutation_p(st.spearman, [1, 2, 3, 4], [1, 5, 6, 7], 1000, 0) == \
        pytest.approx(2 / 24)
    assert st.permutation_p(st.pearson, [1, 2], [1, 2], 1000, 0) is None  # n < 3
    assert st.permutation_p(st.pearson, [1, 2, 3], [1, 3, 2], 0, 0) is None


def test_monte_carlo_permutation_p_value():
    x = list(range(10))
    # 10! > 1000: random pairings; none of 1000 reaches |r| = 1 -> (1 + 0) / 1001
    p = st.permutation_p(st.pearson, x, x, 1000, 0)
    orders, exact = st.permutations(0, 1000, 10)
    assert not exact and orders.shape == (1000, 10)
    hits = sum(abs(np.corrcoef(x, np.array(x)[o])[0, 1]) >= 1 - 1e-12 for o in orders)
    assert p == pytest.approx((1 + hits) / 1001)


def test_slope_through_half_and_percentiles():
    x = np.array([[0.8, 0.2, 16 / 30]])
    y = np.array([[0.9, 1 / 9, 0.6]])
    assert st.slope_through_half(x, y, np.ones((1, 3)))[0] == pytest.approx(0.24 / 0.1811111,
                                                                             abs=1e-5)
    assert st.percentile_interval(np.array([2.0, 2.0, np.nan]), 0.025) == (2.0, 2.0)
    lo, hi = st.percentile_interval(np.array([0.0, 1.0]), 0.025)
    assert (lo, hi) == (pytest.approx(0.025), pytest.approx(0.975))
    assert st.percentile_interval(np.array([np.nan]), 0.025) == (None, None)


def test_draw_arrays_use_replicate_b_mod_r():
    idx = np.array([[0, 1], [1, 1], [0, 0]])
    rep = np.array([[10.0, 11.0], [20.0, 21.0]])
    d = st.draw_arrays(idx, {"x": rep, "y": np.array([5.0, 6.0])})
    assert d["x"].tolist() == [[10, 11], [21, 21], [10, 10]]
    assert d["y"].tolist() == [[5, 6], [6, 6], [5, 5]]


@settings(max_examples=60, deadline=None)
@given(hs.lists(hs.tuples(hs.floats(0, 1), hs.floats(0, 1)), min_size=3, max_size=12))
def test_row_statistics_equal_numpy(pairs):
    x = np.array([p[0] for p in pairs])
    y = np.array([p[1] for p in pairs])
    r = st.point(st.pearson, x, y)
    if np.std(x) > 1e-9 and np.std(y) > 1e-9:
        assert r == pytest.approx(float(np.corrcoef(x, y)[0, 1]), abs=1e-9)
        rx = st.average_ranks(x[None], np.ones((1, len(x))))[0]
        ry = st.average_ranks(y[None], np.ones((1, len(y))))[0]
        rho = st.point(st.spearman, x, y)
        if np.std(rx) > 0 and np.std(ry) > 0:
            assert rho == pytest.approx(float(np.corrcoef(rx, ry)[0, 1]), abs=1e-9)
    # a masked row equals the row without the masked entries
    m = np.ones((1, len(x)))
    m[0, 0] = 0
    a = st.wmean(x[None], m)[0]
    assert a == pytest.approx(float(np.mean(x[1:])))
