"""Table metadata: column types and what the user declares public.

:class:`Metadata` is a small, versioned JSON object::

    {"schema_version": 1,
     "primary_key": null,
     "columns": {"age": {"sdtype": "numerical", "representation": "int",
                         "datetime_format": null, "public_bounds": [0, 120],
                         "public_domain": null, "dtype": "int64"}, ...}}

``public_bounds`` / ``public_domain`` are declared public by the user and cost no privacy
budget. ``id`` and ``text`` columns are excluded from modelling.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, DataWarning, MetadataError

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

SCHEMA_VERSION = 1
SDTYPES = ("numerical", "categorical", "boolean", "datetime", "id", "text")
EXCLUDED_SDTYPES = ("id", "text")
REPRESENTATIONS = ("int", "float")
#: Formats tried, in order, when detecting datetime columns stored as text.
DATETIME_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
)

_CATEGORICAL_MAX_INTS = 10
_ID_NAME = re.compile(r"(^id$)|(_id$)|([a-z0-9]Id$)|(Number$)|(^uuid$)|(^guid$)|(_key$)", re.I)
_ID_NAME_STRICT = re.compile(r"(^id$)|(_id$)|([a-z0-9]Id$)|(Number$)|(^uuid$)|(^guid$)")
_TOP_KEYS = ("schema_version", "primary_key", "columns")
_SDV_NUMERIC_INT = re.compile(r"^u?int(8|16|32|64)?$", re.I)


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars to Python scalars (recursively for lists/tuples)."""
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class ColumnMetadata:
    """What is known about one column.

    Parameters
    ----------
    sdtype : {"numerical", "categorical", "boolean", "datetime", "id", "text"}
        Semantic type. ``id`` and ``text`` columns are not modelled.
    representation : {"int", "float"} or None
        Numerical columns only; ``None`` for the other sdtypes (defaults to ``"float"``).
    datetime_format : str or None
        ``strftime`` format of a datetime column stored as text.
    public_bounds : (lo, hi) or None
        Bounds declared public by the user (numerical/datetime columns). Datetime bounds may be
        date strings or epoch seconds.
    public_domain : tuple or None
        Complete list of values declared public (categorical/boolean columns).
    dtype : str or None
        The pandas dtype of the training column (``"int64"``, ``"str"``, ...), restored on
        sampling.
    """

    sdtype: str
    representation: str | None = None
    datetime_format: str | None = None
    public_bounds: tuple | None = None
    public_domain: tuple | None = None
    dtype: str | None = None

    def __post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise MetadataError("; ".join(problems))
        if self.sdtype == "numerical" and self.representation is None:
            object.__setattr__(self, "representation", "float")
        if self.public_bounds is not None:
            object.__setattr__(self, "public_bounds", tuple(_jsonable(list(self.public_bounds))))
        if self.public_domain is not None:
            object.__setattr__(self, "public_domain", tuple(_jsonable(list(self.public_domain))))

    def _problems(self) -> list[str]:
        out: list[str] = []
        if self.sdtype not in SDTYPES:
            out.append(f"sdtype must be one of {list(SDTYPES)}, got {self.sdtype!r}")
            return out
        if self.representation is not None:
            if self.sdtype != "numerical":
                out.append(
                    f"representation applies to numerical columns only, "
                    f"not to a {self.sdtype} column"
                )
            elif self.representation not in REPRESENTATIONS:
                out.append(
                    f"representation must be one of {list(REPRESENTATIONS)}, "
                    f"got {self.representation!r}"
                )
        if self.datetime_format is not None:
            if self.sdtype != "datetime":
                out.append("datetime_format applies to datetime columns only")
            elif not isinstance(self.datetime_format, str) or "%" not in self.datetime_format:
                out.append(
                    f"datetime_format must be a strftime format string such as '%Y-%m-%d', "
                    f"got {self.datetime_format!r}"
                )
        if self.public_bounds is not None:
            out.extend(self._bounds_problems())
        if self.public_domain is not None:
            dom = self.public_domain
            if self.sdtype not in ("categorical", "boolean"):
                out.append("public_domain applies to categorical and boolean columns only")
            elif isinstance(dom, (str, bytes)) or not isinstance(dom, Iterable):
                out.append(f"public_domain must be a list of values, got {dom!r}")
            else:
                values = list(dom)
                if not values:
                    out.append("public_domain must not be empty")
                elif any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
                    out.append("public_domain must not contain missing values (None/NaN)")
                elif len({(type(v).__name__, v) for v in values}) != len(values):
                    out.append("public_domain has duplicate values")
        if self.dtype is not None and not isinstance(self.dtype, str):
            out.append(f"dtype must be a string such as 'int64', got {self.dtype!r}")
        return out

    def _bounds_problems(self) -> list[str]:
        b = self.public_bounds
        if self.sdtype not in ("numerical", "datetime"):
            return ["public_bounds applies to numerical and datetime columns only"]
        if isinstance(b, (str, bytes)) or not isinstance(b, Iterable) or len(list(b)) != 2:
            return [f"public_bounds must be a pair [lower, upper], got {b!r}"]
        lo, hi = list(b)
        if self.sdtype == "datetime":
            try:
                lo_v, hi_v = (_bound_to_seconds(v) for v in (lo, hi))
            except (TypeError, ValueError):
                return [f"public_bounds must be two dates or epoch seconds, got {b!r}"]
        else:
            ok = all(
                isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
                for v in (lo, hi)
            )
            if not ok:
                return [f"public_bounds must be two finite numbers, got {b!r}"]
            lo_v, hi_v = float(lo), float(hi)
        if lo_v > hi_v:
            return [f"public_bounds lower must be <= upper, got {b!r}"]
        return []

    @property
    def modelled(self) -> bool:
        """Whether the column takes part in modelling (not ``id``/``text``)."""
        return self.sdtype not in EXCLUDED_SDTYPES

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of all fields."""
        return {
            "sdtype": self.sdtype,
            "representation": self.representation,
            "datetime_format": self.datetime_format,
            "public_bounds": None if self.public_bounds is None else list(self.public_bounds),
            "public_domain": None if self.public_domain is None else list(self.public_domain),
            "dtype": self.dtype,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, name: str = "?") -> ColumnMetadata:
        """Build from :meth:`to_dict` output, rejecting unknown keys."""
        if not isinstance(d, Mapping):
            raise MetadataError(f"Column {name!r}: expected a JSON object, got {d!r}.")
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(d) - set(valid))
        if unknown:
            raise MetadataError(
                f"Column {name!r}: unknown key(s) {unknown}. Valid keys: {valid}."
            )
        if "sdtype" not in d:
            raise MetadataError(f"Column {name!r}: the 'sdtype' key is required.")
        try:
            return cls(**dict(d))
        except MetadataError as exc:
            raise MetadataError(f"Column {name!r}: {exc}") from None


def _bound_to_seconds(value: Any) -> float:
    """A datetime bound (date string, Timestamp or epoch seconds) as epoch seconds."""
    if isinstance(value, bool):
        raise TypeError("bool is not a date")
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise ValueError("not finite")
        return float(value)
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError("NaT")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return (ts - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)


class Metadata:
    """Column types of one table and what the user declares public.

    Parameters
    ----------
    columns : mapping of str to ColumnMetadata (or dict), optional
        Columns in table order.
    primary_key : str, optional
        Name of the primary key column (an ``id`` column).
    """

    def __init__(
        self,
        columns: Mapping[str, ColumnMetadata | Mapping[str, Any]] | None = None,
        *,
        primary_key: str | None = None,
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
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"Expected a pandas DataFrame, got {type(df).__name__}.")
        if df.columns.duplicated().any():
            dups = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
            raise DataError(f"The table has duplicate column names: {dups}.")
        cols: dict[str, ColumnMetadata] = {}
        for name in df.columns:
            if not isinstance(name, str):
                raise DataError(
                    f"Column names must be strings; got {name!r}. Rename the columns first."
                )
            cols[name] = _detect_column(name, df[name])
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
        values (the rule for a DP fit without declared metadata). See
        :func:`tabsynth.dtype_schema.metadata_from_dtypes`."""
        from .dtypes import metadata_from_dtypes

        return metadata_from_dtypes(df, announce=announce)

    # ----------------------------------------------------------- dict / JSON
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (``schema_version``, ``primary_key``, ``columns``)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "primary_key": self.primary_key,
            "columns": {n: c.to_dict() for n, c in self.columns.items()},
        }

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
        return cls(columns, primary_key=d.get("primary_key"))

    def save(self, path: str | os.PathLike) -> None:
        """Write the metadata as JSON (atomically)."""
        from ..io import atomic_path

        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Metadata:
        """Read metadata written by :meth:`save`."""
        return cls.from_dict(_read_json(path))

    # -------------------------------------------------------------- SDV import
    @classmethod
    def from_sdv(cls, sdv: Mapping[str, Any] | str | os.PathLike) -> Metadata:
        """Import SDV single-table metadata (a dict or a JSON file).

        Both the single-table form (``{"columns": ..., "primary_key": ...,
        "METADATA_SPEC_VERSION": "SINGLE_TABLE_V1"}``) and the multi-table form with exactly
        one table (``{"tables": {name: {...}}}``) are accepted. PII sdtypes (``email``,
        ``phone_number``, ...) become excluded ``text`` columns.
        """
        d = sdv if isinstance(sdv, Mapping) else _read_json(sdv)
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
        return cls(cols, primary_key=pk)

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
            problems.extend(_column_problems(name, col, df[name], private))
        extra = [str(c) for c in df.columns if c not in self.columns]
        if extra:
            problems.append(f"column(s) {extra} are not in the metadata")
        if problems:
            raise MetadataError("The data does not match the metadata: " + "; ".join(problems))


