"""Composition of every mechanism of a run in ONE Opacus accountant.

A history is a list of ``(noise_multiplier, sample_rate, steps)`` tuples, the format of Opacus'
accountants:

* a Gaussian measurement of a statistic with L2 sensitivity ``Δ`` and noise std ``σ`` is one step
  with ``noise_multiplier = σ/Δ`` and ``sample_rate = 1`` (no subsampling);
* DP-SGD with Poisson sampling is ``steps`` steps of the sampled Gaussian mechanism with
  ``noise_multiplier`` (noise std / clipping norm) and ``sample_rate = q``.

All of them are (subsampled) Gaussian mechanisms, so one accountant composes them exactly as it
composes DP-SGD steps:

* ``"prv"`` (default): :class:`opacus.accountants.PRVAccountant`, numerical composition of privacy
  loss random variables (Gopi, Lee & Wutschitz 2021, "Numerical Composition of Differential
  Privacy", Thm. 5.5: the returned value is an upper bound ``eps_estimate + eps_error``).
* ``"rdp"``: :class:`opacus.accountants.RDPAccountant`, Rényi DP of the sampled Gaussian mechanism
  (Mironov 2017, "Rényi Differential Privacy", Prop. 3 composition and Prop. 7 conversion;
  Mironov, Talwar & Zhang 2019 for subsampling); looser, used as cross-check and fallback.

The PRV accountant discretises the loss on a mesh; it can fail (``ValueError``/``RuntimeError``
for tiny ``delta``, huge domains, diverging means) or be unreasonably slow for very many steps.
:func:`compose_epsilon` then falls back to RDP, which is always a valid upper bound, and logs a
warning. For histories made only of ``sample_rate = 1`` steps the exact value is known (a
composition of Gaussians is a Gaussian with ``mu = sqrt(sum 1/sigma_i^2)``, Dong, Roth & Su 2019;
its ``(epsilon, delta)`` curve is Balle & Wang 2018, Thm. 8): a PRV figure below it is a numerical
failure and also triggers the fallback.

Thresholded releases (unknown category domains) add an ``extra_delta`` each: the total guarantee
is ``(epsilon at delta_acc, delta_acc + sum(extra_delta))``, see :func:`compose`.

Opacus (and therefore torch) is imported lazily, so ``import tabsynth.privacy`` stays light.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import math
import warnings
from collections.abc import Iterable, Sequence
from numbers import Real

import numpy as np
from scipy import optimize, stats

from .errors import BudgetError, PrivacyParameterError

__all__ = [
    "ACCOUNTANTS",
    "History",
    "compose",
    "compose_epsilon",
    "fallback_warned_once",
    "tracking_fallback",
    "gaussian_epsilon",
    "normalize_history",
]

logger = logging.getLogger(__name__)

History = Sequence[tuple[float, float, int]]
ACCOUNTANTS = ("prv", "rdp")

#: Default PRV error on epsilon (Opacus' default); the PRV figure is an upper bound including it.
PRV_EPS_ERROR = 0.01
#: Beyond this many steps the PRV mesh gets too fine to be practical; RDP is used instead.
PRV_MAX_STEPS = 200_000
#: Beyond this many mesh points the PRV FFT needs too much memory; RDP is used instead.
PRV_MAX_DOMAIN = 4_000_000
#: RDP orders: Opacus' defaults plus large orders, which matter for large noise multipliers.
RDP_ORDERS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + [
    80, 96, 128, 192, 256, 384, 512, 1024,
]


def _is_real(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def normalize_history(history: Iterable[Sequence]) -> list[tuple[float, float, int]]:
    """Validate a history and merge entries with the same ``(noise_multiplier, sample_rate)``.

    Merging is exact (composition is commutative) and makes the PRV figure independent of how the
    same mechanisms were listed. Entries are returned sorted, with ``steps > 0`` only.
    """
    merged: dict[tuple[float, float], int] = {}
    for item in history:
        if len(item) != 3:
            raise PrivacyParameterError(
                f"A history entry must be (noise_multiplier, sample_rate, steps). Got {item!r}."
            )
        nm, q, steps = item
        if not (_is_real(nm) and math.isfinite(nm) and nm > 0):
            raise PrivacyParameterError(
                f"The 'noise_multiplier' of a history entry must be a float > 0 and finite. "
                f"Got {nm!r} instead."
            )
        if not (_is_real(q) and 0 < q <= 1):
            raise PrivacyParameterError(
                f"The 'sample_rate' of a history entry must be a float in (0, 1]. "
                f"Got {q!r} instead."
            )
        if not (isinstance(steps, (int, np.integer)) and not isinstance(steps, bool)
                and steps >= 0):
            raise PrivacyParameterError(
                f"The 'steps' of a history entry must be an int >= 0. Got {steps!r} instead."
            )
        if steps:
            key = (float(nm), float(q))
            merged[key] = merged.get(key, 0) + int(steps)
    return sorted((nm, q, s) for (nm, q), s in merged.items())


def gaussian_epsilon(mu: float, delta: float) -> float:
    """Exact epsilon at ``delta`` of a ``mu``-GDP mechanism (Gaussian, sensitivity/std = ``mu``).

    Balle & Wang 2018 (analytic Gaussian mechanism, Thm. 8): the mechanism is ``(eps, delta)``-DP
    iff ``Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2) <= delta``. Solved for ``eps`` with
    Brent's method (log-space terms for stability).
    """
    if mu <= 0:
        return 0.0

    def excess(eps: float) -> float:
        a = stats.norm.logcdf(-eps / mu + mu / 2)
        b = eps + stats.norm.logcdf(-eps / mu - mu / 2)
        return float(np.exp(a) - np.exp(b)) - delta

    if excess(0.0) <= 0:
        return 0.0
    hi = 1.0
    while excess(hi) > 0:
        hi *= 2
    return float(optimize.brentq(excess, 0.0, hi, xtol=1e-12))


def _rdp_epsilon(history: list[tuple[float, float, int]], delta: float) -> float:
    from opacus.accountants.analysis import rdp as rdp_analysis

    rdp = sum(
        rdp_analysis.compute_rdp(q=q, noise_multiplier=nm, steps=steps, orders=RDP_ORDERS)
        for nm, q, steps in history
    )
    with warnings.catch_warnings():
        # "optimal order is the largest/smallest alpha": the bound is valid, only looser.
        warnings.simplefilter("ignore", UserWarning)
        eps, _ = rdp_analysis.get_privacy_spent(orders=RDP_ORDERS, rdp=rdp, delta=delta)
    return float(eps)


def _prv_domain_size(history: list[tuple[float, float, int]], delta: float,
                     eps_error: float) -> float:
    """Number of mesh points Opacus' PRV accountant would allocate (its ``_get_domain``)."""
    from opacus.accountants.analysis.prv import (
        PoissonSubsampledGaussianPRV,
        compute_safe_domain_size,
    )

    delta_error = delta / 1000
    total = sum(s for _, _, s in history)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        half_width = compute_safe_domain_size(
            prvs=[PoissonSubsampledGaussianPRV(q, nm) for nm, q, _ in history],
            max_self_compositions=[s for _, _, s in history],
            eps_error=eps_error, delta_error=delta_error,
        )
    mesh = eps_error / math.sqrt(total * math.log(12 / delta_error) / 2)
    return 2 * half_width / mesh


