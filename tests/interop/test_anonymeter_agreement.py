"""Our re-implementation of anonymeter agrees with the real package on the same data.

Runs only where ``anonymeter`` is installed (it pins numpy < 1.27: the interop environment).
The attacks sample targets and queries at random (anonymeter 1.0 has no seed argument; later
versions take ``seed`` for singling out), so the figures are compared statistically: each of our
risks must fall inside anonymeter's 95 % interval (widened by 0.03 for the sampling noise of our
own estimate at the interval's edges).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

anonymeter_evaluators = pytest.importorskip("anonymeter.evaluators")

from tabsynth.evaluation.anonymeter import (  # noqa: E402
    default_aux_cols,
    inference_risk,
    linkability_risk,
    singling_out_risk,
)

pytestmark = pytest.mark.interop

SEED = 0
N_ATTACKS = 300
SLACK = 0.03


def _adult() -> pd.DataFrame:
    try:
        from tabsynth.datasets import load

        df = load("adult")
    except Exception:  # the package may be installed without its datasets
        df = pd.read_csv(Path(__file__).parents[2] / "datasets" / "adult.csv")
    df = df.rename(columns=lambda c: c.replace("-", "_"))  # anonymeter 1.0 builds query strings
    for c in df.columns:
        if not pd.api.types.is_numeric_dtype(df[c]):
            df[c] = df[c].astype(object).fillna("?")  # its label encoder cannot sort NaN with str
    return df


@pytest.fixture(scope="module")
def tables():
    df = _adult()
    rng = np.random.default_rng(SEED)
    perm = rng.permutation(len(df))
    n_tr = int(0.7 * len(df))
    ori = df.iloc[perm[:n_tr]].reset_index(drop=True)
    control = df.iloc[perm[n_tr:]].reset_index(drop=True)
    # a leaky release: half copied training rows, half independent marginals
    half = n_tr // 2
    marg = pd.DataFrame(
        {
            c: ori[c].sample(half, replace=True, random_state=i).to_numpy()
            for i, c in enumerate(ori.columns)
        }
    )
    syn = pd.concat([ori.sample(half, random_state=SEED), marg], ignore_index=True)
    kinds = {
        c: ("numerical" if pd.api.types.is_numeric_dtype(df[c]) else "categorical")
        for c in df.columns
    }
    return ori, syn, control, kinds


def _seeded(cls, **kw):
    if "seed" in inspect.signature(cls).parameters:
        kw["seed"] = SEED
    return cls(**kw)


def _assert_within(ours, theirs):
    lo, hi = theirs.ci
    assert lo - SLACK <= ours.risk <= hi + SLACK, (ours.risk, ours.ci, theirs)


def test_singling_out_univariate_agrees(tables):
    ori, syn, control, kinds = tables
    ev = _seeded(
        anonymeter_evaluators.SinglingOutEvaluator,
        ori=ori,
        syn=syn,
        control=control,
        n_attacks=N_ATTACKS,
    )
    theirs = ev.evaluate(mode="univariate").risk()
    ours = singling_out_risk(ori, syn, control, kinds=kinds, n_attacks=N_ATTACKS, random_state=SEED)
    _assert_within(ours, theirs)


def test_linkability_agrees(tables):
    ori, syn, control, kinds = tables
    aux = default_aux_cols(kinds)
    theirs = (
        anonymeter_evaluators.LinkabilityEvaluator(
            ori=ori,
            syn=syn,
            control=control,
            n_attacks=N_ATTACKS,
            aux_cols=aux,
            n_neighbors=1,
        )
        .evaluate(n_jobs=2)
        .risk()
    )
    ours = linkability_risk(
        ori, syn, control, kinds=kinds, aux_cols=aux, n_attacks=N_ATTACKS, random_state=SEED
    )
    _assert_within(ours, theirs)


@pytest.mark.parametrize("secret", ["income", "age"])
def test_inference_agrees(tables, secret):
    ori, syn, control, kinds = tables
    aux = [c for c in ori.columns if c != secret]
    theirs = (
        anonymeter_evaluators.InferenceEvaluator(
            ori=ori,
            syn=syn,
            control=control,
            aux_cols=aux,
            secret=secret,
            n_attacks=N_ATTACKS,
        )
        .evaluate(n_jobs=2)
        .risk()
    )
    ours = inference_risk(
        ori,
        syn,
        control,
        kinds=kinds,
        secret=secret,
        aux_cols=aux,
        n_attacks=N_ATTACKS,
        random_state=SEED,
    )
    _assert_within(ours, theirs)