# ------------------------------------------------------------------ helpers
def _read_json(path: str | os.PathLike) -> Any:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MetadataError(f"Metadata file {str(p)!r} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MetadataError(f"Cannot read metadata file {str(p)!r}: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MetadataError(f"Metadata file {str(p)!r} is not valid JSON: {exc}") from None


def _is_string_like(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) or s.dtype == object


def _detect_datetime_format(values: pd.Series) -> str | None:
    """The first known format that parses >= 95% of the (non-null) values, else None."""
    sample = values.astype(str)
    if len(sample) > 1000:
        sample = sample.iloc[:1000]
    if not sample.str.contains(r"\d", regex=True).all():
        return None
    for fmt in DATETIME_FORMATS:
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        if parsed.notna().mean() >= 0.95:
            return fmt
    return None


def _detect_column(name: str, s: pd.Series) -> ColumnMetadata:
    dtype = str(s.dtype)
    non_null = s.dropna()
    n_unique = int(non_null.nunique())
    n = len(non_null)
    all_unique = n > 0 and n_unique == n
    if pd.api.types.is_bool_dtype(s.dtype):
        return ColumnMetadata("boolean", dtype=dtype)
    if isinstance(s.dtype, pd.CategoricalDtype):
        return ColumnMetadata("categorical", dtype=dtype)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return ColumnMetadata("datetime", dtype=dtype)
    if pd.api.types.is_integer_dtype(s.dtype):
        if all_unique and n > 20 and (
            _ID_NAME.search(name) or non_null.is_monotonic_increasing
        ):
            return ColumnMetadata("id", dtype=dtype)
        if n_unique <= _CATEGORICAL_MAX_INTS:
            return ColumnMetadata("categorical", dtype=dtype)
        return ColumnMetadata("numerical", representation="int", dtype=dtype)
    if pd.api.types.is_float_dtype(s.dtype):
        finite = non_null[np.isfinite(non_null.to_numpy(dtype=float))]
        integral = len(finite) > 0 and bool(
            (np.floor(finite.to_numpy(dtype=float)) == finite.to_numpy(dtype=float)).all()
        )
        if integral and n_unique <= _CATEGORICAL_MAX_INTS:
            return ColumnMetadata("categorical", dtype=dtype)
        return ColumnMetadata(
            "numerical", representation="int" if integral else "float", dtype=dtype
        )
    if _is_string_like(s):
        if non_null.map(type).eq(bool).all() and n > 0:
            return ColumnMetadata("boolean", dtype=dtype)
        if n > 0 and non_null.map(lambda v: isinstance(v, str)).all():
            fmt = _detect_datetime_format(non_null)
            if fmt is not None:
                return ColumnMetadata("datetime", datetime_format=fmt, dtype=dtype)
            lengths = non_null.str.len()
            if lengths.mean() > 50 and n_unique > 20 and n_unique >= 0.5 * n:
                return ColumnMetadata("text", dtype=dtype)
            if (n_unique >= 0.95 * n and n_unique > 20) or (
                all_unique and _ID_NAME_STRICT.search(name)
            ):
                return ColumnMetadata("id", dtype=dtype)
        return ColumnMetadata("categorical", dtype=dtype)
    # complex, timedelta, period, interval...: not modelled
    return ColumnMetadata("text", dtype=dtype)


def _value_kind(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, numbers.Number):
        return "number"
    if isinstance(v, str):
        return "str"
    return type(v).__name__


def _mixed_types(s: pd.Series) -> list[str]:
    """Python types of an object column, if it mixes several kinds (e.g. int and str)."""
    if s.dtype != object:
        return []
    kinds = set(s.dropna().map(_value_kind))
    return sorted(kinds) if len(kinds) > 1 else []


def _count(k: int, private: bool) -> str:
    """An exact count, or "some" under DP (errors of a DP fit quote no exact count)."""
    return "some" if private else str(k)


def _example(text: str, private: bool) -> str:
    """An example of real values, or nothing under DP (errors quote no real value)."""
    return "" if private else text


def _column_problems(name: str, col: ColumnMetadata, s: pd.Series,
                     private: bool = False) -> list[str]:
    out: list[str] = []
    if not col.modelled:
        return out
    non_null = s.dropna()
    if col.sdtype == "numerical":
        if not (pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)):
            conv = pd.to_numeric(non_null, errors="coerce")
            bad = non_null[conv.isna()]
            if len(bad):
                out.append(
                    f"column {name!r} is numerical but has {_count(len(bad), private)} "
                    f"non-numeric value(s){_example(f' such as {bad.iloc[0]!r}', private)}"
                )
    elif col.sdtype == "datetime":
        if not pd.api.types.is_datetime64_any_dtype(s.dtype):
            if col.datetime_format:
                conv = pd.to_datetime(non_null.astype(str), format=col.datetime_format,
                                      errors="coerce")
            else:
                conv = pd.to_datetime(non_null.astype(str), format="mixed", errors="coerce")
            bad = non_null[conv.isna()]
            if len(bad):
                fmt = f" with format {col.datetime_format!r}" if col.datetime_format else ""
                out.append(
                    f"column {name!r} is datetime but {_count(len(bad), private)} value(s) "
                    f"cannot be parsed{fmt}{_example(f', such as {bad.iloc[0]!r}', private)}"
                )
    elif col.sdtype in ("categorical", "boolean") and col.public_domain is not None:
        domain = pd.Index(list(col.public_domain), dtype=object)
        outside = non_null[domain.get_indexer(non_null.to_numpy(dtype=object)) < 0]
        if len(outside):
            examples = list(dict.fromkeys(outside.tolist()))[:5]
            out.append(
                f"column {name!r} has {_count(len(outside), private)} value(s) outside its "
                f"public_domain{_example(f', such as {examples!r}', private)}"
            )
    return out


