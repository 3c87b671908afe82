"""Table metadata: column types and what the user declares public.

- :mod:`.table` — :class:`Metadata`, the versioned JSON object (edits, save/load, the entry
  points below);
- :mod:`.columns` — :class:`ColumnMetadata`, one column's type and public declarations;
- :mod:`.detect` — detection from dtypes and values (:meth:`Metadata.detect`);
- :mod:`.dtypes` — from dtypes and names only, the DP rule (:meth:`Metadata.from_dtypes`);
- :mod:`.interop` — metadata files and SDV metadata (:meth:`Metadata.from_sdv`,
  :meth:`Metadata.from_json_any`);
- :mod:`.checks` — does a table fit its metadata, can it be modelled.
"""

from __future__ import annotations

from .checks import check_data, check_modelled
from .columns import EXCLUDED_SDTYPES, SDTYPES, ColumnMetadata
from .detect import DATETIME_FORMATS
from .table import SCHEMA_VERSION, Metadata

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
