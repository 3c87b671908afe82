"""The DOMIAS-style membership-inference attack of :mod:`.privacy_risk`."""

from __future__ import annotations

from typing import Any

import numpy as np

from .distances import nearest_neighbors


def _auc(scores_pos: np.ndarray, scores_neg: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney statistic (ties count one half)."""
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([scores_pos, scores_neg]))
    n1, n0 = len(scores_pos), len(scores_neg)
    return float((ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _membership_inference(
    e_tr,
    e_sy,
    e_ho,
    rng: np.random.Generator,
    *,
    k: int = 1,
    n_boot: int = 200,
    max_targets: int = 5_000,
) -> tuple[float, tuple[float, float], dict[str, Any]]:
    """DOMIAS-style attack (van Breugel et al., AISTATS 2023) with k-NN density estimates.

    A record's score is the synthetic density near it over the reference (population) density
    near it, estimated by k-th nearest-neighbour distances: ``log(d_ref + eps) - log(d_syn +
    eps)``. Members are training records, non-members holdout records; the holdout is split in
    two halves that take turns as reference data and as non-members (2-fold cross-fitting), and
    as many members as non-members are drawn from the training table. At most ``max_targets``
    members and as many non-members are attacked (the reference halves stay whole).
    """
    n_ho = len(e_ho)
    perm = rng.permutation(n_ho)
    halves = [np.sort(perm[: n_ho // 2]), np.sort(perm[n_ho // 2 :])]
    per_fold = min(n_ho // 2, len(e_tr) // 2, max_targets // 2)
    members = rng.choice(len(e_tr), size=2 * per_fold, replace=False)
    mem_halves = [np.sort(members[:per_fold]), np.sort(members[per_fold:])]
    targets = [np.sort(rng.choice(h, size=per_fold, replace=False)) for h in halves]
    eps = 1e-6
    pos, neg = [], []
    for fold in (0, 1):
        ref = e_ho.take(halves[1 - fold])
        for idx, bucket, table in ((mem_halves[fold], pos, e_tr), (targets[fold], neg, e_ho)):
            q = table.take(idx)
            kk = min(k, len(ref), len(e_sy))
            d_syn = nearest_neighbors(q, e_sy, k=kk)[0][:, -1]
            d_ref = nearest_neighbors(q, ref, k=kk)[0][:, -1]
            bucket.append(np.log(d_ref + eps) - np.log(d_syn + eps))
    s_pos, s_neg = np.concatenate(pos), np.concatenate(neg)
    auc = _auc(s_pos, s_neg)
    boots = [
        _auc(
            s_pos[rng.integers(len(s_pos), size=len(s_pos))],
            s_neg[rng.integers(len(s_neg), size=len(s_neg))],
        )
        for _ in range(n_boot)
    ]
    lo, hi = np.quantile(boots, [0.025, 0.975])
    return (
        auc,
        (float(lo), float(hi)),
        {
            "n_members": int(len(s_pos)),
            "n_non_members": int(len(s_neg)),
            "k": k,
            "method": "DOMIAS-style density ratio with k-NN Gower distances; holdout halves "
            "cross-fitted as reference and non-members",
            "ci": f"percentile bootstrap, {n_boot} resamples",
        },
    )
