"""Reading and writing tables (CSV / Parquet), with clear errors and atomic writes.

CSV is read by the rules of :mod:`tabsynth._csvread` (sniffed delimiter and decimal mark,
only the empty field as missing unless NA tokens are named, one rule for text in a numeric
column); :func:`write_table` writes missing values back with the token the input used.
"""

from __future__ import annotations

import contextlib
import gzip
import os
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ._atomic import atomic_outputs, atomic_path, check_output_path
from .errors import DataError

__all__ = ["atomic_outputs", "atomic_path", "check_output_path", "open_source", "read_table",
           "sql_source", "table_format", "write_table", "write_table_chunks"]

_CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_WRITE_SUFFIXES = (".csv", ".csv.gz") + _PARQUET_SUFFIXES


def _format_of(path: Path, suffixes: tuple[str, ...] = _CSV_SUFFIXES + _PARQUET_SUFFIXES) -> str:
    name = path.name.lower()
    if name.endswith(suffixes) and name.endswith(_CSV_SUFFIXES):
        return "csv"
    if name.endswith(suffixes) and name.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    raise DataError(
        f"Cannot tell the format of {str(path)!r} from its extension. "
        f"Use one of: {', '.join(suffixes)}."
    )


def _check_flat(df: pd.DataFrame, where: str) -> None:
    """Refuse list/dict/array cells (Parquet list or struct columns): tabsynth models scalars."""
    nested = []
    for col in df.columns:
        s = df[col]
        if s.dtype != object:
            continue
        kinds = {type(v).__name__ for v in s.dropna().head(1000)
                 if isinstance(v, (list, tuple, dict, set)) or hasattr(v, "__array__")}
        if kinds:
            nested.append(f"{col!r} ({'/'.join(sorted(kinds))})")
    if nested:
        raise DataError(
            f"{where} has column(s) whose cells are lists or records, which tabsynth cannot "
            f"model: {', '.join(nested)}. Flatten them (one value per cell) or drop them."
        )


def read_table(
    src: pd.DataFrame | str | os.PathLike,
    *,
    sep: str | None = None,
    decimal: str | None = None,
    na_values: Sequence[str] | None = None,
    text_columns: Collection[str] = (),
) -> pd.DataFrame:
    """Read a table from a DataFrame (copied) or a CSV (``.csv``, ``.csv.gz``, ``.tsv``,
    ``.txt``) or Parquet (``.parquet``, ``.pq``) file.

    Parameters
    ----------
    src : DataFrame or path
    sep, decimal : str, optional
        CSV field separator and decimal mark; sniffed when omitted.
    na_values : sequence of str, optional
        CSV cells that mean "missing" besides the empty field. By default only the empty
        field is missing: ``None``, ``NA``, ``null``... are ordinary values.
    text_columns : collection of str
        CSV columns kept as text whatever they hold (declared categorical/id/text), exempt
        from the rule on numbers mixed with text.

    Returns
    -------
    pandas.DataFrame
        For CSV, ``df.attrs["na_rep"]`` is the token the input used for missing values and
        ``df.attrs["csv"]`` the separator, decimal mark and NA tokens used.

    Raises
    ------
    DataError
        Missing, empty, header-only, undecodable or malformed file; duplicate column names;
        one column left by a wrong separator; numbers mixed with text in a column; list or
        record cells; unknown extension.
    """
    if isinstance(src, pd.DataFrame):
        dups = [c for c, k in Counter(map(str, src.columns)).items() if k > 1]
        if dups:
            raise DataError(f"The table has duplicate column names: {sorted(dups)}.")
        if src.shape[1] == 0:
            raise DataError("The table has no columns.")
        if len(src) == 0:
            raise DataError(f"The table has columns {list(src.columns)[:5]} but no rows.")
        _check_flat(src, "The table")
        return src.copy()
    if not isinstance(src, (str, os.PathLike)):
        raise DataError(f"Expected a DataFrame or a file path, got {type(src).__name__}.")
    check_csv_marks(sep, decimal)
    path = Path(src)
    fmt = _format_of(path)
    if not path.exists():
        raise DataError(f"The file {str(path)!r} does not exist.")
    if path.is_dir():
        raise DataError(f"{str(path)!r} is a directory, not a table file.")
    if path.stat().st_size == 0:
        raise DataError(f"The file {str(path)!r} is empty.")
    try:
        if fmt == "csv":
            from ._csvread import read_csv

            if sep is None and path.name.lower().endswith(".tsv"):
                sep = "\t"
            df = read_csv(path, sep=sep, decimal=decimal, na_values=na_values,
                          text_columns=text_columns)
        else:
            import pyarrow.parquet as pq

            from ._arrow import to_frame

            df = to_frame(pq.read_table(path))  # DATE / DECIMAL as datetime64 / float64
            df.attrs["na_rep"] = ""
    except UnicodeDecodeError as exc:
        raise DataError(
            f"The file {str(path)!r} is not valid UTF-8 text (byte {exc.start}: {exc.reason}). "
            "Re-save it as UTF-8."
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"The file {str(path)!r} is empty.") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"The file {str(path)!r} is not a well-formed CSV: {exc}") from None
    except (OSError, EOFError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"Cannot read {str(path)!r}: {exc}") from None
    if df.columns.duplicated().any():
        dups = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise DataError(f"The file {str(path)!r} has duplicate column names: {dups}.")
    if len(df) == 0:
        raise DataError(f"The file {str(path)!r} has a header but no rows.")
    _check_flat(df, f"The file {str(path)!r}")
    return df


