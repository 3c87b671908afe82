"""DP CTGAN/TVAE: cells of noise only are not generated.

A DP histogram's missing cell and a discovered text column's ``"__other__"`` bucket exist in
every DP fit; the noise alone gives them mass. On the fraud table at epsilon 1, DP TVAE and
CTGAN released 252 and 423 missing cells in columns without any (136 missing fraud labels)
and ``"__other__"`` in binary columns whose both values were released (AccidentArea: 1,266
and 960 rows). Where such a cell's DP mass is within 2 noise sd of zero (the ARSynthesizer's
rule, ``tabsynth.stats.noise_cells.noise_level_cells``), the statistics say it holds nothing
(post-processing of the charged statistics and the ledger's noise scales): no slot, no rows.
A 30%-missing column keeps its missing values.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from tabsynth import CTGAN, TVAE, Metadata


def _table(n: int = 3000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "kind": rng.choice(["Urban", "Rural"], size=n, p=[0.8, 0.2]),  # undeclared: discovery
        "label": rng.choice([0, 1], size=n, p=[0.9, 0.1]),
        "amount": rng.lognormal(3, 1, n).round(2),
        "score": np.where(rng.random(n) < 0.3, np.nan, rng.normal(50, 10, n).round(1)),
    })


def _metadata() -> Metadata:
    return Metadata.from_dict({"columns": {
        "kind": {"sdtype": "categorical"},
        "label": {"sdtype": "categorical", "public_domain": [0, 1]},
        "amount": {"sdtype": "numerical", "public_bounds": [0.0, 5000.0]},
        "score": {"sdtype": "numerical", "public_bounds": [0.0, 100.0]},
    }})


@pytest.mark.parametrize("cls", [TVAE, CTGAN])
@pytest.mark.parametrize("noise_seed", [0, 1])
def test_no_noise_cells_in_a_dp_release(replayable_noise, cls, noise_seed):
    # half the budget on the statistics, so that discovery releases both "kind" values
    model = cls(epsilon=1.0, delta=1e-5, epochs=2, batch_size=500, random_state=0,
                preprocessing_share=0.5, verbose=False, device="cpu")
    torch.set_num_threads(1)
    with replayable_noise(noise_seed), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(_table(), _metadata())
    out = model.sample(5000, random_state=0)
    for column in ("kind", "label", "amount"):
        assert not out[column].isna().any(), column
        assert model.stats_[column].missing_rate == 0.0, column
    assert {"Urban", "Rural"} <= set(model.stats_["kind"].categories)
    assert set(out["kind"]) <= {"Urban", "Rural"}
    assert out["score"].isna().mean() > 0.1  # 30% missing is far above the noise
