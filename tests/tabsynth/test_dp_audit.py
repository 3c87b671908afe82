"""Empirical privacy audit of DP-TVAE: canary in/out, scored by the model's likelihood.

The lower bound from :func:`epsilon_lower_bound` must stay below the claimed epsilon
(DESIGN.md rule 8). The CI version uses a few trials (it checks the harness and catches a
gross failure, e.g. no noise at all); the ``slow`` version uses enough trials to be meaningful.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabsynth import TVAE, datasets
from tabsynth.privacy import epsilon_lower_bound

EPSILON = 1.0
DELTA = 1e-5
COLUMNS = ["age", "hours-per-week", "sex", "income"]


def _base(n: int) -> pd.DataFrame:
    return datasets.load("adult").sample(n, random_state=2).reset_index(drop=True)[COLUMNS]


def _canary(df: pd.DataFrame) -> pd.DataFrame:
    row = df.iloc[[0]].copy()
    row["age"] = int(df["age"].max())
    row["hours-per-week"] = int(df["hours-per-week"].min())
    return row.reset_index(drop=True)


def score(model: TVAE, canary: pd.DataFrame, n_z: int = 512) -> float:
    """log p(canary) estimated with ``n_z`` latent draws (higher: "the canary was in")."""
    import torch
    from torch.nn import functional as F

    X = torch.from_numpy(np.asarray(model.transformer_.transform(
        canary, rng=np.random.default_rng(0)), dtype=np.float32))
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        raw = model._decoder(torch.randn(n_z, model.embedding_dim, generator=gen))
        layout = model._layout
        nll = torch.zeros(n_z)
        idx = layout.tanh_index
        if idx.numel():
            sigma = model._decoder.sigma[idx]
            diff = X[:, idx] - torch.tanh(raw[:, idx])
            nll += (diff.pow(2) / (2 * sigma.pow(2)) + torch.log(sigma)).sum(dim=1)
        for st, ed in layout.softmax_spans:
            target = X[:, st:ed].argmax(dim=1).expand(n_z)
            nll += F.cross_entropy(raw[:, st:ed], target, reduction="none")
        return float(torch.logsumexp(-nll, dim=0))


def _trials(n_trials: int, n_rows: int, epochs: int) -> tuple[list[float], list[float]]:
    base = _base(n_rows)
    canary = _canary(base)
    with_canary = pd.concat([base, canary, canary, canary], ignore_index=True)  # 3 copies:
    # a group of 3 rows gets at most a 3*epsilon guarantee; we audit against that claim.
    s_in, s_out = [], []
    for t in range(n_trials):
        for data, out in ((with_canary, s_in), (base, s_out)):
            model = TVAE(epsilon=EPSILON, delta=DELTA, epochs=epochs, batch_size=20,
                         embedding_dim=4, compress_dims=(16,), decompress_dims=(16,),
                         accountant="rdp", random_state=t, verbose=False, device="cpu")
            out.append(score(model.fit(data), canary))
    return s_in, s_out


def test_audit_lower_bound_below_claim_cheap():
    s_in, s_out = _trials(n_trials=3, n_rows=200, epochs=1)
    result = epsilon_lower_bound(s_in, s_out, delta=DELTA)
    assert np.isfinite(s_in).all() and np.isfinite(s_out).all()
    assert result.epsilon_lower < 3 * EPSILON


@pytest.mark.slow
def test_audit_lower_bound_below_claim():
    s_in, s_out = _trials(n_trials=60, n_rows=200, epochs=3)
    result = epsilon_lower_bound(s_in, s_out, delta=DELTA)
    assert result.epsilon_lower < 3 * EPSILON, result
