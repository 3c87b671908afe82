"""``tabsynth evaluate`` in-process: outputs, exit codes 0/1/2/3, no partial files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabsynth.cli._app import _register, cli


@pytest.fixture(scope="module")
def invoke():
    from click.testing import CliRunner

    _register()
    runner = CliRunner()

    def _run(*args):
        return runner.invoke(cli, [str(a) for a in args])

    return _run


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    from tabsynth import datasets

    d = tmp_path_factory.mktemp("eval")
    df = datasets.load("adult")[["age", "workclass", "education-num", "sex", "hours-per-week",
                                 "income"]].drop_duplicates().reset_index(drop=True)
    train, holdout = df.iloc[:500], df.iloc[500:700]
    rng = np.random.default_rng(0)
    syn = pd.DataFrame({c: train[c].to_numpy()[rng.integers(0, 500, 500)] for c in df})
    paths = {"train": d / "train.csv", "holdout": d / "holdout.csv", "syn": d / "syn.csv"}
    train.to_csv(paths["train"], index=False)
    holdout.to_csv(paths["holdout"], index=False)
    syn.to_csv(paths["syn"], index=False)
    syn.drop(columns=["sex"]).to_csv(d / "bad.csv", index=False)
    paths["bad"] = d / "bad.csv"
    (d / "lenient.yaml").write_text("version: 1\nchecks:\n  column_shapes: {min: 0.5}\n"
                                    "  dp_epsilon: {max: 10}\n")
    paths["lenient"] = d / "lenient.yaml"
    (d / "typo.yaml").write_text("version: 1\nchecks:\n  colum_shapes: {min: 0.5}\n")
    paths["typo"] = d / "typo.yaml"
    model = d / "m.tsmodel"
    with zipfile.ZipFile(model, "w") as zf:
        zf.writestr("manifest.json", json.dumps({"format": "tabsynth-model", "ledger": {
            "budget": {"epsilon": 3.0, "delta": 1e-6}, "spent": {"epsilon": 2.5, "delta": 1e-6},
            "entries": [{"mechanism": "dpsgd", "epsilon": 2.5}]}}))
        zf.writestr("weights.safetensors", b"\0" * 16)
    paths["model"] = model
    (d / "notzip.tsmodel").write_bytes(b"not a zip")
    paths["notzip"] = d / "notzip.tsmodel"
    return paths


def test_pass_exit_0_with_model_ledger(invoke, files, tmp_path) -> None:
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    res = invoke("evaluate", files["train"], files["syn"], "--holdout", files["holdout"],
                 "--target", "income", "--model", files["model"], "--policy", files["lenient"],
                 "-o", html, "--json", js, "--seed", 1, "--no-progress")
    assert res.exit_code == 0, res.output
    assert "Verdict: PASS" in res.output and str(html) in res.output
    d = json.loads(js.read_text())
    assert d["privacy"]["epsilon"] == 2.5 and d["parameters"]["random_state"] == 1
    assert {c["name"]: c["status"] for c in d["checks"]}["dp_epsilon"] == "PASS"
    assert "(ε=2.500, δ=1e-06)-differential privacy" in html.read_text()


def test_failing_policy_exit_1(invoke, files, tmp_path) -> None:
    html = tmp_path / "r.html"
    res = invoke("evaluate", files["train"], files["syn"], "-o", html, "--no-progress")
    assert res.exit_code == 1, res.output
    assert "Verdict: FAIL" in res.output and "\n  FAIL " in "\n" + res.output
    assert html.is_file()  # the report is written even when the policy fails


@pytest.mark.parametrize("extra", [["--policy", "typo"], ["--seed", "x"], []])
def test_usage_errors_exit_2(invoke, files, tmp_path, extra) -> None:
    args = [a if a != "typo" else files["typo"] for a in extra]
    synth = [files["syn"]] if extra else []  # [] -> missing SYNTH argument
    res = invoke("evaluate", files["train"], *synth, *args, "-o", tmp_path / "r.html",
                 "--no-progress")
    assert res.exit_code == 2, res.output
    assert list(tmp_path.iterdir()) == []
    if extra and extra[0] == "--policy":
        assert "valid checks" in res.output


def test_bad_data_exit_3_and_no_partial_files(invoke, files, tmp_path) -> None:
    res = invoke("evaluate", files["train"], files["bad"], "-o", tmp_path / "r.html",
                 "--json", tmp_path / "r.json", "--no-progress")
    assert res.exit_code == 3, res.output
    assert "lacks column(s) ['sex']" in res.output
    assert list(tmp_path.iterdir()) == []


def test_target_problem_exit_3(invoke, files, tmp_path) -> None:
    res = invoke("evaluate", files["train"], files["syn"], "--target", "nope", "-o",
                 tmp_path / "r.html", "--no-progress")
    assert res.exit_code == 3 and "'nope'" in res.output


def test_not_a_model_file_exit_1(invoke, files, tmp_path) -> None:
    res = invoke("evaluate", files["train"], files["syn"], "--model", files["notzip"], "-o",
                 tmp_path / "r.html", "--no-progress")
    assert res.exit_code == 1 and "not a tabsynth model file" in res.output
    assert list(tmp_path.iterdir()) == []
