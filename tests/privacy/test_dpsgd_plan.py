"""The DP-SGD plan (tabsynth.privacy.dpsgd_plan): schedule defaults, calibration, refusals."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tabsynth.privacy import BudgetError, Ledger, LedgerEntry, PrivacyBudget, compose
from tabsynth.privacy.dpsgd_plan import DPPlan, dp_batch_size, epsilon_after, plan_dpsgd


@pytest.mark.parametrize("n, batch", [(5, 2), (3000, 600), (8000, 1000), (100_000, 4000)])
def test_default_batch_is_a_fraction_of_the_dp_count(n: int, batch: int) -> None:
    assert dp_batch_size(n) == batch


def test_plan_fits_the_budget_with_preprocessing_composed() -> None:
    budget = PrivacyBudget(1.0, 1e-6)
    ledger = Ledger(budget=budget, accountant="rdp")
    ledger.add(LedgerEntry.gaussian("count", "n_rows", sigma=50.0))
    plan = plan_dpsgd(budget, ledger, n_noisy=10_000, batch_size=1000, epochs=3,
                      accountant="rdp", grad_sample_mode="ghost", owner="TVAE",
                      lr_scale={"learning_rate": 2.0})
    assert isinstance(plan, DPPlan)
    assert (plan.sample_rate, plan.steps_per_epoch, plan.steps) == (0.1, 10, 30)
    assert (plan.epochs, plan.expected_batch_size, plan.grad_sample_mode) == (3, 1000, "ghost")
    history = ledger.history() + [(plan.noise_multiplier, plan.sample_rate, plan.steps)]
    assert compose(history, budget.delta, accountant="rdp")[0] <= budget.epsilon
    assert len(ledger.entries) == 1  # the caller records the DP-SGD entry
    ledger.add(LedgerEntry.dpsgd("TVAE encoder+decoder", noise_multiplier=plan.noise_multiplier,
                                 sample_rate=plan.sample_rate, steps=plan.steps,
                                 max_grad_norm=1.0))
    before = epsilon_after(plan, ledger, 0)
    assert 0 < before < epsilon_after(plan, ledger, 10) < epsilon_after(plan, ledger, 30)
    assert epsilon_after(plan, ledger, 30) == pytest.approx(ledger.spent()[0], rel=1e-6)


def test_plan_refuses_a_run_over_budget_naming_the_epochs_that_fit() -> None:
    budget = PrivacyBudget(0.05, 1e-6)
    with pytest.raises(BudgetError, match=r"CTGAN cannot meet epsilon=0.05 .*epochs=5000"):
        plan_dpsgd(budget, Ledger(budget=budget, accountant="rdp"), n_noisy=1000,
                   batch_size=500, epochs=5000, accountant="rdp", grad_sample_mode="ghost",
                   owner="CTGAN")


def test_plan_refuses_a_batch_not_below_the_count() -> None:
    budget = PrivacyBudget(1.0, 1e-6)
    with pytest.raises(ValueError, match="batch_size"):
        plan_dpsgd(budget, Ledger(budget=budget), n_noisy=100, batch_size=100, epochs=1,
                   accountant="rdp", grad_sample_mode="ghost", owner="TVAE")


def test_plan_imports_neither_torch_nor_the_models() -> None:
    code = ("import sys, tabsynth.privacy.dpsgd_plan\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'opacus') "
            "or m.startswith('tabsynth.models')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
