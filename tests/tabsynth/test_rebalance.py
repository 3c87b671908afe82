"""tabsynth.rebalance without DP: shares reached, real rows kept, bad inputs refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabsynth import ARSynthesizer, Metadata, ParameterError, rebalance
from tabsynth.sampling.augment import fill_unmodelled as align_rows
from tabsynth.sampling.groups import allocate, plan_added, resolve_shares

COLS = ["age", "workclass", "race", "sex", "hours-per-week", "income"]
PARAMS = {"epochs": 2, "hidden_dim": 16, "batch_size": 128, "verbose": False, "device": "cpu"}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    from tabsynth import datasets

    return datasets.load("adult")[COLS].head(1200).reset_index(drop=True)


@pytest.fixture(scope="module")
def model(data):
    return ARSynthesizer(random_state=0, **PARAMS).fit(data)


def _shares(df: pd.DataFrame, cols: list[str]) -> dict:
    return (df.groupby(cols).size() / len(df)).to_dict()


def test_keep_real_reaches_equal_shares_and_keeps_real_rows(data, model) -> None:
    res = rebalance(data, protected=["sex", "race"], model=model, random_state=0, verbose=False)
    table = res.table
    pd.testing.assert_frame_equal(table.iloc[: len(data)].reset_index(drop=True), data)
    assert res.synthetic_mask.sum() == len(table) - len(data) and not res.synthetic_mask[
        : len(data)].any()
    n_groups = data["sex"].nunique() * data["race"].nunique()
    assert len(res.groups) == n_groups == 10
    shares = _shares(table, ["sex", "race"])
    assert len(shares) == n_groups
    for share in shares.values():  # equal within one row of the total
        assert share == pytest.approx(1 / n_groups, abs=1.5 / len(table))
    # the largest group (count / target) sets the size: it gets no synthetic row
    biggest = max(res.groups, key=lambda g: g["real"])
    assert biggest["added"] == 0 and len(table) == pytest.approx(biggest["real"] * n_groups,
                                                                 abs=n_groups)
    for g in res.groups:  # every synthetic row is in the group it was generated for
        rows = table[res.synthetic_mask]
        got = ((rows["sex"] == g["group"]["sex"]) & (rows["race"] == g["group"]["race"])).sum()
        assert got == g["added"]
    assert res.privacy["dp"] is False and "keep_real=True" in res.privacy["reason"]
    assert res.privacy["real_rows_in_output"] is True


def test_same_seed_same_table(data, model) -> None:
    a = rebalance(data, protected="sex", model=model, random_state=3, verbose=False).table
    b = rebalance(data, protected="sex", model=model, random_state=3, verbose=False).table
    pd.testing.assert_frame_equal(a, b)


def test_synthetic_release_has_exact_shares(model) -> None:
    res = rebalance(protected=["sex", "race"], model=model, keep_real=False, n=503,
                    random_state=0, verbose=False)
    assert len(res.table) == 503 and res.synthetic_mask.all()
    counts = res.table.groupby(["sex", "race"]).size()
    assert counts.max() - counts.min() <= 1 and len(counts) == 10  # 503 = 10 x 50 + 3
    assert sorted(counts.tolist()) == [50] * 7 + [51] * 3
    assert res.privacy["dp"] is False
    assert res.privacy["reason"] == "the model is not differentially private"
    assert all(g["real"] is None for g in res.groups)


@pytest.mark.parametrize("shares", [
    {"Female": 0.7, "Male": 0.3},
    {("Female",): 0.7, ("Male",): 0.3},
])
def test_shares_dict_one_column(model, shares) -> None:
    res = rebalance(protected="sex", model=model, keep_real=False, n=200, shares=shares,
                    random_state=0, verbose=False)
    assert res.table["sex"].value_counts().to_dict() == {"Female": 140, "Male": 60}


@pytest.mark.parametrize("key", ["Female × White", "Female|White", ("Female", "White")])
def test_shares_dict_keys_for_intersections(model, key) -> None:
    shares = {key: 0.5, "Male × White": 0.5}
    res = rebalance(protected=["sex", "race"], model=model, keep_real=False, n=100,
                    shares=shares, random_state=0, verbose=False)
    assert res.table.groupby(["sex", "race"]).size().to_dict() == {
        ("Female", "White"): 50, ("Male", "White"): 50}


def test_missing_and_unmodelled_columns_are_filled(data, model) -> None:
    df = data.copy()
    df.insert(0, "id", np.arange(10, 10 + len(df)))
    df["note"] = pd.array(np.arange(len(df)), dtype="int64")
    md = Metadata.detect(data)
    md_full = Metadata.from_dict({**md.to_dict(), "columns": {
        "id": {"sdtype": "id"}, **md.to_dict()["columns"], "note": {"sdtype": "text"}}})
    m = ARSynthesizer(random_state=0, **PARAMS).fit(df, md_full)
    res = rebalance(df, protected="sex", model=m, random_state=0, verbose=False)
    syn = res.table[res.synthetic_mask]
    assert list(res.table.columns) == list(df.columns)
    assert res.table["id"].is_unique and syn["id"].min() > df["id"].max()
    assert syn["note"].isna().all() and str(res.table["note"].dtype) == "Int64"


def test_align_rows_string_keys_avoid_collisions() -> None:
    df = pd.DataFrame({"k": ["syn-1", "a"], "x": [1, 2]})
    out = align_rows(df, pd.DataFrame({"x": [3, 4]}), None)
    assert list(out.columns) == ["k", "x"] and out["k"].isna().all()  # no metadata: not an id


@pytest.mark.parametrize("kwargs, words", [
    ({"protected": ["nope"]}, "not in the data"),
    ({"protected": ["age"]}, "numerical in the model"),
    ({"protected": []}, "protected"),
    ({"protected": ["sex", "sex"]}, "distinct"),
    ({"protected": "sex", "shares": "fair"}, "'equal' or a dict"),
    ({"protected": "sex", "shares": {"Female": 0.5, "Other": 0.5}}, "unknown group"),
    ({"protected": "sex", "shares": {"Female": 0.5, "Male": 0.4}}, "sum to 1"),
    ({"protected": "sex", "shares": {"Female": 1.5, "Male": -0.5}}, ">= 0"),
    ({"protected": "sex", "shares": {"Female": 1.0}}, "cannot get a share of 0"),
    ({"protected": "sex", "n": 10}, "n goes with keep_real=False"),
    ({"protected": "sex", "random_state": -1}, "random_state"),
    ({"protected": "sex", "keep_real": "yes"}, "keep_real"),
    ({"protected": "sex", "epsilon": 1.0}, "epsilon go with fitting"),
    ({"protected": "sex", "model": "gan"}, "'model' parameter"),
])
def test_bad_inputs_are_refused(data, model, kwargs, words) -> None:
    with pytest.raises(ParameterError, match=words):
        rebalance(data, verbose=False, **{"model": model, **kwargs})


def test_keep_real_needs_data(model) -> None:
    with pytest.raises(ParameterError, match="give data="):
        rebalance(protected="sex", model=model)


def test_unseen_declared_value_is_refused_without_dp(data) -> None:
    md = Metadata.detect(data)
    md.update_column("race", public_domain=[*sorted(data["race"].unique()), "Martian"])
    m = ARSynthesizer(random_state=0, **PARAMS).fit(data, md)
    with pytest.raises(ParameterError, match="race='Martian'"):
        rebalance(protected=["race"], model=m, keep_real=False, n=50, verbose=False)
    shares = {r: 0.2 for r in sorted(data["race"].unique())}  # Martian gets 0: fine
    res = rebalance(protected=["race"], model=m, keep_real=False, n=50, shares=shares,
                    verbose=False)
    assert "Martian" not in set(res.table["race"])


def test_empty_intersection_is_refused_without_dp(data, model) -> None:
    df = data[~((data["sex"] == "Female") & (data["race"] == "Other"))]
    with pytest.raises(ParameterError, match="no row of the group"):
        rebalance(df, protected=["sex", "race"], model=model, verbose=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.01, 1.0), min_size=1, max_size=12),
       st.integers(1, 5000))
def test_allocate_sums_and_stays_within_one_row(weights, total) -> None:
    shares = np.array(weights) / sum(weights)
    out = allocate(total, shares)
    assert out.sum() == total and (out >= 0).all()
    assert np.all(np.abs(out - total * shares) < 1.0 + 1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3000), st.floats(0.02, 1.0)), min_size=1,
                max_size=10))
def test_plan_reaches_targets_by_adding_rows_only(groups) -> None:
    counts = np.array([c for c, _ in groups], dtype=np.int64)
    if counts.sum() == 0:
        counts[0] = 1
    target = np.array([w for _, w in groups])
    target = target / target.sum()
    added = plan_added(counts, target)
    final = counts + added
    assert (added >= 0).all()
    assert np.all(np.abs(final / final.sum() - target) <= 1.0 / final.sum() + 1e-9)


def test_resolve_shares_equal_sums_to_one() -> None:
    groups = [("a", "x"), ("a", "y"), ("b", "x")]
    assert resolve_shares("equal", groups).sum() == pytest.approx(1.0)
    got = resolve_shares({"a × x": 0.25, ("b", "x"): 0.75}, groups)
    assert got.tolist() == [0.25, 0.0, 0.75]


def test_the_function_is_not_shadowed_by_its_module() -> None:
    import tabsynth
    from tabsynth.sampling.rebalancing import Rebalanced  # noqa: F401 - imports the module first

    assert callable(tabsynth.rebalance) and tabsynth.rebalance.__name__ == "rebalance"
