"""The DP measurement of each column, for :func:`~tabsynth.stats.private.compute_private_stats`.

One :class:`DPContext` per call holds the noise, the ledger and the noisy row-count estimates;
:func:`domain_stats` (declared or boolean domain), :func:`discovered_stats` (DP category
discovery) and :func:`continuous_stats` (bounds + one histogram) measure one column each and
post-process the measurement into its statistics. The rules are in the docstring of
:mod:`tabsynth.stats.private`.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from .._scalars import py_scalar, sort_key
from ..errors import DataError
from ..metadata import ColumnMetadata
from ..privacy import (
    Ledger,
    LedgerEntry,
    PrivacyWarning,
    UtilityWarning,
    gmm_modes_from_histogram,
    quantiles_from_histogram,
    threshold_for,
)
from ..privacy.bounds import bounds_grid_counts, dp_bounds_from_counts
from ..privacy.mechanisms import discover_categories_from_counts, noisy_counts
from .categories import OTHER
from .dp_histogram import (
    CLIP_WARN_SHARE,
    clipped_rows,
    histogram_counts,
    histogram_edges,
    point_values,
    tighten,
)
from .dp_warnings import FOLD_WARN_SHARE, warn_clipped, warn_folded, warn_guessed
from .noise_cells import drop_noise_bins as _drop_noise_bins
from .noise_cells import even_out_noise_cells as _even_out_noise_cells
from .schema import N_QUANTILES, CategoricalStats, DatetimeStats, NumericStats
from .values import column_values

__all__ = ["DPContext", "bounds_counts", "category_counts", "continuous_stats",
           "discovered_stats", "domain_counts", "domain_stats", "histogram_counts",
           "histogram_edges", "measure_bounds", "point_values", "present_values"]

_TIME_DIRECTIVES = re.compile(r"%[HIMSpXcTRrf]")
_STRING_DTYPES = ("object", "str", "string", "category")


class _Missing:
    """Marker for a missing value inside :func:`discover_categories` (never released); one
    instance, kept when pickled (partial counts travel between Dask workers)."""

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "<missing>"

    def __reduce__(self) -> str:
        return "_MISSING"


_MISSING = _Missing()


class DPContext:
    """Shared state of one call: noise, ledger, and the noisy row-count estimates."""

    def __init__(self, *, ledger: Ledger, nm: float, rng: Any, secure_mode: bool, note: str,
                 n_bins: int, max_modes: int, extra_delta: float,
                 tighten_bounds: bool = True, point_bins: bool = False) -> None:
        self.ledger = ledger
        self.point_bins = point_bins
        self.tighten_bounds = tighten_bounds
        self.nm = nm
        self.rng = rng
        self.secure_mode = secure_mode
        self.note = note
        self.n_bins = n_bins
        self.max_modes = max_modes
        self.extra_delta = extra_delta
        self._n_estimates: list[tuple[float, float]] = []  # (estimate, variance)
        self._clipped: list[tuple[str, float, str]] = []  # (column, noisy rows, bound)
        self._guessed: list[tuple[str, str]] = []  # (column, the bounds mechanism's warning)
        self._folded: list[tuple[str, float, bool]] = []  # (column, "__other__" share, only)

    def charge(self, entry: LedgerEntry) -> None:
        self.ledger.add(LedgerEntry(**{**entry.to_dict(), "note": self.note}), enforce=False)

    def histogram(self, exact: np.ndarray, target: str, params: dict[str, Any]) -> np.ndarray:
        """Noisy counts of the exact histogram ``exact`` (the last bin is "missing"; counts
        of record batches merged before this, the one place the noise is added)."""
        n_bins = len(exact)
        counts, _ = noisy_counts(np.asarray(exact, dtype=np.int64), self.nm, self.rng,
                                 target=target, secure_mode=self.secure_mode)
        self.charge(LedgerEntry.gaussian("gaussian_histogram", target, sigma=self.nm,
                                         params={"n_bins": int(n_bins), "missing_bin": True,
                                                 **params}))
        self.count(float(np.sum(counts)), n_bins * self.nm ** 2)
        return counts

    def count(self, estimate: float, variance: float) -> None:
        self._n_estimates.append((estimate, variance))

    def note_clipped(self, name: str, rows: float, hi: float, is_dt: bool) -> None:
        """Note a column's noisy count of rows clipped to its DP upper bound
        (:func:`~tabsynth.stats.dp_histogram.clipped_rows`); :meth:`warn` reports."""
        if rows > 0:
            bound = (str(pd.Timestamp("1970-01-01") + pd.to_timedelta(hi, unit="s"))
                     if is_dt else f"{hi:g}")
            self._clipped.append((name, rows, bound))

    def note_guessed(self, name: str, message: str) -> None:
        """Note a column whose DP bounds are a guess (the bounds mechanism's warning);
        :meth:`warn` reports."""
        self._guessed.append((name, message))

    def note_folded(self, name: str, share: float, only_other: bool) -> None:
        """Note a text column's released "__other__" frequency; :meth:`warn` reports the
        columns where it is at least ``FOLD_WARN_SHARE``."""
        if share >= FOLD_WARN_SHARE:
            self._folded.append((name, share, only_other))

    def warn(self) -> None:
        """The grouped warnings (:mod:`~tabsynth.stats.dp_warnings`): columns whose DP bounds
        are a guess, and columns whose clipped rows are at least ``CLIP_WARN_SHARE`` of the
        noisy row count (post-processing of released counts; nothing is saved)."""
        warn_guessed(self._guessed)
        n = self.n_rows()
        shares = [(name, min(rows / n, 1.0) if n else 1.0, bound)
                  for name, rows, bound in self._clipped]
        warn_clipped([c for c in shares if c[1] >= CLIP_WARN_SHARE])
        warn_folded(self._folded)

    def n_rows(self) -> int | None:
        if not self._n_estimates:
            return None
        w = np.array([1.0 / v for _, v in self._n_estimates])
        x = np.array([e for e, _ in self._n_estimates])
        return max(int(round(float(np.sum(w * x) / np.sum(w)))), 1)


def _frequencies(mass: np.ndarray) -> np.ndarray:
    """Clip, renormalise, floor (so every category keeps a little mass), renormalise."""
    p = np.clip(np.asarray(mass, dtype=float), 0.0, None)
    p = p / p.sum() if p.sum() > 0 else np.full(len(p), 1.0 / len(p))
    p = np.maximum(p, min(1e-4, 0.01 / len(p)))
    return p / p.sum()


def domain_counts(name: str, domain: list, s: pd.Series) -> np.ndarray:
    """Exact counts of ``s`` over ``domain`` plus a missing bin (what :func:`domain_stats`
    measures; counts of record batches add up)."""
    values = s.to_numpy(dtype=object)
    isna = pd.isna(s).to_numpy()
    index = pd.Index(domain, dtype=object)
    codes = index.get_indexer(values)
    outside = (codes < 0) & ~isna
    if outside.any():
        raise DataError(f"Column {name!r} has value(s) outside its public domain.")
    codes = np.where(isna, len(domain), codes)
    return np.bincount(codes, minlength=len(domain) + 1)


def domain_stats(ctx: DPContext, name: str, domain: list, exact: np.ndarray) -> CategoricalStats:
    """A declared (or boolean) domain's frequencies and missing rate from one noisy histogram
    of the exact counts :func:`domain_counts`."""
    _warn_if_domain_looks_observed(name, domain, np.asarray(exact)[:-1])
    counts = ctx.histogram(exact, f"column {name!r} categories (+missing)", {})
    counts = np.append(_even_out_noise_cells(counts[:-1], ctx.nm), counts[-1])
    mass = np.clip(counts, 0.0, None)
    total = float(mass.sum())
    missing_rate = float(mass[-1] / total) if total > 0 else 0.0
    return CategoricalStats(tuple(domain), tuple(_frequencies(counts[:-1])), missing_rate,
                            source="dp")


#: A declared domain of at least this many values that equals the observed set, with a value
#: seen in at most ``_LEAK_RARE`` rows, is reported as a probable leak.
_LEAK_MIN_VALUES = 3
_LEAK_RARE = 2


def _warn_if_domain_looks_observed(name: str, domain: list, counts: np.ndarray) -> None:
    """Warn (loudly) when a declared public domain is exactly the set of observed values and
    some of them are rare: the usual sign of a "public" codebook built from the rows.

    A codebook from published documentation usually lists values absent from a given table,
    or has only common ones; a value seen once or twice that is in the domain *and* every
    domain value being present is what ``df[col].unique()`` produces. The warning is for the
    data owner running the fit (it is not saved in the model) and quotes no value or count.
    """
    if len(domain) < _LEAK_MIN_VALUES or not counts.sum():
        return
    if (counts > 0).all() and counts.min() <= _LEAK_RARE:
        warnings.warn(
            f"Column {name!r}: the declared public_domain is exactly the set of values present "
            "in the table, some of them rare. If the domain was read from the data (e.g. "
            "df[col].unique()), it is NOT public: every rare value it names is released with "
            "certainty, outside the privacy budget. Take the domain from published "
            "documentation (a codebook), or leave public_domain unset so DP discovery decides.",
            PrivacyWarning, stacklevel=4)


def _text_like(col: ColumnMetadata, s: pd.Series | None = None) -> bool:
    """Text-like by the metadata's dtype (no dtype declared: decided by the released
    categories, which are DP outputs)."""
    dtype = col.dtype
    return dtype is None or dtype in _STRING_DTYPES or dtype.startswith("string")


def category_counts(s: pd.Series, into: dict | None = None) -> dict:
    """Exact ``{value: count}`` of ``s``, missing values under a private marker (what
    :func:`discovered_stats` measures), added into ``into`` (counts of batches add up)."""
    out: dict = {} if into is None else into
    isna = pd.isna(s).to_numpy()
    n_missing = int(isna.sum())
    if n_missing:
        out[_MISSING] = out.get(_MISSING, 0) + n_missing
    present = s[~isna]
    if len(present):
        for v, c in present.value_counts(sort=False, dropna=True).items():
            out[v] = out.get(v, 0) + int(c)
    return out


def discovered_stats(ctx: DPContext, name: str, col: ColumnMetadata,
                     seen: dict) -> CategoricalStats:
    """DP category discovery on the exact counts :func:`category_counts` (merged)."""
    sigma = ctx.nm * math.sqrt(2.0)  # sensitivity sqrt(2): (counts..., n)
    threshold = threshold_for(sigma, ctx.extra_delta)
    target = f"column {name!r} categories (+missing)"
    release, entry = discover_categories_from_counts(seen, sigma, threshold, ctx.rng,
                                                     target=target,
                                                     secure_mode=ctx.secure_mode)
    ctx.charge(entry)
    ctx.count(float(release["n"]), sigma ** 2)
    # -- post-processing of released (above-threshold) categories only --
    released = {}
    missing_count = 0.0
    for cat, c in zip(release["categories"], release["counts"], strict=True):
        if cat is _MISSING:
            missing_count = float(c)
        else:
            released[py_scalar(cat)] = float(c)
    other_mass = float(release["other"])
    cats = sorted(released, key=sort_key)
    counts = [released[c] for c in cats]
    other: Any
    sentinel = _text_like(col) and all(isinstance(c, str) for c in cats)
    if sentinel:
        other = OTHER
        while other in released:
            other += "_"
        cats.append(other)
        counts.append(other_mass)
    elif cats:
        other = max(cats, key=lambda c: released[c])  # ties: first in sorted order
        counts[cats.index(other)] += other_mass
    else:
        warnings.warn(
            f"Column {name!r}: no value is frequent enough to be released under DP; every value "
            f"is encoded as {OTHER!r}, so the column's dtype cannot be restored. Declare its "
            "public_domain or raise epsilon/share.",
            PrivacyWarning,
            stacklevel=3,
        )
        other = OTHER
        cats, counts = [OTHER], [other_mass]
    present = float(np.sum(np.clip(counts, 0.0, None)))
    missing_rate = missing_count / (missing_count + present) if missing_count > 0 else 0.0
    freqs = _frequencies(np.array(counts))
    if sentinel:  # the released "__other__" share, reported when large
        ctx.note_folded(name, float(freqs[-1]), len(cats) == 1)
    return CategoricalStats(tuple(cats), tuple(freqs), float(missing_rate), source="dp",
                            other=other)


def _datetime_unit(col: ColumnMetadata) -> str:
    """Granularity from the schema: ``datetime_format`` without a time part -> days."""
    fmt = col.datetime_format
    if fmt is None:
        return "s"
    if "%f" in fmt:
        return "us"
    return "s" if _TIME_DIRECTIVES.search(fmt) else "D"

def is_integer_column(col: ColumnMetadata) -> bool:
    """Integer by the metadata's type, never by the dtype of the values."""
    return col.sdtype != "datetime" and col.representation == "int"


