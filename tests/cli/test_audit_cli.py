"""``tabsynth audit``: writes the audit JSON in the schema that ``evaluate --audit`` reads."""

from __future__ import annotations

import json

from tabsynth import Metadata, datasets
from tabsynth.audit import AUDIT_KEYS, check_audit_result


def _inputs(tmp_path):
    df = datasets.load("adult").sample(300, random_state=3)[["age", "sex", "income"]]
    data = tmp_path / "train.csv"
    df.to_csv(data, index=False)
    meta = Metadata.detect(df, warn=False)
    meta.update_column("sex", public_domain=["Female", "Male"])
    meta.update_column("income", public_domain=["<=50K", ">50K"])
    meta.update_column("age", public_bounds=[17, 90])
    meta_path = tmp_path / "meta.json"
    meta.save(meta_path)
    return data, meta_path


def test_audit_writes_the_schema(run, tmp_path):
    data, meta = _inputs(tmp_path)
    out = tmp_path / "audit.json"
    res = run("audit", data, "--metadata", meta, "--epsilon", "1", "--canaries", "20",
              "--epochs", "1", "--batch-size", "64", "--no-positive-control", "--seed", "0",
              "--device", "cpu", "-o", out)
    assert res.exit_code == 0, res.output
    result = json.loads(out.read_text())
    assert tuple(result) == AUDIT_KEYS
    check_audit_result(result)
    assert result["method"] == "one-run" and result["n_canaries"] == 20
    assert result["claimed_epsilon"] == 1.0 and result["passed"]
    assert result["positive_control_epsilon_lower"] is None
    assert "lower bound" in res.output and str(out) in res.output


def test_audit_without_declared_domain_is_a_usage_error(run, tmp_path):
    data, _ = _inputs(tmp_path)
    bare = tmp_path / "bare.json"
    Metadata.detect(datasets.load("adult")[["age", "sex", "income"]], warn=False).save(bare)
    res = run("audit", data, "--metadata", bare, "--epsilon", "1", "-o", tmp_path / "a.json")
    assert res.exit_code == 2
    assert "public_domain" in res.output
    assert not (tmp_path / "a.json").exists()
