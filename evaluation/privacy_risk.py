"""Privacy-risk figures of a synthetic release, scored against the real training table.

:func:`privacy_risk_metrics` returns one :class:`MetricResult` (group ``"privacy"``) per figure:

=============================  ==============================================================
``exact_copy_rate``            share of synthetic rows identical to a training row
``exact_copy_rate_holdout``    share of holdout rows identical to a training row (baseline)
``dcr_closer_to_train_share``  share of synthetic rows closer to train than to holdout (≈ 0.5)
``dcr_median``                 median distance of synthetic rows to their closest training row
``nndr_median``                median nearest / second-nearest training distance ratio
``membership_inference_auc``   ROC AUC of a DOMIAS-style membership-inference attack (0.5 ideal)
``singling_out_risk``          anonymeter univariate singling-out risk
``linkability_risk``           anonymeter linkability risk
``attribute_inference_risk``   anonymeter attribute-inference risk
=============================  ==============================================================

Distances are Gower distances (:mod:`.distances`) with numeric ranges taken from the training
table. Figures needing a holdout are NOT RUN (``value = nan`` with ``reason``) without one.
Tables larger than ``max_rows`` are subsampled (seeded); ``details["subsampled"]`` says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._types import MetricResult
from .anonymeter import AttackResults, inference_risk, linkability_risk, singling_out_risk
from .distances import GowerEncoder, canonical_rows, nearest_neighbors
from .errors import EvaluationDataError

__all__ = ["privacy_risk_metrics"]

_KINDS = ("numerical", "categorical", "datetime")
_NEEDS_HOLDOUT = "Needs a holdout table (real records not used for training); none was given."


def _metric(
    name: str,
    value: float,
    title: str,
    description: str,
    *,
    higher_is_better: bool | None = False,
    ci: tuple[float, float] | None = None,
    details: dict[str, Any] | None = None,
    reason: str | None = None,
) -> MetricResult:
    return MetricResult(
        name=name,
        group="privacy",
        value=float(value),
        title=title,
        description=description,
        higher_is_better=higher_is_better,
        ci=None if ci is None else (float(ci[0]), float(ci[1])),
        details=details or {},
        reason=reason,
    )


def _not_run(
    name: str,
    title: str,
    description: str,
    reason: str,
    higher_is_better: bool | None = False,
    details: dict[str, Any] | None = None,
) -> MetricResult:
    return _metric(
        name,
        math.nan,
        title,
        description,
        higher_is_better=higher_is_better,
        reason=reason,
        details=details,
    )


def _check(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    kinds: Mapping[str, str],
    target: str | None,
) -> None:
    problems = []
    if not kinds:
        problems.append("no column to evaluate ('kinds' is empty)")
    bad = {c: k for c, k in kinds.items() if k not in _KINDS}
    if bad:
        problems.append(f"unknown kinds {bad}; valid kinds are {list(_KINDS)}")
    tables = {"train": train, "synthetic": synthetic}
    if holdout is not None:
        tables["holdout"] = holdout
    for label, df in tables.items():
        if len(df) == 0:
            problems.append(f"the {label} table is empty")
        missing = [c for c in kinds if c not in df.columns]
        if missing:
            problems.append(f"the {label} table lacks columns {missing}")
    if target is not None and target not in kinds:
        problems.append(f"the target {target!r} is not among the evaluated columns")
    if problems:
        raise EvaluationDataError(
            "The tables cannot be scored for privacy risk: " + "; ".join(problems) + "."
        )


def _subsample(
    df: pd.DataFrame, max_rows: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, Any]:
    if len(df) <= max_rows:
        return df.reset_index(drop=True), False
    idx = np.sort(rng.choice(len(df), size=max_rows, replace=False))
    return df.iloc[idx].reset_index(drop=True), {"from": int(len(df)), "to": int(max_rows)}


def _auc(scores_pos: np.ndarray, scores_neg: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney statistic (ties count one half)."""
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([scores_pos, scores_neg]))
    n1, n0 = len(scores_pos), len(scores_neg)
    return float((ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


#: The metrics :func:`privacy_risk_metrics` returns, in report order.
METRIC_NAMES = (
    "exact_copy_rate",
    "exact_copy_rate_holdout",
    "dcr_closer_to_train_share",
    "dcr_median",
    "nndr_median",
    "membership_inference_auc",
    "singling_out_risk",
    "linkability_risk",
    "attribute_inference_risk",
)


def privacy_risk_metrics(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    *,
    kinds: dict[str, str],
    target: str | None,
    random_state: int | None,
    max_rows: int = 20_000,
    progress: Callable[[str], None] | None = None,
) -> list[MetricResult]:
    """Score a synthetic release for privacy risk against its training table.

    ``kinds`` maps each evaluated column to ``"numerical"``, ``"categorical"`` or
    ``"datetime"``; other columns are ignored. ``holdout`` holds real records *not* used for
    training; the figures comparing against it are NOT RUN without it. ``target`` (if given)
    is the secret of the attribute-inference attack (else the last categorical column).
    ``random_state`` seeds every sampling step. Tables larger than ``max_rows`` are subsampled.
    """
    _check(train, synthetic, holdout, kinds, target)
    if max_rows < 2:
        raise ValueError(f"The 'max_rows' parameter must be an int >= 2. Got {max_rows} instead.")
    say = progress or (lambda _msg: None)
    cols = list(kinds)
    seeds = np.random.SeedSequence(random_state).spawn(8)
    rngs = [np.random.default_rng(s) for s in seeds]

    tr, sub_tr = _subsample(train[cols], max_rows, rngs[0])
    sy, sub_sy = _subsample(synthetic[cols], max_rows, rngs[0])
    ho, sub_ho = (None, False) if holdout is None else _subsample(holdout[cols], max_rows, rngs[0])
    subsampled = {"train": sub_tr, "synthetic": sub_sy, "holdout": sub_ho}
    sizes = {"train": len(tr), "synthetic": len(sy), "holdout": 0 if ho is None else len(ho)}
    base = {"subsampled": subsampled, "rows": sizes}

    out: list[MetricResult] = []

    # ---------------------------------------------------------------- exact copies
    say("privacy: exact copies")
    train_keys = canonical_rows(tr, kinds)
    syn_copy = np.isin(canonical_rows(sy, kinds), train_keys)
    out.append(
        _metric(
            "exact_copy_rate",
            syn_copy.mean(),
            "Exact copies of training records",
            "Share of synthetic rows that are identical to some real training row.",
            details={**base, "n_copies": int(syn_copy.sum())},
        )
    )
    copy_t, copy_d = (
        "Exact copies between holdout and training (baseline)",
        "Share of real holdout rows identical to some training row: how often "
        "identical rows occur naturally.",
    )
    if ho is None:
        out.append(_not_run("exact_copy_rate_holdout", copy_t, copy_d, _NEEDS_HOLDOUT, None, base))
    else:
        ho_copy = np.isin(canonical_rows(ho, kinds), train_keys)
        out.append(
            _metric(
                "exact_copy_rate_holdout",
                ho_copy.mean(),
                copy_t,
                copy_d,
                higher_is_better=None,
                details={**base, "n_copies": int(ho_copy.sum())},
            )
        )

    # ---------------------------------------------------------------- distances to train
    say("privacy: distances to closest records")
    frames = [sy] + ([] if ho is None else [ho])
    enc = GowerEncoder(kinds).fit(tr, *frames)
    e_tr, e_sy = enc.transform(tr), enc.transform(sy)
    e_ho = None if ho is None else enc.transform(ho)
    d_sy, _ = nearest_neighbors(e_sy, e_tr, k=2)
    d_ho = None if e_ho is None else nearest_neighbors(e_ho, e_tr, k=2)[0]

    dcr = d_sy[:, 0]
    det: dict[str, Any] = {
        **base,
        "distance": "Gower (numeric range from training; categorical mismatch)",
        "p05": float(np.quantile(dcr, 0.05)),
        "share_zero": float((dcr == 0).mean()),
        "holdout_to_train_median": None if d_ho is None else float(np.median(d_ho[:, 0])),
        "holdout_to_train_p05": None if d_ho is None else float(np.quantile(d_ho[:, 0], 0.05)),
    }
    out.append(
        _metric(
            "dcr_median",
            np.median(dcr),
            "Typical distance to the closest real record",
            "Median distance from a synthetic row to its most similar training row "
            "(0 = identical, 1 = different in every column); compare with the holdout's figure.",
            higher_is_better=True,
            details=det,
        )
    )

    def nndr(d: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            r = d[:, 0] / d[:, 1]
        return np.where(d[:, 1] > 0, r, 1.0) if d.shape[1] > 1 else np.ones(len(d))

    r_sy = nndr(d_sy)
    out.append(
        _metric(
            "nndr_median",
            np.median(r_sy),
            "Nearest-neighbour distance ratio",
            "Median ratio of a synthetic row's distance to its closest and second-closest training "
            "rows; values near 0 mean synthetic rows sit on top of one particular real person.",
            higher_is_better=True,
            details={
                **base,
                "holdout_median": None if d_ho is None else float(np.median(nndr(d_ho))),
                "note": "ratio is 1 where both distances are 0",
            },
        )
    )

    # ---------------------------------------------------------------- DCR share
    dcr_t = "Synthetic rows closer to training than to holdout"
    dcr_d = (
        "Share of synthetic rows whose closest training row is closer than their closest "
        "holdout row, with equal-size tables; about 0.5 means no memorisation."
    )
    if ho is None:
        out.append(_not_run("dcr_closer_to_train_share", dcr_t, dcr_d, _NEEDS_HOLDOUT, False, base))
    else:
        say("privacy: distance to closest record, train vs holdout")
        n_eq = min(len(tr), len(ho))
        it = np.sort(rngs[1].choice(len(tr), size=n_eq, replace=False))
        ih = np.sort(rngs[1].choice(len(ho), size=n_eq, replace=False))
        dt = nearest_neighbors(e_sy, e_tr.take(it), k=1)[0][:, 0]
        dh = nearest_neighbors(e_sy, e_ho.take(ih), k=1)[0][:, 0]
        score = np.where(dt < dh, 1.0, np.where(dt == dh, 0.5, 0.0))
        share = float(score.mean())
        half = 1.96 * float(score.std(ddof=1)) / math.sqrt(len(score)) if len(score) > 1 else 0.0
        out.append(
            _metric(
                "dcr_closer_to_train_share",
                share,
                dcr_t,
                dcr_d,
                ci=(share - half, share + half),
                details={
                    **base,
                    "reference_rows_each": int(n_eq),
                    "ties": float((dt == dh).mean()),
                    "note": "the larger of train/holdout is subsampled to the smaller's size; "
                    "ties count one half; ci is a normal interval over synthetic rows",
                },
            )
        )

    # ---------------------------------------------------------------- membership inference
    mia_t = "Membership-inference attack (ROC AUC)"
    mia_d = (
        "How well an attacker can tell training records from other real records using the "
        "synthetic data (0.5 = no better than a coin flip, 1 = always)."
    )
    if ho is None or len(ho) < 4:
        why = _NEEDS_HOLDOUT if ho is None else "The holdout has fewer than 4 rows."
        out.append(_not_run("membership_inference_auc", mia_t, mia_d, why, False, base))
    else:
        say("privacy: membership inference")
        auc, ci, mdet = _membership_inference(e_tr, e_sy, e_ho, rngs[2])
        out.append(
            _metric("membership_inference_auc", auc, mia_t, mia_d, ci=ci, details={**base, **mdet})
        )

    # ---------------------------------------------------------------- anonymeter
    control_note = (
        {}
        if ho is not None
        else {"control": "none: the risk is the raw attack success rate (an upper bound)"}
    )
    specs = [
        (
            "singling_out_risk",
            "Singling-out risk",
            "Excess chance that an attacker can use the synthetic data to pick out one real person "
            "by a single rare attribute (anonymeter, univariate; 0 = none).",
            lambda: singling_out_risk(tr, sy, ho, kinds=kinds, n_attacks=500, random_state=rngs[3]),
        ),
        (
            "linkability_risk",
            "Linkability risk",
            "Excess chance that an attacker can use the synthetic data to link two partial records "
            "of the same real person (anonymeter; 0 = none).",
            lambda: linkability_risk(tr, sy, ho, kinds=kinds, n_attacks=500, random_state=rngs[4]),
        ),
    ]
    secret = (
        target
        if target is not None
        else next((c for c in reversed(cols) if kinds[c] == "categorical"), None)
    )
    inf_t = "Attribute-inference risk"
    inf_d = (
        f"Excess chance that an attacker who knows a real person's other attributes can "
        f"use the synthetic data to guess their '{secret}' (anonymeter; 0 = none)."
    )
    if secret is not None and len(cols) > 1:
        specs.append(
            (
                "attribute_inference_risk",
                inf_t,
                inf_d,
                lambda: inference_risk(
                    tr, sy, ho, kinds=kinds, secret=secret, n_attacks=500, random_state=rngs[5]
                ),
            )
        )
    else:
        why = (
            "No secret column: no target was given and there is no categorical column."
            if secret is None
            else "Needs at least two columns."
        )
        out.append(_not_run("attribute_inference_risk", inf_t, inf_d, why, False, base))
    for name, title, desc, run in specs:
        say(f"privacy: {title.lower()}")
        try:
            res: AttackResults = run()
        except ValueError as exc:
            out.append(
                _not_run(name, title, desc, f"The attack could not run: {exc}.", False, base)
            )
            continue
        out.append(
            _metric(
                name,
                res.risk,
                title,
                desc,
                ci=res.ci,
                details={**base, **res.to_details(), **control_note},
            )
        )
    return sorted(out, key=lambda m: METRIC_NAMES.index(m.name))


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
