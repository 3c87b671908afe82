"""Page one of the HTML report, the fairness section, and escaping by the templates."""

from __future__ import annotations

import dataclasses
import re

import pytest
from eval_tables import adult_split

from tabsynth.evaluation import evaluate
from tabsynth.evaluation._page_one import deciding_checks, privacy_sentence

LEDGER = {"budget": {"epsilon": 1.0, "delta": 1e-6}, "spent": {"epsilon": 0.98, "delta": 1e-6},
          "unit": "row", "declared_public": {"sex": ["Female", "Male"], "income": "codebook"}}
FAIRNESS = {
    "protected": ["sex", "race"], "target": "income", "positive": ">50K",
    "groups": [
        {"group": {"sex": "Female", "race": "White"}, "label": "Female × White",
         "real_share": 0.10, "release_share": 0.12},
        {"group": {"sex": "<i>Male</i>", "race": "Other"}, "real_share": 0.05,
         "release_share": 0.04},
    ],
    "downstream": {"models": {
        "real": {"accuracy": 0.84, "roc_auc": 0.90, "demographic_parity_difference": 0.18,
                 "equalized_odds_gap": 0.09},
        "release": {"accuracy": 0.81, "roc_auc": 0.86, "demographic_parity_difference": 0.07,
                    "equalized_odds_gap": 0.05}}},
    "notes": ["Shares are of all rows <script>"],
}


@pytest.fixture(scope="module")
def report():
    train, holdout, syn = adult_split(800, 300)
    return evaluate(train, syn, holdout=holdout, target="income", random_state=0,
                    progress=False, ledger=LEDGER,
                    generator={"model": "TVAE", "route": "dpsgd"})


def _page_one(html: str) -> str:
    return html[html.index("<section class='page-one'>"):html.index("</section>")]


def test_page_one_answers_the_first_questions(report) -> None:
    html = report.to_html()
    one = _page_one(html)
    assert html.index("<section class='page-one'>") < html.index("<h2>Summary of checks")
    syn_rows = report.datasets["synthetic"]["rows"]
    assert f"{syn_rows:,} rows × 8 columns" in one
    assert "model: TVAE, route: dpsgd" in one
    assert ("(ε = 0.980, δ = 1e-06)-differential privacy per row (spent), with declared "
            "public (no budget spent on it): sex, income.") in one
    how, deciders = deciding_checks(report.checks)
    assert len(deciders) == 3
    for c in deciders:
        assert c["name"] in one
    if not report.passed:
        assert all(c["status"] == "FAIL" for c in deciders) and "failing checks" in how
    # the rare class: its label, the figure, and the plot drawn beside it
    assert "Rare class (income = &gt;50K)" in one
    assert one.count("data:image/png;base64,") == 1


def test_deciders_are_failures_first_else_tightest_margins() -> None:
    def chk(name, status, value, lo=None, hi=None):
        return {"name": name, "status": status, "value": value, "rule": {"min": lo, "max": hi}}

    failing = [chk("a", "FAIL", 0.5, lo=0.8), chk("b", "PASS", 0.81, lo=0.8),
               chk("c", "FAIL", 0.11, hi=0.1), chk("d", "NOT RUN", None, lo=1)]
    how, picked = deciding_checks(failing)
    assert [c["name"] for c in picked] == ["a", "c"] and "failing" in how
    passing = [chk("a", "PASS", 0.95, lo=0.8), chk("b", "PASS", 0.81, lo=0.8),
               chk("c", "PASS", 0.05, hi=0.1), chk("e", "PASS", 0.7, hi=0.75),
               chk("d", "NOT RUN", None, lo=1)]
    how, picked = deciding_checks(passing)
    assert [c["name"] for c in picked] == ["b", "e", "a"] and "closest" in how


@pytest.mark.parametrize("privacy, veto, words, holds", [
    (None, None, "No DP guarantee: no privacy ledger", False),
    ({"dp": False, "dp_reason": "keep_real=True"}, None, "No DP guarantee for this release: "
     "keep_real=True.", False),
    ({"epsilon": None}, None, "No DP guarantee: the ledger records no ε", False),
    ({"epsilon": 2.0, "delta": 1e-5, "source": "budget", "unit": "person"}, None,
     "(ε = 2.000, δ = 1e-05)-differential privacy per person (budgeted, an upper bound), with "
     "nothing declared public.", True),
    ({"epsilon": 1.0, "delta": 0, "source": "spent"}, "the audit's lower bound 3 exceeds it",
     "the claim is contradicted: the audit's lower bound 3 exceeds it.", False),
])
def test_privacy_in_one_sentence(privacy, veto, words, holds) -> None:
    text, ok = privacy_sentence(privacy, veto)
    assert words in text and ok is holds
    assert text.count(". ") == 0  # one sentence


def test_fairness_section_renders_and_escapes(report) -> None:
    assert "Fairness:" not in report.to_html()  # no section without the field
    rep = dataclasses.replace(report)
    rep.fairness = FAIRNESS  # the field another module fills; set by hand here
    html = rep.to_html()
    sec = html[html.index("<h2>Fairness"):html.index("<h2>Datasets")]
    assert "Protected attributes: sex, race; outcome income (positive class &gt;50K)" in sec
    assert "Female × White" in sec and "+0.020" in sec
    assert "sex=&lt;i&gt;Male&lt;/i&gt; × race=Other" in sec and "-0.010" in sec
    assert "<i>Male" not in html and "<script>" not in html
    assert re.search(r"demographic parity difference</td><td class='num'>0.180</td>"
                     r"<td class='num'>0.070", sec)
    assert "Shares are of all rows &lt;script&gt;" in sec
    assert "Fairness:" in rep._repr_html_()


def test_release_form_page_one_has_no_real_counts_or_real_plot(report) -> None:
    html = report.to_html(form="release")
    one = _page_one(html)
    assert "data:image/png" not in one
    assert "leaves out the rare-class plot" in one
    # the class's real share (a real count in disguise) is redacted; the internal form has it
    assert "share of the real table" not in one
    assert "share of the real table" in _page_one(report.to_html())
    assert "RELEASE FORM" in one


def test_declarations_recorded_as_public_ledger_entries_reach_page_one() -> None:
    """A tabsynth ledger records each declared domain / bound as an entry with public=True (no
    'declared_public' key): the summary lists them, so page one does not say 'nothing declared
    public' for a model that declared its codebook."""
    from tabsynth.evaluation.report import summarize_ledger

    ledger = {"budget": {"epsilon": 1.0, "delta": 1e-5}, "accountant": "prv", "entries": [
        {"mechanism": "public", "target": "column 'Month' domain", "public": True},
        {"mechanism": "gaussian_histogram", "target": "column 'Make' categories",
         "public": False, "noise_multiplier": 40.0},
        {"mechanism": "public", "target": "column 'WeekOfMonth' bounds", "public": True}]}
    summary = summarize_ledger(ledger)
    assert summary["declared_public"] == ["column 'Month' domain", "column 'WeekOfMonth' bounds"]
    text, ok = privacy_sentence(summary, None)
    assert ok and "nothing declared public" not in text and "'Month' domain" in text
    assert summarize_ledger({**ledger, "entries": ledger["entries"][1:2]})[
        "declared_public"] is None
