"""tabsynth.rebalance under DP: neighbouring tables, the declared domain, no real count read.

``keep_real=False`` with a DP model is a DP release: the group domain is the model's (declared
public or DP-released), the group sizes come from the public target shares and ``n``, so two
tables that differ in one row give the same plan; only the charged outputs of the model differ.
"""

from __future__ import annotations

import warnings
from itertools import product

import pandas as pd
import pytest
import torch
from test_ar_dp import _public_part  # the parts of a model file no mechanism produced

from tabsynth import ARSynthesizer, Metadata, rebalance
from tabsynth.artifact import read_manifest
from tabsynth.datasets.codebooks import PUBLIC_DOMAINS

N = 300
COLS = ["age", "race", "sex", "hours-per-week", "income"]
PARAMS = {"epochs": 1, "batch_size": 30, "hidden_dim": 8, "verbose": False, "device": "cpu"}
SEX, RACE = PUBLIC_DOMAINS["adult"]["sex"], PUBLIC_DOMAINS["adult"]["race"]


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    from tabsynth import datasets

    torch.set_num_threads(1)
    df = datasets.load("adult")[COLS]
    df = df[~((df["sex"] == "Female") & (df["race"] == "Other"))]  # no Female x Other row
    return df.head(N).reset_index(drop=True)


def _metadata(df: pd.DataFrame, declared: bool) -> Metadata:
    md = Metadata.from_dtypes(df)
    md.update_column("sex", public_domain=list(SEX))
    if declared:
        md.update_column("race", public_domain=list(RACE))
    return md


def _neighbour(df: pd.DataFrame, **values) -> pd.DataFrame:
    row = df.iloc[[0]].copy()
    for k, v in values.items():
        row[k] = v
    return pd.concat([df, row], ignore_index=True)


def _fit_release(df, md, tmp_path, name):
    model = ARSynthesizer(epsilon=2.0, delta=1e-5, random_state=0, **PARAMS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(df, md)
        res = rebalance(protected=["sex", "race"], model=model, keep_real=False, n=400,
                        random_state=0, verbose=False)
    path = tmp_path / f"{name}.tsmodel"
    model.save(path)
    return res, read_manifest(path)


def _plan(res) -> list:
    return [(g["label"], g["target_share"], g["added"], g["real"]) for g in res.groups]


@pytest.mark.parametrize("declared, row", [
    (True, {"sex": "Female", "race": "Other"}),        # a new group inside the declared domain
    (False, {"race": "Never-seen-anywhere"}),          # a new race value, nothing declared
])
def test_one_row_changes_nothing_outside_the_ledger(base, tmp_path, declared, row) -> None:
    other = _neighbour(base, **row)
    md = _metadata(base, declared)
    res_a, man_a = _fit_release(base, md, tmp_path, "a")
    res_b, man_b = _fit_release(other, md, tmp_path, "b")
    assert _public_part(man_a) == _public_part(man_b)
    assert res_a.privacy["dp"] is True and res_b.privacy["dp"] is True
    assert res_a.privacy["real_rows_in_output"] is False
    if declared:  # the domain is public: same groups, same sizes
        assert _plan(res_a) == _plan(res_b)
        assert len(res_a.groups) == len(SEX) * len(RACE)
    else:  # released race categories are DP outputs; the sizes follow from them alone
        for res in (res_a, res_b):
            k = len(res.groups)
            assert sorted(g["added"] for g in res.groups)[-1] - sorted(
                g["added"] for g in res.groups)[0] <= 1 and sum(
                g["added"] for g in res.groups) == 400 and k >= 2
    for res in (res_a, res_b):
        t = res.table
        assert len(t) == 400
        assert "Never-seen-anywhere" not in set(t["race"])
        assert not t["race"].astype(str).str.startswith("__other").any()
        groups = {tuple(g["group"].values()) for g in res.groups}
        assert set(zip(t["sex"], t["race"], strict=True)) <= groups
        if declared:
            assert groups == set(product(SEX, RACE))


def test_a_dp_release_reads_no_real_count(base, monkeypatch) -> None:
    import tabsynth.sampling.rebalancing as rb

    md = _metadata(base, declared=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ARSynthesizer(epsilon=2.0, delta=1e-5, random_state=0, **PARAMS).fit(base, md)

    def forbidden(*args, **kwargs):
        raise AssertionError("real group counts were read for a DP release")

    monkeypatch.setattr(rb, "group_codes", forbidden)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the group with no real row (Female x Other) is allowed under DP: rows from the prior
        res = rebalance(base, protected=["sex", "race"], model=model, keep_real=False,
                        random_state=0, verbose=False)
    n_rows = model.stats_.n_rows  # the DP row count, not len(base)
    assert len(res.table) == max(int(round(float(n_rows))), 1)
    assert ((res.table["sex"] == "Female") & (res.table["race"] == "Other")).sum() > 0
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aug = rebalance(base, protected=["sex"], model=model, random_state=0, verbose=False)
    assert aug.privacy["dp"] is False and "real rows" in aug.privacy["reason"]
    assert aug.privacy["epsilon"] == pytest.approx(model.privacy_spent_["epsilon"])
