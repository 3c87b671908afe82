"""Does a table fit its metadata, and can it be modelled: :meth:`Metadata.validate`'s column
checks, :func:`check_data` and :func:`check_modelled`.

With ``private=True`` (a DP fit) the messages name columns and problems but quote no value
and no exact count.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import DataError
from .columns import ColumnMetadata

if TYPE_CHECKING:  # pragma: no cover
    from .table import Metadata

__all__ = ["check_data", "check_modelled", "column_problems"]


def _value_kind(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, numbers.Number):
        return "number"
    if isinstance(v, str):
        return "str"
    return type(v).__name__


def _mixed_types(s: pd.Series) -> list[str]:
    """Python types of an object column, if it mixes several kinds (e.g. int and str)."""
    if s.dtype != object:
        return []
    kinds = set(s.dropna().map(_value_kind))
    return sorted(kinds) if len(kinds) > 1 else []


def _count(k: int, private: bool) -> str:
    """An exact count, or "some" under DP (errors of a DP fit quote no exact count)."""
    return "some" if private else str(k)


def _example(text: str, private: bool) -> str:
    """An example of real values, or nothing under DP (errors quote no real value)."""
    return "" if private else text


def column_problems(name: str, col: ColumnMetadata, s: pd.Series,
                     private: bool = False) -> list[str]:
    out: list[str] = []
    if not col.modelled:
        return out
    non_null = s.dropna()
    if col.sdtype == "numerical":
        numeric = (pd.api.types.is_numeric_dtype(s.dtype)
                   and not pd.api.types.is_bool_dtype(s.dtype))
        if col.is_duration and not pd.api.types.is_timedelta64_dtype(s.dtype):
            conv = pd.to_timedelta(non_null.astype(object), errors="coerce")
            bad = non_null[conv.isna()]
            if len(bad):
                out.append(
                    f"column {name!r} is a duration but has {_count(len(bad), private)} "
                    f"value(s) that are not durations"
                    f"{_example(f' such as {bad.iloc[0]!r}', private)}"
                )
        elif not (numeric or pd.api.types.is_timedelta64_dtype(s.dtype)):
            conv = pd.to_numeric(non_null, errors="coerce")
            bad = non_null[conv.isna()]
            if len(bad):
                out.append(
                    f"column {name!r} is numerical but has {_count(len(bad), private)} "
                    f"non-numeric value(s){_example(f' such as {bad.iloc[0]!r}', private)}"
                )
    elif col.sdtype == "datetime":
        if not pd.api.types.is_datetime64_any_dtype(s.dtype):
            if col.datetime_format:
                conv = pd.to_datetime(non_null.astype(str), format=col.datetime_format,
                                      errors="coerce")
            else:
                conv = pd.to_datetime(non_null.astype(str), format="mixed", errors="coerce")
            bad = non_null[conv.isna()]
            if len(bad):
                fmt = f" with format {col.datetime_format!r}" if col.datetime_format else ""
                out.append(
                    f"column {name!r} is datetime but {_count(len(bad), private)} value(s) "
                    f"cannot be parsed{fmt}{_example(f', such as {bad.iloc[0]!r}', private)}"
                )
    elif col.sdtype in ("categorical", "boolean") and col.public_domain is not None:
        domain = pd.Index(list(col.public_domain), dtype=object)
        outside = non_null[domain.get_indexer(non_null.to_numpy(dtype=object)) < 0]
        if len(outside):
            examples = list(dict.fromkeys(outside.tolist()))[:5]
            out.append(
                f"column {name!r} has {_count(len(outside), private)} value(s) outside its "
                f"public_domain{_example(f', such as {examples!r}', private)}"
            )
    return out


def check_data(df: pd.DataFrame, metadata: Metadata, *, private: bool = False,
               batch: bool = False) -> None:
    """Check the modelled columns of ``df`` are usable; one :class:`DataError` lists all problems.

    Problems: fewer than 2 rows, +/-inf in a numeric column, a column that is entirely
    missing, an object column mixing value types (e.g. ints and strings). Constant columns
    are fine. ``private=True`` (a DP fit): no exact counts in the message. ``batch=True``: one
    record batch of a streamed table (the row count and the all-missing checks are the
    whole table's, made by the statistics).
    """
    problems: list[str] = []
    if len(df) < 2 and not batch:
        problems.append(f"the table needs at least 2 rows, it has {len(df)}")
    for name in metadata.modelled_columns:
        if name not in df.columns:
            continue
        s = df[name]
        if len(s) and s.isna().all():
            if batch:
                continue
            problems.append(f"column {name!r} has only missing values")
            continue
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            vals = s.to_numpy(dtype=float, na_value=np.nan)
            n_inf = int(np.isinf(vals).sum())
            if n_inf:
                problems.append(f"column {name!r} has {_count(n_inf, private)} infinite "
                                "value(s)")
        mixed = _mixed_types(s)
        if mixed:
            problems.append(f"column {name!r} mixes value types {mixed}")
    if problems:
        raise DataError("The data cannot be used: " + "; ".join(problems) + ".")


def check_modelled(metadata: Metadata, owner: str) -> None:
    """Refuse a fit that would model no column (every column excluded), with the reason."""
    if metadata.modelled_columns:
        return
    cols = list(metadata.columns)
    if not cols:
        raise DataError(f"{owner}.fit got a table with no columns: there is nothing to model.")
    desc = ", ".join(f"{n!r} ({metadata.columns[n].sdtype})" for n in cols[:8])
    more = f" and {len(cols) - 8} more" if len(cols) > 8 else ""
    raise DataError(
        f"{owner}.fit would model no column: every column is excluded ({desc}{more}). "
        "A CSV read with the wrong separator gives one text column: check the delimiter; "
        "otherwise declare the types with metadata.update_column(name, sdtype=...)."
    )
