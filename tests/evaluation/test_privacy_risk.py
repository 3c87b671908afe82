"""privacy_risk_metrics: copies are flagged, independent draws look like the holdout."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from privacy_tables import KINDS, people_tables

from tabsynth.evaluation import EvaluationDataError
from tabsynth.evaluation.privacy_risk import METRIC_NAMES, privacy_risk_metrics

NAMES = list(METRIC_NAMES)


@pytest.fixture(scope="module")
def people():
    return people_tables()


def run(train, syn, holdout, **kw):
    kw.setdefault("target", "label")
    kw.setdefault("random_state", 0)
    return {m.name: m for m in privacy_risk_metrics(train, syn, holdout, kinds=KINDS, **kw)}


@pytest.fixture(scope="module")
def copied(people):
    train, holdout, _ = people
    return run(train, train.sample(frac=1.0, random_state=0), holdout)


@pytest.fixture(scope="module")
def independent(people):
    train, holdout, syn = people
    return run(train, syn, holdout)


def test_every_figure_is_reported_once_in_order(independent):
    assert list(independent) == NAMES
    for m in independent.values():
        assert m.group == "privacy" and m.ran, m.name
        assert m.title and m.description and "\n" not in m.description
        json.dumps(m.to_dict())  # plain JSON only
    assert independent["membership_inference_auc"].higher_is_better is False
    assert independent["dcr_median"].higher_is_better is True


def test_copies_are_flagged(copied):
    assert copied["exact_copy_rate"].value == 1.0
    assert copied["dcr_closer_to_train_share"].value > 0.95  # train and holdout same size here
    assert copied["dcr_median"].value == 0.0
    assert copied["nndr_median"].value == 0.0
    auc = copied["membership_inference_auc"]
    assert auc.value > 0.9 and auc.ci[0] > 0.85
    for name in ("singling_out_risk", "linkability_risk", "attribute_inference_risk"):
        assert copied[name].value > 0.3, name


def test_independent_draws_look_like_holdout(independent):
    assert independent["exact_copy_rate"].value == 0.0
    share = independent["dcr_closer_to_train_share"]
    assert abs(share.value - 0.5) < 0.07 and share.ci[0] < 0.5 < share.ci[1] + 0.02
    auc = independent["membership_inference_auc"]
    assert abs(auc.value - 0.5) < 0.07
    ref = independent["dcr_median"].details["holdout_to_train_median"]
    assert independent["dcr_median"].value == pytest.approx(ref, rel=0.35)
    for name in ("singling_out_risk", "linkability_risk"):
        assert independent[name].value < 0.1, name
    # the label is easy to infer from the other columns (success ≈ 0.8 on both tables), and
    # dividing by 1 - control_rate magnifies the noise: judge by the interval, not the point
    inference = independent["attribute_inference_risk"]
    assert inference.ci[0] < 0.05 and inference.value < 0.3


def test_without_holdout_comparisons_are_not_run(people):
    train, _, syn = people
    res = run(train, syn, None)
    for name in (
        "exact_copy_rate_holdout",
        "dcr_closer_to_train_share",
        "membership_inference_auc",
    ):
        assert not res[name].ran and "holdout" in res[name].reason
        assert res[name].to_dict()["value"] is None
    assert res["dcr_median"].ran and res["dcr_median"].details["holdout_to_train_median"] is None
    assert res["singling_out_risk"].ran and "control" in res["singling_out_risk"].details


def test_subsampling_is_seeded_and_recorded(people):
    train, holdout, syn = people
    a = run(train, syn, holdout, max_rows=200, random_state=3)
    b = run(train, syn, holdout, max_rows=200, random_state=3)
    assert a["dcr_median"].details["subsampled"]["train"] == {"from": 600, "to": 200}
    assert [m.to_dict() for m in a.values()] == [m.to_dict() for m in b.values()]


def test_secret_defaults_to_last_categorical(people):
    train, holdout, syn = people
    res = run(train, syn, holdout, target=None)
    assert res["attribute_inference_risk"].details["secret"] == "label"
    only_num = {"age": "numerical", "score": "numerical"}
    out = {
        m.name: m
        for m in privacy_risk_metrics(
            train, syn, holdout, kinds=only_num, target=None, random_state=0
        )
    }
    assert not out["attribute_inference_risk"].ran and out["attribute_inference_risk"].reason


def test_bad_input_is_reported_at_once(people):
    train, holdout, syn = people
    with pytest.raises(EvaluationDataError, match="lacks columns.*target"):
        privacy_risk_metrics(
            train, syn.drop(columns="age"), holdout, kinds=KINDS, target="nope", random_state=0
        )
    with pytest.raises(EvaluationDataError, match="empty"):
        privacy_risk_metrics(train, syn.iloc[:0], holdout, kinds=KINDS, target=None, random_state=0)


def test_progress_messages_and_caller_frames_untouched(people):
    train, holdout, syn = people
    before = syn.copy()
    msgs: list[str] = []
    privacy_risk_metrics(
        train, syn, holdout, kinds=KINDS, target=None, random_state=0, progress=msgs.append
    )
    assert msgs and all(m.startswith("privacy:") for m in msgs)
    pd.testing.assert_frame_equal(syn, before)


def test_missing_values_and_datetimes(people):
    train, holdout, syn = (df.copy() for df in people)
    for df in (train, holdout, syn):
        df.loc[df.index[::7], "city"] = None
        df.loc[df.index[::5], "age"] = math.nan
        df["when"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(df["score"] * 10, unit="D")
    kinds = {**KINDS, "when": "datetime"}
    res = {
        m.name: m
        for m in privacy_risk_metrics(train, syn, holdout, kinds=kinds, target=None, random_state=0)
    }
    assert all(m.ran for m in res.values())
    assert res["exact_copy_rate"].value == 0.0
