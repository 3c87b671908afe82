"""Our re-implementation of anonymeter agrees with the real package on the same data.

Runs only where ``anonymeter`` is installed (it pins numpy < 1.27: the interop environment).

The training table, the control table and the release have the same number of rows and the
linkability and inference attacks target every one of them (``n_attacks`` = that size), so
neither tool samples targets and both attack the same records: their success counts are
compared directly, not as two random draws. Inference must agree exactly. Linkability may differ
on the records whose nearest synthetic neighbour is tied on an auxiliary half (about a quarter
of them here: categorical halves tie often), where each tool breaks the tie its own way.
Singling out draws random queries; both tools are seeded and our risk must fall inside
anonymeter's 95 % interval (widened by 0.03 for the sampling noise of our own queries).
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
N_ROWS = 2000  # rows of the training table, the control table and the release alike
N_QUERIES = 300  # singling-out attacks
SLACK = 0.03
TIE_SHARE = 0.02  # linkability: counts may differ on tied neighbours, by this share of N_ROWS


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
    ori = df.iloc[perm[:N_ROWS]].reset_index(drop=True)
    control = df.iloc[perm[N_ROWS : 2 * N_ROWS]].reset_index(drop=True)
    # a leaky release: half copied training rows, half independent marginals
    half = N_ROWS // 2
    marg = pd.DataFrame(
        {
            c: ori[c].sample(N_ROWS - half, replace=True, random_state=i).to_numpy()
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


def test_singling_out_univariate_agrees(tables):
    ori, syn, control, kinds = tables
    ev = _seeded(
        anonymeter_evaluators.SinglingOutEvaluator,
        ori=ori,
        syn=syn,
        control=control,
        n_attacks=N_QUERIES,
    )
    theirs = ev.evaluate(mode="univariate").risk()
    ours = singling_out_risk(ori, syn, control, kinds=kinds, n_attacks=N_QUERIES, random_state=SEED)
    lo, hi = theirs.ci
    assert lo - SLACK <= ours.risk <= hi + SLACK, (ours.risk, ours.ci, theirs)


def test_linkability_agrees(tables):
    ori, syn, control, kinds = tables
    aux = default_aux_cols(kinds)
    ev = anonymeter_evaluators.LinkabilityEvaluator(
        ori=ori,
        syn=syn,
        control=control,
        n_attacks=N_ROWS,
        aux_cols=aux,
        n_neighbors=1,
    ).evaluate(n_jobs=2)
    theirs = ev.results()
    ours = linkability_risk(
        ori, syn, control, kinds=kinds, aux_cols=aux, n_attacks=N_ROWS, random_state=SEED
    )
    assert ours.n_attacks == N_ROWS
    assert abs(ours.n_success - theirs.n_success) <= TIE_SHARE * N_ROWS, (ours, theirs)
    assert abs(ours.n_control - theirs.n_control) <= TIE_SHARE * N_ROWS, (ours, theirs)
    assert ours.risk == pytest.approx(ev.risk().value, abs=0.02)


@pytest.mark.parametrize("secret", ["income", "education", "age", "hours_per_week"])
def test_inference_agrees(tables, secret):
    ori, syn, control, kinds = tables
    aux = [c for c in ori.columns if c != secret]
    ev = anonymeter_evaluators.InferenceEvaluator(
        ori=ori,
        syn=syn,
        control=control,
        aux_cols=aux,
        secret=secret,
        regression=kinds[secret] == "numerical",  # ours decides from the kind; theirs is told
        n_attacks=N_ROWS,
    ).evaluate(n_jobs=2)
    theirs = ev.results()
    ours = inference_risk(
        ori,
        syn,
        control,
        kinds=kinds,
        secret=secret,
        aux_cols=aux,
        n_attacks=N_ROWS,
        random_state=SEED,
    )
    assert ours.n_attacks == N_ROWS
    assert (ours.n_success, ours.n_control) == (theirs.n_success, theirs.n_control)
    assert ours.risk == pytest.approx(ev.risk().value, abs=1e-9)
    assert ours.ci == pytest.approx(ev.risk().ci, abs=1e-9)
