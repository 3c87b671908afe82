"""One-run audit statistics (Steinke, Nasr & Jagielski 2023): known values and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabsynth.privacy import PrivacyParameterError
from tabsynth.privacy.audit import one_run_audit, one_run_epsilon_lower_bound


def _all_correct_pure(r: int, beta: float) -> float:
    """eps at which r correct guesses out of r have probability beta: p^r = beta."""
    p = beta ** (1.0 / r)
    return max(0.0, math.log(p / (1 - p)))


@pytest.mark.parametrize(("r", "expected"), [(20, 1.8227), (40, 2.5540), (100, 3.4930)])
def test_known_values_all_correct(r, expected):
    assert one_run_epsilon_lower_bound(r, r, r) == pytest.approx(expected, abs=1e-3)
    assert one_run_epsilon_lower_bound(r, r, r) == pytest.approx(_all_correct_pure(r, 0.05),
                                                                 abs=1e-6)


def test_known_values_partial_and_delta():
    # 900 of 1000 right: the binomial tail P[Bin(1000, p) >= 900] = 0.05 at p ~ 0.8834.
    assert one_run_epsilon_lower_bound(900, 1000, 1000) == pytest.approx(2.0212, abs=1e-3)
    # Chance level is no evidence.
    assert one_run_epsilon_lower_bound(500, 1000, 1000) == 0.0
    assert one_run_epsilon_lower_bound(0, 10, 10) == 0.0
    # delta only lowers the bound.
    assert (one_run_epsilon_lower_bound(38, 40, 100, delta=1e-3)
            < one_run_epsilon_lower_bound(38, 40, 100, delta=1e-5)
            < one_run_epsilon_lower_bound(38, 40, 100))


@settings(max_examples=60, deadline=None)
@given(r=st.integers(2, 300), data=st.data(),
       delta=st.sampled_from([0.0, 1e-6, 1e-4]),
       confidence=st.sampled_from([0.9, 0.95, 0.99]))
def test_more_correct_guesses_never_lower_the_bound(r, data, delta, confidence):
    m = data.draw(st.integers(r, 3 * r))
    v = data.draw(st.integers(0, r - 1))
    lo = one_run_epsilon_lower_bound(v, r, m, delta=delta, confidence=confidence)
    hi = one_run_epsilon_lower_bound(v + 1, r, m, delta=delta, confidence=confidence)
    assert 0.0 <= lo <= hi + 1e-9
    # No count of right guesses gives more than "all r right" at delta = 0.
    assert hi <= _all_correct_pure(r, 1 - confidence) + 1e-6


@settings(max_examples=40, deadline=None)
@given(r=st.integers(5, 200), data=st.data())
def test_higher_confidence_gives_lower_bound(r, data):
    v = data.draw(st.integers(0, r))
    assert (one_run_epsilon_lower_bound(v, r, r, confidence=0.99)
            <= one_run_epsilon_lower_bound(v, r, r, confidence=0.9) + 1e-9)


@pytest.mark.parametrize("eps", [0.5, 1.0, 2.0])
def test_bound_is_valid_for_randomized_response(eps):
    """Each guess right with probability e^eps / (1 + e^eps): the tightest eps-DP case.

    Exactly (summing the binomial pmf over the counts whose bound exceeds eps), the bound is
    above the true eps with probability at most beta = 5%; and it has power near eps.
    """
    from scipy import stats

    r = 200
    p = 1 / (1 + math.exp(-eps))
    bounds = np.array([one_run_epsilon_lower_bound(v, r, r) for v in range(r + 1)])
    pmf = stats.binom.pmf(np.arange(r + 1), r, p)
    assert pmf[bounds > eps].sum() <= 0.05
    median_v = int(stats.binom.median(r, p))
    assert bounds[median_v] > 0.4 * eps


def test_one_run_audit_ranks_and_splits_guesses():
    rng = np.random.default_rng(0)
    included = rng.random(200) < 0.5
    scores = np.where(included, 10.0, 0.0) + rng.random(200)  # perfect separation
    res = one_run_audit(scores, included, n_guesses=40)
    assert (res.n_guesses, res.n_correct) == (40, 40)
    assert res.epsilon_lower == pytest.approx(_all_correct_pure(40, 0.05), abs=1e-3)
    # Several candidate k: union bound over them, the best one reported.
    multi = one_run_audit(scores, included)
    assert multi.guesses_tried == (20, 40, 80)
    assert multi.n_correct == multi.n_guesses == 80
    assert multi.epsilon_lower == pytest.approx(
        one_run_epsilon_lower_bound(80, 80, 200, confidence=1 - 0.05 / 3), abs=1e-9)
    # No signal: about nothing.
    noise = one_run_audit(rng.random(200), included)
    assert noise.epsilon_lower < 0.5


def test_one_run_audit_ties_use_the_tie_break_not_the_order():
    included = np.array([True] * 50 + [False] * 50)
    res = one_run_audit(np.zeros(100), included, n_guesses=40, rng=np.random.default_rng(1))
    assert res.n_correct < 32  # all tied: guesses are random, not "the first 20 are in"


def test_one_run_parameter_errors():
    with pytest.raises(PrivacyParameterError):
        one_run_epsilon_lower_bound(5, 4, 10)
    with pytest.raises(PrivacyParameterError):
        one_run_epsilon_lower_bound(1, 4, 10, confidence=1.0)
    with pytest.raises(PrivacyParameterError):
        one_run_audit([1.0, 2.0], [True])
    with pytest.raises(PrivacyParameterError):
        one_run_audit([1.0, 2.0], [True, False], n_guesses=3)