def _prv_epsilon(history: list[tuple[float, float, int]], delta: float, eps_error: float) -> float:
    from opacus.accountants import PRVAccountant

    accountant = PRVAccountant()
    accountant.history = list(history)
    # sample_rate = 1 makes log(1 - q) = -inf inside the PRV pdf/cdf: harmless but noisy.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(accountant.get_epsilon(delta, eps_error=eps_error))


def compose_epsilon(
    history: Iterable[Sequence],
    delta: float,
    *,
    accountant: str = "prv",
    eps_error: float = PRV_EPS_ERROR,
) -> float:
    """Epsilon at ``delta`` of all the steps in ``history``, composed in one accountant.

    Parameters
    ----------
    history : iterable of (noise_multiplier, sample_rate, steps)
        Every mechanism of the run (see module docstring). Empty history spends 0.
    delta : float
        The accountant's delta, in ``(0, 1)`` (excluding any thresholding ``extra_delta``).
    accountant : {"prv", "rdp"}
        ``"prv"`` is tighter; it falls back to ``"rdp"`` (with a logged warning) when it fails.
    eps_error : float
        PRV discretisation error; the returned PRV figure is an upper bound that includes it.
        Smaller is tighter and slower. Ignored by RDP.
    """
    if accountant not in ACCOUNTANTS:
        raise PrivacyParameterError(
            f"The 'accountant' parameter of compose_epsilon must be one of {list(ACCOUNTANTS)}. "
            f"Got {accountant!r} instead."
        )
    if not (_is_real(delta) and 0 < delta < 1):
        raise PrivacyParameterError(
            f"The 'delta' parameter of compose_epsilon must be a float in (0, 1). "
            f"Got {delta!r} instead."
        )
    eps, reason = _compose_epsilon(normalize_history(history), delta, accountant, eps_error)
    if reason is not None:
        _log_fallback(reason)
        seen = _FALLBACK_SEEN.get()
        if seen is not None:
            seen[0] = True
    return eps


#: Inside :func:`tracking_fallback`: whether a composition fell back from PRV to RDP.
_FALLBACK_SEEN: contextvars.ContextVar[list[bool] | None] = contextvars.ContextVar(
    "tabsynth_prv_fallback_seen", default=None)


@contextlib.contextmanager
def tracking_fallback():
    """Yield a one-item list that becomes ``[True]`` when a composition inside the block fell
    back from PRV to RDP, so the figure can be labelled with the accountant that produced it."""
    seen = [False]
    token = _FALLBACK_SEEN.set(seen)
    try:
        yield seen
    finally:
        _FALLBACK_SEEN.reset(token)


