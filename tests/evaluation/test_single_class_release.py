"""A release whose target holds a single class has no utility for that target: a model
trained on it predicts that class for every row. Before, TSTR was NOT RUN ("the training
table has a single class of the target", which read as the real table) and the verdict did
not fail; now it is scored as that constant model (ROC AUC 0.5, F1 0 when the class is not
the rarest) and the ratio check FAILs under the default policy."""

from __future__ import annotations

import pytest
from eval_tables import adult_split

from tabsynth.evaluation import evaluate


@pytest.fixture(scope="module")
def tables():
    return adult_split(800, 400)


def test_a_single_class_release_scores_as_a_constant_model(tables):
    train, holdout, syn = tables
    rep = evaluate(train, syn.assign(income="<=50K"), holdout=holdout, target="income",
                   progress=False, random_state=0)
    auc, ratio, f1 = (rep.metric(n) for n in ("tstr_roc_auc", "tstr_auc_ratio", "tstr_f1"))
    assert auc.value == pytest.approx(0.5) and f1.value == 0.0
    trtr = rep.metric("trtr_roc_auc").value
    assert ratio.value == pytest.approx(0.5 / trtr)
    assert "single class" in ratio.details["note"] and "'<=50K'" in ratio.details["note"]
    check = next(c for c in rep.checks if c["name"] == "tstr_auc_ratio")
    assert check["status"] == "FAIL" and not rep.passed


def test_a_release_of_only_the_rare_class(tables):
    train, holdout, syn = tables
    rep = evaluate(train, syn.assign(income=">50K"), holdout=holdout, target="income",
                   progress=False, random_state=0)
    assert rep.metric("tstr_roc_auc").value == pytest.approx(0.5)
    pos = (holdout["income"] == ">50K").mean()  # every row predicted rare: F1 = 2p / (1 + p)
    assert rep.metric("tstr_f1").value == pytest.approx(2 * pos / (1 + pos))
    assert rep.metric("tstr_pr_auc").value == pytest.approx(pos)


def test_a_scenario_that_fixes_the_target_is_not_scored_for_utility(tables):
    """A release generated for a scenario on the target itself (``--condition income=>50K``)
    holds one class by design: utility is NOT RUN with that reason (it is training data to
    add to the real rows, scored as the augmented table), not a constant-model FAIL."""
    train, holdout, syn = tables
    rep = evaluate(train, syn.assign(income=">50K"), holdout=holdout, target="income",
                   conditions={"income": ">50K"}, progress=False, random_state=0)
    ratio = rep.metric("tstr_auc_ratio")
    assert not ratio.ran and "scenario" in ratio.reason and "income" in ratio.reason
    check = next(c for c in rep.checks if c["name"] == "tstr_auc_ratio")
    assert check["status"] == "NOT RUN"
