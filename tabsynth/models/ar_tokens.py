"""Conditions as cells of :class:`~tabsynth.models.ar.ARSynthesizer`'s columns.

A parsed :class:`~tabsynth.sampling.conditions.Condition` becomes the set of cells its column
may take (the others' logits are masked while sampling) and, for a numerical or datetime
range, the bounds the within-bin draw must respect
(:meth:`tabsynth.transformer.DataTransformer.inverse_codes`):

* a categorical value or a set of values: those categories' cells (a missing value: the
  missing cell);
* a numerical/datetime range ``[lo, hi]`` (``None`` open) or a value (``lo == hi``): every bin
  that holds a value in the range, never the missing cell; integer columns keep the integers
  in the range. A range that no bin meets is a :class:`~tabsynth.errors.ConditionError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConditionError

__all__ = ["condition_cells", "to_numeric_bound"]


def to_numeric_bound(transformer: Any, column: str, value: Any, default: float) -> float:
    """A range bound in the column's numeric space (epoch seconds for datetimes)."""
    if value is None:
        return default
    sdtype = transformer.metadata.columns[column].sdtype
    if sdtype == "datetime":
        ts = pd.Timestamp(value)
        if ts.tzinfo is not None:
            ts = ts.tz_localize(None)
        return float((ts - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1))
    return float(value)


def condition_cells(transformer: Any, cond: Any) -> tuple[np.ndarray, tuple[float, float] | None]:
    """``(allowed, bounds)``: a bool per cell of ``cond.column`` and, for ranges, the numeric
    ``(lo, hi)`` the values must stay in (``None`` for categorical conditions).

    Raises
    ------
    ConditionError
        No cell of the column meets the condition.
    """
    column = cond.column
    j = transformer.columns.index(column)
    dim = transformer.column_domains[j]
    allowed = np.zeros(dim, dtype=bool)
    if cond.kind in ("equal", "isin"):
        values = (cond.value,) if cond.kind == "equal" else cond.values
        for v in values:
            _, cell = transformer.condition_index(column, v)
            allowed[cell] = True
        return allowed, None
    if cond.kind == "value":
        lo = hi = to_numeric_bound(transformer, column, cond.value, 0.0)
    else:
        lo = to_numeric_bound(transformer, column, cond.lo, -np.inf)
        hi = to_numeric_bound(transformer, column, cond.hi, np.inf)
    b_lo, b_hi, is_integer, _ = transformer.bin_edges(column)
    nb = len(b_lo)
    if is_integer:
        a, b = np.ceil(lo), np.floor(hi)
        ok = (b_lo <= b) & (b_hi >= a) & (a <= b)
    else:
        point = b_lo == b_hi
        last = np.arange(nb) == nb - 1
        interval = (b_lo <= hi) & ((b_hi > lo) | (last & (b_hi >= lo)))
        ok = np.where(point, (b_lo >= lo) & (b_lo <= hi), interval)
    allowed[:nb] = ok
    if not allowed.any():
        raise ConditionError(
            f"No value of column {column!r} can meet the condition {cond.describe()}: the "
            "model generates values in "
            f"[{_shown(transformer, column, b_lo[0])}, {_shown(transformer, column, b_hi[-1])}]"
            ". Widen the range."
        )
    return allowed, (lo, hi)


def _shown(transformer: Any, column: str, x: float) -> str:
    if transformer.metadata.columns[column].sdtype == "datetime":
        return str(pd.Timestamp("1970-01-01") + pd.Timedelta(seconds=float(x)))
    return f"{x:g}"
