"""Exact (non-DP) per-column statistics: :func:`compute_stats`.

With :mod:`.private` (the DP counterpart), the only code that reads statistics off real rows.
The result is a :class:`~tabsynth.stats.schema.TableStats` (``source="exact"``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .._scalars import py_scalar, sort_key
from ..errors import DataError, MetadataError, check_param, is_int, is_real
from ..metadata import ColumnMetadata, Metadata
from .categories import cap_categories
from .schema import (
    _UNITS_NS,
    MAX_ATOMS,
    N_QUANTILES,
    CategoricalStats,
    DatetimeStats,
    NumericStats,
    TableStats,
    _floats,
)
from .values import column_values, public_bounds

__all__ = ["PARALLEL_MIN_FITS", "compute_stats"]

_MAX_DECIMALS = 6


def _datetime_unit(s: pd.Series, col: ColumnMetadata) -> str:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        dt = s.dropna()
        if getattr(dt.dt, "tz", None) is not None:
            dt = dt.dt.tz_localize(None)
    else:
        text = s.dropna().astype("object")
        dt = pd.to_datetime(text, format=col.datetime_format or "mixed", errors="coerce")
        dt = dt.dropna()
    if len(dt) == 0:
        return "s"
    if str(dt.dtype) == "datetime64[ns]":  # within the nanosecond range by its dtype
        ticks, per_ns = dt.to_numpy().astype(np.int64), 1
    else:  # microseconds: 9999-12-31 (an open end) is beyond 2262
        ticks, per_ns = dt.astype("datetime64[us]").to_numpy().astype(np.int64), 1_000
    for unit, size in _UNITS_NS:
        if size >= per_ns and np.all(ticks % (size // per_ns) == 0):
            return unit
    return "ns"  # pragma: no cover


def _atoms(present: np.ndarray) -> tuple[float, ...] | None:
    """Every value of a numeric column with at most :data:`MAX_ATOMS` distinct ones, else
    ``None`` (see :class:`NumericStats`)."""
    vals = np.unique(present)
    return _floats(vals) if len(vals) <= MAX_ATOMS else None


def _decimals(values: np.ndarray) -> int | None:
    """Smallest number of decimals (<= 6) that represents all values, else None."""
    if len(values) == 0:
        return None
    for d in range(_MAX_DECIMALS + 1):
        scaled = values * 10.0**d
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 + 1e-9 * np.abs(scaled)):
            return d
    return None


def _exact_modes(values: np.ndarray, max_modes: int) -> tuple | None:
    """One narrow mode per value when there are at most ``max_modes`` distinct values."""
    return _modes_from_counts(*np.unique(values, return_counts=True), max_modes)


def _modes_from_counts(uniq: np.ndarray, counts: np.ndarray, max_modes: int) -> tuple | None:
    """:func:`_exact_modes` from the sorted distinct values and their counts."""
    if len(uniq) > max_modes:
        return None
    lo, hi = float(uniq[0]), float(uniq[-1])
    gap = float(np.min(np.diff(uniq))) if len(uniq) > 1 else max(1.0, abs(lo))
    std = max(gap / 100.0, _std_floor(lo, hi))
    weights = counts / counts.sum()
    return _floats(weights), _floats(uniq), _floats([std] * len(uniq))


def _std_floor(lo: float, hi: float) -> float:
    return max(1e-6 * (hi - lo), 1e-9 * max(1.0, abs(lo), abs(hi)), 1e-12)


def _mixture_modes(fit: np.ndarray, lo: float, hi: float, seed: int, max_modes: int,
                   weight_threshold: float) -> tuple:
    """(weights, means, stds) of a Bayesian Gaussian mixture on ``fit`` (a pure function of
    its arguments, so fits of many columns can run in worker processes)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import BayesianGaussianMixture

    gm = BayesianGaussianMixture(
        n_components=max_modes,
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=0.001,
        max_iter=100,
        n_init=1,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(fit.reshape(-1, 1))
    weights = gm.weights_
    keep = weights > weight_threshold
    if not keep.any():
        keep = weights == weights.max()
    w = weights[keep] / weights[keep].sum()
    means = gm.means_.reshape(-1)[keep]
    stds = np.maximum(np.sqrt(gm.covariances_.reshape(-1)[keep]), _std_floor(lo, hi))
    order = np.argsort(means)
    return _floats(w[order]), _floats(means[order]), _floats(stds[order])


#: Mixture fits at or above this count run in parallel worker processes (joblib).
PARALLEL_MIN_FITS = 16


def _run_mixtures(jobs: list[tuple], n_jobs: int | None) -> list[tuple]:
    """Fit every pending mixture; in parallel (joblib, one process per core) when there are
    many (wide tables), in order otherwise. Same results either way."""
    if n_jobs == 1 or len(jobs) < PARALLEL_MIN_FITS:
        return [_mixture_modes(*job) for job in jobs]
    from joblib import Parallel, cpu_count, delayed

    workers = min(cpu_count() if n_jobs in (None, -1) else int(n_jobs), len(jobs))
    if workers <= 1:
        return [_mixture_modes(*job) for job in jobs]
    return Parallel(n_jobs=workers, backend="loky")(delayed(_mixture_modes)(*j) for j in jobs)


def _categorical_stats(name: str, col: ColumnMetadata, s: pd.Series) -> CategoricalStats:
    n = len(s)
    non_null = s.dropna()
    missing_rate = (n - len(non_null)) / n if n else 0.0
    values = non_null.to_numpy(dtype=object)
    if col.public_domain is not None:
        categories = tuple(col.public_domain)
    elif col.sdtype == "boolean" and pd.api.types.is_bool_dtype(s.dtype):
        categories = (False, True)
    else:
        uniq = {py_scalar(v) for v in pd.unique(values)}
        categories = tuple(sorted(uniq, key=sort_key))
    if not categories:
        raise DataError(f"Column {name!r} has only missing values.")
    index = pd.Index(list(categories), dtype=object)
    codes = index.get_indexer(values)
    outside = codes < 0
    if outside.any():
        examples = list(dict.fromkeys(py_scalar(v) for v in values[outside]))[:5]
        raise DataError(
            f"Column {name!r} has {int(outside.sum())} value(s) outside its public_domain, "
            f"such as {examples!r}."
        )
    counts = np.bincount(codes, minlength=len(categories)).astype(float)
    freqs = counts / counts.sum() if counts.sum() > 0 else np.full(len(categories),
                                                                   1 / len(categories))
    return CategoricalStats(categories, _floats(freqs), float(missing_rate))


def _continuous_entry(name: str, col: ColumnMetadata, s: pd.Series, rng: np.random.Generator,
                      pending: list[tuple], max_modes: int, max_fit_rows: int,
                      weight_threshold: float) -> tuple:
    """``(class, leading args, modes or the index of their fit in pending, rest, kw)`` of a
    numerical/datetime column; a mixture fit it needs is appended to ``pending`` (run later,
    in parallel for wide tables)."""
    vals = column_values(name, col, s)
    present = vals[~np.isnan(vals)]
    is_integer = col.representation == "int" or pd.api.types.is_integer_dtype(s.dtype)
    unit = _datetime_unit(s, col) if col.sdtype == "datetime" else None
    return continuous_entry(name, col, present, len(vals), rng, pending, max_modes,
                            max_fit_rows, weight_threshold, is_integer=is_integer, unit=unit)


def continuous_entry(name: str, col: ColumnMetadata, present: np.ndarray, n: int,
                     rng: np.random.Generator, pending: list[tuple], max_modes: int,
                     max_fit_rows: int, weight_threshold: float, *, is_integer: bool,
                     unit: str | None, summary: dict | None = None) -> tuple:
    """:func:`_continuous_entry` from the present values (or, with ``summary``, a uniform
    sample of them: ``summary`` then holds the exact ``n_present``, ``lo``/``hi`` of the
    (clipped) values and their ``distinct`` sorted values and counts, or ``None`` when there
    are more than ``max(MAX_ATOMS, max_modes)``; :mod:`tabsynth.stats.partial`)."""
    n_present = len(present) if summary is None else int(summary["n_present"])
    if n_present == 0:
        raise DataError(f"Column {name!r} has only missing values.")
    missing_rate = 1.0 - n_present / n
    bounds = public_bounds(col)
    if bounds is not None:
        present = np.clip(present, *bounds)
    vmin, vmax = ((float(present.min()), float(present.max())) if summary is None
                  else (float(summary["lo"]), float(summary["hi"])))
    lower, upper = bounds if bounds is not None else (vmin, vmax)
    upper_count = (int(np.count_nonzero(present == upper)) if summary is None
                   else int(summary["n_hi"]) if summary["hi"] == upper else 0)
    seed = int(rng.integers(2**31 - 1))
    if summary is None:
        modes: Any = _exact_modes(present, max_modes)
        atoms = _atoms(present)
    else:
        distinct = summary["distinct"]
        modes = None if distinct is None else _modes_from_counts(*distinct, max_modes)
        atoms = (None if distinct is None or len(distinct[0]) > MAX_ATOMS
                 else _floats(distinct[0]))
    if modes is None:  # a mixture fit
        fit = present
        if len(fit) > max_fit_rows:
            fit = rng.choice(present, size=max_fit_rows, replace=False)
        modes = len(pending)
        pending.append((fit, vmin, vmax, seed, max_modes, weight_threshold))
    quantiles = _floats(np.quantile(present, np.linspace(0, 1, N_QUANTILES)))
    if col.sdtype == "datetime":
        return (DatetimeStats, (lower, upper, missing_rate), modes, (quantiles,),
                {"datetime_format": col.datetime_format, "unit": unit or "s"})
    decimals = 0 if is_integer else col.decimals if col.decimals is not None else _decimals(
        present if len(present) <= max_fit_rows
        else rng.choice(present, max_fit_rows, replace=False)
    )  # declared decimals (public) win over the data's
    return (NumericStats, (lower, upper, bool(is_integer), decimals, missing_rate),
            modes, (quantiles,), {"atoms": atoms, "upper_count": upper_count})


def _moment_mode(fit: np.ndarray, lo: float, hi: float) -> tuple:
    """One mode at the values' mean and standard deviation: the ``mixtures=False`` stand-in
    for a mixture fit (models that bin numeric columns never read the modes)."""
    std = max(float(np.std(fit)), _std_floor(lo, hi))
    return _floats([1.0]), _floats([float(np.mean(fit))]), _floats([std])


def finish_columns(cols: dict[str, Any], pending: list[tuple], n_jobs: int | None, *,
                   mixtures: bool = True) -> None:
    """Run the pending mixture fits (``mixtures=False``: one moment mode each, no fit) and
    build the continuous columns' statistics in place."""
    fitted = (_run_mixtures(pending, n_jobs) if mixtures
              else [_moment_mode(fit, lo, hi) for fit, lo, hi, *_ in pending])
    for name, value in cols.items():
        if isinstance(value, tuple):  # (class, leading args, modes or their index, rest, kw)
            cls, head, modes, rest, kw = value
            cols[name] = cls(*head, *(fitted[modes] if isinstance(modes, int) else modes),
                             *rest, **kw)


def compute_stats(
    df: pd.DataFrame,
    metadata: Metadata,
    *,
    random_state: int | np.random.Generator | None = None,
    max_modes: int = 10,
    max_fit_rows: int = 5_000,
    weight_threshold: float = 0.005,
    n_jobs: int | None = None,
    mixtures: bool = True,
) -> TableStats:
    """Exact (non-DP) statistics of the modelled columns of ``df``.

    Parameters
    ----------
    df : pandas.DataFrame
    metadata : Metadata
    random_state : int, numpy Generator or None
        Seeds the subsampling and the mixture fits.
    max_modes : int, default 10
        Components of the Bayesian Gaussian mixture per numeric/datetime column.
    max_fit_rows : int, default 5000
        The mixture is fitted on a random subsample of at most this many values (a
        one-dimensional mixture of at most ``max_modes`` components is well determined by a
        few thousand values; the fit's cost grows linearly with them).
    weight_threshold : float, default 0.005
        Modes with a smaller weight are dropped (the rest renormalised).
    n_jobs : int or None, default None
        Processes for the mixture fits when there are at least ``PARALLEL_MIN_FITS`` of them
        (wide tables): None or -1 = one per core, 1 = none. The statistics do not depend on it.
    mixtures : bool, default True
        False: a numeric/datetime column that needs a mixture gets one mode at its mean and
        standard deviation instead (no fit; everything else, the random draws included, is
        unchanged). For models that bin numeric columns (the AR family), which never read the
        modes: the mixture fits are most of the statistics' fixed cost.

    Returns
    -------
    TableStats
        Bounds are the observed min/max, or ``public_bounds`` when declared; categories are
        sorted, or ``public_domain`` when declared.
    """
    check_param("compute_stats", "max_modes", max_modes,
                is_int(max_modes) and max_modes >= 1, "an int >= 1")
    check_param("compute_stats", "max_fit_rows", max_fit_rows,
                is_int(max_fit_rows) and max_fit_rows >= 10, "an int >= 10")
    check_param("compute_stats", "weight_threshold", weight_threshold,
                is_real(weight_threshold) and 0 <= weight_threshold < 1,
                "a float in [0, 1)")
    rng = np.random.default_rng(random_state)
    missing = [c for c in metadata.modelled_columns if c not in df.columns]
    if missing:
        raise MetadataError(f"The data does not match the metadata: columns {missing} are missing.")
    cols: dict[str, Any] = {}
    pending: list[tuple] = []  # mixture fits
    for name in metadata.modelled_columns:
        col = metadata.columns[name]
        if col.sdtype in ("categorical", "boolean"):
            cols[name] = cap_categories(name, _categorical_stats(name, col, df[name]))
        else:
            cols[name] = _continuous_entry(name, col, df[name], rng, pending, max_modes,
                                           max_fit_rows, weight_threshold)
    finish_columns(cols, pending, n_jobs, mixtures=mixtures)
    return TableStats(cols, int(len(df)), "exact")
