"""TSTR vs TRTR utility figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from eval_tables import adult_split

from tabsynth.evaluation._schema import infer_kinds
from tabsynth.evaluation.utility import METRIC_NAMES, utility_metrics


@pytest.fixture(scope="module")
def split():
    return adult_split(1200, 500)


def test_not_run_without_holdout_or_target(split) -> None:
    train, holdout, syn = split
    kinds = infer_kinds(train)
    for kw, word in (({"target": None}, "target"), ({"target": "income"}, "holdout")):
        res = utility_metrics(train, syn, None if word == "holdout" else holdout, kinds,
                              random_state=0, **kw)
        assert [m.name for m in res] == list(METRIC_NAMES)
        assert all(not m.ran and word in m.reason for m in res)


def test_classification_minority_metrics(split) -> None:
    train, holdout, syn = split
    res = {m.name: m for m in utility_metrics(train, syn, holdout, infer_kinds(train),
                                              target="income", random_state=0)}
    assert res["trtr_roc_auc"].value > 0.8  # a real model learns income
    # independent marginals carry no signal about the target
    assert res["tstr_roc_auc"].value < 0.7
    assert res["tstr_auc_ratio"].value == pytest.approx(
        res["tstr_roc_auc"].value / res["trtr_roc_auc"].value)
    assert res["tstr_auc_ratio"].details["positive_class"] == ">50K"
    for name in ("tstr_pr_auc", "trtr_pr_auc", "tstr_f1", "trtr_f1"):
        assert 0.0 <= res[name].value <= 1.0
    assert not res["tstr_r2"].ran and "categorical" in res["tstr_r2"].reason
    again = utility_metrics(train, syn, holdout, infer_kinds(train), target="income",
                            random_state=0)
    assert [m.value for m in again][:7] == [res[m.name].value for m in again][:7]


def test_multiclass_and_regression() -> None:
    rng = np.random.default_rng(0)

    def table(n):
        x = rng.normal(size=n)
        c = rng.choice(list("abc"), n)
        return pd.DataFrame({"x": x, "c": c, "y": 2 * x + (c == "a") + rng.normal(0, .1, n),
                             "k": np.where(x > 0.5, "hi", np.where(x < -0.5, "lo", "mid"))})

    train, syn, hold = table(600), table(600), table(300)
    kinds = {"x": "numerical", "c": "categorical", "y": "numerical", "k": "categorical"}
    reg = {m.name: m for m in utility_metrics(train, syn, hold, kinds, target="y",
                                              random_state=0)}
    assert reg["trtr_r2"].value > 0.9 and reg["tstr_r2_ratio"].value > 0.9
    assert reg["tstr_mae"].higher_is_better is False
    assert not reg["tstr_auc_ratio"].ran
    cls = {m.name: m for m in utility_metrics(train, syn, hold, kinds, target="k",
                                              random_state=0)}
    assert cls["tstr_roc_auc"].value > 0.9 and cls["tstr_auc_ratio"].details["n_classes"] == 3
