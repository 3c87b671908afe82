"""Metadata files and SDV metadata: reading a metadata JSON file, importing SDV's
single-table metadata, and telling the two apart (:meth:`Metadata.from_json_any`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import MetadataError
from .columns import EXCLUDED_SDTYPES, ColumnMetadata

__all__ = ["columns_from_sdv", "is_native", "read_json"]

_SDV_NUMERIC_INT = re.compile(r"^u?int(8|16|32|64)?$", re.I)


def read_json(path: str | os.PathLike) -> Any:
    """The JSON document of a metadata file (UTF-8, a byte-order mark allowed).

    Raises
    ------
    MetadataError
        The file does not exist or cannot be read, is not UTF-8 text or not valid JSON.
    """
    shown = os.fspath(path)
    p = Path(path)
    if not p.is_file():
        raise MetadataError(f"The metadata file {shown!r} does not exist.")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise MetadataError(f"Cannot read the metadata file {shown!r}: {exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MetadataError(
            f"The metadata file {shown!r} is not UTF-8 text (byte {exc.start}: {exc.reason}). "
            "Re-save it as UTF-8."
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MetadataError(f"The metadata file {shown!r} is not valid JSON: {exc}") from None


_NATIVE_FIELDS = frozenset({"representation", "public_bounds", "public_domain", "dtype",
                            "decimals"})


def is_native(doc: Mapping[str, Any]) -> bool:
    """Whether a metadata document is tabsynth's own: it has a ``schema_version`` (SDV
    metadata has none), or, with no SDV marker (``METADATA_SPEC_VERSION``, ``tables``), it uses
    a field only tabsynth knows (``na_values``; a column's ``public_domain``,
    ``public_bounds``, ``representation``, ``dtype`` or ``decimals``). Read as SDV metadata,
    such a document would lose its declared public domains and bounds without a word."""
    if "schema_version" in doc:
        return True
    if "METADATA_SPEC_VERSION" in doc or "tables" in doc:
        return False
    cols = doc.get("columns")
    specs = cols.values() if isinstance(cols, Mapping) else ()
    return "na_values" in doc or any(
        isinstance(c, Mapping) and _NATIVE_FIELDS & set(c) for c in specs)


def columns_from_sdv(
    sdv: Mapping[str, Any] | str | os.PathLike,
) -> tuple[dict[str, ColumnMetadata], str | None]:
    """``(columns, primary_key)`` of SDV single-table metadata (see :meth:`Metadata.from_sdv`)."""
    d = sdv if isinstance(sdv, Mapping) else read_json(sdv)
    if not isinstance(d, Mapping):
        raise MetadataError("SDV metadata must be a JSON object.")
    if "tables" in d:
        tables = d["tables"]
        if not isinstance(tables, Mapping) or len(tables) != 1:
            names = list(tables) if isinstance(tables, Mapping) else tables
            raise MetadataError(
                f"SDV multi-table metadata must hold exactly one table; got {names!r}."
            )
        d = next(iter(tables.values()))
    if not isinstance(d, Mapping) or not isinstance(d.get("columns"), Mapping):
        raise MetadataError("SDV metadata needs a 'columns' object.")
    cols: dict[str, ColumnMetadata] = {}
    for name, spec in d["columns"].items():
        if not isinstance(spec, Mapping) or "sdtype" not in spec:
            raise MetadataError(f"SDV column {name!r} has no 'sdtype'.")
        sdtype = spec["sdtype"]
        if sdtype == "numerical":
            rep = str(spec.get("computer_representation", "Float"))
            representation = "int" if _SDV_NUMERIC_INT.match(rep) else "float"
            cols[name] = ColumnMetadata("numerical", representation=representation)
        elif sdtype in ("categorical", "boolean", "id"):
            cols[name] = ColumnMetadata(sdtype)
        elif sdtype == "datetime":
            fmt = spec.get("datetime_format")
            cols[name] = ColumnMetadata("datetime", datetime_format=fmt)
        else:  # email, phone_number, address, ssn, unknown, ... : PII or free text
            cols[name] = ColumnMetadata("text")
    pk = d.get("primary_key")
    if isinstance(pk, (list, tuple)):
        pk = pk[0] if len(pk) == 1 else None
    if pk is not None and pk not in cols:
        pk = None
    if pk is not None and cols[pk].sdtype not in EXCLUDED_SDTYPES:
        cols[pk] = ColumnMetadata("id")
    return cols, pk
