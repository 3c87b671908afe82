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

__all__ = [
    "AuditResult",
    "OneRunAuditResult",
    "clopper_pearson",
    "epsilon_lower_bound",
    "one_run_audit",
    "one_run_epsilon_lower_bound",
]


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



# --------------------------------------------------------------------------- one-run audit
@dataclass(frozen=True)
class OneRunAuditResult:
    """Outcome of :func:`one_run_audit`: the lower bound and the guesses behind it."""

    epsilon_lower: float
    n_canaries: int
    n_guesses: int
    n_correct: int
    confidence: float
    delta: float
    guesses_tried: tuple[int, ...]


def _one_run_tail(eps: float, v: int, r: int, m: int, delta: float) -> float:
    """Upper bound on ``P[W >= v]`` for an (eps, delta)-DP mechanism (Steinke et al., Thm 3.1).

    ``f(u) = P[Binomial(r, e^eps / (1 + e^eps)) >= u]`` and the bound is
    ``f(v) + 2 m delta max_{1 <= i <= m} (f(v - i) - f(v)) / i``; ``f(u) = 1`` for ``u <= 0``,
    so the maximum is reached for some ``i <= v``.
    """
    p = 1.0 / (1.0 + np.exp(-eps))
    u = np.arange(v, max(v - m, 0) - 1, -1)  # v, v-1, ..., max(v-m, 0)
    f = stats.binom.sf(u - 1, r, p)
    f = np.where(u <= 0, 1.0, f)
    tail = float(f[0])
    if delta > 0 and v > 0:
        i = np.arange(1, len(u))
        tail += 2.0 * m * delta * float(np.max((f[1:] - f[0]) / i)) if i.size else 0.0
    return tail


def one_run_epsilon_lower_bound(n_correct: int, n_guesses: int, n_canaries: int, *,
                                delta: float = 0.0, confidence: float = 0.95) -> float:
    """Lower bound on epsilon from ``n_correct`` right guesses out of ``n_guesses``, one run.

    The auditing game of Steinke, Nasr & Jagielski, "Privacy Auditing with One (1) Training
    Run" (NeurIPS 2023): each of ``m = n_canaries`` canaries is included in the training data
    independently with probability 1/2; after one training run the auditor guesses "in" or
    "out" for ``r = n_guesses`` of them (abstaining on the rest). Their Theorem 3.1: for an
    (eps, delta)-DP mechanism the number ``W`` of correct guesses satisfies, for every ``v``::

        P[W >= v] <= f(v) + 2 m delta * max_{i=1..m} (f(v - i) - f(v)) / i,
        f(u) = P[Binomial(r, e^eps / (1 + e^eps)) >= u]

    (with ``delta = 0``, ``W`` is stochastically dominated by that binomial). Any eps whose
    bound at the observed ``v`` is at most ``beta = 1 - confidence`` is rejected; the result is
    the largest rejected eps (0 if none). It is a valid lower bound at confidence
    ``1 - beta`` because a mechanism that is eps-DP is also eps'-DP for every ``eps' > eps``,
    so the rejection events of all eps' at least the true epsilon are one tail event.

    Parameters
    ----------
    n_correct, n_guesses, n_canaries : int
        ``0 <= n_correct <= n_guesses <= n_canaries``.
    delta : float
        The delta of the claim being audited.
    confidence : float
        ``1 - beta``; the bound is wrong (above the true epsilon) with probability <= beta.
    """
    v, r, m = int(n_correct), int(n_guesses), int(n_canaries)
    if not (0 <= v <= r <= m) or m < 1:
        raise PrivacyParameterError(
            "one_run_epsilon_lower_bound needs 0 <= n_correct <= n_guesses <= n_canaries and "
            f"n_canaries >= 1. Got {v!r}, {r!r}, {m!r}.")
    if not (0 <= delta < 1) or not (0 < confidence < 1):
        raise PrivacyParameterError(
            f"delta must be in [0, 1) and confidence in (0, 1). Got {delta!r}, {confidence!r}.")
    beta = 1.0 - confidence
    if v == 0 or _one_run_tail(0.0, v, r, m, delta) > beta:
        return 0.0
    # Above the eps where even r correct guesses out of r are plausible, nothing is rejected.
    top = float(np.log(beta ** (1.0 / r)) - np.log1p(-beta ** (1.0 / r))) + 1e-9
    # With delta = 0 the tail grows with eps (a binomial tail in p): bisection finds the
    # crossing. The delta term need not be monotone, so a grid finds the last rejected eps.
    grid = np.linspace(0.0, top, 2 if delta == 0 else 81)
    rejected = np.array([_one_run_tail(e, v, r, m, delta) <= beta for e in grid])
    last = int(np.flatnonzero(rejected)[-1])
    if last == len(grid) - 1:
        return float(grid[-1])
    lo, hi = float(grid[last]), float(grid[last + 1])
    for _ in range(40):  # bisection to the crossing
        mid = 0.5 * (lo + hi)
        if _one_run_tail(mid, v, r, m, delta) <= beta:
            lo = mid
        else:
            hi = mid
    return lo


