"""Budget validation, default delta, ledger JSON round trip and summary."""

import json
import math

import pytest

from tabsynth.privacy import (
    BudgetError,
    BudgetExceededError,
    Ledger,
    LedgerEntry,
    PrivacyBudget,
    PrivacyParameterError,
    check_delta,
    compose,
    default_delta,
)


def test_budget_messages():
    with pytest.raises(BudgetError, match=r"^The 'epsilon' parameter of PrivacyBudget must be a "
                       r"float > 0 and finite\. Got -1 instead\.$"):
        PrivacyBudget(-1, 1e-5)
    with pytest.raises(BudgetError, match="'epsilon'"):
        PrivacyBudget(math.inf, 1e-5)
    with pytest.raises(BudgetError, match="'delta'"):
        PrivacyBudget(1.0, 0)
    with pytest.raises(ValueError):  # BudgetError is a ValueError
        PrivacyBudget(True, 1e-5)
    assert PrivacyBudget(1, 1e-5).epsilon == 1.0


@pytest.mark.parametrize("n", [1, 2, 10, 1000, 10**5, 10**6, 10**9])
def test_default_delta_well_below_one_over_n(n):
    d = default_delta(n)
    assert 0 < d <= 1e-5
    if n >= 3:
        assert d <= 1 / (n * math.log(n)) + 1e-300
    check_delta(d, n)


def test_check_delta():
    with pytest.raises(BudgetError, match=r"not below 1/n"):
        check_delta(1e-3, 1000)
    with pytest.raises(BudgetError, match="not below"):
        PrivacyBudget.for_rows(1.0, 1000, delta=1e-3)
    assert PrivacyBudget.for_rows(1.0, 1000).delta == 1e-5


def _ledger():
    led = Ledger(PrivacyBudget(2.0, 1e-5))
    led.declare_public("column 'age' bounds", "[0, 120] from metadata")
    led.add(LedgerEntry.gaussian("gaussian_histogram", "column 'sex' frequencies", sigma=20.0))
    led.add(LedgerEntry.gaussian("discover_categories", "column 'city' domain", sigma=20.0,
                                 sensitivity=math.sqrt(2), extra_delta=1e-7))
    led.add(LedgerEntry.dpsgd("discriminator", noise_multiplier=1.2, sample_rate=0.01,
                              steps=500, max_grad_norm=1.0))
    return led


def test_ledger_spent_composes_everything():
    led = _ledger()
    eps, delta = led.spent()
    hist = [(20.0, 1.0, 1), (20.0 / math.sqrt(2), 1.0, 1), (1.2, 0.01, 500)]
    assert (eps, delta) == compose(hist, 1e-5, extra_delta=1e-7)
    assert eps < 2.0
    assert led.spent(accountant="rdp")[0] >= eps


def test_ledger_json_round_trip():
    led = _ledger()
    text = led.to_json()
    back = Ledger.from_json(text)
    assert back == led
    assert back.to_dict() == json.loads(text)
    assert back.spent() == led.spent()


def test_ledger_rejects_unknown_keys_and_versions():
    d = _ledger().to_dict()
    with pytest.raises(PrivacyParameterError, match=r"Unknown ledger keys \['colour'\]"):
        Ledger.from_dict({**d, "colour": 1})
    with pytest.raises(PrivacyParameterError, match="schema_version"):
        Ledger.from_dict({**d, "schema_version": 99})
    bad_entry = {**d["entries"][1], "sigma": 3}
    with pytest.raises(PrivacyParameterError, match=r"Unknown ledger entry keys \['sigma'\]"):
        Ledger.from_dict({**d, "entries": [bad_entry]})


def test_ledger_stops_a_run_over_budget():
    led = Ledger(PrivacyBudget(0.5, 1e-5))
    with pytest.raises(BudgetExceededError, match="would spend epsilon"):
        led.add(LedgerEntry.dpsgd("disc", noise_multiplier=0.8, sample_rate=0.1, steps=1000,
                                  max_grad_norm=1.0))
    assert led.entries == []


def test_summary_lists_public_and_total():
    text = _ledger().summary()
    assert "column 'age' bounds" in text and "public" in text
    assert "spent: epsilon=" in text and "dpsgd" in text


def test_entry_validation():
    with pytest.raises(PrivacyParameterError, match="'noise_multiplier'"):
        LedgerEntry(mechanism="x", target="y", noise_multiplier=0.0)
