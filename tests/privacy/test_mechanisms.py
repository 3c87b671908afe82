"""Mechanisms: shapes, monotone quantiles, noise scale, thresholding."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from tabsynth.privacy import (
    PrivacyParameterError,
    bounds_grid,
    discover_categories,
    dp_bounds,
    dp_count,
    dp_gmm_modes,
    dp_missing_rate,
    dp_quantiles,
    gaussian_histogram,
    gmm_modes_from_histogram,
    quantiles_from_histogram,
    threshold_for,
)

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.lists(st.integers(0, 9), max_size=50), st.floats(0.1, 50), st.integers(0, 2**32 - 1))
def test_histogram_shape_and_entry(codes, sigma, seed):
    counts, entry = gaussian_histogram(np.array(codes, dtype=int), 10, sigma,
                                       np.random.default_rng(seed))
    assert counts.shape == (10,)
    assert entry.noise_multiplier == pytest.approx(sigma) and entry.sample_rate == 1.0


def test_histogram_noise_std():
    rng = np.random.default_rng(0)
    codes = np.repeat(np.arange(5), [3, 0, 7, 1, 9])
    exact = np.bincount(codes, minlength=5)
    noise = np.stack([gaussian_histogram(codes, 5, 4.0, rng).value - exact for _ in range(2000)])
    assert abs(noise.mean()) < 0.1
    assert noise.std() == pytest.approx(4.0, rel=0.03)


def test_histogram_rejects_data_dependent_domain():
    with pytest.raises(PrivacyParameterError, match="fixed"):
        gaussian_histogram(np.array([0, 12]), 10, 1.0, np.random.default_rng(0))
    with pytest.raises(PrivacyParameterError, match="'rng'"):
        gaussian_histogram(np.array([0]), 10, 1.0, 42)


@FAST
@given(
    st.lists(st.floats(-1e3, 1e3), min_size=0, max_size=60),
    st.lists(st.floats(0, 1), min_size=1, max_size=8),
    st.floats(0.1, 20),
    st.integers(0, 2**32 - 1),
)
def test_quantiles_monotone_within_bounds(values, qs, sigma, seed):
    qs = sorted(qs)
    out, _ = dp_quantiles(np.array(values), -100.0, 100.0, qs, sigma,
                          np.random.default_rng(seed), n_bins=16)
    assert out.shape == (len(qs),)
    assert np.all(out >= -100) and np.all(out <= 100)
    assert np.all(np.diff(out) >= 0)


@FAST
@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=8, max_size=16),
       st.integers(1, 6))
def test_gmm_modes_postprocessing(counts, n_modes):
    edges = np.linspace(0, 1, len(counts) + 1)
    modes = gmm_modes_from_histogram(np.array(counts), edges, n_modes=n_modes)
    assert np.all((modes.means >= 0) & (modes.means <= 1))
    assert np.all(modes.stds > 0)
    assert modes.weights.sum() == pytest.approx(1.0)
    assert len(modes.means) == len(modes.stds) == len(modes.weights) <= n_modes


def test_quantiles_accuracy_and_empty_bins():
    rng = np.random.default_rng(1)
    x = rng.normal(50, 10, 20000)
    q, _ = dp_quantiles(x, 0, 100, [0.1, 0.5, 0.9], 2.0, rng, n_bins=100)
    np.testing.assert_allclose(q, np.quantile(x, [0.1, 0.5, 0.9]), atol=1.5)
    # quantiles never land inside an empty bin
    assert quantiles_from_histogram([1, 0, 0, 0, 1], np.arange(6), [0.25, 0.75]).tolist() == [
        0.5, 4.5]
    modes, _ = dp_gmm_modes(x, 0, 100, 2.0, rng, n_modes=5, n_bins=100)
    assert modes.means.min() > 20 and modes.means.max() < 80


def test_bounds():
    grid = bounds_grid()
    assert grid[0] == -1e12 and grid[-1] == 1e12 and np.all(np.diff(grid) > 0)
    rng = np.random.default_rng(2)
    (lo, hi), entry = dp_bounds(rng.uniform(3, 40, 5000), 5.0, rng)
    assert lo <= 3 and hi >= 40 and lo >= 2 and hi <= 50
    assert entry.extra_delta == 0.0


def test_threshold_for():
    tau = threshold_for(2.0, 1e-6)
    assert stats.norm.sf((tau - 1) / 2.0) == pytest.approx(1e-6, rel=1e-6)


def test_discover_categories_entry_and_other():
    rng = np.random.default_rng(3)
    values = ["a"] * 500 + ["b"] * 300 + [f"rare{i}" for i in range(40)] + [None]
    tau = threshold_for(3.0, 1e-8)
    out, entry = discover_categories(np.array(values, dtype=object), 3.0, tau, rng)
    assert out["categories"] == ["a", "b"]
    assert out["other"] == pytest.approx(40, abs=15)
    assert entry.sensitivity == pytest.approx(math.sqrt(2))
    assert entry.extra_delta == pytest.approx(1e-8, rel=1e-6)


def test_singletons_never_released_with_tiny_extra_delta():
    # 2000 singleton categories x 30 repetitions: with extra_delta 1e-6 the expected number of
    # releases is 0.06; the statistical test allows none.
    rng = np.random.default_rng(4)
    sigma = 1.0
    tau = threshold_for(sigma, 1e-6)
    values = np.array([f"s{i}" for i in range(2000)], dtype=object)
    released = sum(len(discover_categories(values, sigma, tau, rng).value["categories"])
                   for _ in range(30))
    assert released == 0
    # and at a loose threshold the release rate matches P[1 + N(0, s^2) > tau]
    tau = threshold_for(sigma, 0.1)
    rate = len(discover_categories(values, sigma, tau, rng).value["categories"]) / 2000
    assert rate == pytest.approx(0.1, abs=0.03)


def test_missing_rate_and_count():
    rng = np.random.default_rng(5)
    rate, entry = dp_missing_rate(np.arange(10000) % 5 == 0, 5.0, rng)
    assert rate == pytest.approx(0.2, abs=0.01)
    assert entry.noise_multiplier == 5.0
    n, entry = dp_count(1000, 1.0, rng)
    assert n == pytest.approx(1000, abs=6) and entry.sensitivity == 1.0


def test_secure_mode_needs_no_extra_package_and_is_not_replayable():
    # secure_mode draws from os.urandom (SecureRandom): no torchcsprng, no seed to replay
    a = dp_count(1000, 1.0, None, secure_mode=True).value
    b = dp_count(1000, 1.0, None, secure_mode=True).value
    assert a != b


@pytest.mark.parametrize("sigma, threshold, rng, match", [
    (-1.0, 5.0, np.random.default_rng(0), "sigma"),
    (2.0, float("nan"), np.random.default_rng(0), "threshold"),
    (2.0, 5.0, 42, "'rng'"),  # a seed is not a noise source
])
def test_discover_categories_checks_its_parameters_before_any_noise(sigma, threshold, rng,
                                                                   match):
    """The checks live in discover_categories_from_counts; the error still names
    discover_categories, and nothing is released."""
    with pytest.raises(PrivacyParameterError, match=match) as info:
        discover_categories(np.array(["a", "b", "a"], dtype=object), sigma, threshold, rng)
    assert "discover_categories" in str(info.value)
