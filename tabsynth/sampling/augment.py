"""Augment a real table with synthetic rows of one class (``tabsynth sample --oversample``).

:func:`oversample_table` returns the real rows of ``data`` plus rows of class
``column == value`` generated exactly (through the model's conditions) until the class reaches
``ratio`` times the largest other class. The output is not a DP release (it holds the real
rows); the synthetic rows are post-processing of the model.

Columns of ``data`` that the model did not model keep their dtype in the output: an ``id``
column (metadata ``sdtype="id"``) gets new unique keys on the synthetic rows (integers after
the largest real key, also when integer keys were read as text, or ``"syn-<k>"`` strings that
collide with no real key); any other such
column is missing on the synthetic rows, as a nullable dtype where the real one is integer or
boolean (so real integers never turn into floats).
"""

from __future__ import annotations

import math
import numbers
import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from .._progress import counted_rows
from ..errors import ParameterError, check_param

__all__ = ["MAX_NEW_ROWS", "oversample_table"]

#: Most synthetic rows one call adds (bounds time and memory; a larger ratio is refused).
MAX_NEW_ROWS = 10_000_000
_SHOWN = 10  # values an error message lists at most
_CHUNK = 50_000  # synthetic rows generated per chunk (the progress bar's steps)


def _short(values: list) -> str:
    shown = ", ".join(repr(v) for v in values[:_SHOWN])
    more = len(values) - _SHOWN
    return f"[{shown}{f', ... ({more} more)' if more > 0 else ''}]"


def _model_classes(model: Any, column: str) -> list | None:
    """The categories the model holds for ``column`` (public or DP-released), or None."""
    for span in getattr(model.transformer_, "discrete_spans", ()):
        if span.column == column:
            return list(span.categories)
    return None


def _check_column(model: Any, df: pd.DataFrame, column: str) -> list:
    if column not in df.columns:
        raise ParameterError(
            f"The column {column!r} to oversample is not in the data; columns: "
            f"{_short(list(df.columns))}."
        )
    classes = _model_classes(model, column)
    if classes is None:
        modelled = list(getattr(model.transformer_, "columns", ()))
        what = "numerical" if column in modelled else "not modelled"
        raise ParameterError(
            f"The column {column!r} is {what} in the model: --oversample takes a categorical "
            "column the model was fitted on. For a numeric range, sample rows with "
            f"conditions instead (CLI: -n N --condition '{column}>=LO' --condition "
            f"'{column}<=HI')."
        )
    return classes


def _check_dp_class(model: Any, column: str, value: Any, model_classes: list) -> None:
    """Under DP, ``value`` must be a class the model holds: declared public (metadata
    ``public_domain``) or released by the thresholded DP histogram (issue 11, item 4). A label
    that only ``--data`` shows (one real row, say) is refused before anything is generated."""
    from ..errors import ConditionError

    try:
        model.transformer_.condition_index(column, value)
    except ConditionError:
        raise ParameterError(
            f"The DP model holds no class {value!r} in column {column!r}: under differential "
            "privacy a class exists for the model only if it was declared public or released "
            "by the thresholded DP histogram, and this one was neither, so the model cannot "
            f"generate it. The model's classes: {_short(model_classes)}. If the label set is "
            "public knowledge, declare it at fit time (metadata public_domain for "
            f"{column!r}, e.g. tabsynth fit --metadata meta.json)."
        ) from None
_INT_TEXT = re.compile(r"-?(0|[1-9][0-9]*)")


def _new_keys(real: pd.Series, n: int) -> pd.Series:
    """``n`` keys that collide with no value of ``real``, in ``real``'s dtype where it can."""
    if pd.api.types.is_integer_dtype(real.dtype) and not pd.api.types.is_bool_dtype(real.dtype):
        start = int(real.max()) + 1 if len(real) and real.notna().any() else 1
        return pd.Series(np.arange(start, start + n, dtype=np.int64)).astype(real.dtype)
    taken = set(real.dropna().astype(str))
    if taken and all(_INT_TEXT.fullmatch(v) for v in taken):
        # integer keys read as text (the CLI reads id columns as text to keep them byte for
        # byte): new keys are integers after the largest, written the same way
        start = max(int(v) for v in taken) + 1
        keys = pd.Series([str(k) for k in range(start, start + n)])
        return keys.astype(real.dtype) if real.dtype != object else keys
    prefix = "syn-"
    while any(v.startswith(prefix) for v in taken):
        prefix = "syn" + prefix
    keys = pd.Series([f"{prefix}{k}" for k in range(1, n + 1)])
    return keys.astype(real.dtype) if real.dtype != object else keys


