"""Reversible encoding of a table, built from metadata and statistics only.

- :mod:`.table` — :class:`DataTransformer`, the table encoder/decoder (layout, conditions);
- :mod:`.spans` — the spans of the encoded vector and each column's spec;
- :mod:`.encode` / :mod:`.decode` — the per-column encoders and decoders;
- :mod:`.binning` — the quantile bins behind ``numeric_encoding="bins"``.
"""

from __future__ import annotations

from .spans import DiscreteSpan, Span
from .table import DataTransformer

__all__ = ["DataTransformer", "DiscreteSpan", "Span"]
