"""Audit harness: canaries, and positive/negative controls on stand-in mechanisms (fast).

The stand-in releases only a Laplace-noised histogram of the canary column (eps-DP for one
row added or removed); its noise generator is seeded per fit from a fixed test seed so the
figures are reproducible, and independent across fits as privacy noise must be.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from tabsynth import Metadata, ParameterError, datasets
from tabsynth.audit import (
    AUDIT_KEYS,
    CANARY_PREFIX,
    audit_multi_run,
    audit_one_run,
    check_audit_result,
    make_canaries,
)

COLUMNS = ["age", "hours-per-week", "sex", "income"]


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, Metadata]:
    df = datasets.load("adult").sample(300, random_state=2).reset_index(drop=True)[COLUMNS]
    meta = Metadata.detect(df, warn=False)
    meta.update_column("sex", public_domain=["Female", "Male"])
    meta.update_column("income", public_domain=["<=50K", ">50K"])
    meta.update_column("age", public_bounds=[17, 90])
    meta.update_column("hours-per-week", public_bounds=[1, 99])
    return df, meta


class HistogramRelease:
    """Stand-in synthesizer: a noisy histogram of one column, sampled (post-processing)."""

    def __init__(self, epsilon, column, noise_seed):
        self.epsilon, self.column, self.noise_seed = epsilon, column, noise_seed

    def fit(self, df, metadata):
        self.domain = list(metadata[self.column].public_domain)
        counts = df[self.column].value_counts().reindex(self.domain, fill_value=0)
        counts = counts.to_numpy(dtype=float)
        if self.epsilon is not None:
            noise = np.random.default_rng(self.noise_seed).laplace(0, 1 / self.epsilon,
                                                                    len(counts))
            counts = counts + noise
        counts = np.clip(counts, 0, None)
        self.freq = counts / counts.sum()
        self.privacy_spent_ = None if self.epsilon is None else {"epsilon": self.epsilon,
                                                                 "delta": 0.0}
        return self

    def sample(self, n, random_state=None):
        rng = np.random.default_rng(random_state)
        return pd.DataFrame({self.column: rng.choice(self.domain, size=n, p=self.freq)})


def standin(column="sex", replay=False):
    seeds = itertools.count(1000)

    def factory(epsilon, delta, random_state):
        return HistogramRelease(epsilon, column, 7 if replay else next(seeds))

    return factory


def test_canaries_are_declared_unseen_and_extreme(table):
    df, meta = table
    before = meta.to_dict()
    rows, md = make_canaries(df, meta, 5, canary_column="sex", rng=np.random.default_rng(0))
    assert meta.to_dict() == before  # the caller's metadata is not modified
    assert list(rows.columns) == list(df.columns) and len(rows) == 5
    assert rows["sex"].str.startswith(CANARY_PREFIX).all() and rows["sex"].is_unique
    assert not set(rows["sex"]) & set(df["sex"])
    assert (rows["age"] == 90).all() and (rows["hours-per-week"] == 99).all()
    assert rows["age"].dtype == df["age"].dtype
    assert list(md["sex"].public_domain) == ["Female", "Male", *rows["sex"]]
    md.validate(pd.concat([df, rows], ignore_index=True))


def test_audit_needs_a_declared_domain(table):
    df, _ = table
    bare = Metadata.detect(df, warn=False)
    for name in bare.modelled_columns:
        if bare[name].public_domain is not None:
            bare.update_column(name, public_domain=None)
    with pytest.raises(ParameterError, match="public_domain"):
        audit_one_run(df, bare, epsilon=1.0, model_factory=standin())
    with pytest.raises(ParameterError, match="canary_column"):
        audit_one_run(df, table[1], epsilon=1.0, model_factory=standin(),
                      canary_column="age")


def test_one_run_controls_on_a_standin(table):
    df, meta = table
    dp = audit_one_run(df, meta, epsilon=1.0, model_factory=standin(), n_canaries=200,
                       n_synthetic=20_000, positive_control=True, random_state=0)
    assert tuple(dp) == AUDIT_KEYS
    check_audit_result(dp)
    assert dp["method"] == "one-run" and dp["n_canaries"] == 200
    assert dp["claimed_epsilon"] == 1.0 and dp["delta"] == 0.0 and dp["confidence"] == 0.95
    assert dp["epsilon_lower"] <= 1.0 and dp["passed"]
    # The same audit of the noiseless histogram: every guess right, bound far above the claim.
    assert dp["positive_control_epsilon_lower"] == pytest.approx(2.947, abs=1e-3)
    plain = audit_one_run(df, meta, epsilon=None, model_factory=standin(), n_canaries=200,
                          n_synthetic=20_000, random_state=0)
    assert plain["claimed_epsilon"] is None and not plain["passed"]
    assert plain["n_correct"] == plain["n_guesses"] == 80


def test_multi_run_controls_on_a_standin(table):
    df, meta = table
    kw = dict(model_factory=standin(), n_trials=40, n_synthetic=5_000, random_state=0)
    dp = audit_multi_run(df, meta, epsilon=1.0, positive_control=True, **kw)
    assert tuple(dp) == AUDIT_KEYS and dp["method"] == "multi-run"
    assert dp["n_guesses"] == 60 and dp["n_canaries"] == 1
    assert dp["epsilon_lower"] <= 1.0 and dp["passed"]
    # 30 + 30 evaluation trials, all classified right: the Clopper-Pearson ceiling, 2.034.
    assert dp["positive_control_epsilon_lower"] == pytest.approx(2.034, abs=1e-3)
    # Noise replayed from a fixed seed (issue 11, item 1) is caught: the claim fails.
    replay = audit_multi_run(df, meta, epsilon=1.0, **{**kw, "model_factory": standin(
        replay=True)})
    assert replay["epsilon_lower"] > 1.0 and not replay["passed"]


def test_multi_run_group_claim_with_copies(table):
    df, meta = table
    res = audit_multi_run(df, meta, epsilon=0.5, delta=1e-6, model_factory=standin(),
                          n_trials=8, canary_copies=3, n_synthetic=2_000, random_state=1)
    assert res["n_canaries"] == 3 and res["claimed_epsilon"] == pytest.approx(1.5)


def test_check_audit_result_rejects_other_shapes():
    good = {"method": "one-run", "epsilon_lower": 0.1, "confidence": 0.95,
            "claimed_epsilon": 1.0, "delta": 1e-5, "n_canaries": 100, "n_guesses": 10,
            "n_correct": 6, "positive_control_epsilon_lower": None, "passed": True}
    check_audit_result(good)
    with pytest.raises(ParameterError, match="exactly the keys"):
        check_audit_result({**good, "extra": 1})
    with pytest.raises(ParameterError, match="n_guesses"):
        check_audit_result({**good, "n_guesses": 10.0})
