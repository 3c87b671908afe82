"""Typed record batches of a SQL result, from the column types the database declares.

``pandas.read_sql_query`` infers each chunk's dtypes from its values: a chunk whose integer
column holds a NULL becomes float, an all-NULL chunk ``object``, a ``NUMERIC`` column
``decimal.Decimal`` objects. For a PostgreSQL result (psycopg 3 or psycopg2: the cursor
describes each column by its type OID) the batches are built here with one Arrow schema from
those declared types and converted as a Parquet batch is (:meth:`pyarrow.Table.to_pandas`):

* ``smallint``/``integer``/``bigint`` -> int64 (float64 in a batch with a NULL, as Parquet);
* ``real``/``double precision``/``numeric`` -> float64 (``numeric`` through ``float``);
* ``text``/``varchar``/``char``/``name`` -> pandas' ``str``; ``boolean`` -> bool;
* ``timestamp`` -> ``datetime64[us]``, ``timestamptz`` -> ``datetime64[us, UTC]``,
  ``date`` -> ``datetime64[us]`` (midnight); ``interval`` -> ``timedelta64[us]`` (a duration,
  modelled in seconds; an interval with months counts them as 30 days, as psycopg does).

So the dtypes (and a DP fit's metadata from them, :meth:`TableSource.empty`) come from the
query's declared types, never from the values. A column of another type (or another database)
keeps pandas' inference.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = ["arrow_schema", "typed_frame"]

# PostgreSQL type OIDs (pg_type.dat) -> the Arrow type of the batch
_PG_OIDS: dict[int, str] = {
    16: "bool", 20: "int64", 21: "int64", 23: "int64", 700: "float64", 701: "float64",
    1700: "numeric", 25: "string", 1043: "string", 1042: "string", 19: "string",
    1114: "timestamp", 1184: "timestamptz", 1082: "date", 1186: "interval",
}


def _arrow_type(kind: str) -> Any:
    import pyarrow as pa

    return {"bool": pa.bool_(), "int64": pa.int64(), "float64": pa.float64(),
            "numeric": pa.float64(), "string": pa.string(), "timestamp": pa.timestamp("us"),
            "timestamptz": pa.timestamp("us", tz="UTC"), "date": pa.timestamp("us"),
            "interval": pa.duration("us")}[kind]


def arrow_schema(dialect: str, description: Sequence[Sequence[Any]] | None) -> list | None:
    """``[(name, kind), ...]`` of a PostgreSQL result whose every column type is known, else
    ``None`` (then pandas infers the dtypes, as before)."""
    if dialect != "postgresql" or not description:
        return None
    cols = []
    for col in description:
        kind = _PG_OIDS.get(col[1]) if isinstance(col[1], int) else None
        if kind is None:
            return None
        cols.append((str(col[0]), kind))
    return cols


def _value(kind: str, v: Any) -> Any:
    if v is None:
        return None
    if kind == "numeric":
        return float(v) if isinstance(v, (decimal.Decimal, int, float)) else v
    if kind == "date" and isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return dt.datetime(v.year, v.month, v.day)
    return v


def typed_frame(schema: list, rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """The rows (tuples, in the schema's column order) as a DataFrame with the schema's dtypes.
    ``NaN``/``Infinity`` of a ``numeric`` column stay floats."""
    import pyarrow as pa

    arrays = []
    for j, (_, kind) in enumerate(schema):
        values = [_value(kind, r[j]) for r in rows]
        arrays.append(pa.array(values, type=_arrow_type(kind), from_pandas=True))
    names = [name for name, _ in schema]
    return pa.Table.from_arrays(arrays, names=names).to_pandas()
