"""Column kinds for evaluation, inferred from dtypes or read from metadata given as plain JSON.

The evaluator knows nothing of tabsynth's models: metadata arrives as a dict (tabsynth's
``Metadata.to_dict()`` or an SDV single-table metadata dict) or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd

Kind = Literal["numerical", "categorical", "datetime"]

_SDTYPE_TO_KIND: dict[str, Kind | None] = {
    "numerical": "numerical",
    "categorical": "categorical",
    "boolean": "categorical",
    "datetime": "datetime",
    "id": None,
    "text": None,
    "pii": None,
}


def kinds_from_metadata(metadata: Mapping[str, Any] | Any) -> dict[str, Kind | None]:
    """Map column -> kind from a tabsynth or SDV metadata dict (or an object with ``to_dict``).

    Columns of sdtype ``id``/``text`` map to ``None`` (not evaluated).
    """
    out: dict[str, Kind | None] = {}
    for name, spec in _metadata_columns(metadata).items():
        sdtype = spec.get("sdtype", "categorical")
        out[name] = _SDTYPE_TO_KIND.get(sdtype, "categorical")
    return out


def formats_from_metadata(metadata: Mapping[str, Any] | Any | None) -> dict[str, str]:
    """Map column -> ``datetime_format`` where the metadata declares one."""
    if metadata is None:
        return {}
    return {name: str(spec["datetime_format"])
            for name, spec in _metadata_columns(metadata).items()
            if isinstance(spec, Mapping) and spec.get("datetime_format")}


def _metadata_columns(metadata: Mapping[str, Any] | Any) -> Mapping[str, Any]:
    if hasattr(metadata, "to_dict"):
        metadata = metadata.to_dict()
    cols = metadata.get("columns")
    if cols is None and "tables" in metadata:  # SDV multi-table wrapper with one table
        tables = metadata["tables"]
        if not isinstance(tables, Mapping) or len(tables) != 1:
            raise ValueError("metadata 'tables' must hold exactly one table")
        table = next(iter(tables.values()))
        cols = table.get("columns") if isinstance(table, Mapping) else None
    if not isinstance(cols, Mapping):
        raise ValueError("metadata has no 'columns' mapping")
    return cols


#: An ISO 8601 date or date-time, as CSV exports write them (``2024-06-01``,
#: ``2024-06-01 10:00``, ``2024-06-01T10:00:00.5+01:00``).
_ISO_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?")


#: A duration as pandas writes one to CSV (``0 days 00:16:40``, ``-1 days +23:00:00.5``) or
#: an ISO 8601 duration of days and times (``PT16M40S``, ``P1DT2H``).
_DURATION = re.compile(
    r"-?\d+ days? [+-]?\d{2}:\d{2}:\d{2}(\.\d+)?"
    r"|-?P(?=\d|T\d)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")


#: The formats ``Metadata.detect`` tries for dates stored as text, in its order (day-first
#: before month-first where both read every value), so the evaluator reads them as fit does.
DATE_FORMATS = (
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
_DATE_SHAPE = re.compile(r"\d{1,4}[/.]\d{1,2}[/.]\d{2,4}( \d{1,2}:\d{2}:\d{2})?")


def text_date_format(s: pd.Series) -> str | None:
    """The first of :data:`DATE_FORMATS` that reads every present value of a text column, or
    None. ISO 8601 dates are :func:`infer_kind`'s own case."""
    text = _matching_text(s, _DATE_SHAPE)
    if text is None:
        return None
    for fmt in DATE_FORMATS:
        if all(pd.to_datetime(part, format=fmt, errors="coerce").notna().all()
               for part in (text.iloc[:1000], text)):
            return fmt
    return None


def infer_kind(s: pd.Series, max_categories: int = 50) -> Kind:
    """Guess a column's kind from its dtype (low-cardinality integers count as categorical);
    text whose every value is an ISO 8601 date, or a date in one of :data:`DATE_FORMATS`, is a
    datetime (a CSV's dates); durations
    (``timedelta64``, or text whose every value is one) are numerical, in seconds."""
    if pd.api.types.is_bool_dtype(s):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(s) or text_durations(s):
        return "numerical"
    if pd.api.types.is_numeric_dtype(s):
        if pd.api.types.is_integer_dtype(s) and s.nunique(dropna=True) <= min(max_categories, 10):
            return "categorical"
        return "numerical"
    if _iso_dates(s) or text_date_format(s) is not None:
        return "datetime"
    return "categorical"


def _matching_text(s: pd.Series, pattern: re.Pattern) -> pd.Series | None:
    """The present values of a text column as text when every one fully matches ``pattern``
    (the first 1,000 checked first, so a column is turned down cheaply), else None."""
    present = s.dropna()
    if not len(present) or not (pd.api.types.is_string_dtype(present)
                                or present.dtype == object):
        return None
    text = present.astype(str)
    for part in (text.iloc[:1000], text):
        if not part.str.fullmatch(pattern).all():
            return None
    return text


def _iso_dates(s: pd.Series) -> bool:
    """Every present value of a text column is an ISO 8601 date that parses."""
    text = _matching_text(s, _ISO_DATE)
    if text is None:
        return False
    parsed = pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
    return bool(parsed.notna().all())


def text_durations(s: pd.Series) -> bool:
    """Every present value of a text column is a duration that parses."""
    text = _matching_text(s, _DURATION)
    return text is not None and bool(pd.to_timedelta(text, errors="coerce").notna().all())


def duration_seconds(s: pd.Series) -> pd.Series:
    """A duration column (``timedelta64`` or its text) in seconds, NaN where missing."""
    if not pd.api.types.is_timedelta64_dtype(s):
        s = pd.to_timedelta(s.astype("object").where(s.notna(), None), errors="coerce")
    return s.dt.total_seconds()


def infer_kinds(
    df: pd.DataFrame, metadata: Mapping[str, Any] | Any | None = None
) -> dict[str, Kind]:
    """Kinds of the evaluated columns (metadata wins; id/text columns are dropped)."""
    if metadata is not None:
        declared = kinds_from_metadata(metadata)
        return {c: k for c in df.columns if (k := declared.get(c, infer_kind(df[c]))) is not None}
    return {c: infer_kind(df[c]) for c in df.columns}
