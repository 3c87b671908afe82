"""Table metadata: column types and what the user declares public.

- :mod:`.table` — :class:`Metadata` (the versioned JSON object, edits, validation entry point);
- :mod:`.dtypes` — metadata from pandas dtypes and column names only (the DP typing rule).
"""

from __future__ import annotations

from .table import (
    DATETIME_FORMATS,
    EXCLUDED_SDTYPES,
    SCHEMA_VERSION,
    SDTYPES,
    ColumnMetadata,
    Metadata,
    check_data,
    check_modelled,
)

__all__ = [
    "DATETIME_FORMATS",
    "EXCLUDED_SDTYPES",
    "SCHEMA_VERSION",
    "SDTYPES",
    "ColumnMetadata",
    "Metadata",
    "check_data",
    "check_modelled",
]
