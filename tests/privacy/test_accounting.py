"""Accountant figures pinned against Opacus, fallback, calibration."""

import logging
import math

import numpy as np
import pytest

from tabsynth.privacy import (
    BudgetError,
    PrivacyBudget,
    PrivacyParameterError,
    accounting,
    calibrate_dpsgd,
    compose,
    compose_epsilon,
    gaussian_epsilon,
    max_steps_for,
    normalize_history,
    preprocessing_noise,
)

CASES = [
    [(1.0, 0.01, 1000)],
    [(5.0, 1.0, 10), (1.0, 0.01, 3000)],
    [(2.0, 1.0, 3)],
]


@pytest.mark.parametrize("history", CASES)
@pytest.mark.parametrize("name", ["prv", "rdp"])
def test_matches_opacus_accountants(history, name):
    from opacus.accountants import PRVAccountant, RDPAccountant

    acc = PRVAccountant() if name == "prv" else RDPAccountant()
    acc.history = list(history)
    ours = compose_epsilon(history, 1e-5, accountant=name)
    if name == "prv":
        with np.errstate(all="ignore"):  # sample_rate=1: log(1 - q) = -inf inside Opacus
            theirs = acc.get_epsilon(1e-5)
        assert ours == pytest.approx(theirs, rel=1e-6)
    else:  # we add larger RDP orders: never looser than Opacus' defaults
        assert ours <= acc.get_epsilon(1e-5) + 1e-12


def test_pinned_numbers():
    assert compose_epsilon([(1.0, 0.01, 1000)], 1e-5) == pytest.approx(1.8383716370, rel=1e-3)
    assert compose_epsilon([(1.0, 0.01, 1000)], 1e-5, accountant="rdp") == pytest.approx(
        2.1013652716, rel=1e-3)
    mixed = [(5.0, 1.0, 10), (1.0, 0.01, 3000)]
    assert compose_epsilon(mixed, 1e-5) == pytest.approx(4.2823977670, rel=1e-3)
    assert compose_epsilon(mixed, 1e-5, accountant="rdp") == pytest.approx(4.6464449131, rel=1e-3)


def test_gaussian_exact_and_prv_upper_bound():
    # sum of 4 Gaussians with sigma=2 is one Gaussian with mu = 1
    assert gaussian_epsilon(1.0, 1e-5) == pytest.approx(4.3771780957, rel=1e-6)
    prv = compose_epsilon([(2.0, 1.0, 4)], 1e-5)
    assert gaussian_epsilon(1.0, 1e-5) <= prv <= gaussian_epsilon(1.0, 1e-5) + 0.02


def test_normalize_merges_and_order_independent():
    h = [(2.0, 1.0, 1), (1.0, 0.01, 10), (2.0, 1.0, 2)]
    assert normalize_history(h) == [(1.0, 0.01, 10), (2.0, 1.0, 3)]
    assert compose_epsilon(h, 1e-5) == compose_epsilon(list(reversed(h)), 1e-5)
    assert compose_epsilon([], 1e-5) == 0.0


def test_prv_failure_falls_back_to_rdp(caplog):
    # tiny delta: Opacus' PRV raises "Floating point errors will dominate"
    with caplog.at_level(logging.WARNING, logger="tabsynth.privacy.accounting"):
        eps = compose_epsilon([(1.0, 1.0, 1)], 1e-20)
    assert "falling back" in caplog.text or "fell back" in caplog.text
    assert eps == compose_epsilon([(1.0, 1.0, 1)], 1e-20, accountant="rdp")


def test_prv_huge_domain_falls_back(caplog):
    with caplog.at_level(logging.WARNING, logger="tabsynth.privacy.accounting"):
        eps = compose_epsilon([(0.05, 0.05, 600)], 1e-5)
    assert "fell back" in caplog.text and math.isfinite(eps)


