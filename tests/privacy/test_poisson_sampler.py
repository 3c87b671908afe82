"""DP-SGD's sampler is Poisson sampling, the one the accountants assume: every row is in each
batch independently with probability q. Checked statistically (seeded) on a small table and
on a large one, where batches are drawn as a Binomial(n, q) size and a uniform subset of that
size (the same distribution, without n draws per step)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tabsynth.privacy import SecureRandom
from tabsynth.privacy.dpsgd import poisson_batches


def _batches(n: int, q: float, steps: int, seed: int) -> list[np.ndarray]:
    out = list(poisson_batches(n, q, steps, np.random.default_rng(seed)))
    for b in out:  # sorted distinct row indices in [0, n)
        assert b.dtype.kind == "i" and (np.diff(b) > 0).all()
        assert len(b) == 0 or (0 <= b[0] and b[-1] < n)
    return out


@pytest.mark.parametrize("n, q, steps", [(200, 0.1, 20_000), (2_000_000, 5e-5, 4_000)])
def test_batches_are_poisson_samples(n, q, steps):
    batches = _batches(n, q, steps, seed=3)
    sizes = np.array([len(b) for b in batches])
    mean, var = n * q, n * q * (1 - q)
    assert abs(sizes.mean() - mean) < 5 * np.sqrt(var / steps)  # Binomial(n, q) sizes
    assert abs(sizes.var() / var - 1) < 0.1
    rows = np.concatenate(batches)
    # every row (or range of rows) equally often: chi-square against the uniform
    cells = np.bincount(rows, minlength=n) if n <= 1000 else np.bincount(rows * 20 // n,
                                                                          minlength=20)
    assert stats.chisquare(cells).pvalue > 1e-3
    # two rows are in a batch together as often as independence says (q^2 per step)
    pair = np.array([np.isin([0, n - 1], b).all() for b in batches]).sum() if n <= 1000 \
        else None
    if pair is not None:
        assert abs(pair - steps * q * q) < 5 * np.sqrt(steps * q * q)


def test_secure_random_sampler_is_poisson_too():
    sizes = np.array([len(b) for b in poisson_batches(500, 0.2, 2_000, SecureRandom())])
    assert abs(sizes.mean() - 100) < 5 * np.sqrt(80 / 2_000)


def test_full_sampling_rate_takes_every_row():
    for n in (5, 3_000_000):
        (batch,) = _batches(n, 1.0, 1, seed=0)
        assert len(batch) == n
