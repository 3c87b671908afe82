"""Deprecated module path: use :mod:`tabsynth.stats.categories` (same names)."""

from __future__ import annotations

import warnings

from .stats.categories import MAX_CATEGORIES, OTHER, cap_categories

__all__ = ["MAX_CATEGORIES", "OTHER", "cap_categories"]

warnings.warn(
    "tabsynth.category_cap is deprecated; import from tabsynth.stats.categories instead.",
    DeprecationWarning,
    stacklevel=2,
)
