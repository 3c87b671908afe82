"""anonymeter's method: Wilson rates, the risk formula, and the three attacks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from privacy_tables import KINDS, people_tables

from tabsynth.evaluation.anonymeter import (
    attack_results,
    default_aux_cols,
    inference_risk,
    linkability_risk,
    singling_out_risk,
    wilson_success_rate,
)


@pytest.fixture(scope="module")
def people():
    return people_tables()


def test_wilson_rate_pinned():
    # z = 1.959964; (50 + z²/2) / (100 + z²) = 0.5; z/(100+z²)·sqrt(25 + z²/4) = 0.0961685
    r = wilson_success_rate(100, 50, 0.95)
    assert r.value == pytest.approx(0.5)
    assert r.error == pytest.approx(0.0961685, abs=1e-6)
    r0 = wilson_success_rate(500, 0, 0.95)  # never zero-width, never negative
    assert r0.value == pytest.approx(3.841459 / 2 / 503.841459, rel=1e-6)
    assert r0.error == pytest.approx(r0.value, rel=1e-9)
    with pytest.raises(ValueError, match="confidence_level"):
        wilson_success_rate(10, 1, 1.5)


def test_risk_is_excess_over_control_with_propagated_error():
    res = attack_results(n_attacks=200, n_success=120, n_baseline=10, n_control=40)
    a, c = res.attack_rate, res.control_rate
    expected = (a.value - c.value) / (1 - c.value)
    err = math.hypot(a.error / (1 - c.value), c.error * (a.value - 1) / (1 - c.value) ** 2)
    assert res.risk == pytest.approx(expected)
    assert res.ci == pytest.approx((expected - err, expected + err))
    assert not res.warnings


def test_risk_without_control_is_attack_rate_and_is_clipped():
    res = attack_results(n_attacks=100, n_success=0, n_baseline=20, n_control=None)
    assert res.risk == pytest.approx(res.attack_rate.value)
    assert res.ci[0] == 0.0  # clipped at 0
    assert any("random guessing" in w for w in res.warnings)
    neg = attack_results(n_attacks=100, n_success=5, n_baseline=0, n_control=50)
    assert neg.risk == 0.0 and neg.ci[0] == 0.0 and neg.ci[1] == 0.0


@pytest.mark.parametrize("attack", ["singling_out", "linkability", "inference"])
def test_attacks_flag_copies_and_clear_independent_data(people, attack):
    train, holdout, independent = people

    def run(syn):
        if attack == "singling_out":
            return singling_out_risk(
                train, syn, holdout, kinds=KINDS, n_attacks=200, random_state=0
            )
        if attack == "linkability":
            return linkability_risk(train, syn, holdout, kinds=KINDS, n_attacks=200, random_state=0)
        return inference_risk(
            train, syn, holdout, kinds=KINDS, secret="city", n_attacks=200, random_state=0
        )

    copied, indep = run(train.copy()), run(independent)
    assert copied.risk > 0.5 and copied.ci[0] > 0.4
    assert indep.risk < 0.1 and indep.ci[0] < 0.05
    assert copied.n_attacks == indep.n_attacks == 200


def test_singling_out_predicates_isolate_a_synthetic_record(people):
    train, holdout, _ = people
    res = singling_out_risk(train, train, holdout, kinds=KINDS, n_attacks=50, random_state=1)
    assert res.n_attacks == 50 and res.n_success == 50  # each isolates its own training record
    assert res.extra["mode"] == "univariate"
    # holdout of a different size: the control count is rescaled, not dropped
    small = singling_out_risk(
        train, train, holdout.iloc[:300], kinds=KINDS, n_attacks=50, random_state=1
    )
    assert small.n_control is not None and small.extra["size_correction"] > 0


def test_numeric_secret_uses_relative_tolerance(people):
    train, holdout, _ = people
    shifted = train.copy()
    shifted["income"] = shifted["income"] * 1.03  # within 5 %
    res = inference_risk(
        train, shifted, None, kinds=KINDS, secret="income", n_attacks=100, random_state=0
    )
    assert res.extra["regression"] and res.attack_rate.value > 0.9
    far = train.copy()
    far["income"] = far["income"] * 1.2
    res = inference_risk(
        train, far, None, kinds=KINDS, secret="income", n_attacks=100, random_state=0
    )
    assert res.n_success < 20


def test_same_seed_same_result(people):
    train, holdout, independent = people
    a = linkability_risk(train, independent, holdout, kinds=KINDS, n_attacks=100, random_state=7)
    b = linkability_risk(train, independent, holdout, kinds=KINDS, n_attacks=100, random_state=7)
    assert a == b


def test_default_aux_cols_deal_numerics_to_both_halves():
    a0, a1 = default_aux_cols(KINDS)
    assert set(a0) | set(a1) == set(KINDS) and not set(a0) & set(a1)
    assert {"age", "score"} <= set(a0) and "income" in a1
    assert np.isclose(len(a0), len(a1), atol=1)