def fill_unmodelled(df: pd.DataFrame, extra: pd.DataFrame, model: Any) -> pd.DataFrame:
    """Give ``extra`` every column of ``df`` (see the module docstring), in ``df``'s order."""
    meta = getattr(model, "metadata_", None)
    sdtypes = {n: c.sdtype for n, c in meta.columns.items()} if meta is not None else {}
    out = {}
    for name in df.columns:
        real = df[name]
        if name in extra.columns:
            col = extra[name].reset_index(drop=True)
            try:
                col = col.astype(real.dtype)
            except (TypeError, ValueError):
                pass
            out[name] = col
        elif sdtypes.get(name) == "id":
            out[name] = _new_keys(real, len(extra))
        else:
            dtype: Any = real.dtype
            if pd.api.types.is_bool_dtype(dtype):
                dtype = "boolean"
            elif pd.api.types.is_integer_dtype(dtype):
                dtype = "Int64"
            out[name] = pd.Series([pd.NA] * len(extra), dtype=dtype)
    return pd.DataFrame(out)


def oversample_table(
    model: Any,
    data: Any,
    *,
    column: str,
    value: Any,
    ratio: float,
    random_state: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Real rows of ``data`` plus rows of class ``column == value`` from a FITTED ``model``.

    Synthetic rows are added until ``count(value) / count(largest other class) >= ratio``;
    they are generated exactly through the conditional vector (post-processing of the model:
    it costs no epsilon, but the returned table holds the real rows). Used by
    ``tabsynth sample MODEL --oversample COL=VALUE --ratio R --data REAL.csv``, which passes
    ``progress=True`` (a bar over the synthetic rows; the rows are the same either way).

    Raises
    ------
    ParameterError
        ``column`` missing from ``data`` or not a categorical column of the model, ``value``
        absent, ``ratio`` not above the current ratio, or more than :data:`MAX_NEW_ROWS`
        rows to add; under DP, ``value`` not a class of the model (declared public or
        DP-released). Messages list at most ten values, and under DP only the model's
        (public or DP-released) classes, never values read from ``data``.
    """
    from ..io import read_table
    from .strategy import _MISSING, _find, _py, _sort_key

    df = read_table(data)
    check_param("oversample_table", "ratio", ratio,
                isinstance(ratio, numbers.Real) and not isinstance(ratio, bool)
                and math.isfinite(ratio) and ratio > 0, "a float > 0 and finite")
    model_classes = _check_column(model, df, column)
    if getattr(model, "epsilon", None) is not None:
        _check_dp_class(model, column, value, model_classes)
    counts = Counter(_py(v) for v in df[column].dropna())
    key = _find(value, counts)
    if key is _MISSING:
        private = getattr(model, "epsilon", None) is not None
        listed = model_classes if private else sorted(counts, key=_sort_key)
        source = "the model's classes" if private else "classes in the data"
        raise ParameterError(
            f"The class {value!r} of column {column!r} is not in the data; {source}: "
            f"{_short(listed)}."
        )
    others = {c: n for c, n in counts.items() if c != key}
    if not others:
        raise ParameterError(f"Column {column!r} has a single class {key!r}: nothing to balance.")
    n_other = max(others.values())
    current = counts[key] / n_other
    if ratio <= current:
        raise ParameterError(
            f"ratio={ratio:g} is not above the current ratio {current:.4g} of class {key!r} "
            f"({counts[key]} rows) to the largest other class ({n_other} rows); nothing to add."
        )
    n_new = int(math.ceil(ratio * n_other)) - counts[key]
    if n_new > MAX_NEW_ROWS:
        most = (counts[key] + MAX_NEW_ROWS) / n_other
        raise ParameterError(
            f"ratio={ratio:g} would add {n_new:,} synthetic rows, more than the limit of "
            f"{MAX_NEW_ROWS:,} for one call (time and memory). Use --ratio <= {most:.4g}, or "
            "sample the class in chunks with -n N --condition COL=VALUE (written to disk "
            "chunk by chunk)."
        )
    chunks = model._iter_chunks(n_new, _CHUNK, {column: key}, random_state, None,
                                "oversample_table")
    parts = list(counted_rows(chunks, n_new, desc="sample --oversample", shown=progress))
    extra = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    extra = fill_unmodelled(df, extra, model)
    return pd.concat([df.reset_index(drop=True), extra], ignore_index=True)
