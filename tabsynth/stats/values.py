"""A column's values as numbers: what the exact and the DP statistics and the transformer read.

Numerical columns as floats (NaN where missing; durations, ``timedelta64``, in seconds),
datetime columns as epoch seconds (naive wall-clock time); a value that is not a number or
not a date is a :class:`DataError`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError
from ..metadata.columns import ColumnMetadata, bound_to_seconds, duration_to_seconds

__all__ = ["EPOCH", "column_values", "datetime_to_seconds", "numeric_values", "public_bounds"]

#: The origin of epoch seconds.
EPOCH = pd.Timestamp("1970-01-01")


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
    # microseconds, not nanoseconds: 9999-12-31 (an open end) is beyond 2262
    us = dt.astype("datetime64[us]")
    out = (us - EPOCH) / pd.Timedelta(seconds=1)
    return out.astype(float)



def numeric_values(name: str, s: pd.Series) -> np.ndarray:
    if pd.api.types.is_timedelta64_dtype(s.dtype):  # a duration: seconds
        return np.asarray(s.dt.total_seconds().to_numpy(dtype=float, na_value=np.nan))
    try:
        vals = pd.to_numeric(s, errors="raise")
    except (ValueError, TypeError):
        raise DataError(f"Column {name!r} is numerical but has non-numeric values.") from None
    return np.asarray(vals.to_numpy(dtype=float, na_value=np.nan), dtype=float)


def column_values(name: str, col: ColumnMetadata, s: pd.Series) -> np.ndarray:
    """A numerical or datetime column as floats (datetimes in epoch seconds), NaN where missing.

    Raises
    ------
    DataError
        Non-numeric values, values that cannot be parsed as dates, infinite values.
    """
    if col.sdtype == "datetime":
        vals = datetime_to_seconds(s, col).to_numpy(dtype=float)
        bad = s.notna().to_numpy() & np.isnan(vals)
        if bad.any():
            raise DataError(
                f"Column {name!r}: some value(s) cannot be parsed as dates."  # no count: DP
            )
        return vals
    if col.is_duration and not pd.api.types.is_timedelta64_dtype(s.dtype):  # a CSV's text
        td = pd.to_timedelta(s.astype(object).where(s.notna(), None), errors="coerce")
        if (s.notna() & td.isna()).any():
            raise DataError(f"Column {name!r}: some value(s) cannot be parsed as durations.")
        s = td  # (no count or value quoted: DP)
    vals = numeric_values(name, s)
    if np.isinf(vals).any():
        raise DataError(f"Column {name!r} has infinite values.")
    return vals


def public_bounds(col: ColumnMetadata) -> tuple[float, float] | None:
    """The declared ``public_bounds`` as numbers (epoch seconds for datetimes), or None."""
    if col.public_bounds is None:
        return None
    convert = (bound_to_seconds if col.sdtype == "datetime"
               else duration_to_seconds if col.is_duration else float)
    lo, hi = (convert(b) for b in col.public_bounds)
    return lo, hi