def test_prv_exception_and_wrong_value_fall_back(monkeypatch, caplog):
    def boom(*a, **k):
        raise RuntimeError("Discrete mean differs significantly from continuous mean.")

    monkeypatch.setattr(accounting, "_prv_epsilon", boom)
    with caplog.at_level(logging.WARNING):
        assert compose_epsilon([(1.0, 0.01, 100)], 1e-5) == compose_epsilon(
            [(1.0, 0.01, 100)], 1e-5, accountant="rdp")
    assert "RuntimeError" in caplog.text
    # a PRV figure below the exact Gaussian value is a numerical failure
    monkeypatch.setattr(accounting, "_prv_epsilon", lambda *a, **k: 0.001)
    assert compose_epsilon([(1.0, 1.0, 1)], 1e-5) == compose_epsilon(
        [(1.0, 1.0, 1)], 1e-5, accountant="rdp")


def test_extra_delta_is_added():
    eps, delta = compose([(1.0, 1.0, 1)], 1e-5, extra_delta=4e-6)
    assert delta == 1e-5
    assert eps == compose_epsilon([(1.0, 1.0, 1)], 6e-6)
    with pytest.raises(BudgetError, match="thresholding deltas"):
        compose([(1.0, 1.0, 1)], 1e-5, extra_delta=1e-5)


def test_bad_inputs():
    with pytest.raises(PrivacyParameterError, match="accountant"):
        compose_epsilon([], 1e-5, accountant="gdp")
    with pytest.raises(PrivacyParameterError, match="noise_multiplier"):
        compose_epsilon([(-1.0, 1.0, 1)], 1e-5)
    with pytest.raises(PrivacyParameterError, match="sample_rate"):
        compose_epsilon([(1.0, 1.5, 1)], 1e-5)


def test_preprocessing_noise_spends_share():
    budget = PrivacyBudget(1.0, 1e-5)
    nm = preprocessing_noise(budget, 8, share=0.2, rtol=1e-2)
    spent = compose_epsilon([(nm, 1.0, 8)], 1e-5)
    assert 0.18 <= spent <= 0.2


GRID = [  # (epsilon, epochs, batch, n, accountant)
    (0.5, 5, 100, 2000, "prv"),
    (1.0, 20, 500, 5000, "rdp"),
    (3.0, 50, 256, 10000, "rdp"),
    (10.0, 100, 500, 20000, "rdp"),
    (3.0, 10, 64, 1000, "prv"),
]


@pytest.mark.parametrize("eps,epochs,batch,n,acc", GRID)
def test_calibrated_run_stays_within_budget(eps, epochs, batch, n, acc):
    budget = PrivacyBudget.for_rows(eps, n)
    pre_nm = preprocessing_noise(budget, 5, share=0.1, accountant=acc, rtol=1e-2)
    pre = [(pre_nm, 1.0, 5)]
    q = batch / n
    steps = int(round(epochs / q))
    nm = calibrate_dpsgd(budget, pre, sample_rate=q, steps=steps, accountant=acc, rtol=1e-2)
    total = compose_epsilon(pre + [(nm, q, steps)], budget.delta, accountant=acc)
    assert total <= eps
    # and not much more noise than needed
    assert compose_epsilon(pre + [(nm / 1.05, q, steps)], budget.delta, accountant=acc) > eps * 0.97


def test_calibration_error_suggests_epochs():
    budget = PrivacyBudget(1.0, 1e-6)
    with pytest.raises(BudgetError, match=r"Cannot meet epsilon=1 .* at batch 500 on 1000 rows"
                       r".*Try at most [\d.]+ epochs") as info:
        calibrate_dpsgd(budget, [], sample_rate=0.5, steps=600, n_rows=1000, accountant="rdp",
                        max_noise_multiplier=10.0)
    max_epochs = float(info.value.args[0].split("Try at most ")[1].split(" epochs")[0])
    steps = int(max_epochs / 0.5)
    assert steps >= 1
    assert compose_epsilon([(10.0, 0.5, steps)], 1e-6, accountant="rdp") <= 1.0
    with pytest.raises(BudgetError, match="Not even one step"):
        calibrate_dpsgd(PrivacyBudget(0.1, 1e-6), [], sample_rate=0.5, steps=600,
                        accountant="rdp", max_noise_multiplier=10.0)


