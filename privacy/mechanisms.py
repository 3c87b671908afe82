"""Gaussian mechanisms for the statistics a DP model needs (bounds, domains, quantiles, modes...).

Layout (as in private-pgm): a *measurement* reads raw values, turns them into exact counts and
adds Gaussian noise — that happens only in the "Measurement" section below, through
:func:`_noisy`. *Post-processing* sees only noisy numbers and public parameters, and costs nothing.
Every measurement returns ``Release(value, entry)``: the noisy result and the
:class:`~.ledger.LedgerEntry` to charge (a Gaussian step at sample rate 1 with noise multiplier
``sigma / sensitivity``), so everything composes in the PRV/RDP accountant.

Neighbouring tables differ by adding or removing one row; then a histogram over a domain fixed in
advance changes in one bin by 1 (L2 sensitivity 1).

Randomness: every function takes an explicit ``rng``, the privacy noise source of
:func:`.noise.noise_rng` (OS entropy; never a generator seeded by ``random_state``: the noise
could then be regenerated from a model file and subtracted). With ``secure_mode=True`` the noise
comes from :class:`.noise.SecureRandom` (``os.urandom``, with the Holohan & Braghin 2021
floating-point mitigation); numpy's PCG64 is *not* suitable against an adversary who can observe
many raw outputs or exploit floating-point artefacts (Mironov 2012).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy import stats

from .errors import PrivacyParameterError
from .ledger import LedgerEntry
from .noise import SecureRandom, is_noise_rng

__all__ = [
    "GmmModes",
    "Release",
    "discover_categories",
    "discover_categories_from_counts",
    "dp_count",
    "dp_gmm_modes",
    "dp_missing_rate",
    "dp_quantiles",
    "gaussian_histogram",
    "gmm_modes_from_histogram",
    "noisy_counts",
    "numeric_histogram",
    "quantiles_from_histogram",
    "threshold_for",
]

logger = logging.getLogger(__name__)


class Release(NamedTuple):
    """A noisy result and the ledger entry to charge for it (unpacks as ``value, entry``)."""

    value: Any
    entry: LedgerEntry


@dataclass(frozen=True)
class GmmModes:
    """Modes for mode-specific normalisation (means, stds, weights summing to 1)."""

    means: np.ndarray
    stds: np.ndarray
    weights: np.ndarray


def _check_sigma(sigma: object, owner: str) -> float:
    if not (isinstance(sigma, (int, float, np.floating)) and not isinstance(sigma, bool)
            and math.isfinite(sigma) and sigma > 0):
        raise PrivacyParameterError(
            f"The 'sigma' parameter of {owner} must be a float > 0 and finite. "
            f"Got {sigma!r} instead."
        )
    return float(sigma)


def _check_rng(rng: object, owner: str, secure_mode: bool) -> None:
    if not (secure_mode and rng is None) and not is_noise_rng(rng):
        raise PrivacyParameterError(
            f"The 'rng' parameter of {owner} must be a privacy noise source "
            f"(tabsynth.privacy.noise_rng()). Got {rng!r} instead."
        )


# ------------------------------------------------------------------------------------------------
# Measurement: the only code that sees raw values.
# ------------------------------------------------------------------------------------------------
def _noisy(exact: np.ndarray, sigma: float, rng: np.random.Generator | None,
           secure_mode: bool) -> np.ndarray:
    """``exact + N(0, sigma^2)`` elementwise."""
    exact = np.asarray(exact, dtype=float)
    if secure_mode and not isinstance(rng, SecureRandom):
        rng = SecureRandom()
    return exact + rng.normal(0.0, sigma, size=exact.shape)


def _finite(values: Any) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    return x[~np.isnan(x)]


def gaussian_histogram(codes: Any, n_bins: int, sigma: float, rng: np.random.Generator, *,
                       target: str = "histogram", secure_mode: bool = False) -> Release:
    """Noisy counts of integer ``codes`` over the known domain ``0..n_bins-1`` (sensitivity 1).

    Negative noisy counts are kept (unbiased); clip them in post-processing if needed.
    """
    sigma = _check_sigma(sigma, "gaussian_histogram")
    _check_rng(rng, "gaussian_histogram", secure_mode)
    if not (isinstance(n_bins, (int, np.integer)) and n_bins >= 1):
        raise PrivacyParameterError(
            f"The 'n_bins' parameter of gaussian_histogram must be an int >= 1. "
            f"Got {n_bins!r} instead."
        )
    codes = np.asarray(codes).ravel()
    if codes.size and (not np.issubdtype(codes.dtype, np.integer)
                       or codes.min() < 0 or codes.max() >= n_bins):
        raise PrivacyParameterError(
            f"gaussian_histogram needs integer codes in [0, {n_bins}); the domain must be fixed "
            "before looking at the data."
        )
    return noisy_counts(np.bincount(codes, minlength=n_bins), sigma, rng, target=target,
                        secure_mode=secure_mode)


def noisy_counts(exact: Any, sigma: float, rng: np.random.Generator, *,
                 target: str = "histogram", secure_mode: bool = False) -> Release:
    """Noisy counts of a histogram whose exact counts over a domain fixed in advance were
    already computed (e.g. merged from partial counts of record batches or partitions):
    the measurement of :func:`gaussian_histogram`, with the same entry (sensitivity 1).
    Noise is added here, once, after any merge."""
    sigma = _check_sigma(sigma, "noisy_counts")
    _check_rng(rng, "noisy_counts", secure_mode)
    exact = np.asarray(exact)
    if exact.ndim != 1 or not exact.size or (exact < 0).any():
        raise PrivacyParameterError("noisy_counts needs a 1-d array of counts >= 0.")
    noisy = _noisy(exact, sigma, rng, secure_mode)
    entry = LedgerEntry.gaussian("gaussian_histogram", target, sigma=sigma,
                                 params={"n_bins": int(exact.size)})
    return Release(noisy, entry)


def numeric_histogram(values: Any, lower: float, upper: float, sigma: float,
                      rng: np.random.Generator, *, n_bins: int = 64,
                      target: str = "numeric histogram", secure_mode: bool = False) -> Release:
    """Noisy histogram of ``values`` on ``n_bins`` equal bins over ``[lower, upper]``.

    ``lower``/``upper`` must be public or DP (not read off the data). Values outside are clipped
    into the end bins; NaNs are not counted (measure missingness with :func:`dp_missing_rate`).
    Returns ``Release((noisy_counts, edges), entry)``; quantiles and GMM modes are both
    post-processing of this one measurement.
    """
    if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
        raise PrivacyParameterError(
            f"numeric_histogram needs finite bounds with lower < upper. Got [{lower!r}, {upper!r}]."
        )
    edges = np.linspace(lower, upper, n_bins + 1)
    x = np.clip(_finite(values), lower, upper)
    codes = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, n_bins - 1)
    counts, entry = gaussian_histogram(codes, n_bins, sigma, rng, target=target,
                                       secure_mode=secure_mode)
    entry = LedgerEntry.gaussian("numeric_histogram", target, sigma=entry.params["sigma"],
                                 params={"n_bins": int(n_bins), "lower": float(lower),
                                         "upper": float(upper)})
    return Release((counts, edges), entry)


def threshold_for(sigma: float, extra_delta: float) -> float:
    """Threshold ``tau`` with ``P[1 + N(0, sigma^2) > tau] = extra_delta``:
    ``tau = 1 + sigma * Phi^-1(1 - extra_delta)``."""
    sigma = _check_sigma(sigma, "threshold_for")
    if not (0 < extra_delta < 1):
        raise PrivacyParameterError(
            f"The 'extra_delta' parameter of threshold_for must be a float in (0, 1). "
            f"Got {extra_delta!r} instead."
        )
    return float(1.0 + sigma * stats.norm.isf(extra_delta))


def discover_categories(values: Any, sigma: float, threshold: float, rng: np.random.Generator,
                        *, target: str = "categories", secure_mode: bool = False) -> Release:
    """Categories of an unknown domain, with noisy counts, and a noisy "other" count.

    Measurement: the noisy counts of the categories present in ``values`` and the noisy number of
    rows ``n`` (the vector ``(counts..., n)`` has L2 sensitivity ``sqrt(2)``: one row moves one
    count and ``n`` by 1). Only categories whose noisy count exceeds ``threshold`` are released.

    Privacy (Korolova et al. 2009; Gopi et al. 2020, DP set union; Wilson et al. 2020): a category
    present in only one of two neighbouring tables has count 1 there; it is released with
    probability ``P[1 + N(0, sigma^2) > threshold]`` — this is the ``extra_delta`` of the entry.
    Outside that event the outputs differ as a Gaussian mechanism with sensitivity ``sqrt(2)``,
    so the release is ``(eps(sigma/sqrt(2)), delta + extra_delta)``-DP. Pick ``threshold`` with
    :func:`threshold_for`.

    Returns ``Release({"categories": [...], "counts": array, "other": float, "n": float}, entry)``
    with categories sorted by decreasing noisy count; ``other = max(noisy n - sum(released), 0)``
    (post-processing) is the mass of the rare categories folded into an "other" bucket. Missing
    values (None/NaN) are ignored.
    """
    seen: dict[Any, int] = {}  # the parameters are checked by discover_categories_from_counts
    for v in np.asarray(values, dtype=object).ravel():
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        seen[v] = seen.get(v, 0) + 1
    return discover_categories_from_counts(seen, sigma, threshold, rng, target=target,
                                           secure_mode=secure_mode)


def discover_categories_from_counts(seen: dict, sigma: float, threshold: float,
                                    rng: np.random.Generator, *, target: str = "categories",
                                    secure_mode: bool = False) -> Release:
    """:func:`discover_categories` from exact counts ``{value: count}`` (merged over record
    batches or partitions; missing values not among them): the same measurement and entry,
    the noise added here, once."""
    sigma = _check_sigma(sigma, "discover_categories")
    _check_rng(rng, "discover_categories", secure_mode)
    if not (isinstance(threshold, (int, float)) and math.isfinite(threshold)):
        raise PrivacyParameterError(
            f"The 'threshold' parameter of discover_categories must be a finite float. "
            f"Got {threshold!r} instead."
        )
    n = sum(seen.values())
    keys = list(seen)
    noisy = _noisy(np.array([*seen.values(), n], dtype=float), sigma, rng, secure_mode)
    # -- post-processing: only above-threshold categories leave this function --
    counts, noisy_n = noisy[:-1], float(noisy[-1])
    keep = np.flatnonzero(counts > threshold)
    keep = keep[np.argsort(-counts[keep], kind="stable")]
    released = counts[keep]
    value = {
        "categories": [keys[i] for i in keep],
        "counts": released,
        "other": max(noisy_n - float(released.sum()), 0.0),
        "n": max(noisy_n, 0.0),
    }
    extra = float(stats.norm.sf((threshold - 1.0) / sigma))
    entry = LedgerEntry.gaussian("discover_categories", target, sigma=sigma,
                                 sensitivity=math.sqrt(2.0), extra_delta=extra,
                                 params={"threshold": float(threshold)})
    return Release(value, entry)


def dp_missing_rate(is_missing: Any, sigma: float, rng: np.random.Generator, *,
                    target: str = "missing rate", secure_mode: bool = False) -> Release:
    """Noisy missing rate: a 2-bin histogram (missing, present), sensitivity 1; the rate is
    ``noisy_missing / (noisy_missing + noisy_present)`` clipped to [0, 1] (post-processing), so
    the noisy ``n`` comes for free."""
    codes = np.where(np.asarray(is_missing, dtype=bool).ravel(), 0, 1)
    counts, entry = gaussian_histogram(codes, 2, sigma, rng, target=target,
                                       secure_mode=secure_mode)
    missing, present = np.clip(counts, 0.0, None)
    rate = float(missing / (missing + present)) if missing + present > 0 else 0.0
    entry = LedgerEntry.gaussian("dp_missing_rate", target, sigma=float(sigma))
    return Release(rate, entry)


def dp_count(n: int, sigma: float, rng: np.random.Generator, *, target: str = "row count",
             secure_mode: bool = False) -> Release:
    """Noisy count ``n + N(0, sigma^2)`` (sensitivity 1), clipped at 0 (post-processing)."""
    sigma = _check_sigma(sigma, "dp_count")
    _check_rng(rng, "dp_count", secure_mode)
    noisy = float(_noisy(np.array([float(n)]), sigma, rng, secure_mode)[0])
    return Release(max(noisy, 0.0), LedgerEntry.gaussian("dp_count", target, sigma=sigma))


# ------------------------------------------------------------------------------------------------
# Post-processing: noisy numbers in, numbers out. Free.
# ------------------------------------------------------------------------------------------------
def quantiles_from_histogram(noisy_counts: Any, edges: Any, quantiles: Any) -> np.ndarray:
    """Quantiles of the distribution of a noisy histogram (linear within bins).

    Monotone non-decreasing in ``quantiles`` and always within ``[edges[0], edges[-1]]``.
    """
    q = np.asarray(quantiles, dtype=float)
    if np.any(~np.isfinite(q)) or np.any((q < 0) | (q > 1)):
        raise PrivacyParameterError(f"quantiles must lie in [0, 1]. Got {quantiles!r}.")
    mass = np.clip(np.asarray(noisy_counts, dtype=float), 0.0, None)
    if mass.sum() <= 0:
        mass = np.ones_like(mass)
    cdf = np.concatenate([[0.0], np.cumsum(mass) / mass.sum()])
    edges = np.asarray(edges, dtype=float)
    # interpolate only across bins with mass: keep the edges of those bins (empty bins are skipped,
    # so no quantile lands inside an empty bin)
    keep = np.zeros(len(edges), dtype=bool)
    keep[:-1] |= mass > 0
    keep[1:] |= mass > 0
    out = np.interp(q, cdf[keep], edges[keep])
    return np.clip(out, edges[0], edges[-1])


def gmm_modes_from_histogram(noisy_counts: Any, edges: Any, *, n_modes: int = 10,
                             min_std: float | None = None) -> GmmModes:
    """Modes for mode-specific normalisation, as post-processing of a noisy histogram.

    The noisy distribution is cut into ``n_modes`` equal-mass segments at its quantiles
    ``i/n_modes``. Mode ``i`` has mean at the segment's mid quantile ``(i + 1/2)/n_modes``, std
    half the segment width (floored at ``min_std``, default 1/1000 of the range; a point mass
    gives a narrow mode) and weight 1/n_modes. Modes with the same mean are merged (weights add).
    """
    if not (isinstance(n_modes, int) and n_modes >= 1):
        raise PrivacyParameterError(
            f"The 'n_modes' parameter must be an int >= 1. Got {n_modes!r} instead."
        )
    edges = np.asarray(edges, dtype=float)
    span = edges[-1] - edges[0]
    min_std = span / 1000 if min_std is None else float(min_std)
    cuts = quantiles_from_histogram(noisy_counts, edges, np.arange(n_modes + 1) / n_modes)
    mids = quantiles_from_histogram(noisy_counts, edges, (np.arange(n_modes) + 0.5) / n_modes)
    stds = np.maximum(np.diff(cuts) / 2, min_std)
    means, inverse = np.unique(np.round(mids, 12), return_inverse=True)
    weights = np.bincount(inverse, minlength=len(means)) / n_modes
    merged_stds = np.array([stds[inverse == i].max() for i in range(len(means))])
    return GmmModes(means=means, stds=merged_stds, weights=weights)


# ------------------------------------------------------------------------------------------------
# Measurement + post-processing in one call.
# ------------------------------------------------------------------------------------------------
def dp_quantiles(values: Any, lower: float, upper: float, quantiles: Any, sigma: float,
                 rng: np.random.Generator, *, n_bins: int = 64, target: str = "quantiles",
                 secure_mode: bool = False) -> Release:
    """DP quantiles: :func:`numeric_histogram` then :func:`quantiles_from_histogram`.

    More bins give finer resolution but more noise per bin relative to its count; ``n_bins``
    around ``n / (10 sigma)`` (at most a few hundred) is a reasonable choice.
    """
    (counts, edges), entry = numeric_histogram(values, lower, upper, sigma, rng, n_bins=n_bins,
                                               target=target, secure_mode=secure_mode)
    return Release(quantiles_from_histogram(counts, edges, quantiles), entry)


def dp_gmm_modes(values: Any, lower: float, upper: float, sigma: float,
                 rng: np.random.Generator, *, n_modes: int = 10, n_bins: int = 64,
                 target: str = "modes", secure_mode: bool = False) -> Release:
    """DP modes: :func:`numeric_histogram` then :func:`gmm_modes_from_histogram`."""
    (counts, edges), entry = numeric_histogram(values, lower, upper, sigma, rng, n_bins=n_bins,
                                               target=target, secure_mode=secure_mode)
    return Release(gmm_modes_from_histogram(counts, edges, n_modes=n_modes), entry)
