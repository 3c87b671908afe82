"""The statistics objects: per-column statistics of a table, as plain numbers and tuples.

:func:`~tabsynth.stats.compute_stats` (exact) and :func:`~tabsynth.stats.compute_private_stats`
(DP) both produce a :class:`TableStats`; it is JSON round-trippable through
:meth:`TableStats.to_dict` / :meth:`TableStats.from_dict`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from .._scalars import jsonable, py_scalar
from ..errors import MetadataError, ParameterError

__all__ = [
    "MAX_ATOMS",
    "N_QUANTILES",
    "UNIT_SECONDS",
    "CategoricalStats",
    "ColumnStats",
    "DatetimeStats",
    "NumericStats",
    "TableStats",
]

#: Quantile levels (evenly spaced over [0, 1]) kept per numeric/datetime column.
N_QUANTILES = 101
#: A numeric column with at most this many distinct values keeps them as its support
#: (exact statistics; NumericStats.atoms).
MAX_ATOMS = 128
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
    would be read off the rows). ``upper_count``: the number of present values equal to
    ``upper`` (exact statistics only; ``None`` otherwise): a top-coded value or sentinel (age
    90 = "90 or older", capital-gain 99999) held by many rows gets a point bin of its own.
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
    upper_count: int | None = None

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
        object.__setattr__(self, "categories", tuple(py_scalar(c) for c in self.categories))
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
            d = {k: jsonable(v) for k, v in asdict(st).items()}
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


