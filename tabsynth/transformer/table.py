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

from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConditionError, DataError, MetadataError, ParameterError, check_param
from ..metadata import ColumnMetadata, Metadata
from ..stats.schema import CategoricalStats, DatetimeStats, NumericStats, TableStats
from .binning import Binned, bin_codes, quantile_bins, quantile_values, reaches_bound
from .decode import binned_from_codes, continuous_from_matrix, discrete_from_codes
from .encode import binned_codes, discrete_codes, encode_modes
from .spans import ContinuousSpec, DiscreteSpan, DiscreteSpec, Span

__all__ = ["DataTransformer", "DiscreteSpan", "Span"]


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
        check_param("DataTransformer", "numeric_encoding", numeric_encoding,
                    numeric_encoding in ("modes", "bins"), "'modes' or 'bins'")
        self.metadata = metadata
        self.stats = stats
        self.numeric_encoding = numeric_encoding
        self.n_bins = int(n_bins)
        self.columns: list[str] = list(metadata.modelled_columns)
        self.output_info: list[Span] = []
        self.discrete_spans: list[DiscreteSpan] = []
        self._specs: list[ContinuousSpec | DiscreteSpec | Binned] = []
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
                self._specs.append(DiscreteSpec(name, meta, st, pos, dim, has_nan, index))
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
                self._specs.append(ContinuousSpec(name, meta, st, pos, pos + 1, k, missing))
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
            raise ParameterError(f"{what} needs DataTransformer(numeric_encoding='bins').")

    def column_codes(self, df: pd.DataFrame) -> np.ndarray:
        """Cell of each value: int array ``(n, len(columns))`` (``numeric_encoding="bins"``).

        Categories (missing: last slot) for discrete columns, bin index (missing: last slot) for
        continuous ones; ``0 <= codes[:, j] < column_domains[j]``.
        """
        self._require_bins("column_codes")
        self._check_columns(df)
        out = np.zeros((len(df), len(self._specs)), dtype=np.int64)
        for j, spec in enumerate(self._specs):
            if isinstance(spec, DiscreteSpec):
                out[:, j] = discrete_codes(spec, df[spec.name])
            else:
                out[:, j] = binned_codes(spec, df[spec.name])  # type: ignore[arg-type]
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
            if isinstance(spec, DiscreteSpec):
                out.append(np.asarray(self.discrete_spans[self._discrete_pos[spec.name]].frequencies,
                                      dtype=float))
                continue
            q = spec.quantiles  # type: ignore[union-attr]
            x = quantile_values((np.arange(grid) + 0.5) / grid, q,
                                reach_bound=reaches_bound(spec.stats))
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
            if isinstance(spec, DiscreteSpec):
                X[rows, spec.start + discrete_codes(spec, s)] = 1.0
                continue
            if isinstance(spec, Binned):
                X[rows, spec.start + binned_codes(spec, s)] = 1.0
                continue
            encode_modes(spec, s, rng, X, rows)
        return X

    def category_codes(self, df: pd.DataFrame) -> np.ndarray:
        """Category index per row for each discrete span: int array ``(n, len(discrete_spans))``.

        Missing values get the last (missing) slot of their span.
        """
        self._check_columns(df)
        specs = [s for s in self._specs if isinstance(s, DiscreteSpec)]
        out = np.zeros((len(df), len(specs)), dtype=np.int64)
        for j, spec in enumerate(specs):
            out[:, j] = discrete_codes(spec, df[spec.name])
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
            if isinstance(spec, DiscreteSpec):
                data[spec.name] = discrete_from_codes(
                    spec, np.argmax(X[:, spec.start:spec.start + spec.dim], axis=1))
            elif isinstance(spec, Binned):
                b = np.argmax(X[:, spec.start:spec.start + spec.dim], axis=1)
                data[spec.name] = binned_from_codes(spec, b, np.random.default_rng(rng))
            else:
                data[spec.name] = continuous_from_matrix(spec, X)
        return pd.DataFrame(data, columns=self.columns)

    def inverse_codes(self, codes: np.ndarray, *, rng: np.random.Generator | None = None,
                      bounds: dict[str, tuple[float, float]] | None = None) -> pd.DataFrame:
        """Decode cells (the output of :meth:`column_codes`) to a table with the training
        columns and dtypes (``numeric_encoding="bins"``): categories as they are, a value
        drawn within each bin as :meth:`inverse_transform` does.

        ``bounds`` maps a continuous column to ``(lo, hi)`` in its numeric space (epoch seconds
        for datetimes; ``-inf``/``inf`` open): its values are drawn inside the bounds.

        A row's datetime values share one within-bin level (each at the same relative
        position of its bin's quantile mass): independent levels break an order the bins
        keep (``closed >= opened`` where both fall in overlapping bins: 81% of the rows kept
        it with independent levels, 90% with a shared one). Numeric columns draw their own
        levels: shared, they made wide bins comonotone (adult, 3,000 rows: pair trends 0.90
        against 0.93).
        """
        self._require_bins("inverse_codes")
        codes = np.asarray(codes)
        if codes.ndim != 2 or codes.shape[1] != len(self._specs):
            raise DataError(
                f"Expected an array of shape (n, {len(self._specs)}), got {codes.shape}."
            )
        rng = np.random.default_rng(rng)
        bounds = bounds or {}
        level = (rng.random(len(codes)) if any(  # one within-bin level per row for datetimes
            isinstance(getattr(sp, "stats", None), DatetimeStats) for sp in self._specs)
            else None)
        data: dict[str, pd.Series] = {}
        for j, spec in enumerate(self._specs):
            c = codes[:, j].astype(np.int64)
            if isinstance(spec, DiscreteSpec):
                data[spec.name] = discrete_from_codes(spec, c)
            else:
                shared = level if isinstance(spec.stats, DatetimeStats) else None
                data[spec.name] = binned_from_codes(
                    spec, c, rng, bounds.get(spec.name), u=shared)  # type: ignore[arg-type]
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
