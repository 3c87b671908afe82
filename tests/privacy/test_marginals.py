"""Marginal measurement (privacy/marginals.py) and exponential-mechanism accounting."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tabsynth.privacy import Ledger, LedgerEntry, PrivacyBudget, compose_epsilon
from tabsynth.privacy.errors import BudgetExceededError, PrivacyParameterError
from tabsynth.privacy.marginals import (
    MarginalMeasurer,
    candidate_cliques,
    measure_adaptively,
    rho_for_epsilon,
    rho_of_history,
)


def _codes(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, n)
    b = (a + rng.integers(0, 2, n)) % 4
    c = rng.integers(0, 2, n)
    return np.stack([a, b, c], axis=1), [3, 4, 2]


def test_exponential_entry_is_gaussian_equivalent_and_forces_rdp():
    e = LedgerEntry.exponential("selection", epsilon=0.5)
    assert e.mechanism_family == "exponential"
    assert e.noise_multiplier == pytest.approx(4.0)  # 2 / eps0: RDP alpha * eps0^2 / 8
    ledger = Ledger(budget=PrivacyBudget(3.0, 1e-6), accountant="prv")
    ledger.add(LedgerEntry.gaussian("m", "x", sigma=20.0))
    assert ledger.effective_accountant == "prv"
    ledger.add(e)
    assert ledger.effective_accountant == "rdp"
    eps, _ = ledger.spent(accountant="prv")  # PRV is not valid for the EM: RDP is used anyway
    assert eps == pytest.approx(compose_epsilon(ledger.history(), 1e-6, accountant="rdp"))
    again = Ledger.from_dict(ledger.to_dict())
    assert again.effective_accountant == "rdp"
    assert "rdp" in ledger.summary()


def test_old_ledger_dicts_still_load():
    d = LedgerEntry.gaussian("m", "x", sigma=2.0).to_dict()
    d.pop("mechanism_family")
    assert LedgerEntry.from_dict(d).mechanism_family == "gaussian"
    with pytest.raises(PrivacyParameterError):
        LedgerEntry(mechanism="m", target="x", noise_multiplier=1.0, mechanism_family="laplace")


def test_rho_for_epsilon_matches_the_rdp_accountant():
    rho = rho_for_epsilon(1.0, 1e-6)
    nm = 1 / math.sqrt(2 * rho)
    assert compose_epsilon([(nm, 1.0, 1)], 1e-6, accountant="rdp") <= 1.0 + 1e-9
    assert compose_epsilon([(nm * 0.99, 1.0, 1)], 1e-6, accountant="rdp") > 1.0
    assert rho_of_history([(nm, 1.0, 1)]) == pytest.approx(rho)


def test_adaptive_measurement_stays_within_budget_and_fit_sees_only_measurements():
    codes, domain = _codes()
    budget = PrivacyBudget(1.0, 1e-6)
    ledger = Ledger(budget=budget, accountant="rdp")
    measurer = MarginalMeasurer(codes, domain, ledger=ledger, rng=np.random.default_rng(1))
    seen = []

    def fit(measurements, final):
        seen.append([type(m).__name__ for m in measurements])
        return lambda cliques: {c: np.full(int(np.prod([domain[j] for j in c])),
                                           1.0 / np.prod([domain[j] for j in c]))
                                for c in cliques}

    rho = rho_for_epsilon(1.0, 1e-6) * (1 - 1e-9)
    ms, _ = measure_adaptively(measurer, fit, rho=rho, rounds=2, per_round=2,
                               candidates=candidate_cliques(domain), target=2)
    assert all(set(s) == {"Measurement"} for s in seen)
    assert len(ms) == 3 + 4 and len({m.clique for m in ms}) == 7
    eps, _ = ledger.spent()
    assert eps <= 1.0 + 1e-9
    assert sum(e.mechanism_family == "exponential" for e in ledger.entries) == 4
    # the EM picks a marginal with the target in every other selection
    assert 2 in ms[3].clique


def test_ledger_refuses_to_exceed_the_budget():
    codes, domain = _codes()
    ledger = Ledger(budget=PrivacyBudget(0.1, 1e-6), accountant="rdp")
    measurer = MarginalMeasurer(codes, domain, ledger=ledger, rng=np.random.default_rng(0))
    with pytest.raises(BudgetExceededError):
        for _ in range(100):
            measurer.measure((0, 1), sigma=5.0)
    assert ledger.spent()[0] <= 0.1


def test_exact_mode_is_noiseless_and_uncharged():
    codes, domain = _codes()
    ledger = Ledger()
    m = MarginalMeasurer(codes, domain, ledger=ledger, rng=None, exact=True).measure((0, 1), 1.0)
    ref = np.zeros((3, 4))
    np.add.at(ref, (codes[:, 0], codes[:, 1]), 1)
    np.testing.assert_array_equal(m.noisy, ref.ravel())
    assert m.sigma == 0 and not ledger.entries


def test_measurer_rejects_codes_outside_the_domain():
    codes, domain = _codes()
    with pytest.raises(PrivacyParameterError):
        MarginalMeasurer(codes, [3, 3, 2], ledger=Ledger(), rng=np.random.default_rng(0))
