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
from .errors import BudgetError, PrivacyParameterError

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

    lo, hi = 0.1, 1.0
    while eps_of(hi) > target:
        lo, hi = hi, hi * 4
        if hi > 1e6:
            raise BudgetError(
                f"Cannot fit {n_measurements} measurements in epsilon={target:.3g}."
            )
    if eps_of(lo) <= target:
        return lo
    return _bisect_noise(eps_of, target, lo, hi, rtol)


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
        raise BudgetError(
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
    lo = MIN_NOISE_MULTIPLIER
    nm = lo if eps_of(lo) <= eps else _bisect_noise(eps_of, eps, lo, max_noise_multiplier, rtol)
    compose_epsilon(history + [(nm, sample_rate, steps)], delta_acc,
                    accountant=accountant)  # logs once if the final figure needed the fallback
    return nm


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
