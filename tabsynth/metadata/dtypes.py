"""Metadata from pandas dtypes and column names only: the typing rule of a DP fit without
declared metadata (DESIGN.md rule 2: under DP nothing is inferred from the private values).

:meth:`Metadata.detect` looks at the values (integer-valued floats, uniqueness, date formats):
one added row can change a column's type, and so the model file, with certainty. Here a
column's type is a function of its dtype and name alone:

===============================  ============================================================
dtype                            sdtype
===============================  ============================================================
bool / boolean                   boolean (domain {False, True}, public by schema)
category                         categorical (its categories are *not* declared public)
datetime64                       datetime
integer                          numerical, representation "int" (``id`` when the name says so)
float                            numerical, representation "float"
timedelta64 (durations)          numerical, representation "float" (seconds)
str / string / object            categorical (``id`` when the name says so)
anything else                    text (not modelled)
===============================  ============================================================

Id by name: ``id``, ``*_id``, ``*Id``, ``uuid``, ``guid``, ``*_key`` and
``<policy|account|customer|patient|record|row>[_]<number|no|id>`` (case-insensitive).
No public bounds or domains are ever inferred. Dates stored as text stay categorical (their
format would have to be read from the values): declare them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pandas as pd

from .columns import ColumnMetadata
from .detect import frame_columns

if TYPE_CHECKING:  # pragma: no cover
    from .table import Metadata

__all__ = ["columns_from_dtypes", "typing_summary"]

_ID_BY_NAME = re.compile(
    r"(^id$)|(_id$)|([a-z0-9]Id$)|(^uuid$)|(^guid$)|(_key$)"
    r"|(^(policy|account|customer|patient|record|row)_?(number|no|id)$)",
    re.I,
)


def _sdtype(name: str, dtype: object) -> tuple[str, str | None]:
    """(sdtype, representation) of a column from its dtype and name."""
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean", None
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical", None
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime", None
    if pd.api.types.is_integer_dtype(dtype):
        return ("id", None) if _ID_BY_NAME.search(name) else ("numerical", "int")
    if pd.api.types.is_float_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return "numerical", "float"
    if pd.api.types.is_string_dtype(dtype) or dtype is object or str(dtype) == "object":
        return ("id", None) if _ID_BY_NAME.search(name) else ("categorical", None)
    return "text", None


def columns_from_dtypes(df: pd.DataFrame) -> dict[str, ColumnMetadata]:
    """Each column's metadata from its dtype and name only (see the module docstring)."""
    return {name: ColumnMetadata(*_sdtype(name, df[name].dtype), dtype=str(df[name].dtype))
            for name in frame_columns(df)}


def typing_summary(meta: Metadata) -> str:
    """One paragraph: which columns were typed how, and why declaring metadata is better."""
    groups: dict[str, list[str]] = {}
    for name, col in meta.columns.items():
        key = col.sdtype if col.sdtype != "numerical" else f"numerical ({col.representation})"
        groups.setdefault(key, []).append(name)

    def names(v: list[str]) -> str:
        return ", ".join(v[:6]) + (f" (+{len(v) - 6} more)" if len(v) > 6 else "")

    parts = "; ".join(f"{k}: {names(v)}" for k, v in sorted(groups.items()))
    return ("epsilon was given without metadata, so under DP the columns were typed from "
            f"their pandas dtypes and names only, never from their values: {parts}. "
            "Declaring metadata is better (public bounds and domains, integer-coded "
            "categories, dates stored as text): Metadata.detect on public data, or "
            "`tabsynth metadata`, then review and pass metadata=...")