def one_run_audit(scores: Any, included: Any, *, n_guesses: Any = None, delta: float = 0.0,
                  confidence: float = 0.95, rng: np.random.Generator | None = None,
                  ) -> OneRunAuditResult:
    """One-run audit from one attack score per canary (higher: "the canary was in").

    The auditor ranks the canaries by score and guesses "in" for the top ``ceil(k/2)`` and
    "out" for the bottom ``floor(k/2)``, abstaining on the rest, then applies
    :func:`one_run_epsilon_lower_bound`. ``n_guesses`` is ``k`` (an int) or several
    candidate ``k`` (a sequence; by default 10%, 20% and 40% of the canaries): each is then
    tested at ``beta / len(candidates)`` (a union bound, so the best one is still valid).
    Ties in the scores are broken at random with ``rng`` (auditor randomness: the guesses may
    use any randomness independent of the canaries' inclusion).
    """
    s = np.asarray(scores, dtype=float).ravel()
    inc = np.asarray(included, dtype=bool).ravel()
    m = s.size
    if m == 0 or inc.size != m or not np.all(np.isfinite(s)):
        raise PrivacyParameterError(
            "one_run_audit needs one finite score and one inclusion flag per canary.")
    if n_guesses is None:
        ks = sorted({max(2, int(round(f * m))) for f in (0.1, 0.2, 0.4)})
    elif np.ndim(n_guesses) == 0:
        ks = [int(n_guesses)]
    else:
        ks = sorted({int(k) for k in n_guesses})
    if not ks or min(ks) < 1 or max(ks) > m:
        raise PrivacyParameterError(
            f"n_guesses must be between 1 and the number of canaries ({m}). Got {n_guesses!r}.")
    if not (0 < confidence < 1):
        raise PrivacyParameterError(f"confidence must be in (0, 1). Got {confidence!r}.")
    tie = (rng if rng is not None else np.random.default_rng(0)).random(m)
    order = np.lexsort((tie, -s))  # best "in" candidates first
    level = 1.0 - (1.0 - confidence) / len(ks)
    best: tuple[float, int, int] = (-1.0, ks[0], 0)
    for k in ks:
        pos, neg = order[: (k + 1) // 2], order[m - k // 2:] if k // 2 else order[:0]
        correct = int(inc[pos].sum() + (~inc[neg]).sum())
        eps = one_run_epsilon_lower_bound(correct, k, m, delta=delta, confidence=level)
        if eps > best[0]:
            best = (eps, k, correct)
    return OneRunAuditResult(
        epsilon_lower=float(best[0]), n_canaries=m, n_guesses=best[1], n_correct=best[2],
        confidence=float(confidence), delta=float(delta), guesses_tried=tuple(ks))