def test_preprocessing_over_budget_is_refused():
    with pytest.raises(BudgetError, match="preprocessing alone"):
        calibrate_dpsgd(PrivacyBudget(0.1, 1e-6), [(1.0, 1.0, 1)], sample_rate=0.1, steps=10)


def test_max_steps_for():
    budget = PrivacyBudget(1.0, 1e-5)
    s = max_steps_for(budget, [], sample_rate=0.05, noise_multiplier=2.0, accountant="rdp")
    assert compose_epsilon([(2.0, 0.05, s)], 1e-5, accountant="rdp") <= 1.0
    assert compose_epsilon([(2.0, 0.05, s + 1)], 1e-5, accountant="rdp") > 1.0


@pytest.mark.parametrize("eps,q,steps,pre", [
    (1.0, 0.04, 500, [(60.0, 1.0, 30)]),
    (3.0, 0.135, 148, [(8.0, 1.0, 20)]),
    (10.0, 0.02, 2000, []),
])
def test_fast_calibration_matches_slow_bisection(eps, q, steps, pre, monkeypatch):
    """The RDP-bracketed fast path returns the slow bisection's noise (within rtol, never
    less safe): its epsilon is verified <= the budget, with a handful of PRV compositions."""
    import tabsynth.privacy.accounting as acc
    from tabsynth.privacy import calibration as cal

    budget = PrivacyBudget(eps, 1e-5)
    rtol = 1e-3
    calls = []
    real = acc._prv_epsilon
    monkeypatch.setattr(acc, "_prv_epsilon", lambda *a: calls.append(1) or real(*a))
    acc._compose_cached.cache_clear()
    fast = calibrate_dpsgd(budget, pre, sample_rate=q, steps=steps, rtol=rtol)
    n_fast = len(calls)

    def eps_of(nm):
        return cal._quiet(pre + [(nm, q, steps)], 1e-5, "prv")

    slow = cal._bisect_noise(eps_of, eps, cal.MIN_NOISE_MULTIPLIER, cal.MAX_NOISE_MULTIPLIER,
                             rtol)
    assert compose_epsilon(pre + [(fast, q, steps)], 1e-5) <= eps
    assert slow / (1 + rtol) ** 2 <= fast <= slow * (1 + rtol) ** 2
    assert n_fast <= 8


def test_compose_is_memoised():
    import tabsynth.privacy.accounting as acc

    acc._compose_cached.cache_clear()
    a = compose_epsilon([(1.3, 0.01, 777)], 1e-5)
    b = compose_epsilon([(1.3, 0.01, 777)], 1e-5)
    assert a == b and acc._compose_cached.cache_info().hits >= 1


def test_spent_names_the_accountant_that_produced_the_figure(monkeypatch):
    """When PRV fails and RDP's figure is used, privacy_spent_ says 'rdp', not 'prv'."""
    from tabsynth.privacy import accounting
    from tabsynth.privacy.budget import PrivacyBudget
    from tabsynth.privacy.ledger import Ledger
    from tabsynth.privacy.ledger_entry import LedgerEntry
    from tabsynth.privacy.spent import spent_of

    ledger = Ledger(budget=PrivacyBudget(epsilon=5.0, delta=1e-5), accountant="prv")
    ledger.add(LedgerEntry.dpsgd("net", noise_multiplier=1.0, sample_rate=0.01, steps=100,
                                 max_grad_norm=1.0))
    assert spent_of(ledger)["accountant"] == "prv"
    real = accounting._compose_epsilon

    def failing_prv(hist, delta, accountant, eps_error=accounting.PRV_EPS_ERROR):
        if accountant == "prv":
            return real(hist, delta, "rdp", eps_error)[0], "PRV mesh too large (test)"
        return real(hist, delta, accountant, eps_error)

    monkeypatch.setattr(accounting, "_compose_epsilon", failing_prv)
    spent = spent_of(ledger)
    assert spent["accountant"] == "rdp"
    assert spent["epsilon"] == pytest.approx(ledger.spent(accountant="rdp")[0])
