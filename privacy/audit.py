"""Empirical privacy audit: a statistical LOWER bound on epsilon from membership inference.

Repeat training many times with a canary included ("in" trials) or excluded ("out" trials) and
score each trained model with an attack (higher score = "the canary was in"). Any threshold test
``score >= t`` is a hypothesis test between the two neighbouring datasets; an ``(eps, delta)``-DP
mechanism forces ``TPR <= e^eps FPR + delta`` and ``1 - FPR <= e^eps (1 - TPR) + delta``
(Kairouz, Oh & Viswanath 2015). With Clopper–Pearson confidence bounds on TPR and FPR this gives
the lower bound (Jagielski, Ullman & Oprea 2020; Nasr et al. 2021)::

    eps_lo = max( ln((TPR_lo - delta) / FPR_hi), ln((1 - FPR_hi - delta) / (1 - TPR_lo)) )

maximised over thresholds. Each ratio uses the pessimistic end of each interval (numerator
lower bound, denominator upper bound): the second term bounds TNR/FNR, so it takes
``1 - FPR_hi`` (lowest TNR) over ``1 - TPR_lo`` (highest FNR). Writing it with ``FPR_lo`` and
``TPR_hi`` would be optimistic and can exceed the true epsilon.
The claimed epsilon must stay above the bound (DESIGN.md rule 8).
Note: choosing the best threshold on the same trials is optimistic (multiple comparisons); for a
strict audit pick the threshold on separate trials and pass it as ``threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .errors import PrivacyParameterError

__all__ = ["AuditResult", "clopper_pearson", "epsilon_lower_bound"]


@dataclass(frozen=True)
class AuditResult:
    """Outcome of :func:`epsilon_lower_bound` at the best threshold."""

    epsilon_lower: float
    threshold: float
    tpr: float
    fpr: float
    tpr_interval: tuple[float, float]
    fpr_interval: tuple[float, float]
    n_in: int
    n_out: int
    confidence: float
    delta: float


def clopper_pearson(k: Any, n: int, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact two-sided Clopper–Pearson interval(s) for ``k`` successes out of ``n``."""
    k = np.asarray(k, dtype=float)
    alpha = 1.0 - confidence
    with np.errstate(invalid="ignore"):
        lo = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        hi = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    return lo, hi


def _safe_log_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((num > 0) & (den > 0), np.log(num / np.where(den > 0, den, 1.0)), 0.0)
    return out


def epsilon_lower_bound(scores_in: Any, scores_out: Any, *, delta: float = 0.0,
                        confidence: float = 0.95, threshold: float | None = None) -> AuditResult:
    """Empirical lower bound on epsilon from attack scores on "in" and "out" trials.

    Parameters
    ----------
    scores_in, scores_out : array-like of float
        One attack score per trained model, with / without the canary.
    delta : float
        The delta of the claim being audited.
    confidence : float
        Level of each Clopper–Pearson interval; the bound holds with about this confidence.
    threshold : float, optional
        Fixed threshold (chosen on other trials); by default every observed score is tried.
    """
    s_in = np.asarray(scores_in, dtype=float).ravel()
    s_out = np.asarray(scores_out, dtype=float).ravel()
    if s_in.size == 0 or s_out.size == 0 or not (np.all(np.isfinite(s_in))
                                                  and np.all(np.isfinite(s_out))):
        raise PrivacyParameterError("epsilon_lower_bound needs non-empty, finite score arrays.")
    if not (0 <= delta < 1) or not (0 < confidence < 1):
        raise PrivacyParameterError(
            f"delta must be in [0, 1) and confidence in (0, 1). Got {delta!r}, {confidence!r}.")
    n_in, n_out = s_in.size, s_out.size
    if threshold is None:
        thresholds = np.unique(np.concatenate([s_in, s_out]))
    else:
        thresholds = np.array([float(threshold)])
    # positives at each threshold: #scores >= t
    tp = n_in - np.searchsorted(np.sort(s_in), thresholds, side="left")
    fp = n_out - np.searchsorted(np.sort(s_out), thresholds, side="left")
    tpr_lo, tpr_hi = clopper_pearson(tp, n_in, confidence)
    fpr_lo, fpr_hi = clopper_pearson(fp, n_out, confidence)
    eps1 = _safe_log_ratio(tpr_lo - delta, fpr_hi)
    eps2 = _safe_log_ratio(1 - fpr_hi - delta, 1 - tpr_lo)
    eps = np.maximum(np.maximum(eps1, eps2), 0.0)
    i = int(np.argmax(eps))
    return AuditResult(
        epsilon_lower=float(eps[i]), threshold=float(thresholds[i]),
        tpr=float(tp[i] / n_in), fpr=float(fp[i] / n_out),
        tpr_interval=(float(tpr_lo[i]), float(tpr_hi[i])),
        fpr_interval=(float(fpr_lo[i]), float(fpr_hi[i])),
        n_in=n_in, n_out=n_out, confidence=float(confidence), delta=float(delta),
    )

