"""Per-column statistics of a table: the only place that reads statistics off real rows.

- :mod:`.exact` — the statistics objects and :func:`compute_stats` (exact, non-DP);
- :mod:`.private` — :func:`compute_private_stats` (the same objects from DP measurements);
- :mod:`.categories` — the bound on the categories one column models.
"""

from __future__ import annotations

from .categories import MAX_CATEGORIES, OTHER, cap_categories
from .exact import (
    MAX_ATOMS,
    PARALLEL_MIN_FITS,
    UNIT_SECONDS,
    CategoricalStats,
    ColumnStats,
    DatetimeStats,
    NumericStats,
    TableStats,
    compute_stats,
    datetime_to_seconds,
)
from .private import compute_private_stats, count_measurements

__all__ = [
    "MAX_ATOMS",
    "MAX_CATEGORIES",
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
