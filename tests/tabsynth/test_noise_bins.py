"""drop_noise_bins: which bins of a DP histogram are taken as holding rows.

Post-processing of noisy counts and their noise scale only; the tests draw the noise with a
seeded generator (no privacy at stake here)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tabsynth.stats.noise_cells import drop_noise_bins

SIGMA = 70.0


def _noisy(counts, seed: int) -> np.ndarray:
    return np.asarray(counts, dtype=float) + np.random.default_rng(seed).normal(0, SIGMA,
                                                                               len(counts))


def test_empty_bins_of_a_wide_range_are_dropped():
    counts = np.zeros(100)
    counts[0] = 3000
    for seed in range(20):
        out = drop_noise_bins(_noisy(counts, seed), SIGMA)
        assert np.clip(out[10:], 0, None).sum() == 0


def test_a_thin_spread_part_is_kept_and_the_empty_run_before_it_dropped():
    """A point mass (bin 0), 15 empty bins, then 3,000 rows over 60 bins (50 rows a bin:
    0.7 noise sd each, no bin clears 3 sd), then 24 empty bins. Over 100 noise draws the
    mass kept outside the point is off the 3,000 rows by 1,906 on average with the previous
    rule (it kept the 39 empty bins' noise or dropped the thin part, all or nothing), about
    900 now."""
    counts = np.zeros(100)
    counts[0] = 17_000
    counts[16:76] = 50
    kept_thin, kept_empty = [], []
    for seed in range(100):
        out = np.clip(drop_noise_bins(_noisy(counts, seed), SIGMA), 0, None)
        kept_thin.append(out[16:76].sum())
        kept_empty.append(out[1:16].sum() + out[76:].sum())
    err = np.abs(np.asarray(kept_thin) + np.asarray(kept_empty) - 3000)
    assert np.mean(err) < 1200
    assert np.mean(kept_thin) > 2500
    assert np.mean(kept_empty) < 400  # the 39 empty bins' clipped noise: about 1,100


def test_rows_spread_below_noise_everywhere_are_left_as_they_are():
    counts = np.full(100, 30.0)
    noisy = _noisy(counts, 0)
    np.testing.assert_array_equal(drop_noise_bins(noisy, SIGMA), noisy)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-300, 5000), min_size=2, max_size=120))
def test_bins_are_kept_or_zeroed(hist):
    h = np.asarray(hist)
    out = drop_noise_bins(h, SIGMA)
    assert out.shape == h.shape
    assert np.all((out == h) | (out == 0.0))
    assert np.all(out[h > 3 * SIGMA] == h[h > 3 * SIGMA])  # a seed is always kept
