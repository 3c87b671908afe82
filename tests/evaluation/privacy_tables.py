"""Hand-made tables for the privacy-risk tests: one generating distribution, fresh draws.

Shared by test_privacy_risk.py and test_anonymeter.py (a plain module, not a conftest, so the
name cannot clash with other test folders' conftest modules)."""

from __future__ import annotations

import numpy as np
import pandas as pd

KINDS = {
    "age": "numerical",
    "income": "numerical",
    "city": "categorical",
    "job": "categorical",
    "score": "numerical",
    "label": "categorical",
}


def draw_people(n: int, seed: int) -> pd.DataFrame:
    """Continuous numerics (every record unique) and correlated categoricals."""
    rng = np.random.default_rng(seed)
    age = rng.normal(45, 12, n).round(3)
    income = np.exp(rng.normal(10, 0.6, n)).round(2)
    city = rng.choice([f"city{i:02d}" for i in range(30)], n, p=np.arange(30, 0, -1) / 465)
    job = rng.choice(["a", "b", "c", "d"], n)
    score = (age / 10 + rng.normal(0, 1, n)).round(4)
    label = np.where(score + (job == "a") > 5.5, "yes", "no")
    return pd.DataFrame(
        {
            "age": age,
            "income": income,
            "city": pd.Series(city, dtype="str"),
            "job": pd.Series(job, dtype="str"),
            "score": score,
            "label": pd.Series(label, dtype="str"),
        }
    )


def people_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(train, holdout, independent synthetic), 600 rows each."""
    return draw_people(600, 1), draw_people(600, 2), draw_people(600, 3)
