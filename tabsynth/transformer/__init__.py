"""Reversible encoding of a table, built from metadata and statistics only.

- :mod:`.table` — :class:`DataTransformer` (the table encoder/decoder) and its spans;
- :mod:`.binning` — the quantile bins behind ``numeric_encoding="bins"``.
"""

from __future__ import annotations

from .table import DataTransformer, DiscreteSpan, Span

__all__ = ["DataTransformer", "DiscreteSpan", "Span"]
