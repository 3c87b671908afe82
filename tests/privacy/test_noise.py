"""Privacy noise comes from OS entropy (never random_state); SecureRandom's draws are right."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabsynth.privacy import SecureRandom, noise_rng, resolve_budget
from tabsynth.privacy.dpsgd import poisson_batches


def test_two_noise_sources_differ():
    assert noise_rng().normal(size=4).tolist() != noise_rng().normal(size=4).tolist()
    assert isinstance(noise_rng(True), SecureRandom)


def test_secure_random_moments():
    r = SecureRandom()
    z = r.normal(0.0, 2.0, size=200_000)
    assert abs(z.mean()) < 0.03 and abs(z.std() - 2.0) < 0.03
    u = r.random(100_000)
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    g = r.gumbel(size=100_000)
    assert abs(g.mean() - np.euler_gamma) < 0.03
    k = r.integers(3, 7, size=10_000)
    assert set(np.unique(k)) == {3, 4, 5, 6}


@settings(max_examples=25, deadline=None)
@given(st.one_of(st.none(), st.integers(0, 50), st.tuples(st.integers(0, 5), st.integers(0, 5))))
def test_secure_random_shapes(size):
    r = SecureRandom()
    for draw in (r.random(size), r.normal(size=size), r.gumbel(size=size)):
        if size is None:
            assert isinstance(draw, float)
        else:
            assert np.shape(draw) == ((size,) if isinstance(size, int) else size)
            assert np.all(np.isfinite(draw))


def test_poisson_batches_accept_secure_random():
    batches = list(poisson_batches(1000, 0.1, 5, SecureRandom()))
    assert len(batches) == 5 and all(0 < len(b) < 300 for b in batches)


def test_resolve_budget_default_delta_uses_a_charged_noisy_count():
    r1 = resolve_budget(1.0, None, 10_000, noise_rng())
    assert r1.entry is not None and r1.sigma == pytest.approx(50.0)
    assert r1.n_noisy != 10_000  # noisy (continuous noise: exact equality has prob. 0)
    assert r1.budget.delta < 1 / 10_000
    given = resolve_budget(1.0, 1e-6, 10_000, noise_rng())
    assert given.entry is None and given.budget.delta == 1e-6
