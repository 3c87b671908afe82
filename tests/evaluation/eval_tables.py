"""Small tables for the evaluator's tests (a plain module, not a conftest).

The synthetic "release" is made WITHOUT any tabsynth model: each column is resampled
independently from the training table (an independent-marginals baseline).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

COLUMNS = ["age", "workclass", "education-num", "marital-status", "sex", "hours-per-week",
           "capital-gain", "income"]


def independent_marginals(df: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Each column drawn independently (with replacement) from ``df``'s column."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: df[c].to_numpy()[rng.integers(0, len(df), n)] for c in df.columns})


@cache
def _adult() -> pd.DataFrame:
    from tabsynth import datasets

    return datasets.load("adult")[COLUMNS]


def adult_split(n_train: int = 1200, n_holdout: int = 400, seed: int = 0):
    """(train, holdout, synthetic) from the bundled adult sample; disjoint train/holdout."""
    df = _adult().drop_duplicates().sample(frac=1.0, random_state=seed).reset_index(drop=True)
    train = df.iloc[:n_train].reset_index(drop=True)
    holdout = df.iloc[n_train : n_train + n_holdout].reset_index(drop=True)
    return train, holdout, independent_marginals(train, n_train, seed + 1)
