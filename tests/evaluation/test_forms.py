"""Report forms (internal / release), the DP flag of a release, audits, ID columns."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from eval_tables import adult_split

from tabsynth.evaluation import EvaluationParameterError, Report, evaluate
from tabsynth.evaluation._ledger import summarize_ledger

N_TRAIN, N_HOLD = 787, 313  # distinctive sizes, searched for in the release form
FAST = {"random_state": 0, "progress": False}
LEDGER = {"spent": {"epsilon": 1.0, "delta": 1e-6}, "entries": [{"mechanism": "dpsgd"}]}
AUDIT = {"method": "one-run", "epsilon_lower": 0.42, "confidence": 0.95, "claimed_epsilon": 1.0,
         "delta": 1e-6, "n_canaries": 1000, "n_guesses": 200, "n_correct": 131,
         "positive_control_epsilon_lower": 4.2, "passed": True}


@pytest.fixture(scope="module")
def tables():
    train, holdout, syn = adult_split(N_TRAIN, N_HOLD)
    return train, holdout, syn.iloc[:600].reset_index(drop=True)


@pytest.fixture(scope="module")
def report(tables) -> Report:
    train, holdout, syn = tables
    return evaluate(train, syn, holdout=holdout, target="income", ledger=LEDGER, audit=AUDIT,
                    **FAST)


def _counts_in(text: str, n: int) -> bool:
    """``n`` as a whole number (``1,200`` or ``1200``), not inside a word such as a sha256
    digest or the base64 of a plot."""
    return re.search(rf"(?<![\w.,]){n:,}(?![\w.])|(?<![\w.]){n}(?![\w.])",
                     text) is not None


def test_internal_form_is_marked_internal(report) -> None:
    d = report.to_dict()
    assert d["form"] == "internal" and d["notice"].startswith("INTERNAL")
    assert d["datasets"]["real"]["rows"] == N_TRAIN
    html = report.to_html()
    assert "INTERNAL: this report holds the sha256" in html
    assert "INTERNAL" in report._repr_html_()


def test_release_form_has_no_real_hash_or_row_count(report, tmp_path) -> None:
    internal = report.to_dict()
    path = tmp_path / "release.json"
    report.save(json=path, html=tmp_path / "release.html", form="release")
    text = path.read_text()
    html = (tmp_path / "release.html").read_text()
    d = json.loads(text)
    assert d["form"] == "release" and d["notice"].startswith("RELEASE FORM")
    for role in ("real", "holdout"):
        digest = internal["datasets"][role]["sha256"]
        assert digest not in text and digest not in html
    assert d["datasets"]["real"] == {"given": True, "columns": 8}
    for n in (N_TRAIN, N_HOLD):
        assert not _counts_in(text, n), n
        assert not _counts_in(html, n), n
    assert "RELEASE FORM" in html and "data:image/png" in html  # the heatmap stays
    assert html.count("data:image/png") == 1  # marginal plots (real axes) are left out
    # figures and verdict are unchanged
    assert d["verdict"] == internal["verdict"]
    assert [m["value"] for m in d["metrics"]] == [m["value"] for m in internal["metrics"]]
    assert report.to_dict() == internal  # the report itself is not redacted
    back = Report.from_json(path)
    assert back.form == "release" and back.to_dict(form="internal")["form"] == "release"


def test_bad_form_is_a_parameter_error(report) -> None:
    with pytest.raises(EvaluationParameterError, match="'form' parameter of Report.to_dict"):
        report.to_dict(form="public")
    with pytest.raises(EvaluationParameterError, match="'max_rows' parameter of evaluate"):
        evaluate(None, None, max_rows=5)


def test_audit_line_and_metric(report) -> None:
    m = report.metric("audit_epsilon_lower")
    assert m.value == pytest.approx(0.42)
    line = ("empirical lower bound ε ≥ 0.42 at confidence 0.95 (one-run, 1,000 canaries, "
            "200 guesses, 131 correct)")
    assert m.details["summary"].startswith(line)
    assert line in report.to_html() and report.to_dict()["audit"]["n_canaries"] == 1000
    assert {c["name"]: c for c in report.checks}["dp_epsilon"]["status"] == "PASS"


@pytest.mark.parametrize("bad,msg", [
    ({"method": "guess"}, "'method' must be one of ['one-run', 'multi-run']"),
    ({"epsilon_lower": -1}, "'epsilon_lower' must be a float >= 0"),
    ({"confidence": 1.0}, "'confidence' must be a float in (0, 1)"),
    ({"n_correct": 500}, "'n_correct' (500) exceeds 'n_guesses' (200)"),
    ({"passed": "yes"}, "'passed' must be true or false"),
    ({"extra": 1}, "unknown key(s) ['extra']"),
])
def test_audit_validation(tables, bad, msg) -> None:
    train, _, syn = tables
    with pytest.raises(EvaluationParameterError, match=re.escape(msg)):
        evaluate(train, syn, audit={**AUDIT, **bad}, **FAST)
    with pytest.raises(EvaluationParameterError, match=re.escape("missing key(s) ['passed']")):
        evaluate(train, syn, audit={k: v for k, v in AUDIT.items() if k != "passed"}, **FAST)


def test_audit_above_claim_fails_dp(tables) -> None:
    train, _, syn = tables
    rep = evaluate(train, syn, ledger=LEDGER, audit={**AUDIT, "epsilon_lower": 1.7,
                                                     "passed": False}, **FAST)
    check = {c["name"]: c for c in rep.checks}["dp_epsilon"]
    assert check["status"] == "FAIL" and "privacy audit failed" in check["reason"]
    assert not rep.passed


OVERSAMPLER_KEEP_REAL = {  # the shape of Oversampler.privacy_report_ with keep_real=True
    "dp": True, "composition": "single model", "epsilon": 1.0, "delta": 1e-6,
    "non_private": [], "real_rows_in_output": True,
    "note": "The synthetic rows are post-processing of the DP model(s) (no extra epsilon)."}


@pytest.mark.parametrize("privacy,reason", [
    (OVERSAMPLER_KEEP_REAL, "keep_real=True"),
    ({"dp": False, "reason": "SMOTE read the real rows", "epsilon": 1.0}, "SMOTE read"),
    ({"ledgers": [LEDGER], "privacy": {**OVERSAMPLER_KEEP_REAL}}, "keep_real=True"),
    ({**LEDGER, "dp": False, "dp_reason": "filter_synthetic"}, "filter_synthetic"),
])
def test_release_flagged_not_dp_cannot_pass(tables, privacy, reason) -> None:
    train, _, syn = tables
    summary = summarize_ledger(privacy)
    assert summary["dp"] is False and reason in summary["dp_reason"]
    assert summary["epsilon"] == 1.0
    rep = evaluate(train, syn, ledger=privacy, **FAST)
    check = {c["name"]: c for c in rep.checks}["dp_epsilon"]
    assert check["status"] == "FAIL" and reason in check["reason"]
    html = rep.to_html()
    assert "Not a differentially private release" in html


def test_dp_flag_true_and_absent() -> None:
    assert summarize_ledger(LEDGER)["dp"] is None
    ok = summarize_ledger({"dp": True, "epsilon": 1.0, "real_rows_in_output": False})
    assert ok["dp"] is True and ok["dp_reason"] is None


def test_id_column_dropped_by_metadata(tables) -> None:
    train, holdout, syn = tables
    train = train.assign(PatientRef=[f"P{i}" for i in range(len(train))])
    holdout = holdout.assign(PatientRef=[f"H{i}" for i in range(len(holdout))])
    meta = {"columns": {**{c: {"sdtype": "categorical"} for c in syn.columns},
                        "age": {"sdtype": "numerical"}, "PatientRef": {"sdtype": "id"}}}
    rep = evaluate(train, syn, holdout=holdout, metadata=meta, target="income", **FAST)
    assert "PatientRef" in rep.parameters["columns_excluded"]
    assert any("Column 'PatientRef'" in w and "id/key" in w for w in rep.warnings)
    # a column the metadata does not list is dropped too (the generator never saw it)
    meta2 = {"columns": {c: v for c, v in meta["columns"].items() if c != "PatientRef"}}
    rep2 = evaluate(train, syn, metadata=meta2, **FAST)
    assert any("does not list it" in w for w in rep2.warnings)


def test_id_column_without_metadata(tables) -> None:
    from tabsynth.evaluation import EvaluationDataError

    train, _, syn = tables
    rep = evaluate(train.assign(customer_id=np.arange(len(train))), syn, **FAST)
    assert any("reads as a key" in w for w in rep.warnings)
    with pytest.raises(EvaluationDataError, match="mark them sdtype 'id'"):
        evaluate(train.assign(score=np.arange(len(train)) % 7), syn, **FAST)