def present_values(name: str, col: ColumnMetadata, s: pd.Series) -> np.ndarray:
    """A numerical/datetime column's values as floats, NaN where missing (checked)."""
    return column_values(name, col, s)


def bounds_counts(vals: np.ndarray) -> np.ndarray:
    """Exact counts on the fixed grid of :func:`dp_bounds` (present values only)."""
    return bounds_grid_counts(vals[~np.isnan(vals)])


def measure_bounds(ctx: DPContext, name: str, col: ColumnMetadata,
                   exact: np.ndarray) -> tuple[tuple[float, float], Any]:
    """DP bounds from merged grid counts: ``((lo, hi), entry)``; the entry is charged by
    :func:`continuous_stats` (so the ledger lists each column's measurements together)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (lo, hi), entry = dp_bounds_from_counts(exact, ctx.nm, ctx.rng,
                                                target=f"column {name!r} bounds",
                                                secure_mode=ctx.secure_mode)
    for w in caught:  # its one UtilityWarning (a guess) is grouped; anything else passes
        if issubclass(w.category, UtilityWarning):
            ctx.note_guessed(name, str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if is_integer_column(col):
        lo, hi = float(math.floor(lo)), float(math.ceil(hi))
    return (lo, hi), entry


def continuous_stats(ctx: DPContext, name: str, col: ColumnMetadata, lo: float, hi: float,
                     bounds_entry: Any, exact: np.ndarray) -> NumericStats | DatetimeStats:
    """Bounds (declared: ``bounds_entry`` is None; else :func:`measure_bounds`'s entry,
    charged here) and one histogram with a missing bin over them, from its merged exact
    counts :func:`histogram_counts`; modes, quantiles and the missing rate are
    post-processing of that histogram."""
    is_dt = col.sdtype == "datetime"
    is_integer = is_integer_column(col)
    public = bounds_entry is None
    if public:
        ctx.ledger.declare_public(f"column {name!r} bounds", f"public_bounds [{lo:g}, {hi:g}]")
    else:
        ctx.charge(bounds_entry)
    edges, aligned = histogram_edges(lo, hi, is_integer, ctx.n_bins, ctx.point_bins)
    target = f"column {name!r} histogram (+missing)"
    if edges is None:
        counts = ctx.histogram(exact, target, {"lower": float(lo), "upper": float(hi)})
    else:
        counts = ctx.histogram(exact, target, {"lower": float(lo), "upper": float(hi),
                                               "bins": len(edges) - 1})

    # -- post-processing --
    hist = counts[:-1]
    if not public and edges is not None:
        ctx.note_clipped(name, clipped_rows(hist, edges, aligned, ctx.nm, is_integer), hi, is_dt)
    present_mass = float(np.clip(_drop_noise_bins(hist, ctx.nm), 0.0, None).sum())
    miss = max(float(counts[-1]), 0.0)
    missing_rate = miss / (miss + present_mass) if miss + present_mass > 0 else 0.0
    if edges is None:
        std = max(1e-6 * max(1.0, abs(lo)), 1e-12)
        weights, means, stds = (1.0,), (lo,), (std,)
        quantiles = (lo,) * N_QUANTILES
    else:
        if not public and ctx.tighten_bounds:
            hist, edges, lo, hi = tighten(ctx, hist, edges, aligned, is_integer)
        hist = _drop_noise_bins(hist, ctx.nm)
        modes = gmm_modes_from_histogram(hist, edges, n_modes=ctx.max_modes)
        weights = tuple(modes.weights)
        means = tuple(np.clip(modes.means, lo, hi))
        stds = tuple(modes.stds)
        quantiles = tuple(np.clip(
            quantiles_from_histogram(hist, edges, np.linspace(0, 1, N_QUANTILES)), lo, hi))
    if is_dt:
        return DatetimeStats(lo, hi, missing_rate, weights, means, stds, quantiles,
                             datetime_format=col.datetime_format, unit=_datetime_unit(col),
                             source="dp")
    # rounding only when declared (public): nothing is read off the values
    if col.decimals is not None and not is_integer:
        ctx.ledger.declare_public(f"column {name!r} decimals", f"decimals {col.decimals}")
    return NumericStats(lo, hi, bool(is_integer), 0 if is_integer else col.decimals,
                        missing_rate,
                        weights, means, stds, quantiles, source="dp")