#: Inside :func:`fallback_warned_once`: whether the scope already logged a fallback warning.
_FALLBACK_SCOPE: contextvars.ContextVar[list[bool] | None] = contextvars.ContextVar(
    "tabsynth_prv_fallback_scope", default=None)


@contextlib.contextmanager
def fallback_warned_once():
    """Log the PRV -> RDP fallback warning at most once inside this scope (one fit).

    A fit composes its ledger many times (calibration, the per-epoch epsilon, the final
    figure); when PRV cannot handle the run (e.g. its mesh at a very large epsilon) every one
    of them falls back. Inside the scope the first fallback is a WARNING and the rest DEBUG.
    Also usable as a decorator (each call gets its own scope). Outside any scope every
    fallback is a WARNING.
    """
    token = _FALLBACK_SCOPE.set([False])
    try:
        yield
    finally:
        _FALLBACK_SCOPE.reset(token)


def _log_fallback(reason: str) -> None:
    scope = _FALLBACK_SCOPE.get()
    if scope is not None and scope[0]:
        logger.debug("PRV accountant failed (%s); fell back to the RDP accountant.", reason)
        return
    if scope is not None:
        scope[0] = True
        logger.warning("PRV accountant failed (%s); fell back to the RDP accountant (a valid, "
                       "looser upper bound) for this fit's epsilon figures; logged once per "
                       "fit.", reason)
        return
    logger.warning("PRV accountant failed (%s); fell back to the RDP accountant.", reason)


def _compose_epsilon(hist: list[tuple[float, float, int]], delta: float, accountant: str,
                     eps_error: float = PRV_EPS_ERROR) -> tuple[float, str | None]:
    """``(epsilon, reason)``: ``reason`` says why PRV fell back to RDP (``None`` if it did not).

    Quiet version of :func:`compose_epsilon` on a normalised history, for search loops.
    Results are memoised (a pure function of its arguments; a calibration, the ledger check
    that follows it and the per-epoch progress figures often ask for the same composition).
    """
    return _compose_cached(tuple((float(nm), float(q), int(s)) for nm, q, s in hist),
                           float(delta), accountant, float(eps_error))


@functools.lru_cache(maxsize=512)
def _compose_cached(hist: tuple[tuple[float, float, int], ...], delta: float, accountant: str,
                    eps_error: float) -> tuple[float, str | None]:
    hist = list(hist)
    if not hist:
        return 0.0, None
    if accountant == "rdp":
        return _rdp_epsilon(hist, delta), None
    total_steps = sum(s for _, _, s in hist)
    if total_steps > PRV_MAX_STEPS:
        return _rdp_epsilon(hist, delta), (
            f"{total_steps} steps exceed the PRV limit of {PRV_MAX_STEPS}"
        )
    try:
        size = _prv_domain_size(hist, delta, eps_error)
        if not size <= PRV_MAX_DOMAIN:
            raise MemoryError(f"the PRV mesh would have {size:.3g} points")
        eps = _prv_epsilon(hist, delta, eps_error)
    except (ValueError, RuntimeError, FloatingPointError, OverflowError, MemoryError) as exc:
        return _rdp_epsilon(hist, delta), f"{type(exc).__name__}: {exc}"
    if not math.isfinite(eps) or eps < 0:
        return _rdp_epsilon(hist, delta), f"non-finite or negative epsilon {eps!r}"
    if all(q == 1.0 for _, q, _ in hist):
        exact = gaussian_epsilon(math.sqrt(sum(s / nm**2 for nm, _, s in hist)), delta)
        if eps < exact - 1e-6:
            return _rdp_epsilon(hist, delta), (
                f"PRV epsilon {eps:.6g} is below the exact value {exact:.6g}"
            )
    return eps, None


def compose(
    history: Iterable[Sequence],
    delta: float,
    *,
    extra_delta: float = 0.0,
    accountant: str = "prv",
    eps_error: float = PRV_EPS_ERROR,
) -> tuple[float, float]:
    """Total ``(epsilon, delta)`` of a run whose total delta is ``delta``.

    ``extra_delta`` (the sum of the thresholding deltas of unknown-domain releases) is taken off
    first: the accountant works at ``delta - extra_delta``, and the guarantee is
    ``(epsilon, delta)`` because the thresholding failure events add to the accountant's delta
    (a union bound). Raises :class:`BudgetError` if ``extra_delta >= delta``.
    """
    if not (_is_real(extra_delta) and extra_delta >= 0):
        raise PrivacyParameterError(
            f"The 'extra_delta' parameter of compose must be a float >= 0. "
            f"Got {extra_delta!r} instead."
        )
    delta_acc = delta - extra_delta
    if delta_acc <= 0:
        raise BudgetError(
            f"The thresholding deltas ({extra_delta:.3g} in total) use up delta={delta:.3g}; "
            "raise the discovery thresholds (smaller extra_delta) or declare the domains public."
        )
    eps = compose_epsilon(history, delta_acc, accountant=accountant, eps_error=eps_error)
    return eps, float(delta)
