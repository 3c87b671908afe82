"""Table metadata: column types and what the user declares public.

:class:`Metadata` is a small, versioned JSON object::

    {"schema_version": 1,
     "primary_key": null,
     "columns": {"age": {"sdtype": "numerical", "representation": "int",
                         "datetime_format": null, "public_bounds": [0, 120],
                         "public_domain": null, "dtype": "int64"}, ...}}

``public_bounds`` / ``public_domain`` are declared public by the user and cost no privacy
budget. ``id`` and ``text`` columns are excluded from modelling. An optional top-level
``"na_values": ["NA", "n/a"]`` names the CSV tokens that mean "missing" in this table (only the
empty field does otherwise); the CLI reads CSV with them unless ``--na-values`` is given.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError, DataWarning, MetadataError
from .checks import column_problems
from .columns import ColumnMetadata
from .detect import detect_column, frame_columns
from .dtypes import columns_from_dtypes, typing_summary
from .interop import columns_from_sdv, is_native, read_json

__all__ = ["SCHEMA_VERSION", "Metadata"]

SCHEMA_VERSION = 1
_TOP_KEYS = ("schema_version", "primary_key", "columns", "na_values")


class Metadata:
    """Column types of one table and what the user declares public.

    Parameters
    ----------
    columns : mapping of str to ColumnMetadata (or dict), optional
        Columns in table order.
    primary_key : str, optional
        Name of the primary key column (an ``id`` column).
    na_values : sequence of str, optional
        CSV tokens that mean "missing" in this table (besides the empty field). Only the
        empty field is missing when omitted, so words such as 'None' or 'NA' stay categories.
    """

    def __init__(
        self,
        columns: Mapping[str, ColumnMetadata | Mapping[str, Any]] | None = None,
        *,
        primary_key: str | None = None,
        na_values: list[str] | tuple[str, ...] | None = None,
    ) -> None:
        self.columns: dict[str, ColumnMetadata] = {}
        for name, col in (columns or {}).items():
            if not isinstance(name, str):
                raise MetadataError(f"Column names must be strings, got {name!r}.")
            if not isinstance(col, ColumnMetadata):
                col = ColumnMetadata.from_dict(col, name=name)
            self.columns[name] = col
        if primary_key is not None and primary_key not in self.columns:
            raise MetadataError(
                f"primary_key {primary_key!r} is not a column of the metadata."
            )
        self.primary_key = primary_key
        if na_values is not None and (
                not isinstance(na_values, (list, tuple))
                or not all(isinstance(t, str) for t in na_values)):
            raise MetadataError(
                f"na_values must be a list of strings (the CSV tokens meaning missing), got "
                f"{na_values!r}."
            )
        self.na_values: list[str] | None = None if na_values is None else list(na_values)

    # ------------------------------------------------------------------ basics
    def __repr__(self) -> str:
        inner = ", ".join(f"{k}: {v.sdtype}" for k, v in self.columns.items())
        return f"Metadata({{{inner}}})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Metadata):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __getitem__(self, name: str) -> ColumnMetadata:
        try:
            return self.columns[name]
        except KeyError:
            raise MetadataError(
                f"Column {name!r} is not in the metadata. Columns: {list(self.columns)}."
            ) from None

    @property
    def modelled_columns(self) -> list[str]:
        """Columns that are modelled (not ``id``/``text``), in table order."""
        return [n for n, c in self.columns.items() if c.modelled]

    @property
    def excluded_columns(self) -> list[str]:
        """Columns excluded from modelling (``id``/``text``), in table order."""
        return [n for n, c in self.columns.items() if not c.modelled]

    def copy(self) -> Metadata:
        """An independent copy."""
        return Metadata.from_dict(self.to_dict())

    # ------------------------------------------------------------- detection
    @classmethod
    def detect(cls, df: pd.DataFrame, *, warn: bool = True) -> Metadata:
        """Infer metadata from a table.

        Column types come from the dtypes **and values** (integer vs float, id-like by
        uniqueness, datetime formats): fine without DP, but under DP such metadata is a
        function of the private rows. A DP fit without metadata uses :meth:`from_dtypes`
        instead; review detected metadata before declaring it for a DP fit. Detection never
        declares a public domain or public bounds.

        Parameters
        ----------
        df : pandas.DataFrame
            The table (not modified).
        warn : bool, default True
            Emit one :class:`~tabsynth.errors.DataWarning` naming the excluded columns.

        Returns
        -------
        Metadata
        """
        cols = {name: detect_column(name, df[name]) for name in frame_columns(df)}
        meta = cls(cols)
        if warn and meta.excluded_columns:
            desc = ", ".join(f"{n!r} ({meta.columns[n].sdtype})" for n in meta.excluded_columns)
            warnings.warn(
                f"These columns are excluded from modelling: {desc}. Use "
                "metadata.update_column(name, sdtype=...) to model them.",
                DataWarning,
                stacklevel=2,
            )
        return meta

    @classmethod
    def from_dtypes(cls, df: pd.DataFrame, *, announce: bool = False) -> Metadata:
        """Metadata from the pandas dtypes and column names only: nothing computed from the
        values (the rule for a DP fit without declared metadata; see
        :mod:`tabsynth.metadata.dtypes`).

        ``announce=True`` emits one :class:`~tabsynth.errors.DataWarning` telling the user how
        each column was typed and that declaring metadata is better.
        """
        meta = cls(columns_from_dtypes(df))
        if announce:
            warnings.warn(typing_summary(meta), DataWarning, stacklevel=2)
        return meta

    # ----------------------------------------------------------- dict / JSON
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (``schema_version``, ``primary_key``, ``columns``; ``na_values``
        only when set)."""
        d: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "primary_key": self.primary_key,
            "columns": {n: c.to_dict() for n, c in self.columns.items()},
        }
        if self.na_values is not None:
            d["na_values"] = list(self.na_values)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Metadata:
        """Build from :meth:`to_dict` output; unknown keys and newer schemas are rejected."""
        if not isinstance(d, Mapping):
            raise MetadataError(f"Metadata must be a JSON object, got {type(d).__name__}.")
        unknown = sorted(set(d) - set(_TOP_KEYS))
        if unknown:
            hint = ""
            if "METADATA_SPEC_VERSION" in d or "tables" in d:
                hint = " This looks like SDV metadata: use Metadata.from_sdv()."
            raise MetadataError(
                f"Unknown metadata key(s) {unknown}. Valid keys: {list(_TOP_KEYS)}.{hint}"
            )
        version = d.get("schema_version", SCHEMA_VERSION)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise MetadataError(f"schema_version must be an int >= 1, got {version!r}.")
        if version > SCHEMA_VERSION:
            raise MetadataError(
                f"This metadata has schema_version {version}, newer than the version this "
                f"tabsynth supports ({SCHEMA_VERSION}). Upgrade tabsynth."
            )
        columns = d.get("columns")
        if not isinstance(columns, Mapping):
            raise MetadataError("Metadata needs a 'columns' object mapping names to columns.")
        return cls(columns, primary_key=d.get("primary_key"), na_values=d.get("na_values"))

    def save(self, path: str | os.PathLike) -> None:
        """Write the metadata as JSON (atomically)."""
        from ..io import atomic_path

        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Metadata:
        """Read metadata written by :meth:`save`."""
        return cls.from_dict(read_json(path))

    # -------------------------------------------------------------- SDV import
    @classmethod
    def from_sdv(cls, sdv: Mapping[str, Any] | str | os.PathLike) -> Metadata:
        """Import SDV single-table metadata (a dict or a JSON file).

        Both the single-table form (``{"columns": ..., "primary_key": ...,
        "METADATA_SPEC_VERSION": "SINGLE_TABLE_V1"}``) and the multi-table form with exactly
        one table (``{"tables": {name: {...}}}``) are accepted. PII sdtypes (``email``,
        ``phone_number``, ...) become excluded ``text`` columns.
        """
        cols, pk = columns_from_sdv(sdv)
        return cls(cols, primary_key=pk)

    @classmethod
    def from_json_any(cls, source: Mapping[str, Any] | str | os.PathLike) -> Metadata:
        """tabsynth metadata or SDV metadata, told apart: a document with a ``schema_version``,
        or one using a field only tabsynth knows (``public_domain``, ``public_bounds``,
        ``representation``, ``dtype``, ``na_values``), is read by :meth:`from_dict`, any other
        by :meth:`from_sdv`.

        Parameters
        ----------
        source : mapping, str or path-like
            The parsed JSON document, or the path of a JSON file (UTF-8, a byte-order mark
            allowed).

        Raises
        ------
        MetadataError
            The file is missing, unreadable, not JSON or not a JSON object, or the document is
            not valid metadata of either kind.
        """
        if isinstance(source, Mapping):
            doc: Any = source
        else:
            doc = read_json(source)
            if not isinstance(doc, Mapping):
                raise MetadataError(
                    f"The metadata file {os.fspath(source)!r} must hold a JSON object."
                )
        return cls.from_dict(doc) if is_native(doc) else cls.from_sdv(doc)

    # ------------------------------------------------------------------ edits
    def update_column(self, name: str, **fields: Any) -> Metadata:
        """Change fields of one column (validated); returns ``self``.

        Changing ``sdtype`` resets fields that do not apply to the new type.
        """
        col = self[name]
        valid = [f.name for f in dataclasses.fields(ColumnMetadata)]
        unknown = sorted(set(fields) - set(valid))
        if unknown:
            raise MetadataError(
                f"Column {name!r}: unknown field(s) {unknown}. Valid fields: {valid}."
            )
        current = col.to_dict()
        if "sdtype" in fields and fields["sdtype"] != col.sdtype:
            new = fields["sdtype"]
            if new != "numerical":
                current["representation"] = None
                current.pop("decimals", None)
            if new != "datetime":
                current["datetime_format"] = None
            if new not in ("numerical", "datetime"):
                current["public_bounds"] = None
            if new not in ("categorical", "boolean"):
                current["public_domain"] = None
        current.update(fields)
        self.columns[name] = ColumnMetadata.from_dict(current, name=name)
        if self.primary_key == name and self.columns[name].modelled:
            self.primary_key = None
        return self

    # ------------------------------------------------------------- validation
    def validate(self, df: pd.DataFrame, *, private: bool = False) -> None:
        """Check that ``df`` matches the metadata; one :class:`MetadataError` lists all problems.

        Modelled columns must be present with values of the declared type and inside any
        declared ``public_domain``; columns absent from the metadata are problems too. With
        ``private=True`` (a DP fit) the message names columns and problems but quotes no value
        and no exact count.
        """
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"Expected a pandas DataFrame, got {type(df).__name__}.")
        problems: list[str] = []
        for name, col in self.columns.items():
            if name not in df.columns:
                if col.modelled:
                    problems.append(f"column {name!r} is missing")
                continue
            problems.extend(column_problems(name, col, df[name], private))
        extra = [str(c) for c in df.columns if c not in self.columns]
        if extra:
            problems.append(f"column(s) {extra} are not in the metadata")
        if problems:
            raise MetadataError("The data does not match the metadata: " + "; ".join(problems))
