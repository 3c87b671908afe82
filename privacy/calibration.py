"""Noise calibration: how much noise each part of a run needs so that everything fits the budget.

How the budget is split (DESIGN.md rule 4)
------------------------------------------
1. Preprocessing (bounds, category domains, quantiles, missing rates...) is ``k`` Gaussian
   measurements at sample rate 1. :func:`preprocessing_noise` picks ONE noise multiplier
   ``sigma/sensitivity`` for all of them such that those ``k`` measurements *alone* would compose to
   ``share * epsilon`` at the accountant's delta (the budget's delta minus thresholding deltas).
2. DP-SGD is then calibrated by :func:`calibrate_dpsgd` so that the FULL composition —
   preprocessing history + DP-SGD steps, in one accountant — is ``<= epsilon`` at that same delta.
   Because Gaussian losses compose sub-additively (for Gaussians, ``mu^2`` adds up), DP-SGD gets
   somewhat more than ``(1 - share) * epsilon``: nothing is wasted.
The same delta is used at both stages: the split is only a heuristic for the preprocessing noise,
the guarantee comes from composing everything once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from .accounting import _compose_epsilon, compose_epsilon, normalize_history
from .budget import PrivacyBudget
from .errors import BudgetError, PreprocessingOverBudget, PrivacyParameterError

if TYPE_CHECKING:  # pragma: no cover
    from .ledger import Ledger

__all__ = ["calibrate_dpsgd", "max_steps_for", "preprocessing_noise"]

#: Noise multipliers above this make DP-SGD useless; calibration refuses instead.
MAX_NOISE_MULTIPLIER = 50.0
MIN_NOISE_MULTIPLIER = 0.1


def _history_and_delta(preprocessing, budget: PrivacyBudget, extra_delta: float
                       ) -> tuple[list[tuple[float, float, int]], float]:
    """Accept a Ledger or a history; return (history, accountant delta)."""
    if hasattr(preprocessing, "history") and hasattr(preprocessing, "extra_delta"):
        history = preprocessing.history()
        extra_delta = extra_delta + preprocessing.extra_delta
    else:
        history = normalize_history(preprocessing or [])
    delta_acc = budget.delta - extra_delta
    if delta_acc <= 0:
        raise BudgetError(
            f"The thresholding deltas ({extra_delta:.3g}) use up delta={budget.delta:.3g}."
        )
    return list(history), delta_acc


def _check_budget(budget: object, owner: str) -> None:
    if not isinstance(budget, PrivacyBudget):
        raise PrivacyParameterError(
            f"The 'budget' parameter of {owner} must be a PrivacyBudget. Got {budget!r} instead."
        )


def _quiet(history, delta: float, accountant: str) -> float:
    """Composition without the PRV-fallback log line (search loops evaluate many candidates)."""
    return _compose_epsilon(normalize_history(history), delta, accountant)[0]


def _bisect_noise(eps_of, target: float, lo: float, hi: float, rtol: float) -> float:
    """Smallest noise multiplier (up to ``rtol``) with ``eps_of(nm) <= target``; assumes
    ``eps_of(hi) <= target < eps_of(lo)``. Returns the safe end ``hi``."""
    while hi / lo > 1 + rtol:
        mid = math.sqrt(lo * hi)
        if eps_of(mid) <= target:
            hi = mid
        else:
            lo = mid
    return hi


def _solve_noise(eps_of, target: float, lo: float, hi: float, rtol: float, *,
                 f_lo: float | None = None, f_hi: float | None = None) -> float:
    """Same contract as :func:`_bisect_noise` (``eps_of(hi) <= target < eps_of(lo)``; returns
    a noise multiplier ``m`` with ``eps_of(m) <= target`` verified and within ``rtol`` of the
    smallest such value on the bracket), in far fewer evaluations.

    ``log(epsilon)`` is smooth and monotone in ``log(noise)``: a secant step on that curve
    lands near the root, and the probe is placed just beside it (alternately above and below,
    by ``0.45 * log(1 + rtol)``) so that, when the secant is accurate, two evaluations close the
    bracket. If the same end moves twice in a row the step is a geometric bisection instead
    (Illinois-style safeguard), so convergence is never slower than bisection by more than a
    factor 2. Only the safe end is returned.
    """
    log_t = math.log(target)
    x0, x1 = math.log(lo), math.log(hi)
    y0 = math.log(max(f_lo if f_lo is not None else eps_of(lo), 1e-300)) - log_t
    y1 = math.log(max(f_hi if f_hi is not None else eps_of(hi), 1e-300)) - log_t
    nm_hi = hi  # the value whose epsilon was verified, returned as is
    tol = math.log1p(rtol)
    nudge = 0.45 * tol
    last = 0  # +1: hi moved last, -1: lo moved last
    repeats = 0
    while x1 - x0 > tol:
        gap = x1 - x0
        if repeats >= 2 or not (y0 > 0 >= y1) or y0 == y1:
            x = 0.5 * (x0 + x1)
            repeats = 0
        else:
            x = x1 - y1 * gap / (y1 - y0)  # secant root of log eps vs log noise
            x += -nudge if last > 0 else nudge
        x = min(max(x, x0 + 0.02 * gap), x1 - 0.02 * gap)
        nm = math.exp(x)
        y = math.log(max(eps_of(nm), 1e-300)) - log_t
        side = 1 if y <= 0 else -1
        repeats = repeats + 1 if side == last else 1
        last = side
        if side > 0:
            x1, y1, nm_hi = x, y, nm
        else:
            x0, y0 = x, y
    return nm_hi


def preprocessing_noise(
    budget: PrivacyBudget,
    n_measurements: int,
    *,
    share: float,
    accountant: str = "prv",
    extra_delta: float = 0.0,
    rtol: float = 1e-3,
) -> float:
    """Noise multiplier (``sigma / sensitivity``) for ``n_measurements`` equal Gaussian measurements
    that together spend about ``share * budget.epsilon``.

    Each measurement then uses ``sigma = noise_multiplier * sensitivity``. The composition of the
    ``k`` measurements at the accountant's delta (``budget.delta - extra_delta``) is at most
    ``share * epsilon`` (within ``rtol`` on the noise). More measurements or a smaller share mean
    more noise per measurement.
    """
    _check_budget(budget, "preprocessing_noise")
    if not (isinstance(n_measurements, int) and n_measurements >= 1):
        raise PrivacyParameterError(
            f"The 'n_measurements' parameter of preprocessing_noise must be an int >= 1. "
            f"Got {n_measurements!r} instead."
        )
    if not (isinstance(share, (int, float)) and 0 < share < 1):
        raise PrivacyParameterError(
            f"The 'share' parameter of preprocessing_noise must be a float in (0, 1). "
            f"Got {share!r} instead."
        )
    _, delta_acc = _history_and_delta([], budget, extra_delta)
    target = share * budget.epsilon

    def eps_of(nm: float) -> float:
        return _quiet([(nm, 1.0, n_measurements)], delta_acc, accountant)

    # Fast bracket: k Gaussian measurements compose exactly to one Gaussian with
    # mu = sqrt(k) / nm (Dong, Roth & Su 2019). Every accountant's figure is >= that exact
    # epsilon (PRV's bound includes its error; RDP's conversion is looser; a PRV figure below
    # it falls back to RDP), so the exact noise is a lower end of the bracket.
    mu = _gdp_mu_for(target, delta_acc)
    lo = min(max(math.sqrt(n_measurements) / mu, 1e-3), 1e6) if mu > 0 else 1.0
    f_lo = eps_of(lo)
    if f_lo <= target:
        return lo
    hi, f_hi = lo, f_lo
    while f_hi > target:
        lo, f_lo = hi, f_hi
        hi = hi * 1.05
        if hi > 1e6:
            raise BudgetError(
                f"Cannot fit {n_measurements} measurements in epsilon={target:.3g}."
            )
        f_hi = eps_of(hi)
    return _solve_noise(eps_of, target, lo, hi, rtol, f_lo=f_lo, f_hi=f_hi)


def _gdp_mu_for(epsilon: float, delta: float) -> float:
    """Largest ``mu`` whose mu-GDP mechanism is ``(epsilon, delta)``-DP (exact, analytic)."""
    from scipy import optimize, stats

    def excess(mu: float) -> float:
        a = stats.norm.logcdf(-epsilon / mu + mu / 2)
        b = epsilon + stats.norm.logcdf(-epsilon / mu - mu / 2)
        return float(math.exp(a) - math.exp(b)) - delta

    lo, hi = 1e-6, 1.0
    if excess(lo) > 0:
        return 0.0
    while excess(hi) <= 0:
        lo, hi = hi, hi * 2
        if hi > 1e6:
            return hi
    return float(optimize.brentq(excess, lo, hi, xtol=1e-12))


def _epochs_text(steps: int, sample_rate: float, n_rows: int | None) -> str:
    epochs = steps * sample_rate
    text = f"{epochs:.4g} epochs ({steps} steps at sample rate {sample_rate:.4g})"
    if n_rows is not None:
        text += f" at batch {sample_rate * n_rows:.4g} on {n_rows} rows"
    return text


def calibrate_dpsgd(
    budget: PrivacyBudget,
    preprocessing: Ledger | Iterable[Sequence] | None,
    *,
    sample_rate: float,
    steps: int,
    accountant: str = "prv",
    extra_delta: float = 0.0,
    max_noise_multiplier: float = MAX_NOISE_MULTIPLIER,
    n_rows: int | None = None,
    rtol: float = 1e-3,
) -> float:
    """Smallest DP-SGD noise multiplier such that preprocessing + ``steps`` DP-SGD steps at Poisson
    rate ``sample_rate`` compose to at most ``budget.epsilon``.

    Parameters
    ----------
    preprocessing : Ledger, history or None
        What was already spent; a :class:`Ledger` also contributes its thresholding deltas.
    sample_rate, steps : float, int
        Poisson rate ``batch / n`` and number of steps (``epochs / sample_rate``). Fewer steps or a
        smaller rate need less noise.
    max_noise_multiplier : float
        Above this the gradients are drowned in noise: raise :class:`BudgetError` instead, with the
        largest number of epochs that would work (``n_rows`` makes the message name batch and rows).
    rtol : float
        Relative precision of the returned multiplier (always on the safe side).

    The returned multiplier satisfies ``compose_epsilon(history + [(nm, q, steps)]) <= epsilon``
    with the same accountant, which is what :meth:`Ledger.spent` computes afterwards.
    """
    _check_budget(budget, "calibrate_dpsgd")
    if not (isinstance(sample_rate, (int, float)) and 0 < sample_rate <= 1):
        raise PrivacyParameterError(
            f"The 'sample_rate' parameter of calibrate_dpsgd must be a float in (0, 1]. "
            f"Got {sample_rate!r} instead."
        )
    if not (isinstance(steps, int) and steps >= 1):
        raise PrivacyParameterError(
            f"The 'steps' parameter of calibrate_dpsgd must be an int >= 1. Got {steps!r} instead."
        )
    history, delta_acc = _history_and_delta(preprocessing, budget, extra_delta)
    eps = budget.epsilon

    def eps_of(nm: float) -> float:
        return _quiet(history + [(nm, sample_rate, steps)], delta_acc, accountant)

    pre_eps = compose_epsilon(history, delta_acc, accountant=accountant)
    if pre_eps >= eps:
        raise PreprocessingOverBudget(
            f"The preprocessing alone spends epsilon={pre_eps:.4g} >= the budget "
            f"epsilon={eps:g}: lower its share or declare more bounds/domains public."
        )
    worst = eps_of(max_noise_multiplier)
    if worst > eps:
        max_steps = _max_steps(history, delta_acc, eps, sample_rate, max_noise_multiplier,
                               accountant, upper=steps, rel=0.02)
        max_epochs = math.floor(max_steps * sample_rate * 100) / 100
        head = (f"Cannot meet epsilon={eps:g} (delta={budget.delta:.3g}) with "
                f"{_epochs_text(steps, sample_rate, n_rows)}: even noise multiplier "
                f"{max_noise_multiplier:g} spends epsilon={worst:.4g}.")
        if max_steps == 0:
            raise BudgetError(f"{head} Not even one step at this sample rate fits: use a smaller "
                              "batch, a larger dataset, or a larger epsilon.")
        raise BudgetError(
            f"{head} Try at most {max_epochs:g} epochs ({max_steps} steps), a larger dataset, "
            "a smaller batch, or a larger epsilon."
        )
    nm = _calibrate(eps_of, history, delta_acc, eps, sample_rate, steps, accountant,
                    max_noise_multiplier, worst, rtol)
    compose_epsilon(history + [(nm, sample_rate, steps)], delta_acc,
                    accountant=accountant)  # logs once if the final figure needed the fallback
    return nm


def _rdp_noise(history, delta_acc: float, eps: float, sample_rate: float, steps: int,
               lo: float, hi: float) -> tuple[float, float]:
    """RDP-calibrated noise (cheap: no PRV mesh), to within 0.1% on the safe side, and the
    local slope ``-d log(epsilon) / d log(noise)`` there (used to aim the PRV probes)."""
    def rdp_of(nm: float) -> float:
        return _quiet(history + [(nm, sample_rate, steps)], delta_acc, "rdp")

    f_hi = rdp_of(hi)
    if f_hi > eps:
        return hi, 1.0
    f_lo = rdp_of(lo)
    if f_lo <= eps:
        return lo, 1.0
    nm = _solve_noise(rdp_of, eps, lo, hi, 1e-3, f_lo=f_lo, f_hi=f_hi)
    f_nm, f_up = rdp_of(nm), rdp_of(nm * 1.02)
    slope = math.log(f_nm / f_up) / math.log(1.02) if f_up > 0 and f_nm > f_up else 1.0
    return nm, min(max(slope, 0.2), 5.0)


def _calibrate(eps_of, history, delta_acc: float, eps: float, sample_rate: float, steps: int,
               accountant: str, max_nm: float, f_max: float, rtol: float) -> float:
    """Smallest noise (within ``rtol``, safe side) with ``eps_of(noise) <= eps``, given
    ``eps_of(max_nm) = f_max <= eps``.

    Fast path for the PRV accountant: the RDP-calibrated noise is found first (milliseconds
    per RDP evaluation). It is almost always a valid upper end for PRV as well (RDP's
    conversion is the looser bound); this is CHECKED with one PRV evaluation and, if it does
    not hold, the bracket is widened upwards. The PRV root is then predicted from that
    evaluation and the RDP curve's slope, a probe just below it closes the bracket, and
    :func:`_solve_noise` finishes (typically 3-4 PRV evaluations in all, against ~15 for a
    plain bisection). Every value returned has had ``eps_of`` evaluated at exactly that value
    and found ``<= eps``: the guarantee is the same as the slow bisection's.
    """
    lo = MIN_NOISE_MULTIPLIER
    if accountant != "prv":
        f_lo = eps_of(lo)
        if f_lo <= eps:
            return lo
        return _solve_noise(eps_of, eps, lo, max_nm, rtol, f_lo=f_lo, f_hi=f_max)
    guess, slope = _rdp_noise(history, delta_acc, eps, sample_rate, steps, lo, max_nm)
    hi = min(guess, max_nm)
    f_hi = f_max if hi == max_nm else eps_of(hi)
    while f_hi > eps:  # RDP below PRV here (rare): widen upwards, never past max_nm
        lo = hi
        hi = min(hi * 1.1, max_nm)
        f_hi = f_max if hi == max_nm else eps_of(hi)
    if hi <= MIN_NOISE_MULTIPLIER:
        return hi
    if lo > MIN_NOISE_MULTIPLIER:  # the widening loop already found a failing lower end
        return _solve_noise(eps_of, eps, lo, hi, rtol, f_hi=f_hi)
    tol = math.log1p(rtol)
    # predicted root (log-linear with the RDP slope), probed a little below
    step = math.log(eps / f_hi) / slope + 0.45 * tol
    cand = max(hi * math.exp(-max(step, tol)), MIN_NOISE_MULTIPLIER)
    f_cand = eps_of(cand)
    while f_cand <= eps:
        if cand <= MIN_NOISE_MULTIPLIER:
            return cand
        if f_cand > f_hi and cand < hi:  # PRV's own slope from the two points
            slope = min(max(math.log(f_cand / f_hi) / math.log(hi / cand), 0.2), 5.0)
        hi, f_hi = cand, f_cand
        step = min(max(math.log(eps / f_hi) / slope + 0.45 * tol, tol), 0.2)
        cand = max(cand * math.exp(-step), MIN_NOISE_MULTIPLIER)
        f_cand = eps_of(cand)
    return _solve_noise(eps_of, eps, cand, hi, rtol, f_lo=f_cand, f_hi=f_hi)


def _max_steps(history, delta_acc, eps, sample_rate, noise_multiplier, accountant,
               *, upper: int | None, rel: float = 0.0, limit: int = 10**7) -> int:
    def ok(s: int) -> bool:
        return _quiet(history + [(noise_multiplier, sample_rate, s)], delta_acc,
                      accountant) <= eps

    if _quiet(history, delta_acc, accountant) > eps or not ok(1):
        return 0
    lo = 1
    if upper is None:
        hi = 2
        while ok(hi):
            lo, hi = hi, hi * 2
            if hi > limit:
                return limit
    else:
        hi = upper
        if ok(hi):
            return hi
    # invariant: ok(lo), not ok(hi)
    while hi - lo > max(1, int(rel * lo)):
        mid = (lo + hi) // 2 if rel == 0 else max(lo + 1, min(hi - 1, int(math.sqrt(lo * hi))))
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return lo


def max_steps_for(
    budget: PrivacyBudget,
    preprocessing: Ledger | Iterable[Sequence] | None,
    *,
    sample_rate: float,
    noise_multiplier: float,
    accountant: str = "prv",
    extra_delta: float = 0.0,
    limit: int = 10**7,
) -> int:
    """Largest number of DP-SGD steps at ``(noise_multiplier, sample_rate)`` that, composed with the
    preprocessing, stays within ``budget`` (0 if not even one step fits; at most ``limit``)."""
    _check_budget(budget, "max_steps_for")
    history, delta_acc = _history_and_delta(preprocessing, budget, extra_delta)
    return _max_steps(history, delta_acc, budget.epsilon, sample_rate, noise_multiplier,
                      accountant, upper=None, limit=limit)
