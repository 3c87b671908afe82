"""Rare regions: numeric tails from the model's statistics, rare categories of any column."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from tabsynth import ConditionError, ParameterError, sample_rare
from tabsynth.sampling.rare import _mixture_quantile, rare_categories, rare_conditions, tail_cutoffs


@pytest.fixture(scope="module")
def model():
    from tabsynth import CTGAN

    rng = np.random.default_rng(0)
    n = 1500
    df = pd.DataFrame({
        "amount": rng.lognormal(3, 0.6, n),
        "job": rng.choice(["clerk", "nurse", "pilot", "diver"], n, p=[0.6, 0.385, 0.01, 0.005]),
        "when": pd.to_datetime("2021-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
        "flag": rng.choice(["y", "n"], n),
    })
    return CTGAN(epochs=2, batch_size=100, verbose=False, random_state=0).fit(df)


@pytest.mark.parametrize("tail", ["upper", "lower"])
def test_numeric_tail_is_beyond_the_stats_quantile(model, tail):
    lo, hi = tail_cutoffs(model, "amount", quantile=0.05)
    qs = model.stats_["amount"].quantiles
    assert lo == pytest.approx(qs[5]) and hi == pytest.approx(qs[95])
    rows = sample_rare(model, 400, column="amount", quantile=0.05, tail=tail, random_state=0)
    assert len(rows) == 400
    beyond = rows["amount"] >= hi if tail == "upper" else rows["amount"] <= lo
    assert beyond.mean() >= 0.9


def test_both_tails_split_evenly(model):
    lo, hi = tail_cutoffs(model, "amount", quantile=0.1)
    rows = model.sample_rare(300, column="amount", quantile=0.1, tail="both", random_state=0)
    assert len(rows) == 300
    assert int((rows["amount"] <= lo).sum()) == 150 and int((rows["amount"] >= hi).sum()) == 150


def test_datetime_tail(model):
    rows = sample_rare(model, 100, column="when", quantile=0.05, tail="lower", random_state=0)
    (cond,) = rare_conditions(model, "when", quantile=0.05, tail="lower")
    assert (pd.to_datetime(rows["when"]) <= cond["when"][1]).all()


def test_mixture_quantile_when_stats_have_no_quantiles(model):
    st = dataclasses.replace(model.stats_["amount"], quantiles=None)
    assert _mixture_quantile(st, 0.5) == pytest.approx(st and model.stats_["amount"].quantiles[50],
                                                       rel=0.25)
    assert _mixture_quantile(st, 0.05) < _mixture_quantile(st, 0.95)


def test_rare_categories_are_exact(model):
    rare = rare_categories(model, "job", rare_threshold=0.02)
    assert set(rare) == {"pilot", "diver"} and list(rare)[0] == "diver"
    rows = sample_rare(model, 301, column="job", rare_threshold=0.02, random_state=0)
    counts = rows["job"].value_counts().to_dict()
    assert set(counts) == {"pilot", "diver"} and sorted(counts.values()) == [150, 151]
    prop = sample_rare(model, 300, column="job", rare_threshold=0.02, weights="frequency",
                       random_state=0)["job"].value_counts()
    assert prop["pilot"] > prop["diver"]


def test_rare_combined_with_conditions(model):
    rows = sample_rare(model, 200, column="job", rare_threshold=0.02,
                       conditions={"flag": "y"}, random_state=1)
    assert rows["job"].isin(["pilot", "diver"]).all() and (rows["flag"] == "y").all()


def test_errors(model):
    with pytest.raises(ConditionError, match="No category of column 'flag'.*rarest"):
        sample_rare(model, 10, column="flag", rare_threshold=0.02)
    with pytest.raises(ConditionError, match="Unknown column 'nope'"):
        sample_rare(model, 10, column="nope")
    with pytest.raises(ParameterError, match="'job' is categorical"):
        sample_rare(model, 10, column="job", quantile=0.05)
    with pytest.raises(ParameterError, match="'amount' is numerical"):
        sample_rare(model, 10, column="amount", rare_threshold=0.05)
    with pytest.raises(ParameterError, match="'quantile' parameter"):
        sample_rare(model, 10, column="amount", quantile=0.7)
    with pytest.raises(ParameterError, match="'tail' parameter"):
        sample_rare(model, 10, column="amount", tail="middle")
    with pytest.raises(ConditionError, match="'flag' == 'nope'|'flag' has no value"):
        sample_rare(model, 10, column="amount", conditions={"flag": "nope"})


def test_unreachable_rare_region_raises(model):
    with pytest.raises(ConditionError, match="'amount'"):
        sample_rare(model, 10, column="amount", quantile=0.05, tail="upper",
                    conditions={"when": (None, "1990-01-01")})
