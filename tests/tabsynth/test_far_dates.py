"""Dates beyond 2262 (the end of nanosecond timestamps): the open-ended 9999-12-31 of a
``valid_to`` column, common in warehouse tables, as pandas' default microsecond datetimes
hold it. Before, every fit stopped with pandas' bare OutOfBoundsDatetime ("Out of bounds
nanosecond timestamp: 9999-12-31"), DP or not; the evaluator did the same. Now the column is
modelled in microseconds: the sentinel comes back as a point mass, and the rest as before."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from tabsynth import CTGAN, ARSynthesizer
from tabsynth.evaluation import evaluate

OPEN = pd.Timestamp("9999-12-31")


def _table(n: int = 900, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), "D")
    open_ended = rng.random(n) < 0.4
    valid_to = (start + pd.to_timedelta(rng.integers(1, 400, n), "D")).astype("datetime64[us]")
    valid_to = valid_to.where(~open_ended, OPEN)
    return pd.DataFrame({"valid_from": start.astype("datetime64[us]"), "valid_to": valid_to,
                         "open": np.where(open_ended, "yes", "no")})


def test_a_fit_models_the_sentinel_and_the_dates():
    df = _table()
    assert str(df["valid_to"].dtype) == "datetime64[us]" and df["valid_to"].max() == OPEN
    model = ARSynthesizer(epochs=30, random_state=0, verbose=False).fit(df)
    s = model.sample(1_000, random_state=0)
    assert str(s["valid_to"].dtype) == "datetime64[us]"
    sentinel = s["valid_to"] == OPEN
    assert sentinel.mean() == pytest.approx(0.4, abs=0.06)
    assert (s.loc[~sentinel, "valid_to"] < pd.Timestamp("2024-01-01")).all()
    assert (s.loc[sentinel, "open"] == "yes").mean() > 0.9  # the dependence is learned


def test_dp_and_ctgan_fits_run():
    df = _table(600)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dp = ARSynthesizer(epochs=1, epsilon=1.0, verbose=False).fit(df)
    s = dp.sample(200, random_state=0)
    assert str(s["valid_to"].dtype) == "datetime64[us]" and s["valid_to"].notna().all()
    s = CTGAN(epochs=1, batch_size=100, random_state=0).fit(df).sample(100, random_state=0)
    assert s["valid_to"].notna().all() and s["valid_to"].max() <= OPEN


def test_evaluate_scores_far_dates():
    rep = evaluate(_table(600, 0), _table(600, 1), progress=False, random_state=0,
                   policy={"checks": {"column_shapes": {"min": 0}}})
    cols = {c["column"]: c for c in rep.metric("column_shapes").details["columns"]}
    assert cols["valid_to"]["kind"] == "datetime" and cols["valid_to"]["score"] > 0.9
