"""Scenario releases: ``evaluate(conditions=...)`` on hand-made tables with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabsynth.evaluation import evaluate
from tabsynth.evaluation.errors import EvaluationParameterError
from tabsynth.evaluation.scenario import check_conditions, describe, meets, minority_fidelity

KINDS = {"fraud": "categorical", "vehicle": "categorical", "amount": "numerical",
         "flag": "boolean"}
FAST = {"random_state": 0, "progress": False, "max_rows": 100}


def _real(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    fraud = (rng.random(n) < 0.2).astype(int)
    vehicle = rng.choice(["Sedan", "Sport", "Utility"], n, p=[0.6, 0.25, 0.15])
    # the scenario's rows (fraud, Sport) have large amounts; the rest of the class does not
    amount = np.where((fraud == 1) & (vehicle == "Sport"), rng.normal(800, 50, n),
                      rng.normal(200, 50, n))
    return pd.DataFrame({"fraud": fraud, "vehicle": pd.Series(vehicle, dtype="str"),
                         "amount": amount, "flag": rng.random(n) < 0.5})


def test_masks_ranges_lists_and_type_tolerant_values() -> None:
    df = pd.DataFrame({"fraud": [0, 1, 1, 1], "vehicle": pd.Series(["Sport", "Sport", "Sedan",
                                                                    "Sport"], dtype="str"),
                       "amount": [10.0, 500.0, 600.0, np.nan], "flag": [True, False, True, True]})
    # "1" typed on a command line matches the integer 1; "true" the boolean True
    cond = {"fraud": "1", "vehicle": "Sport", "amount": (100, None), "flag": "false"}
    assert meets(df, cond, KINDS).tolist() == [False, True, False, False]
    assert meets(df, {"vehicle": ["Sedan", "Sport"], "amount": (None, 550)}, KINDS).tolist() == [
        True, True, False, False]  # a missing value is outside every range
    assert describe({"fraud": 1, "amount": (100, 200), "vehicle": ["a", "b"]}) == (
        "fraud = 1, 100 ≤ amount ≤ 200, vehicle in {a, b}")


@pytest.mark.parametrize("bad, words", [
    ({"nosuch": 1}, "not an evaluated column"),
    ({"vehicle": "Truck"}, "no real row has 'vehicle'"),
    ({"vehicle": (1, 2)}, "numeric or datetime column"),
    ({"amount": (5, 1)}, "empty"),
    ({"amount": (None, None)}, "open at both ends"),
    ({"amount": ("a", 3)}, "not a number"),
    ({}, "non-empty mapping"),
])
def test_bad_conditions_are_named(bad, words) -> None:
    with pytest.raises(EvaluationParameterError, match=words):
        check_conditions(bad, _real(), KINDS)


def test_per_class_section_uses_the_scenarios_real_rows() -> None:
    real = _real()
    rng = np.random.default_rng(5)
    # a release that reproduces the scenario: fraud Sport rows with large amounts
    scen = real[(real.fraud == 1) & (real.vehicle == "Sport")]
    release = scen.sample(300, replace=True, random_state=1).reset_index(drop=True)
    release["amount"] = release["amount"] + rng.normal(0, 5, len(release))
    cond = {"fraud": 1, "vehicle": "Sport"}
    with_scenario, _ = minority_fidelity(real, release, KINDS, "fraud", conditions=cond)
    whole_class, _ = minority_fidelity(real, release, KINDS, "fraud")
    # against its own scenario the release's amounts match; against the whole class they don't
    cols = {r["column"]: r["score"] for r in with_scenario.details["columns"]}
    assert "vehicle" not in cols and "fraud" not in cols  # fixed by the conditions
    assert cols["amount"] > 0.85
    whole = {r["column"]: r["score"] for r in whole_class.details["columns"]}
    assert whole["amount"] < 0.6
    assert with_scenario.details["real_rows"] == len(scen)
    assert with_scenario.details["scenario"] == "fraud = 1, vehicle = Sport"


def test_evaluate_counts_release_rows_outside_the_scenario() -> None:
    real = _real()
    scen = real[(real.fraud == 1) & (real.vehicle == "Sport")]
    release = scen.sample(200, replace=True, random_state=2).reset_index(drop=True)
    release.loc[:9, "vehicle"] = "Sedan"  # 10 rows break one condition
    release.loc[5:14, "amount"] = 10.0  # 10 rows break the range (5 of them both)
    cond = {"fraud": 1, "vehicle": "Sport", "amount": (500, None)}
    rep = evaluate(real, release, target="fraud", conditions=cond, **FAST)
    m = rep.metric("scenario_conformance")
    assert m.details["rows_not_meeting"] == 15
    assert m.details["per_condition"] == {"fraud": 0, "vehicle": 10, "amount": 10}
    assert m.value == pytest.approx(185 / 200)
    assert rep.parameters["conditions"] == {"fraud": 1, "vehicle": "Sport",
                                            "amount": {"low": 500, "high": None}}
    html = rep.to_html()
    assert "fraud = 1, vehicle = Sport, amount ≥ 500" in html
    assert "15 release row(s) do not meet the conditions" in html
    # the release form keeps the release's own counts (no real count appears)
    rel = rep.to_dict(form="release")
    kept = next(x for x in rel["metrics"] if x["name"] == "scenario_conformance")
    assert kept["details"]["rows_not_meeting"] == 15
    minority = next(x for x in rel["metrics"] if x["name"] == "minority_column_shapes")
    assert "real_rows" not in minority["details"]


def test_without_conditions_nothing_changes() -> None:
    real = _real()
    rep = evaluate(real, _real(seed=1), target="fraud", **FAST)
    assert rep.parameters["conditions"] is None
    assert "scenario_conformance" not in [m.name for m in rep.metrics]
    assert rep.metric("minority_column_shapes").details["class"] == "1"