def check_data(df: pd.DataFrame, metadata: Metadata, *, private: bool = False) -> None:
    """Check the modelled columns of ``df`` are usable; one :class:`DataError` lists all problems.

    Problems: fewer than 2 rows, +/-inf in a numeric column, a column that is entirely
    missing, an object column mixing value types (e.g. ints and strings). Constant columns
    are fine. ``private=True`` (a DP fit): no exact counts in the message.
    """
    problems: list[str] = []
    if len(df) < 2:
        problems.append(f"the table needs at least 2 rows, it has {len(df)}")
    for name in metadata.modelled_columns:
        if name not in df.columns:
            continue
        s = df[name]
        if len(s) and s.isna().all():
            problems.append(f"column {name!r} has only missing values")
            continue
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            vals = s.to_numpy(dtype=float, na_value=np.nan)
            n_inf = int(np.isinf(vals).sum())
            if n_inf:
                problems.append(f"column {name!r} has {_count(n_inf, private)} infinite "
                                "value(s)")
        mixed = _mixed_types(s)
        if mixed:
            problems.append(f"column {name!r} mixes value types {mixed}")
    if problems:
        raise DataError("The data cannot be used: " + "; ".join(problems) + ".")


def check_modelled(metadata: Metadata, owner: str) -> None:
    """Refuse a fit that would model no column (every column excluded), with the reason."""
    if metadata.modelled_columns:
        return
    cols = list(metadata.columns)
    if not cols:
        raise DataError(f"{owner}.fit got a table with no columns: there is nothing to model.")
    desc = ", ".join(f"{n!r} ({metadata.columns[n].sdtype})" for n in cols[:8])
    more = f" and {len(cols) - 8} more" if len(cols) > 8 else ""
    raise DataError(
        f"{owner}.fit would model no column: every column is excluded ({desc}{more}). "
        "A CSV read with the wrong separator gives one text column: check the delimiter; "
        "otherwise declare the types with metadata.update_column(name, sdtype=...)."
    )
