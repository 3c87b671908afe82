"""Arrow data as the frames tabsynth models, typed from the Arrow schema.

pandas turns a declared DATE (``date32`` / ``date64``) into an object column of
``datetime.date`` and a DECIMAL into one of ``decimal.Decimal``: a fit then modelled them as
categories (an amount column became one category per amount). Here they become
``datetime64[us]`` (midnight) and ``float64`` before the conversion, as the PostgreSQL reader
types them (:mod:`tabsynth._sqltypes`). The types are the schema's, never read off the values
(DP: metadata from dtypes and names only). Used for Parquet files (:func:`tabsynth.io.read_table`
and streamed sources) and DuckDB results.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["plain_types", "to_frame"]


def plain_types(table: Any) -> Any:
    """``table`` (a ``pyarrow.Table``) with DATE columns as ``timestamp[us]`` and DECIMAL
    columns as ``float64``; other columns untouched."""
    import pyarrow as pa

    for i, field in enumerate(table.schema):
        if pa.types.is_date(field.type):
            target = pa.timestamp("us")
        elif pa.types.is_decimal(field.type):
            target = pa.float64()
        else:
            continue
        table = table.set_column(i, pa.field(field.name, target, field.nullable),
                                 table.column(i).cast(target))
    return table


def to_frame(data: Any) -> pd.DataFrame:
    """A ``pyarrow.Table`` or ``RecordBatch`` as a DataFrame, through :func:`plain_types`."""
    import pyarrow as pa

    table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    return plain_types(table).to_pandas()
