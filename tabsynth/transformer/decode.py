"""Per-column decoders of :class:`~tabsynth.transformer.DataTransformer`: codes, bins or the
mode-specific normalisation back to values of the training column's dtype."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats.schema import UNIT_SECONDS, DatetimeStats
from .binning import Binned, quantile_levels, quantile_values, reaches_bound
from .spans import ContinuousSpec, DiscreteSpec

__all__ = ["binned_from_codes", "continuous_from_matrix", "discrete_from_codes"]

_EPOCH_NS = np.datetime64("1970-01-01T00:00:00", "ns")
_EPOCH_US = np.datetime64("1970-01-01T00:00:00", "us")


def discrete_from_codes(spec: DiscreteSpec, codes: np.ndarray) -> pd.Series:
    """Categories of ``codes`` (the last slot: missing), in the training column's dtype."""
    cats = np.empty(spec.dim, dtype=object)
    cats[: len(spec.stats.categories)] = list(spec.stats.categories)
    if spec.has_nan:
        cats[-1] = None
    values = cats[codes]
    isna = codes == len(spec.stats.categories)
    dtype = spec.meta.dtype
    if dtype == "category":
        return pd.Series(pd.Categorical(values, categories=list(spec.stats.categories)))
    if dtype is None:
        return pd.Series(pd.array(values.tolist()) if len(values) else values)
    if dtype == "object":
        values[isna] = np.nan
        return pd.Series(values, dtype=object)
    return _as_dtype(pd.Series(values, dtype=object), dtype, isna.any())


def binned_from_codes(spec: Binned, b: np.ndarray, rng: np.random.Generator,
                      bounds: tuple[float, float] | None = None,
                      u: np.ndarray | None = None) -> pd.Series:
    """Values of bin codes ``b``: the quantile function (the quantiles of the statistics,
    linear between them) at a level drawn uniformly among those the bin spans; uniform within
    the bin when it spans no quantile mass.

    ``bounds`` (in the column's numeric space: epoch seconds for datetimes) restricts every
    value to ``[lo, hi]``: the within-bin draw is made on the part of the bin inside the
    bounds, and rounding (integers, decimals, datetime units) never leaves them. The caller
    picks bins that meet the bounds (a bin outside them gives the nearest bound).

    ``u``: the within-bin levels in [0, 1), one per row (default: drawn from ``rng``)."""
    st = spec.stats
    reach_bound = reaches_bound(st)
    isna = b == spec.n_bins if spec.has_nan else np.zeros(len(b), dtype=bool)
    b = np.minimum(b, spec.n_bins - 1)
    lo, hi = spec.lo[b], spec.hi[b]
    if bounds is None:
        l0, l1 = spec.levels[b, 0], spec.levels[b, 1]
    else:
        blo, bhi = _integer_bounds(bounds) if spec.is_integer else bounds
        lo, hi = np.clip(lo, blo, bhi), np.clip(hi, blo, bhi)
        edge = hi + (1.0 if spec.is_integer else 0.0)
        l0 = quantile_levels(lo, spec.quantiles, reach_bound=reach_bound)
        l1 = quantile_levels(edge, spec.quantiles, reach_bound=reach_bound)
    u = rng.random(len(b)) if u is None else np.asarray(u, dtype=float)
    width = hi - lo + (1.0 if spec.is_integer else 0.0)
    uniform = lo + u * width
    by_q = quantile_values(l0 + u * (l1 - l0), spec.quantiles, reach_bound=reach_bound)
    x = np.where(l1 - l0 > 1e-9, by_q, uniform)
    if spec.is_integer:
        x = np.where(l1 - l0 > 1e-9, np.round(x), np.floor(x))
    x = np.clip(x, lo, hi)
    if isinstance(st, DatetimeStats):
        return _datetime(spec, st, x, isna, bounds)
    if not st.is_integer and st.decimals is not None:
        x = _round_within(x, st.decimals, bounds)
    return _numeric(spec, x, isna)


def continuous_from_matrix(spec: ContinuousSpec, X: np.ndarray) -> pd.Series:
    """Values of the mode-specific normalisation: argmax mode (and missing slot), the value
    denormalised within the mode and clipped to the bounds."""
    st = spec.stats
    k = np.argmax(X[:, spec.mode:spec.mode + spec.n_modes], axis=1)
    mu = np.asarray(st.mode_means)
    sd = np.asarray(st.mode_stds)
    v = np.clip(X[:, spec.value].astype(float), -1.0, 1.0)
    x = np.clip(v * 4 * sd[k] + mu[k], st.lower, st.upper)
    isna = np.zeros(len(x), dtype=bool)
    if spec.missing is not None:
        isna = np.argmax(X[:, spec.missing:spec.missing + 2], axis=1) == 1
    if isinstance(st, DatetimeStats):
        return _datetime(spec, st, x, isna)
    if st.is_integer:
        x = np.round(x)
    elif st.decimals is not None:
        x = np.round(x, st.decimals)
    return _numeric(spec, x, isna)


