"""Policies: loading, validation, checks and the verdict."""

from __future__ import annotations

import math

import pytest

from tabsynth.evaluation import MetricResult, PolicyError, load_policy
from tabsynth.evaluation.policy import CHECKS, verdict


def _m(name: str, value: float, reason: str | None = None) -> MetricResult:
    return MetricResult(name=name, group="fidelity", value=value, title=name, description="",
                        reason=reason)


def test_default_policy_has_the_documented_thresholds() -> None:
    pol = load_policy(None)
    rules = pol.to_dict()["checks"]
    assert rules["column_shapes"] == {"min": 0.8}
    assert rules["detection_auc"] == {"max": 0.9}
    assert rules["dp_epsilon"] == {"max": 10.0}
    assert rules["exact_copy_rate"]["or_at_most"] == "exact_copy_rate_holdout"
    assert set(rules) <= set(CHECKS)


def test_unknown_check_lists_valid_ones() -> None:
    with pytest.raises(PolicyError, match="unknown check.*'colum_shapes'.*valid checks.*"
                                          "column_shapes"):
        load_policy({"version": 1, "checks": {"colum_shapes": {"min": 0.8}}})


@pytest.mark.parametrize("bad,match", [
    ({"version": 1, "checks": {"column_shapes": {"minimum": 0.8}}}, "unknown key"),
    ({"version": 1, "checks": {}, "extra": 1}, "unknown key"),
    ({"version": 2, "checks": {"column_shapes": {"min": 0.8}}}, "version"),
    ({"checks": {"column_shapes": {"min": 0.8, "max": 0.9}}}, "exactly one"),
    ({"checks": {"column_shapes": {"between": [0.9, 0.1]}}}, "low"),
    ({"checks": {"column_shapes": {"min": "high"}}}, "finite number"),
    ({"checks": {"column_shapes": 0.8}}, "mapping"),
    ([1, 2], "path, a dict"),
])
def test_malformed_policies(bad, match) -> None:
    with pytest.raises(PolicyError, match=match):
        load_policy(bad)


def test_policy_from_yaml_and_json_files(tmp_path) -> None:
    y = tmp_path / "p.yaml"
    y.write_text("version: 1\nchecks:\n  detection_auc: {between: [0.4, 0.7]}\n")
    assert load_policy(y).checks[0].threshold == "between 0.4 and 0.7"
    j = tmp_path / "p.json"
    j.write_text('{"version": 1, "checks": {"column_shapes": {"min": 0.5}}}')
    assert load_policy(str(j)).checks[0].min == 0.5
    (tmp_path / "bad.yaml").write_text("checks: [unclosed")
    with pytest.raises(PolicyError, match="YAML"):
        load_policy(tmp_path / "bad.yaml")


def test_apply_statuses_and_verdict() -> None:
    pol = load_policy({"checks": {
        "column_shapes": {"min": 0.8},
        "detection_auc": {"max": 0.9},
        "tstr_auc_ratio": {"between": [0.85, 1.2]},
        "dp_epsilon": {"max": 10},
    }})
    metrics = [_m("column_shapes", 0.85), _m("detection_auc", 0.95), _m("tstr_auc_ratio", 1.0),
               _m("dp_epsilon", math.nan, "no ledger")]
    checks = pol.apply(metrics)
    assert [c["status"] for c in checks] == ["PASS", "FAIL", "PASS", "NOT RUN"]
    assert checks[3]["reason"] == "no ledger" and checks[3]["value"] is None
    assert verdict(checks) == (False, "FAIL (1 of 4 checks failed)")
    checks = pol.apply([_m("column_shapes", 0.85), _m("detection_auc", 0.5)])
    assert verdict(checks) == (True, "PASS (2 checks not run)")
    assert verdict(pol.apply([_m("column_shapes", 0.9), _m("detection_auc", 0.5),
                              _m("tstr_auc_ratio", 1.0), _m("dp_epsilon", 1.0)])) == (True, "PASS")


def test_required_and_or_at_most() -> None:
    pol = load_policy({"checks": {
        "dp_epsilon": {"max": 10, "required": True},
        "exact_copy_rate": {"max": 0.01, "or_at_most": "exact_copy_rate_holdout"},
    }})
    checks = pol.apply([_m("dp_epsilon", math.nan, "no ledger"), _m("exact_copy_rate", 0.05),
                        _m("exact_copy_rate_holdout", 0.06)])
    assert checks[0]["status"] == "FAIL" and "required" in checks[0]["reason"]
    assert checks[1]["status"] == "PASS" and "exact_copy_rate_holdout" in checks[1]["reason"]
    checks = pol.apply([_m("exact_copy_rate", 0.05), _m("exact_copy_rate_holdout", 0.01)])
    assert checks[1]["status"] == "FAIL"
