"""Empirical privacy audit of DP-TVAE, with a positive control: the audit can fail.

DESIGN.md rule 8: the lower bound on a DP fit must stay below the claimed epsilon, and the
same audit on a non-private fit must exceed it (an audit that cannot fail proves nothing).
The fast test is a one-run audit (Steinke, Nasr & Jagielski 2023: 100 canaries, one DP fit
and one non-private fit); the ``slow`` one a multi-run audit with Clopper-Pearson bounds.
Canaries: a declared-but-unseen category each and declared-bound extremes
(:mod:`tabsynth.audit`).
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from tabsynth import Metadata, datasets
from tabsynth.audit import AUDIT_KEYS, audit_multi_run, audit_one_run

EPSILON = 1.0
COLUMNS = ["age", "hours-per-week", "sex", "income"]
# Tiny networks, few epochs: the non-private twin still memorises its canaries.
PARAMS = {"epochs": 10, "batch_size": 64, "embedding_dim": 8, "compress_dims": (32,),
          "decompress_dims": (32,), "learning_rate": 0.03, "device": "cpu"}


def _table(n: int) -> tuple[pd.DataFrame, Metadata]:
    df = datasets.load("adult").sample(n, random_state=2).reset_index(drop=True)[COLUMNS]
    meta = Metadata.detect(df, warn=False)
    # Public knowledge (adult.names / the census codebook), not read from the rows.
    meta.update_column("sex", public_domain=["Female", "Male"])
    meta.update_column("income", public_domain=["<=50K", ">50K"])
    meta.update_column("age", public_bounds=[17, 90])
    meta.update_column("hours-per-week", public_bounds=[1, 99])
    return df, meta


def test_one_run_audit_dp_fit_below_claim_and_positive_control_above():
    df, meta = _table(300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = audit_one_run(df, meta, epsilon=EPSILON, model_params=PARAMS, n_canaries=100,
                            positive_control=True, random_state=0)
    assert tuple(res) == AUDIT_KEYS
    assert res["claimed_epsilon"] == EPSILON and 0 < res["delta"] < 1e-3
    # DP fit: the bound stays below the claim (measured: 0.000).
    assert res["epsilon_lower"] <= EPSILON and res["passed"]
    # Non-private fit, same canaries: 40 of 40 guesses right (measured: 2.223 > 1).
    assert res["positive_control_epsilon_lower"] == pytest.approx(2.223, abs=0.01)
    assert res["positive_control_epsilon_lower"] > EPSILON


@pytest.mark.slow
def test_multi_run_audit_dp_fit_below_claim_and_positive_control_above():
    df, meta = _table(300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = audit_multi_run(df, meta, epsilon=EPSILON, model_params=PARAMS, n_trials=40,
                              positive_control=True, random_state=0)
    assert res["epsilon_lower"] <= EPSILON and res["passed"], res
    assert res["positive_control_epsilon_lower"] > EPSILON, res
