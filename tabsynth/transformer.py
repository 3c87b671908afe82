"""Reversible encoding of a table for CTGAN/TVAE, built from metadata and statistics only.

Continuous (numerical, datetime) columns use CTGAN's mode-specific normalisation: a value
span (``tanh``), a one-hot mode span (``softmax``) and, when the column has missing values, a
``[present, missing]`` span (``softmax``). Categorical and boolean columns are one-hot over
their categories, plus a last slot for missing values when the column has some.

With ``numeric_encoding="bins"`` (the marginal route, :mod:`tabsynth.models.marginal_fit`),
each continuous column is instead ONE softmax span over bins cut at its (DP) quantiles, plus a
missing slot when it has missing values: values that hold a whole bin's mass (point masses such
as ``capital-gain == 0``) get a bin of their own, small integer ranges get one bin per integer,
and decoding draws a value uniformly within the chosen bin. Every column is then one discrete
span, and :meth:`DataTransformer.column_codes` gives the integer cell of each value.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .binning import Binned, bin_codes, quantile_bins, quantile_levels, quantile_values
from .errors import ConditionError, DataError, DataWarning, MetadataError
from .metadata import ColumnMetadata, Metadata
from .stats import (
    UNIT_SECONDS,
    CategoricalStats,
    DatetimeStats,
    NumericStats,
    TableStats,
    _numeric_values,
    datetime_to_seconds,
)

__all__ = ["DataTransformer", "DiscreteSpan", "Span"]

_CLIP = 0.99
_EPOCH_NS = np.datetime64("1970-01-01T00:00:00", "ns")


@dataclass(frozen=True)
class Span:
    """A block of the encoded vector.

    ``kind`` is ``"value"`` (1 dim, tanh), ``"mode"`` (softmax over modes), ``"category"``
    (softmax over categories) or ``"missing"`` (softmax, 2 dims: [present, missing]).
    """

    column: str
    kind: str
    start: int
    dim: int
    activation: str


@dataclass(frozen=True, eq=False)
class DiscreteSpan:
    """A categorical/boolean column covered by the conditional vector.

    ``start``/``dim`` locate its one-hot block in the encoded data vector; ``cond_start`` its
    block in the conditional vector. ``categories`` ends with ``None`` when the column has a
    missing slot; ``frequencies`` (summing to 1) include the missing rate in that slot.
    """

    column: str
    start: int
    dim: int
    categories: tuple
    frequencies: np.ndarray
    cond_start: int = 0


@dataclass(frozen=True)
class _Continuous:
    name: str
    meta: ColumnMetadata
    stats: NumericStats | DatetimeStats
    value: int
    mode: int
    n_modes: int
    missing: int | None  # start of the [present, missing] span



@dataclass(frozen=True)
class _Discrete:
    name: str
    meta: ColumnMetadata
    stats: CategoricalStats
    start: int
    dim: int
    has_nan: bool
    index: pd.Index


def _nullable(dtype: str) -> str:
    """Nullable pandas counterpart of a numpy int/bool dtype name."""
    if dtype == "bool":
        return "boolean"
    if dtype.startswith("uint"):
        return "UInt" + dtype[4:]
    if dtype.startswith("int"):
        return "Int" + dtype[3:]
    return dtype


class DataTransformer:
    """Encode a table to a float matrix and back, from :class:`Metadata` and :class:`TableStats`.

    Parameters
    ----------
    metadata : Metadata
    stats : TableStats
        Must hold statistics for every modelled column (exact or DP).

    Attributes
    ----------
    columns : list of str
        Modelled columns, in order.
    output_info : list of Span
    discrete_spans : list of DiscreteSpan
        One per categorical/boolean column, in column order.
    output_dim, cond_dim : int
    """

    def __init__(self, metadata: Metadata, stats: TableStats, *,
                 numeric_encoding: str = "modes", n_bins: int = 16) -> None:
        if numeric_encoding not in ("modes", "bins"):
            raise ValueError(
                f"numeric_encoding must be 'modes' or 'bins'. Got {numeric_encoding!r} instead."
            )
        self.metadata = metadata
        self.stats = stats
        self.numeric_encoding = numeric_encoding
        self.n_bins = int(n_bins)
        self.columns: list[str] = list(metadata.modelled_columns)
        self.output_info: list[Span] = []
        self.discrete_spans: list[DiscreteSpan] = []
        self._specs: list[_Continuous | _Discrete] = []
        pos = 0
        cond = 0
        for name in self.columns:
            meta = metadata.columns[name]
            if name not in stats.columns:
                raise MetadataError(f"The statistics have no entry for column {name!r}.")
            st = stats.columns[name]
            if meta.sdtype in ("categorical", "boolean"):
                if not isinstance(st, CategoricalStats):
                    raise MetadataError(
                        f"Column {name!r} is {meta.sdtype} but its statistics are "
                        f"{type(st).__name__}."
                    )
                has_nan = st.missing_rate > 0
                dim = len(st.categories) + int(has_nan)
                self.output_info.append(Span(name, "category", pos, dim, "softmax"))
                freqs = np.asarray(st.frequencies, dtype=float)
                total = freqs.sum()
                freqs = freqs / total if total > 0 else np.full(len(freqs), 1 / len(freqs))
                cats: tuple = tuple(st.categories)
                if has_nan:
                    freqs = np.append(freqs * (1 - st.missing_rate), st.missing_rate)
                    cats = (*cats, None)
                self.discrete_spans.append(DiscreteSpan(name, pos, dim, cats, freqs, cond))
                index = pd.Index(list(st.categories), dtype=object)
                self._specs.append(_Discrete(name, meta, st, pos, dim, has_nan, index))
                pos += dim
                cond += dim
            else:
                expected = DatetimeStats if meta.sdtype == "datetime" else NumericStats
                if not isinstance(st, expected):
                    raise MetadataError(
                        f"Column {name!r} is {meta.sdtype} but its statistics are "
                        f"{type(st).__name__}."
                    )
                if numeric_encoding == "bins":
                    spec = self._binned_spec(name, meta, st, pos)
                    self.output_info.append(Span(name, "bins", pos, spec.dim, "softmax"))
                    self._specs.append(spec)
                    pos += spec.dim
                    continue
                k = len(st.mode_weights)
                self.output_info.append(Span(name, "value", pos, 1, "tanh"))
                self.output_info.append(Span(name, "mode", pos + 1, k, "softmax"))
                missing = None
                if st.missing_rate > 0:
                    missing = pos + 1 + k
                    self.output_info.append(Span(name, "missing", missing, 2, "softmax"))
                self._specs.append(_Continuous(name, meta, st, pos, pos + 1, k, missing))
                pos += 1 + k + (2 if missing is not None else 0)
        self.output_dim: int = pos
        self.cond_dim: int = cond
        self._discrete_pos = {s.column: i for i, s in enumerate(self.discrete_spans)}

    def _binned_spec(self, name: str, meta: ColumnMetadata, st: Any, pos: int) -> Binned:
        is_integer = isinstance(st, NumericStats) and bool(st.is_integer)
        lo, hi, cuts, interval_bin, atoms, atom_bin, lev, q = quantile_bins(st, self.n_bins,
                                                                              is_integer)
        has_nan = st.missing_rate > 0
        nb = len(lo)
        return Binned(name, meta, st, pos, nb + int(has_nan), nb, has_nan, is_integer, lo, hi,
                       cuts, interval_bin, atoms, atom_bin, lev, q)

    @property
    def column_domains(self) -> list[int]:
        """Cells of each column's span, in column order (``numeric_encoding="bins"`` only)."""
        self._require_bins("column_domains")
        return [int(spec.dim) for spec in self._specs]

    def _require_bins(self, what: str) -> None:
        if self.numeric_encoding != "bins":
            raise ValueError(f"{what} needs DataTransformer(numeric_encoding='bins').")

    def _bin_codes(self, spec: Binned, s: pd.Series) -> np.ndarray:
        return bin_codes(spec, self._continuous_values(spec, s))  # type: ignore[arg-type]

    def column_codes(self, df: pd.DataFrame) -> np.ndarray:
        """Cell of each value: int array ``(n, len(columns))`` (``numeric_encoding="bins"``).

        Categories (missing: last slot) for discrete columns, bin index (missing: last slot) for
        continuous ones; ``0 <= codes[:, j] < column_domains[j]``.
        """
        self._require_bins("column_codes")
        self._check_columns(df)
        out = np.zeros((len(df), len(self._specs)), dtype=np.int64)
        for j, spec in enumerate(self._specs):
            if isinstance(spec, _Discrete):
                out[:, j] = self._codes(spec, df[spec.name])
            else:
                out[:, j] = self._bin_codes(spec, df[spec.name])  # type: ignore[arg-type]
        return out

    def cell_marginals(self, grid: int = 4000) -> list[np.ndarray]:
        """Each column's probability per cell (``numeric_encoding="bins"``) under the
        statistics alone: category frequencies, and for a continuous column the mass its
        quantile function puts in each bin (read on ``grid`` evenly spaced levels); the
        missing slot gets the missing rate. Post-processing of the statistics: under DP it
        costs nothing and reads no row."""
        self._require_bins("cell_marginals")
        out: list[np.ndarray] = []
        for spec in self._specs:
            if isinstance(spec, _Discrete):
                out.append(np.asarray(self.discrete_spans[self._discrete_pos[spec.name]].frequencies,
                                      dtype=float))
                continue
            q = spec.quantiles  # type: ignore[union-attr]
            x = quantile_values((np.arange(grid) + 0.5) / grid, q)
            codes = bin_codes(spec, x)  # type: ignore[arg-type]
            p = np.bincount(codes, minlength=spec.dim).astype(float) / grid
            if spec.has_nan:  # type: ignore[union-attr]
                rate = float(spec.stats.missing_rate)
                p = np.append(p[:-1] * (1.0 - rate), rate)
            out.append(p)
        return out

    def __repr__(self) -> str:
        return (
            f"DataTransformer(columns={len(self.columns)}, output_dim={self.output_dim}, "
            f"cond_dim={self.cond_dim})"
        )

    # --------------------------------------------------------------- encoding
    def _check_columns(self, df: pd.DataFrame) -> None:
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"Expected a pandas DataFrame, got {type(df).__name__}.")
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise DataError(f"The table lacks the modelled column(s) {missing}.")

    def _codes(self, spec: _Discrete, s: pd.Series) -> np.ndarray:
        values = s.to_numpy(dtype=object)
        codes = spec.index.get_indexer(values)
        isna = pd.isna(s).to_numpy()
        unknown = (codes < 0) & ~isna
        if unknown.any():
            if spec.stats.other is not None:
                codes[unknown] = spec.stats.categories.index(spec.stats.other)
            else:
                examples = list(dict.fromkeys(values[unknown].tolist()))[:5]
                raise DataError(
                    f"Column {spec.name!r} has {int(unknown.sum())} value(s) not among its known "
                    f"categories, such as {examples!r}."
                )
        if isna.any():
            if spec.has_nan:
                codes[isna] = spec.dim - 1
            else:
                fill = int(np.argmax(spec.stats.frequencies))
                warnings.warn(
                    f"Column {spec.name!r} has missing values but its statistics have none; "
                    f"they are encoded as {spec.stats.categories[fill]!r}.",
                    DataWarning,
                    stacklevel=3,
                )
                codes[isna] = fill
        return codes

    def _continuous_values(self, spec: _Continuous, s: pd.Series) -> np.ndarray:
        if spec.meta.sdtype == "datetime":
            meta = spec.meta
            if meta.datetime_format is None and isinstance(spec.stats, DatetimeStats) \
                    and spec.stats.datetime_format is not None:
                meta = ColumnMetadata("datetime", datetime_format=spec.stats.datetime_format)
            x = datetime_to_seconds(s, meta).to_numpy(dtype=float)
            bad = s.notna().to_numpy() & np.isnan(x)
            if bad.any():
                raise DataError(
                    f"Column {spec.name!r}: {int(bad.sum())} value(s) cannot be parsed as dates."
                )
            return x
        x = _numeric_values(spec.name, s)
        if np.isinf(x).any():
            raise DataError(f"Column {spec.name!r} has infinite values.")
        return x

    def transform(self, df: pd.DataFrame, *, rng: np.random.Generator | int | None) -> np.ndarray:
        """Encode ``df`` (its modelled columns) as a ``float32`` matrix ``(n, output_dim)``.

        Parameters
        ----------
        df : pandas.DataFrame
        rng : numpy Generator (or seed)
            Draws each value's mode from its posterior over the modes (as CTGAN does).
        """
        self._check_columns(df)
        rng = np.random.default_rng(rng)
        n = len(df)
        X = np.zeros((n, self.output_dim), dtype=np.float32)
        rows = np.arange(n)
        for spec in self._specs:
            s = df[spec.name]
            if isinstance(spec, _Discrete):
                X[rows, spec.start + self._codes(spec, s)] = 1.0
                continue
            if isinstance(spec, Binned):
                X[rows, spec.start + self._bin_codes(spec, s)] = 1.0
                continue
            st = spec.stats
            x = self._continuous_values(spec, s)
            nan = np.isnan(x)
            if nan.any() and spec.missing is None:
                heaviest = int(np.argmax(st.mode_weights))
                warnings.warn(
                    f"Column {spec.name!r} has missing values but its statistics have none; "
                    "they are encoded at the main mode.",
                    DataWarning,
                    stacklevel=2,
                )
                x = np.where(nan, st.mode_means[heaviest], x)
                nan = np.zeros(n, dtype=bool)
            x = np.clip(np.where(nan, st.lower, x), st.lower, st.upper)
            mu = np.asarray(st.mode_means)
            sd = np.asarray(st.mode_stds)
            logw = np.log(np.maximum(np.asarray(st.mode_weights), 1e-300))
            z = (x[:, None] - mu[None, :]) / sd[None, :]
            logp = logw[None, :] - 0.5 * z * z - np.log(sd)[None, :]
            logp -= logp.max(axis=1, keepdims=True)
            p = np.exp(logp)
            cum = np.cumsum(p, axis=1)
            u = rng.random(n) * cum[:, -1]
            k = np.minimum((cum < u[:, None]).sum(axis=1), spec.n_modes - 1)
            value = np.clip((x - mu[k]) / (4 * sd[k]), -_CLIP, _CLIP)
            if spec.missing is not None:
                k = np.where(nan, 0, k)
                value = np.where(nan, 0.0, value)
                X[rows, spec.missing + nan.astype(np.int64)] = 1.0
            X[:, spec.value] = value
            X[rows, spec.mode + k] = 1.0
        return X

    def category_codes(self, df: pd.DataFrame) -> np.ndarray:
        """Category index per row for each discrete span: int array ``(n, len(discrete_spans))``.

        Missing values get the last (missing) slot of their span.
        """
        self._check_columns(df)
        specs = [s for s in self._specs if isinstance(s, _Discrete)]
        out = np.zeros((len(df), len(specs)), dtype=np.int64)
        for j, spec in enumerate(specs):
            out[:, j] = self._codes(spec, df[spec.name])
        return out

    # --------------------------------------------------------------- decoding
    def inverse_transform(
        self, X: np.ndarray, *, rng: np.random.Generator | None = None
    ) -> pd.DataFrame:
        """Decode an ``(n, output_dim)`` matrix to a table with the training columns and dtypes.

        Mode, category and missing spans are read by argmax (pass activated or one-hot
        outputs). ``rng`` is accepted for interface symmetry; decoding is deterministic.
        """
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.output_dim:
            raise DataError(
                f"Expected an array of shape (n, {self.output_dim}), got {X.shape}."
            )
        data: dict[str, pd.Series] = {}
        if rng is None and self.numeric_encoding == "bins":
            rng = np.random.default_rng()
        for spec in self._specs:
            if isinstance(spec, _Discrete):
                data[spec.name] = self._decode_discrete(spec, X)
            elif isinstance(spec, Binned):
                data[spec.name] = self._decode_binned(spec, X, np.random.default_rng(rng))
            else:
                data[spec.name] = self._decode_continuous(spec, X)
        return pd.DataFrame(data, columns=self.columns)

    def _decode_discrete(self, spec: _Discrete, X: np.ndarray) -> pd.Series:
        return self._discrete_from_codes(
            spec, np.argmax(X[:, spec.start:spec.start + spec.dim], axis=1))

    def _discrete_from_codes(self, spec: _Discrete, codes: np.ndarray) -> pd.Series:
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

    def _decode_binned(self, spec: Binned, X: np.ndarray,
                       rng: np.random.Generator) -> pd.Series:
        """Argmax bin, then a value within it: the quantile function (the DP quantiles,
        linear between them) at a level drawn uniformly among those the bin spans; uniform
        within the bin when it spans no quantile mass."""
        b = np.argmax(X[:, spec.start:spec.start + spec.dim], axis=1)
        return self._binned_from_codes(spec, b, rng)

    def _binned_from_codes(self, spec: Binned, b: np.ndarray, rng: np.random.Generator,
                           bounds: tuple[float, float] | None = None) -> pd.Series:
        """Values of bin codes ``b`` (see :meth:`_decode_binned`). ``bounds`` (in the column's
        numeric space: epoch seconds for datetimes) restricts every value to ``[lo, hi]``:
        the within-bin draw is made on the part of the bin inside the bounds, and rounding
        (integers, decimals, datetime units) never leaves them. The caller picks bins that
        meet the bounds (a bin outside them gives the nearest bound)."""
        st = spec.stats
        isna = b == spec.n_bins if spec.has_nan else np.zeros(len(b), dtype=bool)
        b = np.minimum(b, spec.n_bins - 1)
        lo, hi = spec.lo[b], spec.hi[b]
        if bounds is None:
            l0, l1 = spec.levels[b, 0], spec.levels[b, 1]
        else:
            blo, bhi = _integer_bounds(bounds) if spec.is_integer else bounds
            lo, hi = np.clip(lo, blo, bhi), np.clip(hi, blo, bhi)
            edge = hi + (1.0 if spec.is_integer else 0.0)
            l0 = quantile_levels(lo, spec.quantiles)
            l1 = quantile_levels(edge, spec.quantiles)
        u = rng.random(len(b))
        width = hi - lo + (1.0 if spec.is_integer else 0.0)
        uniform = lo + u * width
        by_q = quantile_values(l0 + u * (l1 - l0), spec.quantiles)
        x = np.where(l1 - l0 > 1e-9, by_q, uniform)
        if spec.is_integer:
            x = np.where(l1 - l0 > 1e-9, np.round(x), np.floor(x))
        x = np.clip(x, lo, hi)
        if isinstance(st, DatetimeStats):
            return self._decode_datetime(spec, st, x, isna, bounds)  # type: ignore[arg-type]
        if not st.is_integer and st.decimals is not None:
            x = _round_within(x, st.decimals, bounds)
        x = np.where(isna, np.nan, x)
        dtype = spec.meta.dtype
        if dtype is None:
            dtype = "int64" if st.is_integer else "float64"
        return _as_dtype(pd.Series(x), dtype, isna.any())

    def _decode_continuous(self, spec: _Continuous, X: np.ndarray) -> pd.Series:
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
            return self._decode_datetime(spec, st, x, isna)
        if st.is_integer:
            x = np.round(x)
        elif st.decimals is not None:
            x = np.round(x, st.decimals)
        x = np.where(isna, np.nan, x)
        dtype = spec.meta.dtype
        if dtype is None:
            dtype = "int64" if st.is_integer else "float64"
        return _as_dtype(pd.Series(x), dtype, isna.any())

    def _decode_datetime(
        self, spec: _Continuous, st: DatetimeStats, x: np.ndarray, isna: np.ndarray,
        bounds: tuple[float, float] | None = None,
    ) -> pd.Series:
        unit_s = UNIT_SECONDS[st.unit]
        unit_ns = max(int(round(unit_s * 1e9)), 1)
        units = np.round(np.where(isna, 0.0, x) / unit_s)
        if bounds is not None:  # whole units inside the bounds (when there is one)
            ulo, uhi = np.ceil(bounds[0] / unit_s), np.floor(bounds[1] / unit_s)
            if ulo <= uhi:
                units = np.where(isna, units, np.clip(units, ulo, uhi))
        units = units.astype(np.int64)
        ns = units * unit_ns
        dt = pd.Series(_EPOCH_NS + ns.astype("timedelta64[ns]"))
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

    def inverse_codes(self, codes: np.ndarray, *, rng: np.random.Generator | None = None,
                      bounds: dict[str, tuple[float, float]] | None = None) -> pd.DataFrame:
        """Decode cells (the output of :meth:`column_codes`) to a table with the training
        columns and dtypes (``numeric_encoding="bins"``): categories as they are, a value
        drawn within each bin as :meth:`inverse_transform` does.

        ``bounds`` maps a continuous column to ``(lo, hi)`` in its numeric space (epoch seconds
        for datetimes; ``-inf``/``inf`` open): its values are drawn inside the bounds.
        """
        self._require_bins("inverse_codes")
        codes = np.asarray(codes)
        if codes.ndim != 2 or codes.shape[1] != len(self._specs):
            raise DataError(
                f"Expected an array of shape (n, {len(self._specs)}), got {codes.shape}."
            )
        rng = np.random.default_rng(rng)
        bounds = bounds or {}
        data: dict[str, pd.Series] = {}
        for j, spec in enumerate(self._specs):
            c = codes[:, j].astype(np.int64)
            if isinstance(spec, _Discrete):
                data[spec.name] = self._discrete_from_codes(spec, c)
            else:
                data[spec.name] = self._binned_from_codes(
                    spec, c, np.random.default_rng(rng), bounds.get(spec.name))  # type: ignore[arg-type]
        return pd.DataFrame(data, columns=self.columns)

    def bin_edges(self, column: str) -> tuple[np.ndarray, np.ndarray, bool, bool]:
        """``(lo, hi, is_integer, has_missing_slot)`` of a continuous column's bins
        (``numeric_encoding="bins"``): bin ``b`` holds ``[lo[b], hi[b]]`` (integers) or
        ``[lo[b], hi[b])`` (floats; the last bin and points ``lo == hi`` closed)."""
        self._require_bins("bin_edges")
        for spec in self._specs:
            if spec.name == column and isinstance(spec, Binned):
                return spec.lo.copy(), spec.hi.copy(), bool(spec.is_integer), bool(spec.has_nan)
        raise ConditionError(f"Column {column!r} is not a continuous modelled column.")

    # ------------------------------------------------------------ conditions
    def condition_index(self, column: str, value: Any) -> tuple[int, int]:
        """(index into ``discrete_spans``, category index) of ``column == value``.

        Raises
        ------
        ConditionError
            The column is not a categorical/boolean modelled column, or the value is unknown.
        """
        if column not in self._discrete_pos:
            if column in self.columns:
                raise ConditionError(
                    f"Column {column!r} is not categorical or boolean, so it cannot be used as an "
                    f"exact condition. Discrete columns: {list(self._discrete_pos)}."
                )
            raise ConditionError(
                f"Unknown condition column {column!r}. Modelled columns: {self.columns}."
            )
        i = self._discrete_pos[column]
        span = self.discrete_spans[i]
        known = list(span.categories)
        if value is None or (isinstance(value, float) and np.isnan(value)):
            if known and known[-1] is None:
                return i, len(known) - 1
        else:
            for j, cat in enumerate(known):
                if cat is not None and type(cat) is not bool and type(value) is not bool \
                        and cat == value:
                    return i, j
                if cat is not None and isinstance(cat, (bool, np.bool_)) \
                        and isinstance(value, (bool, np.bool_)) and bool(cat) == bool(value):
                    return i, j
            # Text given for a non-text category (e.g. "1" from a command line).
            matches = [
                j for j, cat in enumerate(known) if cat is not None and str(cat) == str(value)
            ]
            if len(matches) == 1:
                return i, matches[0]
        shown = ", ".join(repr(c) for c in known[:20])
        more = f" (and {len(known) - 20} more)" if len(known) > 20 else ""
        raise ConditionError(
            f"Column {column!r} has no value {value!r}. Valid values: {shown}{more}."
        )


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