def check_csv_marks(sep: str | None, decimal: str | None) -> None:
    """A given CSV separator and decimal mark are one character each (ParameterError)."""
    for name, value in (("sep", sep), ("decimal", decimal)):
        if value is not None and (not isinstance(value, str) or len(value) != 1):
            from .errors import ParameterError

            raise ParameterError(f"The {name} must be one character, got {value!r}.")


def write_table(df: pd.DataFrame, path: str | os.PathLike, *, na_rep: str | None = None,
                sep: str | None = None, decimal: str | None = None) -> Path:
    """Write ``df`` as CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``), atomically.

    Parameters
    ----------
    na_rep : str, optional
        CSV token for missing values; default ``df.attrs["na_rep"]`` (the token the input
        used, set by :func:`read_table`), else the empty field.
    sep, decimal : str, optional
        CSV separator and decimal mark; default the ones :func:`read_table` read ``df`` with
        (``df.attrs["csv"]``), else ``","`` and ``"."``.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    target = Path(path)
    fmt = _format_of(target, _WRITE_SUFFIXES)
    if na_rep is None:
        na_rep = str(df.attrs.get("na_rep", "") or "")
    read_as = df.attrs.get("csv") or {}
    sep, decimal = sep or read_as.get("sep") or ",", decimal or read_as.get("decimal") or "."
    with atomic_path(target) as tmp:
        if fmt == "csv":
            compression = "gzip" if target.name.lower().endswith(".gz") else None
            df.to_csv(tmp, index=False, compression=compression, na_rep=na_rep, sep=sep,
                      decimal=decimal)
        else:
            df.to_parquet(tmp, index=False)
    return target


def table_format(path: str | os.PathLike) -> str | None:
    """``"csv"`` (``.csv``, ``.csv.gz``) or ``"parquet"`` (``.parquet``, ``.pq``): the formats
    tabsynth writes; ``None`` for any other name."""
    try:
        return _format_of(Path(path), _WRITE_SUFFIXES)
    except DataError:
        return None


def write_table_chunks(chunks: Iterable[pd.DataFrame], path: str | os.PathLike, *,
                       na_rep: str = "", sep: str = ",", decimal: str = ".") -> Path:
    """Stream ``chunks`` to one CSV or Parquet file, atomically (a temporary name renamed at the
    end: a failed run leaves nothing behind). CSV gets its header once (``na_rep``: the token
    of missing values; ``sep`` / ``decimal``: separator and decimal mark); Parquet one row
    group per chunk (later chunks cast to the first one's schema)."""
    target = Path(path)
    fmt = _format_of(target, _WRITE_SUFFIXES)
    with atomic_path(target) as tmp:
        if fmt == "csv":
            opener = gzip.open if target.name.lower().endswith(".gz") else open
            with opener(tmp, "wt", encoding="utf-8", newline="") as fh:  # type: ignore[operator]
                for i, chunk in enumerate(chunks):
                    chunk.to_csv(fh, header=(i == 0), index=False, na_rep=str(na_rep),
                                 sep=sep, decimal=decimal)
        else:
            write_parquet_chunks(chunks, tmp)
    return target


def write_parquet_chunks(chunks: Iterable[pd.DataFrame], path: str | os.PathLike, *,
                         report: Callable[[int], Any] | None = None) -> int:
    """Write ``chunks`` to the Parquet file ``path`` (not atomic: callers write to a temporary
    name), one row group per chunk, later chunks cast to the first one's schema; ``report(k)``
    after each chunk of ``k`` rows is written. Returns the rows written.

    The write of chunk ``k`` (pyarrow's encoding and compression, which release the GIL) runs
    in one background thread while chunk ``k + 1`` is generated, so at most two chunks are held
    at a time; the row groups are written in order, so the file is the same as a sequential
    write's."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    written = 0
    pending: Any = None  # (future of the previous chunk's write, its rows)

    def finish() -> None:
        nonlocal pending, written
        if pending is None:
            return
        future, k = pending
        pending = None
        future.result()  # re-raises the write's error here
        written += k
        if report is not None:
            report(k)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-write") as pool:
        try:
            for chunk in chunks:
                table = pa.Table.from_pandas(chunk, preserve_index=False)
                del chunk
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema)
                elif not table.schema.equals(writer.schema):
                    table = table.cast(writer.schema)
                finish()  # the previous chunk is on disk before this one is queued
                pending = (pool.submit(writer.write_table, table), table.num_rows)
                del table
            finish()
        except BaseException:
            # the first error is the one raised: the pending write ends and the file is
            # closed quietly (the caller removes it: it writes under a temporary name)
            if pending is not None:
                with contextlib.suppress(Exception):
                    pending[0].result()
            if writer is not None:
                with contextlib.suppress(Exception):
                    writer.close()
            raise
    if writer is not None:
        writer.close()
    return written


def open_source(data: Any, **csv_options: Any) -> Any:
    """A table read in record batches (a Parquet folder, a glob of files):
    :func:`tabsynth.sources.open_source`."""
    from .sources import open_source as _open

    return _open(data, **csv_options)


def sql_source(query: str, url: str, *, partitions: int = 1,
               partition_column: str | None = None) -> Any:
    """A table from a SQL query over a connection URL: :func:`tabsynth.sql_reader.sql_source`."""
    from .sql_reader import sql_source as _sql

    return _sql(query, url, partitions=partitions, partition_column=partition_column)


_ = check_output_path, atomic_outputs  # re-exported
