"""Per-column statistics of a table: the only place that reads statistics off real rows.

- :mod:`.schema` — the statistics objects (:class:`TableStats` and its per-column
  :class:`NumericStats` / :class:`DatetimeStats` / :class:`CategoricalStats`; JSON round trip);
- :mod:`.values` — a column's values as numbers (numerical, datetime as epoch seconds);
- :mod:`.exact` — :func:`compute_stats` (exact, non-DP);
- :mod:`.private` — :func:`compute_private_stats` (the same objects from DP measurements; the
  per-column measurements are in :mod:`.private_columns`);
- :mod:`.categories` — the bound on the categories one column models (``MAX_CATEGORIES``).
"""

from __future__ import annotations

from .categories import MAX_CATEGORIES, OTHER, cap_categories
from .exact import PARALLEL_MIN_FITS, compute_stats
from .private import compute_private_stats, count_measurements
from .schema import (
    MAX_ATOMS,
    N_QUANTILES,
    UNIT_SECONDS,
    CategoricalStats,
    ColumnStats,
    DatetimeStats,
    NumericStats,
    TableStats,
)
from .values import datetime_to_seconds

__all__ = [
    "MAX_ATOMS",
    "MAX_CATEGORIES",
    "N_QUANTILES",
    "OTHER",
    "PARALLEL_MIN_FITS",
    "UNIT_SECONDS",
    "CategoricalStats",
    "ColumnStats",
    "DatetimeStats",
    "NumericStats",
    "TableStats",
    "cap_categories",
    "compute_private_stats",
    "compute_stats",
    "count_measurements",
    "datetime_to_seconds",
]
