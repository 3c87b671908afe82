"""SQL sources of a streaming fit: a query over a connection URL, read in record batches.

:func:`sql_source` makes the :class:`~tabsynth.sources.TableSource`; :func:`sql_batches`
reads it: SQLAlchemy for every URL it knows (``sqlite:///x.db``, ``postgresql+psycopg://...``;
results fetched in chunks with ``stream_results``, a server-side cursor on PostgreSQL, whose
batches take their dtypes from the declared column types: :mod:`tabsynth._sqltypes`), and
DuckDB's own Arrow reader for ``duckdb:///x.duckdb``.

A query can be read as ``partitions`` pieces (Dask workers read them in parallel):
``partition_column`` names an integer column of its result, piece ``i > 0`` is the rows whose
value modulo ``partitions`` is ``i`` and piece 0 every other row, NULLs included
(:func:`partition_query`), each piece the query wrapped in a filter. The column's type is
checked first (:func:`check_partition_column`: from the declared schema on DuckDB and
PostgreSQL, from a first chunk elsewhere); the split itself reads no value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from ._arrow import to_frame
from ._sqltypes import arrow_schema, typed_frame
from .errors import DataError, ParameterError

__all__ = ["check_partition_column", "declares_types", "partition_query", "sql_batches",
           "sql_schema_frame", "sql_source"]


def sql_source(query: str, url: str, *, partitions: int = 1,
               partition_column: str | None = None) -> Any:
    """A table from a SQL query over a connection URL, read in chunks.

    ``url`` is a SQLAlchemy URL (``sqlite:///x.db``, ``postgresql://user@host/db``, ...; the
    driver must be installed) or ``duckdb:///path.duckdb`` (DuckDB's Arrow reader, read
    only). The query runs once per pass over the table (statistics, encoding), so it must
    return the same rows in the same order each time: give it an ``ORDER BY``.

    ``partitions`` > 1 splits the query into that many pieces on ``partition_column``, an
    integer column of its result (:func:`partition_query`): with ``--engine dask`` each piece
    is read by a worker, each runs the query once per pass. Read in one process, the pieces
    come one after the other.
    """
    from .sources import TableSource

    if not isinstance(query, str) or not query.strip():
        raise ParameterError(f"The SQL query must be a non-empty string. Got {query!r} instead.")
    if not isinstance(url, str) or "://" not in url:
        raise ParameterError(
            f"The connection URL must look like 'sqlite:///path.db' or 'duckdb:///path.duckdb'. "
            f"Got {url!r} instead.")
    if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
        raise ParameterError(f"The number of SQL partitions must be an int >= 1. Got "
                             f"{partitions!r} instead.")
    if partition_column is not None and (not isinstance(partition_column, str)
                                         or not partition_column.strip()):
        raise ParameterError(f"The SQL partition column must be a column name. Got "
                             f"{partition_column!r} instead.")
    if partitions == 1 and partition_column is not None:
        raise ParameterError(f"A SQL partition column ({partition_column!r}) splits the query "
                             "into partitions > 1 pieces; give partitions=N too, or no column.")
    if partitions > 1 and partition_column is None:
        raise ParameterError(f"{partitions} SQL partitions need a partition column: an integer "
                             "column of the query's result (--sql-partition-column).")
    split = (partition_column, partitions) if partitions > 1 else None
    return TableSource("sql", query=query, url=url, name=f"SQL query on {_safe_url(url)}",
                       split=split)


def partition_query(query: str, column: str, partitions: int, index: int,
                    quote: Callable[[str], str] | None = None) -> str:
    """``query`` restricted to piece ``index`` of ``partitions``: the rows whose ``column``
    (as a 64-bit integer) modulo ``partitions`` is ``index`` (negative values too:
    ``((v % n) + n) % n``). Piece 0 also takes every row whose value falls in no other piece
    (NULL, or anything the modulo does not map to 1..n-1), so the pieces hold every row
    once whatever the values. ``quote`` quotes the column name (the database dialect's; by
    default double quotes: PostgreSQL, DuckDB, SQLite). The query goes on lines of its own,
    so a trailing ``--`` comment ends there."""
    name = (quote or _double_quote)(column)
    body = _without_final_semicolon(query.strip())
    n = int(partitions)
    value = f"((CAST({name} AS BIGINT) % {n}) + {n}) % {n}"
    if index == 0:
        others = ", ".join(str(i) for i in range(1, n))
        test = f"NOT COALESCE({value} IN ({others}), FALSE)"
    else:
        test = f"{value} = {int(index)}"
    return f"SELECT * FROM (\n{body}\n) tabsynth_piece WHERE {test}"


def _without_final_semicolon(query: str) -> str:
    """``query`` without a final ``;`` and the comments after it (``... ORDER BY id; --
    all``): the semicolon cannot stand inside the derived table. Quotes and comments are
    skipped when looking for it (a ``';'`` string or ``/* ; */`` comment ends nothing)."""
    i, n, last = 0, len(query), -1
    while i < n:
        c = query[i]
        if c in "'\"`":  # a quoted string or name ('' and "" escape themselves)
            j = query.find(c, i + 1)
            while j != -1 and j + 1 < n and query[j + 1] == c:
                j = query.find(c, j + 2)
            last, i = i, (n if j == -1 else j + 1)
            continue
        if query.startswith("--", i):
            j = query.find("\n", i)
            i = n if j == -1 else j
            continue
        if query.startswith("/*", i):
            j = query.find("*/", i + 2)
            i = n if j == -1 else j + 2
            continue
        if not c.isspace():
            last = i
        i += 1
    return query[:last].rstrip() if last >= 0 and query[last] == ";" else query


def _double_quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def declares_types(url: str) -> bool:
    """Whether the result's dtypes come from the database's declared types (DuckDB,
    PostgreSQL) rather than from the values of a first chunk (SQLite and others)."""
    scheme = url.split("://", 1)[0].lower()
    return scheme.startswith(("duckdb", "postgresql", "postgres"))


def check_partition_column(empty: pd.DataFrame, column: str, *, declared: bool) -> None:
    """Raise a :class:`~tabsynth.errors.DataError` unless ``column`` is one column of the
    query's result holding integers (``empty``: zero rows, the result's dtypes).
    ``declared``: the dtypes are the database's declared types (an integer type is
    required); else they were read off a first chunk, where an integer column with NULLs is
    float and an all-NULL one object."""
    if column not in empty.columns:
        raise DataError(f"The SQL partition column {column!r} is not a column of the query's "
                        f"result ({', '.join(map(str, empty.columns))}).")
    if int((empty.columns == column).sum()) > 1:
        raise DataError(f"The SQL partition column {column!r} appears more than once in the "
                        "query's result: give the columns distinct names (AS ...).")
    dtype = empty[column].dtype
    unknown = not declared and (pd.api.types.is_object_dtype(dtype)
                                or pd.api.types.is_float_dtype(dtype))
    if not unknown and not (pd.api.types.is_integer_dtype(dtype)
                            and not pd.api.types.is_bool_dtype(dtype)):
        raise DataError(f"The SQL partition column {column!r} must hold integers (its rows are "
                        f"split by value modulo the partitions); it is {dtype}.")


def _safe_url(url: str) -> str:
    """The URL without its password (never printed)."""
    head, sep, rest = url.partition("://")
    if "@" in rest:
        creds, _, host = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{head}{sep}{user}:***@{host}"
    return url


def _duckdb_connect(url: str) -> Any:
    try:
        import duckdb
    except ImportError:
        raise ParameterError(
            "A duckdb:// URL needs the duckdb package: pip install 'tabsynth[scale]'.") from None
    path = url.split("://", 1)[1].lstrip("/") if url.count("/") >= 3 else ""
    path = "/" + path if url.startswith("duckdb:////") else path
    try:
        return duckdb.connect(path or ":memory:", read_only=bool(path))
    except duckdb.Error as exc:
        raise DataError(f"Cannot open the DuckDB database {_safe_url(url)!r}: {exc}") from None


def sql_batches(query: str, url: str, batch_rows: int,
                piece: tuple[str, int, int] | None = None) -> Iterator[pd.DataFrame]:
    """The query's rows in batches of at most ``batch_rows``; ``piece`` = ``(column,
    partitions, index)``: only that piece's rows (:func:`partition_query`, the column quoted
    as the database's dialect quotes it)."""
    if url.startswith("duckdb://"):
        import duckdb

        if piece is not None:
            query = partition_query(query, *piece)

        con = _duckdb_connect(url)
        try:
            try:
                reader = con.sql(query).to_arrow_reader(batch_rows)
            except duckdb.Error as exc:
                raise DataError(f"The SQL query failed: {exc}") from None
            for batch in reader:
                if batch.num_rows:
                    yield to_frame(batch)  # DATE / DECIMAL typed from the result's schema
        finally:
            con.close()
        return
    sa, engine = _sa_engine(url)
    if piece is not None:
        query = partition_query(query, *piece, quote=engine.dialect.identifier_preparer.quote)
    try:
        with engine.connect() as conn:
            # a server-side cursor where the driver has one (psycopg, psycopg2: a named
            # cursor), fetching up to a batch of rows per round trip
            conn = conn.execution_options(stream_results=True, max_row_buffer=batch_rows)
            try:
                schema = None
                if engine.dialect.name == "postgresql":  # the cursor describes the types
                    result = conn.execute(sa.text(query))
                    schema = arrow_schema(engine.dialect.name, result.cursor.description)
                    if schema is None:
                        result.close()
                if schema is None:  # pandas infers each chunk's dtypes (SQLite, ...)
                    chunks = pd.read_sql_query(sa.text(query), conn, chunksize=batch_rows)
                else:  # typed batches from the declared column types
                    chunks = _typed_chunks(result, schema, batch_rows)
                for chunk in chunks:
                    if len(chunk):
                        yield chunk
            except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
                raise DataError(f"The SQL query failed: {_first_line(exc)}") from None
    finally:
        engine.dispose()


