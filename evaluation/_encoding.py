"""Column encodings shared by fidelity, utility and plots (re-exported by :mod:`.fidelity`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ._schema import Kind

CONTINUOUS = ("numerical", "datetime")


def naive_utc(s: pd.Series) -> pd.Series:
    """A datetime column without its time zone: a tz-aware one converted to UTC first (so
    instants compare across zones, and naive times count as UTC)."""
    if getattr(s.dt, "tz", None) is not None:
        return s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s


def as_float(s: pd.Series) -> np.ndarray:
    """A numeric/datetime/boolean column as float64 (missing -> nan; datetimes in ns since
    the epoch, to the microsecond, in UTC where the column has a time zone)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        # nanoseconds as floats, from microseconds: 9999-12-31 (an open end) is beyond the
        # nanosecond range of 2262
        us = naive_utc(s).astype("datetime64[us]").to_numpy().astype("int64")
        out = us.astype("float64") * 1_000.0
        out[s.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()


def category_codes(real: pd.Series, *others: pd.Series) -> tuple[list[np.ndarray], int]:
    """Integer codes over the union of categories (missing -> the last code); and the count.

    Categories are ordered by first appearance in ``real`` then the others, so codes are
    deterministic for fixed inputs.
    """
    series = [real, *others]
    values = pd.concat([s.astype("object") for s in series], ignore_index=True)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    k = len(uniques)
    codes = np.where(codes < 0, k, codes)
    out, start = [], 0
    for s in series:
        out.append(codes[start : start + len(s)])
        start += len(s)
    return out, k + 1


def ordinal_matrix(
    frames: Sequence[pd.DataFrame], kinds: Mapping[str, Kind], columns: Sequence[str],
    max_categories: int = 250,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Float matrices (one per frame) with categorical columns as shared ordinal codes.

    Returns the matrices and a boolean mask of the columns to treat as categorical
    (categories beyond ``max_categories`` are kept as plain ordinal numbers).
    """
    mats = [np.empty((len(f), len(columns)), dtype=np.float64) for f in frames]
    is_cat = np.zeros(len(columns), dtype=bool)
    for j, col in enumerate(columns):
        if kinds[col] in CONTINUOUS:
            for m, f in zip(mats, frames, strict=True):
                m[:, j] = as_float(f[col])
        else:
            codes, k = category_codes(*[f[col] for f in frames])
            for m, c in zip(mats, codes, strict=True):
                m[:, j] = np.where(c == k - 1, np.nan, c)
            is_cat[j] = k - 1 <= max_categories
    return mats, is_cat
