"""Per-column encoders of :class:`~tabsynth.transformer.DataTransformer`: a column's values
to category codes, bin codes or the mode-specific normalisation (CTGAN's)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import DataError, DataWarning
from ..metadata import ColumnMetadata
from ..stats.schema import DatetimeStats
from ..stats.values import column_values
from .binning import Binned, bin_codes
from .spans import ContinuousSpec, DiscreteSpec

__all__ = ["binned_codes", "continuous_values", "discrete_codes", "encode_modes"]

_CLIP = 0.99


def discrete_codes(spec: DiscreteSpec, s: pd.Series) -> np.ndarray:
    """Category index of each value (missing: the last slot); an unknown value maps to the
    statistics' ``other`` category, else is a :class:`DataError`."""
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


def continuous_values(spec: ContinuousSpec | Binned, s: pd.Series) -> np.ndarray:
    """The column as floats (datetimes in epoch seconds; the statistics' text format when the
    metadata declares none); NaN where missing."""
    meta = spec.meta
    if meta.sdtype == "datetime" and meta.datetime_format is None \
            and isinstance(spec.stats, DatetimeStats) and spec.stats.datetime_format is not None:
        meta = ColumnMetadata("datetime", datetime_format=spec.stats.datetime_format)
    return column_values(spec.name, meta, s)


def binned_codes(spec: Binned, s: pd.Series) -> np.ndarray:
    """Bin index of each value (missing: the last slot)."""
    return bin_codes(spec, continuous_values(spec, s))


def encode_modes(spec: ContinuousSpec, s: pd.Series, rng: np.random.Generator, X: np.ndarray,
                 rows: np.ndarray) -> None:
    """Write the column's value, mode and missing spans into ``X``: each value's mode is drawn
    from its posterior over the modes (as CTGAN does), the value normalised within it."""
    st = spec.stats
    n = len(rows)
    x = continuous_values(spec, s)
    nan = np.isnan(x)
    if nan.any() and spec.missing is None:
        heaviest = int(np.argmax(st.mode_weights))
        warnings.warn(
            f"Column {spec.name!r} has missing values but its statistics have none; "
            "they are encoded at the main mode.",
            DataWarning,
            stacklevel=3,
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