def _typed_chunks(result: Any, schema: list, batch_rows: int) -> Iterator[pd.DataFrame]:
    while rows := result.fetchmany(batch_rows):
        yield typed_frame(schema, rows)
        del rows
    result.close()


def sql_schema_frame(query: str, url: str) -> pd.DataFrame | None:
    """Zero rows with the dtypes the database declares for the query's columns (PostgreSQL),
    without fetching a row; ``None`` where the types are not known."""
    sa, engine = _sa_engine(url)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        return None
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(stream_results=True)
            try:
                result = conn.execute(sa.text(query))
            except sa.exc.SQLAlchemyError as exc:
                raise DataError(f"The SQL query failed: {_first_line(exc)}") from None
            schema = arrow_schema(engine.dialect.name, result.cursor.description)
            result.close()
            return None if schema is None else typed_frame(schema, [])
    finally:
        engine.dispose()


def _sa_engine(url: str) -> tuple[Any, Any]:
    try:
        import sqlalchemy as sa
    except ImportError:
        raise ParameterError(
            "A SQL source needs SQLAlchemy: pip install 'tabsynth[scale]'.") from None
    try:
        return sa, sa.create_engine(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise ParameterError(f"Cannot use the connection URL {_safe_url(url)!r}: {exc}") from None


def _first_line(exc: BaseException) -> str:
    cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) else exc
    return str(getattr(cause, "orig", None) or cause).splitlines()[0]
