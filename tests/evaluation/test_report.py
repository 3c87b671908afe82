"""evaluate -> Report -> JSON / HTML: schema, round trip, determinism, no real records."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from eval_tables import adult_split

import tabsynth.evaluation as ev
from tabsynth.evaluation import MetricResult, Report, evaluate

LEDGER = {
    "budget": {"epsilon": 1.0, "delta": 1e-6},
    "spent": {"epsilon": 0.98, "delta": 1e-6},
    "accountant": "prv",
    "entries": [
        {"mechanism": "gaussian_histogram", "description": "category frequencies of <b>workclass",
         "epsilon": 0.1, "delta": 1e-7},
        {"mechanism": "dpsgd", "epsilon": 0.88, "noise_multiplier": 1.1},
        "an odd entry",
    ],
    "declared_public": {"age": [17, 90]},
}


@pytest.fixture(scope="module")
def tables():
    train, holdout, syn = adult_split(800, 300)
    # a canary column: one unique label per real row; it must never reach the report
    train = train.assign(name=[f"CANARY{i:05d}" for i in range(len(train))])
    syn = syn.assign(name=train["name"].sample(len(syn), replace=True, random_state=1).to_numpy())
    holdout = holdout.assign(name=[f"HOLD{i:05d}" for i in range(len(holdout))])
    return train, holdout, syn


@pytest.fixture(scope="module")
def report(tables) -> Report:
    train, holdout, syn = tables
    return evaluate(train, syn, holdout=holdout, target="income", ledger=LEDGER,
                    random_state=0, progress=False, max_rows=5000)


def test_public_api() -> None:
    assert set(ev.__all__) == {"evaluate", "Report", "Policy", "load_policy", "MetricResult",
                               "errors", "EvaluationError", "EvaluationDataError",
                               "EvaluationWarning", "PolicyError", "EvaluationParameterError",
                               "EvaluationOutputError"}
    assert ev.errors.EvaluationDataError is ev.EvaluationDataError


def test_report_on_independent_marginals_release(report) -> None:
    # made without any tabsynth model: shapes near perfect, pair trends weaker, detection high
    assert report.metric("column_shapes").value > 0.9
    assert report.metric("detection_auc").value > 0.6
    assert report.metric("dp_epsilon").value == pytest.approx(0.98)
    names = {c["name"]: c for c in report.checks}
    assert names["column_shapes"]["status"] == "PASS"
    assert report.passed is report.verdict.startswith("PASS")
    assert all(m.group in ("fidelity", "utility", "privacy") for m in report.metrics)


def test_to_frame_is_tidy(report) -> None:
    df = report.to_frame()
    assert list(df.columns) == ["group", "name", "title", "value", "ci_low", "ci_high",
                                "threshold", "status"]
    row = df.set_index("name").loc["detection_auc"]
    assert row["threshold"] == "≤ 0.9" and row["ci_low"] <= row["value"] <= row["ci_high"]


def test_json_schema_and_round_trip(report, tmp_path) -> None:
    path = tmp_path / "r.json"
    report.to_json(path)
    d = json.loads(path.read_text())
    assert d["schema"] == "tabsynth-evaluation-report" and d["schema_version"] == 1
    for key in ("verdict", "checks", "metrics", "datasets", "privacy", "parameters",
                "environment", "created", "warnings", "signoff"):
        assert key in d
    assert d["signoff"] == {"name": None, "role": None, "date": None, "decision": None}
    assert set(d["datasets"]) == {"real", "synthetic", "holdout"}
    assert len(d["datasets"]["real"]["sha256"]) == 64
    assert {"tabsynth", "numpy", "pandas", "sklearn", "scipy", "python"} <= set(d["environment"])
    assert d["parameters"]["target"] == "income" and d["parameters"]["random_state"] == 0
    assert d["privacy"]["epsilon"] == 0.98 and len(d["privacy"]["mechanisms"]) == 3
    back = Report.from_json(path)
    assert back.to_dict() == report.to_dict()
    assert all(isinstance(m, MetricResult) for m in back.metrics)
    assert "<html" in back.to_html()  # renders without plots


def test_deterministic_for_fixed_seed(tables, report) -> None:
    train, holdout, syn = tables
    again = evaluate(train, syn, holdout=holdout, target="income", ledger=LEDGER,
                     random_state=0, progress=False, max_rows=5000)
    a, b = report.to_dict(), again.to_dict()
    a.pop("created"), b.pop("created")
    assert json.dumps(a) == json.dumps(b)


def test_no_real_records_in_outputs(report, tables) -> None:
    train = tables[0]
    html, js = report.to_html(), report.to_json()
    for text in (html, js):
        assert "CANARY" not in text and "HOLD0" not in text
    assert "<b>workclass" not in html and "&lt;b&gt;workclass" in html  # escaped
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert str(train["age"].max()) not in report.plots["marginals"]  # plots are images only


def test_html_sections_in_order(report) -> None:
    html = report.to_html()
    order = ["class='banner", "<h2>Summary of checks", "<h2>Fidelity", "<h2>Utility",
             "<h2>Privacy risk", "<h2>Differential privacy", "<h2>Datasets", "<h2>Environment",
             "<h2>Sign-off"]
    pos = [html.index(s) for s in order]
    assert pos == sorted(pos)
    assert "(ε=0.980, δ=1e-06)-differential privacy" in html
    assert html.count("data:image/png;base64,") >= 9
    assert "<div" in report._repr_html_()


def test_no_ledger_says_so(tables) -> None:
    train, _, syn = tables
    rep = evaluate(train.iloc[:200], syn.iloc[:200], random_state=0, progress=False,
                   policy={"checks": {"dp_epsilon": {"max": 10}}})
    assert rep.checks[0]["status"] == "NOT RUN"
    assert "No DP guarantee was supplied" in rep.to_html()
    assert rep.verdict == "PASS (1 check not run)"


def test_atomic_writes_leave_nothing_on_error(report, tmp_path, monkeypatch) -> None:
    import tabsynth.evaluation.html as html_mod

    def boom(*a, **k):
        raise RuntimeError("render failed")

    monkeypatch.setattr(html_mod, "render", boom)
    with pytest.raises(RuntimeError):
        report.to_html(tmp_path / "r.html")
    assert list(tmp_path.iterdir()) == []
    # a NaN that is not JSON fails before anything is written, too
    bad = Report(**{**report.__dict__, "parameters": {"x": object()}})
    bad.to_json(tmp_path / "ok.json")  # objects become strings, never a crash
    assert [p.name for p in tmp_path.iterdir()] == ["ok.json"]


def test_subsampling_is_recorded(tables) -> None:
    train, _, syn = tables
    rep = evaluate(train, syn, random_state=0, progress=False, max_rows=300,
                   policy={"checks": {"column_shapes": {"min": 0}}})
    assert any("subsampled uniformly to 300" in s for s in rep.parameters["subsampling"])
    assert rep.datasets["real"]["rows"] == len(train)


def test_metadata_excludes_id_columns(tables) -> None:
    train, _, syn = tables
    meta = {"columns": {c: {"sdtype": "categorical"} for c in train.columns}}
    meta["columns"]["name"] = {"sdtype": "id"}
    meta["columns"]["age"] = {"sdtype": "numerical"}
    rep = evaluate(train.iloc[:300], syn.iloc[:300], metadata=meta, random_state=0,
                   progress=False, policy={"checks": {"column_shapes": {"min": 0}}})
    assert rep.parameters["columns_excluded"] == ["name"]
    assert "name" not in rep.parameters["columns"]


def test_datetime_columns_end_to_end() -> None:
    rng = np.random.default_rng(0)
    n = 300
    real = pd.DataFrame({"when": pd.Timestamp("2020-01-01") + pd.to_timedelta(
        rng.integers(0, 365, n), unit="D"), "x": rng.normal(size=n)})
    syn = real.sample(frac=1.0, random_state=1).reset_index(drop=True)
    syn["when"] = syn["when"].dt.strftime("%Y-%m-%d")  # as read from a CSV
    rep = evaluate(real, syn, metadata={"columns": {"when": {"sdtype": "datetime"},
                                                    "x": {"sdtype": "numerical"}}},
                   random_state=0, progress=False, policy={"checks": {"column_shapes":
                                                                      {"min": 0.99}}})
    assert rep.metric("column_shapes").value == pytest.approx(1.0)