def _numeric(spec: ContinuousSpec | Binned, x: np.ndarray, isna: np.ndarray) -> pd.Series:
    x = np.where(isna, np.nan, x)
    dtype = spec.meta.dtype
    if dtype is None:
        dtype = "int64" if spec.stats.is_integer else "float64"
    if spec.meta.is_duration:  # a duration, modelled in seconds
        return pd.Series(pd.to_timedelta(x, unit="s")).astype(dtype)
    return _as_dtype(pd.Series(x), dtype, isna.any())


def _datetime(spec: ContinuousSpec | Binned, st: DatetimeStats, x: np.ndarray,
              isna: np.ndarray, bounds: tuple[float, float] | None = None) -> pd.Series:
    unit_s = UNIT_SECONDS[st.unit]
    unit_ns = max(int(round(unit_s * 1e9)), 1)
    units = np.round(np.where(isna, 0.0, x) / unit_s)
    if bounds is not None:  # whole units inside the bounds (when there is one)
        ulo, uhi = np.ceil(bounds[0] / unit_s), np.floor(bounds[1] / unit_s)
        if ulo <= uhi:
            units = np.where(isna, units, np.clip(units, ulo, uhi))
    units = units.astype(np.int64)
    if unit_ns >= 1_000:  # microseconds: 9999-12-31 (an open end) is beyond 2262
        ticks = units * (unit_ns // 1_000)
        dt = pd.Series(_EPOCH_US + ticks.astype("timedelta64[us]"))
    else:
        dt = pd.Series(_EPOCH_NS + (units * unit_ns).astype("timedelta64[ns]"))
    dt[isna] = pd.NaT
    dtype = spec.meta.dtype
    fmt = spec.meta.datetime_format or st.datetime_format
    if dtype is not None and dtype.startswith("datetime64"):
        target = pd.api.types.pandas_dtype(dtype)
        tz = getattr(target, "tz", None)
        if tz is not None:
            dt = dt.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
        return dt.astype(target)
    if fmt is None and dtype is None:
        return dt
    if fmt is None:
        fmt = "%Y-%m-%d" if st.unit == "D" else "%Y-%m-%d %H:%M:%S"
    text = dt.dt.strftime(fmt)
    return text.astype(dtype or "str")


def _integer_bounds(bounds: tuple[float, float]) -> tuple[float, float]:
    lo, hi = float(np.ceil(bounds[0])), float(np.floor(bounds[1]))
    return (lo, hi) if lo <= hi else (float(bounds[0]), float(bounds[1]))


def _round_within(x: np.ndarray, decimals: int,
                  bounds: tuple[float, float] | None) -> np.ndarray:
    """``x`` rounded to ``decimals``; with ``bounds``, rounded values stay inside them (values
    are left unrounded when no rounded value lies inside)."""
    r = np.round(x, decimals)
    if bounds is None:
        return r
    scale = 10.0 ** decimals
    lo, hi = np.ceil(bounds[0] * scale) / scale, np.floor(bounds[1] * scale) / scale
    if lo > hi:
        return x
    return np.clip(np.clip(r, lo, hi), bounds[0], bounds[1])


def _nullable(dtype: str) -> str:
    """Nullable pandas counterpart of a numpy int/bool dtype name."""
    if dtype == "bool":
        return "boolean"
    if dtype.startswith("uint"):
        return "UInt" + dtype[4:]
    if dtype.startswith("int"):
        return "Int" + dtype[3:]
    return dtype


def _as_dtype(s: pd.Series, dtype: str, has_nan: bool) -> pd.Series:
    """Cast decoded values to the training dtype (nullable variant when NaN must fit)."""
    target = dtype
    if has_nan and (dtype == "bool" or dtype.startswith(("int", "uint"))):
        target = _nullable(dtype)
    try:
        if target.startswith(("Int", "UInt")) or target in ("int64", "int32", "int16", "int8"):
            if s.dtype == object:
                s = pd.to_numeric(s)
        return s.astype(target)
    except (TypeError, ValueError):
        return s.infer_objects()
