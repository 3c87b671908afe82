"""Per-column statistics of a table: the only place that reads statistics off real rows.

:func:`compute_stats` gives exact (non-DP) statistics; the privacy package produces the same
:class:`TableStats` object from DP mechanisms. Everything here is plain numbers and tuples,
JSON round-trippable through :meth:`TableStats.to_dict` / :meth:`TableStats.from_dict`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, MetadataError, ParameterError, check_param
from ..metadata.table import ColumnMetadata, Metadata, _bound_to_seconds

__all__ = [
    "CategoricalStats",
    "ColumnStats",
    "DatetimeStats",
    "NumericStats",
    "TableStats",
    "compute_stats",
    "datetime_to_seconds",
]

_MAX_DECIMALS = 6
_N_QUANTILES = 101
#: A numeric column with at most this many distinct values keeps them as its support
#: (exact statistics; NumericStats.atoms).
MAX_ATOMS = 32
_EPOCH = pd.Timestamp("1970-01-01")
_UNITS_NS = (
    ("D", 86_400 * 10**9),
    ("h", 3_600 * 10**9),
    ("min", 60 * 10**9),
    ("s", 10**9),
    ("ms", 10**6),
    ("us", 10**3),
    ("ns", 1),
)
#: Seconds in each rounding unit of :class:`DatetimeStats`.
UNIT_SECONDS = {u: ns / 1e9 for u, ns in _UNITS_NS}


def _py(value: Any) -> Any:
    """numpy scalar -> Python scalar; other values unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def _floats(values: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


@dataclass(frozen=True)
class NumericStats:
    """Statistics of a numerical column.

    ``lower``/``upper`` are the bounds used for clipping; ``decimals`` the rounding of
    generated floats (``None``: no rounding); ``mode_*`` the Gaussian mixture used by the
    mode-specific normalisation (weights sum to 1); ``missing_rate`` the share of NaN.
    ``atoms``: every value of a column that has at most :data:`MAX_ATOMS` distinct ones
    (exact statistics only; ``None`` otherwise); the binned encoding then gives each value
    its own cell and nothing between them, so a deductible of 500 in 2% of the rows comes
    back as 500, not as a draw between 400 and 700. Never set by DP statistics (the values
    would be read off the rows).
    """

    lower: float
    upper: float
    is_integer: bool
    decimals: int | None
    missing_rate: float
    mode_weights: tuple[float, ...]
    mode_means: tuple[float, ...]
    mode_stds: tuple[float, ...]
    quantiles: tuple[float, ...] | None = None
    source: str = "exact"
    atoms: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        _check_modes(self)
        if self.atoms is not None:
            object.__setattr__(self, "atoms", _floats(self.atoms))


@dataclass(frozen=True)
class DatetimeStats:
    """Statistics of a datetime column, in epoch seconds (naive wall-clock time).

    ``unit`` is the granularity generated values are rounded to (``"D"``, ``"h"``, ``"min"``,
    ``"s"``, ``"ms"``, ``"us"`` or ``"ns"``); ``datetime_format`` the text format of a
    column stored as strings.
    """

    lower: float
    upper: float
    missing_rate: float
    mode_weights: tuple[float, ...]
    mode_means: tuple[float, ...]
    mode_stds: tuple[float, ...]
    quantiles: tuple[float, ...] | None = None
    datetime_format: str | None = None
    unit: str = "s"
    source: str = "exact"

    def __post_init__(self) -> None:
        _check_modes(self)
        if self.unit not in UNIT_SECONDS:
            raise ParameterError(
                f"DatetimeStats unit must be one of {list(UNIT_SECONDS)}, got {self.unit!r}."
            )


@dataclass(frozen=True)
class CategoricalStats:
    """Statistics of a categorical or boolean column.

    ``categories`` excludes missing values; ``frequencies`` (summing to 1) are over the
    non-missing rows; ``missing_rate`` is the share of missing values. ``other``, when set,
    is a member of ``categories`` that unknown values map to (e.g. rare categories folded
    together by a DP mechanism).
    """

    categories: tuple
    frequencies: tuple[float, ...]
    missing_rate: float
    source: str = "exact"
    other: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", tuple(_py(c) for c in self.categories))
        object.__setattr__(self, "frequencies", _floats(self.frequencies))
        if len(self.categories) == 0:
            raise ParameterError("CategoricalStats needs at least one category.")
        if len(self.categories) != len(self.frequencies):
            raise ParameterError(
                "CategoricalStats categories and frequencies must have the same length."
            )
        if self.other is not None and self.other not in self.categories:
            raise ParameterError(
                f"CategoricalStats 'other' ({self.other!r}) must be one of the categories."
            )
        _check_rate(self.missing_rate)


ColumnStats = NumericStats | DatetimeStats | CategoricalStats
_KINDS: dict[str, type] = {
    "numeric": NumericStats,
    "datetime": DatetimeStats,
    "categorical": CategoricalStats,
}


def _check_rate(rate: float) -> None:
    if not (0.0 <= float(rate) <= 1.0):
        raise ParameterError(f"missing_rate must be in [0, 1], got {rate!r}.")


def _check_modes(st: NumericStats | DatetimeStats) -> None:
    for name in ("mode_weights", "mode_means", "mode_stds"):
        object.__setattr__(st, name, _floats(getattr(st, name)))
    if st.quantiles is not None:
        object.__setattr__(st, "quantiles", _floats(st.quantiles))
    object.__setattr__(st, "lower", float(st.lower))
    object.__setattr__(st, "upper", float(st.upper))
    k = len(st.mode_weights)
    if k == 0 or len(st.mode_means) != k or len(st.mode_stds) != k:
        raise ParameterError("mode_weights, mode_means and mode_stds need the same length >= 1.")
    if any(s <= 0 or not math.isfinite(s) for s in st.mode_stds):
        raise ParameterError("mode_stds must be finite and > 0.")
    if not st.lower <= st.upper:
        raise ParameterError(f"lower must be <= upper, got {st.lower} > {st.upper}.")
    _check_rate(st.missing_rate)


@dataclass(frozen=True)
class TableStats:
    """Statistics of every modelled column (in table order), ``n_rows`` and their ``source``."""

    columns: dict[str, ColumnStats]
    n_rows: int | None
    source: str = "exact"

    def __getitem__(self, name: str) -> ColumnStats:
        return self.columns[name]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; each column carries a ``kind`` (numeric/datetime/categorical)."""
        cols = {}
        for name, st in self.columns.items():
            kind = next(k for k, cls in _KINDS.items() if isinstance(st, cls))
            d = {k: _jsonify(v) for k, v in asdict(st).items()}
            cols[name] = {"kind": kind, **d}
        return {"n_rows": self.n_rows, "source": self.source, "columns": cols}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TableStats:
        """Inverse of :meth:`to_dict`; unknown keys are rejected."""
        valid = ["n_rows", "source", "columns"]
        unknown = sorted(set(d) - set(valid))
        if unknown:
            raise MetadataError(f"Unknown stats key(s) {unknown}. Valid keys: {valid}.")
        cols: dict[str, ColumnStats] = {}
        for name, cd in d.get("columns", {}).items():
            cd = dict(cd)
            kind = cd.pop("kind", None)
            if kind not in _KINDS:
                raise MetadataError(
                    f"Stats of column {name!r}: kind must be one of {list(_KINDS)}, got {kind!r}."
                )
            klass = _KINDS[kind]
            names = [f.name for f in fields(klass)]
            bad = sorted(set(cd) - set(names))
            if bad:
                raise MetadataError(
                    f"Stats of column {name!r}: unknown key(s) {bad}. Valid keys: {names}."
                )
            for key in ("categories", "frequencies", "mode_weights", "mode_means",
                        "mode_stds", "quantiles", "atoms"):
                if cd.get(key) is not None:
                    cd[key] = tuple(cd[key])
            cols[name] = klass(**cd)
        n_rows = d.get("n_rows")
        return cls(cols, None if n_rows is None else int(n_rows), d.get("source", "exact"))


def _jsonify(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return [_jsonify(x) for x in v]
    return _py(v)


# ---------------------------------------------------------------------- helpers
def datetime_to_seconds(s: pd.Series, col: ColumnMetadata) -> pd.Series:
    """Epoch seconds (float, naive wall-clock time) of a datetime column; NaN where missing."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        dt = s
    else:
        text = s.astype("object").where(s.notna(), None)
        fmt = col.datetime_format or "mixed"
        dt = pd.to_datetime(text, format=fmt, errors="coerce")
    if getattr(dt.dt, "tz", None) is not None:
        dt = dt.dt.tz_localize(None)
    ns = dt.astype("datetime64[ns]")
    out = (ns - _EPOCH) / pd.Timedelta(seconds=1)
    return out.astype(float)


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
    ns = (dt.astype("datetime64[ns]") - _EPOCH).to_numpy().astype("timedelta64[ns]")
    ns = ns.astype(np.int64)
    for unit, size in _UNITS_NS:
        if np.all(ns % size == 0):
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
    lo, hi = float(values.min()), float(values.max())
    uniq, counts = np.unique(values, return_counts=True)
    if len(uniq) > max_modes:
        return None
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


def _sort_key(v: Any) -> tuple[str, Any]:
    return (type(v).__name__, v)


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
        uniq = {_py(v) for v in pd.unique(values)}
        categories = tuple(sorted(uniq, key=_sort_key))
    if not categories:
        raise DataError(f"Column {name!r} has only missing values.")
    index = pd.Index(list(categories), dtype=object)
    codes = index.get_indexer(values)
    outside = codes < 0
    if outside.any():
        examples = list(dict.fromkeys(_py(v) for v in values[outside]))[:5]
        raise DataError(
            f"Column {name!r} has {int(outside.sum())} value(s) outside its public_domain, "
            f"such as {examples!r}."
        )
    counts = np.bincount(codes, minlength=len(categories)).astype(float)
    freqs = counts / counts.sum() if counts.sum() > 0 else np.full(len(categories),
                                                                   1 / len(categories))
    return CategoricalStats(categories, _floats(freqs), float(missing_rate))


def _numeric_values(name: str, s: pd.Series) -> np.ndarray:
    try:
        vals = pd.to_numeric(s, errors="raise")
    except (ValueError, TypeError):
        raise DataError(f"Column {name!r} is numerical but has non-numeric values.") from None
    return np.asarray(vals.to_numpy(dtype=float, na_value=np.nan), dtype=float)


def compute_stats(
    df: pd.DataFrame,
    metadata: Metadata,
    *,
    random_state: int | np.random.Generator | None = None,
    max_modes: int = 10,
    max_fit_rows: int = 5_000,
    weight_threshold: float = 0.005,
    n_jobs: int | None = None,
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

    Returns
    -------
    TableStats
        Bounds are the observed min/max, or ``public_bounds`` when declared; categories are
        sorted, or ``public_domain`` when declared.
    """
    check_param("compute_stats", "max_modes", max_modes,
                isinstance(max_modes, int) and max_modes >= 1, "an int >= 1")
    check_param("compute_stats", "max_fit_rows", max_fit_rows,
                isinstance(max_fit_rows, int) and max_fit_rows >= 10, "an int >= 10")
    check_param("compute_stats", "weight_threshold", weight_threshold,
                isinstance(weight_threshold, (int, float)) and 0 <= weight_threshold < 1,
                "a float in [0, 1)")
    rng = np.random.default_rng(random_state)
    missing = [c for c in metadata.modelled_columns if c not in df.columns]
    if missing:
        raise MetadataError(f"The data does not match the metadata: columns {missing} are missing.")
    cols: dict[str, Any] = {}
    pending: list[tuple] = []  # mixture fits
    for name in metadata.modelled_columns:
        col = metadata.columns[name]
        s = df[name]
        if col.sdtype in ("categorical", "boolean"):
            from .categories import cap_categories

            cols[name] = cap_categories(name, _categorical_stats(name, col, s))
            continue
        if col.sdtype == "datetime":
            vals = datetime_to_seconds(s, col).to_numpy(dtype=float)
            bad = s.notna().to_numpy() & np.isnan(vals)
            if bad.any():
                raise DataError(
                    f"Column {name!r}: {int(bad.sum())} value(s) cannot be parsed as dates."
                )
        else:
            vals = _numeric_values(name, s)
        present = vals[~np.isnan(vals)]
        if len(present) == 0:
            raise DataError(f"Column {name!r} has only missing values.")
        if not np.isfinite(present).all():
            raise DataError(f"Column {name!r} has infinite values.")
        missing_rate = 1.0 - len(present) / len(vals)
        if col.public_bounds is not None:
            if col.sdtype == "datetime":
                lower, upper = (_bound_to_seconds(b) for b in col.public_bounds)
            else:
                lower, upper = (float(b) for b in col.public_bounds)
            present = np.clip(present, lower, upper)
        else:
            lower, upper = float(present.min()), float(present.max())
        seed = int(rng.integers(2**31 - 1))
        modes: Any = _exact_modes(present, max_modes)
        if modes is None:  # a mixture fit, run below (in parallel for wide tables)
            fit = present
            if len(fit) > max_fit_rows:
                fit = rng.choice(present, size=max_fit_rows, replace=False)
            modes = len(pending)
            pending.append((fit, float(present.min()), float(present.max()), seed, max_modes,
                            weight_threshold))
        quantiles = _floats(np.quantile(present, np.linspace(0, 1, _N_QUANTILES)))
        if col.sdtype == "datetime":
            cols[name] = (DatetimeStats, (lower, upper, missing_rate), modes, (quantiles,),
                          {"datetime_format": col.datetime_format,
                           "unit": _datetime_unit(s, col)})
        else:
            is_integer = col.representation == "int" or pd.api.types.is_integer_dtype(s.dtype)
            decimals = 0 if is_integer else _decimals(
                present if len(present) <= max_fit_rows
                else rng.choice(present, max_fit_rows, replace=False)
            )
            cols[name] = (NumericStats, (lower, upper, bool(is_integer), decimals, missing_rate),
                          modes, (quantiles,), {"atoms": _atoms(present)})
    fitted = _run_mixtures(pending, n_jobs)
    for name, value in cols.items():
        if isinstance(value, tuple):  # (class, leading args, modes or their index, rest, kw)
            cls, head, modes, rest, kw = value
            cols[name] = cls(*head, *(fitted[modes] if isinstance(modes, int) else modes),
                             *rest, **kw)
    return TableStats(cols, int(len(df)), "exact")
