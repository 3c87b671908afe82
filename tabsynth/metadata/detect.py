"""Metadata detected from a table's dtypes **and values** (:meth:`Metadata.detect`).

Integer-valued floats, uniqueness and date formats decide a column's type: fine without DP,
but under DP such metadata is a function of the private rows (a DP fit without metadata uses
:mod:`.dtypes` instead).
"""

from __future__ import annotations

import datetime
import decimal
import re

import numpy as np
import pandas as pd

from ..errors import DataError
from .columns import ColumnMetadata

__all__ = ["DATETIME_FORMATS", "DURATION_TEXT", "detect_column", "frame_columns"]

#: Formats tried, in order, when detecting datetime columns stored as text.
DATETIME_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
)

#: A duration as pandas writes one to CSV (``0 days 00:16:40``) or an ISO 8601 duration of
#: days and times (``PT16M40S``); the evaluator reads the same text (a test pins the two).
DURATION_TEXT = re.compile(
    r"-?\d+ days? [+-]?\d{2}:\d{2}:\d{2}(\.\d+)?"
    r"|-?P(?=\d|T\d)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")

_CATEGORICAL_MAX_INTS = 10
_ID_NAME = re.compile(r"(^id$)|(_id$)|([a-z0-9]Id$)|(Number$)|(^uuid$)|(^guid$)|(_key$)", re.I)
_ID_NAME_STRICT = re.compile(r"(^id$)|(_id$)|([a-z0-9]Id$)|(Number$)|(^uuid$)|(^guid$)")


def frame_columns(df: pd.DataFrame) -> list[str]:
    """The column names of ``df``, refused unless it is a DataFrame with unique string names."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"Expected a pandas DataFrame, got {type(df).__name__}.")
    if df.columns.duplicated().any():
        dups = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise DataError(f"The table has duplicate column names: {dups}.")
    for name in df.columns:
        if not isinstance(name, str):
            raise DataError(
                f"Column names must be strings; got {name!r}. Rename the columns first."
            )
    return list(df.columns)


def _is_string_like(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) or s.dtype == object


def _detect_datetime_format(values: pd.Series) -> str | None:
    """The first known format that parses >= 95% of the (non-null) values, else None."""
    sample = values.astype(str)
    if len(sample) > 1000:
        sample = sample.iloc[:1000]
    if not sample.str.contains(r"\d", regex=True).all():
        return None
    for fmt in DATETIME_FORMATS:
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        if parsed.notna().mean() >= 0.95:
            return fmt
    return None


def _durations(values: pd.Series) -> bool:
    """Every value (text) is a duration that parses (the first 1,000 checked first)."""
    for part in (values.iloc[:1000], values):
        if not part.astype(str).str.fullmatch(DURATION_TEXT).all():
            return False
    return bool(pd.to_timedelta(values.astype(object), errors="coerce").notna().all())


def detect_column(name: str, s: pd.Series) -> ColumnMetadata:
    dtype = str(s.dtype)
    non_null = s.dropna()
    n_unique = int(non_null.nunique())
    n = len(non_null)
    all_unique = n > 0 and n_unique == n
    if pd.api.types.is_bool_dtype(s.dtype):
        return ColumnMetadata("boolean", dtype=dtype)
    if isinstance(s.dtype, pd.CategoricalDtype):
        return ColumnMetadata("categorical", dtype=dtype)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return ColumnMetadata("datetime", dtype=dtype)
    if pd.api.types.is_timedelta64_dtype(s.dtype):  # durations: numbers of seconds
        return ColumnMetadata("numerical", representation="float", dtype=dtype)
    if pd.api.types.is_integer_dtype(s.dtype):
        if all_unique and n > 20 and (
            _ID_NAME.search(name) or non_null.is_monotonic_increasing
        ):
            return ColumnMetadata("id", dtype=dtype)
        if n_unique <= _CATEGORICAL_MAX_INTS:
            return ColumnMetadata("categorical", dtype=dtype)
        return ColumnMetadata("numerical", representation="int", dtype=dtype)
    if pd.api.types.is_float_dtype(s.dtype):
        finite = non_null[np.isfinite(non_null.to_numpy(dtype=float))]
        integral = len(finite) > 0 and bool(
            (np.floor(finite.to_numpy(dtype=float)) == finite.to_numpy(dtype=float)).all()
        )
        if integral and n_unique <= _CATEGORICAL_MAX_INTS:
            return ColumnMetadata("categorical", dtype=dtype)
        return ColumnMetadata(
            "numerical", representation="int" if integral else "float", dtype=dtype
        )
    if s.dtype == object and n > 0 and isinstance(non_null.iloc[0],
                                                  (decimal.Decimal, datetime.date)):
        types = set(non_null.map(type))  # Python dates / decimals (pandas' or a driver's)
        if types <= {decimal.Decimal}:
            return ColumnMetadata("numerical", representation="float", dtype="float64")
        if types <= {datetime.date}:
            return ColumnMetadata("datetime", dtype="datetime64[us]")
    if _is_string_like(s):
        if non_null.map(type).eq(bool).all() and n > 0:
            return ColumnMetadata("boolean", dtype=dtype)
        if n > 0 and non_null.map(lambda v: isinstance(v, str)).all():
            if _durations(non_null):
                return ColumnMetadata("numerical", representation="float",
                                      dtype="timedelta64[us]")
            fmt = _detect_datetime_format(non_null)
            if fmt is not None:
                return ColumnMetadata("datetime", datetime_format=fmt, dtype=dtype)
            lengths = non_null.str.len()
            if lengths.mean() > 50 and n_unique > 20 and n_unique >= 0.5 * n:
                return ColumnMetadata("text", dtype=dtype)
            if (n_unique >= 0.95 * n and n_unique > 20) or (
                all_unique and _ID_NAME_STRICT.search(name)
            ):
                return ColumnMetadata("id", dtype=dtype)
        return ColumnMetadata("categorical", dtype=dtype)
    # complex, period, interval...: not modelled
    return ColumnMetadata("text", dtype=dtype)
