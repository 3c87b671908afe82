"""Tables larger than memory: a :class:`TableSource` reads record batches, never the whole table.

:func:`open_source` turns what the user named into a source:

* a **Parquet dataset directory** (``data/``, hive-partitioned or not: the keys of
  ``key=value`` folders become text columns) or a glob of Parquet files
  (``parts/*.parquet``): read with :mod:`pyarrow.dataset`, ``batch_rows`` rows at a time; the
  row count comes from the files' metadata;
* a **glob of CSV files** (``parts/*.csv``): each file is read by tabsynth's CSV rules
  (:func:`tabsynth.io.read_table`: sniffed delimiter, only the empty field missing) and handed
  out in batches, so one *file* must fit in memory, not the table;
* a **SQL query** over a connection URL (:func:`~tabsynth.sql_reader.sql_source`, read in
  :mod:`tabsynth.sql_reader`), optionally split into pieces on an integer column.

A source is picklable and can be split into :meth:`TableSource.partitions` (one per file, or
per piece of a split SQL query) that
Dask workers read independently (:mod:`tabsynth.stats.partial`). Nothing here reads a value
into anything but a batch: the statistics (:mod:`tabsynth.stats.partial`) and the encoding
(:mod:`tabsynth.models.streaming`) consume the batches.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from ._arrow import to_frame
from .errors import DataError
from .sql_reader import (
    _duckdb_connect,
    check_partition_column,
    declares_types,
    sql_batches,
    sql_schema_frame,
    sql_source,
)

__all__ = ["BATCH_ROWS", "TableSource", "is_source_spec", "open_source", "sql_source"]

#: Rows per record batch (the unit of memory of a streaming fit).
BATCH_ROWS = 65_536
_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".csv.gz", ".tsv", ".txt")


class TableSource:
    """A table read in record batches. ``kind`` is ``"parquet"``, ``"csv"`` or ``"sql"``.

    ``iter_batches(batch_rows)`` yields DataFrames of at most ``batch_rows`` rows, in the same
    order on every pass; ``partitions()`` splits the source into independent pieces (one per
    file, one per piece of a split SQL query); ``n_rows`` is known from Parquet metadata,
    else counted in a pass (and cached); ``empty()`` is a zero-row frame with the columns'
    dtypes (what a DP fit's metadata may read); ``head()`` the first batch (non-DP detection).
    """

    def __init__(self, kind: str, *, files: list[str] | None = None, query: str | None = None,
                 url: str | None = None, name: str = "", csv_options: dict | None = None,
                 hive: tuple[str, tuple[str, ...]] | None = None,
                 split: tuple[str, int] | None = None, piece: int | None = None):
        self.kind = kind
        #: ``(column, pieces)`` of a SQL query read in pieces, and which piece this is
        #: (``None``: every piece, one after the other).
        self.split = split
        self.piece = piece
        self._split_checked = False
        self.files = list(files or [])
        #: ``(dataset folder, partition keys)`` of a hive-partitioned Parquet folder
        #: (``region=north/part-0.parquet``): the keys become text columns.
        self.hive = hive
        self.query = query
        self.url = url
        self.name = name
        self.csv_options = dict(csv_options or {})
        self._n_rows: int | None = None
        self.batch_rows = BATCH_ROWS
        #: Reads partitions on Dask workers when set (:class:`tabsynth.engine.DaskEngine`).
        self.engine: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "engine": None}  # a client stays where it was made

    def __repr__(self) -> str:
        return f"TableSource({self.kind}: {self.name})"

    def __len__(self) -> int:
        return self.n_rows

    # ----------------------------------------------------------------------------- reading
    def iter_batches(self, batch_rows: int = BATCH_ROWS) -> Iterator[pd.DataFrame]:
        if self.kind == "parquet":
            yield from self._parquet_batches(batch_rows)
        elif self.kind == "csv":
            for path in self.files:
                df = self._read_csv(path)
                for start in range(0, len(df), batch_rows):
                    yield df.iloc[start:start + batch_rows].reset_index(drop=True)
                del df
        elif self.split is not None and self.piece is None:
            for part in self.partitions():  # the pieces one after the other
                yield from part.iter_batches(batch_rows)
        else:
            piece = None if self.split is None else (*self.split, int(self.piece))
            yield from sql_batches(self.query or "", self.url or "", batch_rows, piece)

    def _parquet_batches(self, batch_rows: int) -> Iterator[pd.DataFrame]:
        if len(self.files) > 1:  # file by file: one scan over many files held ~1 GB of
            for part in self.partitions():  # buffers at 100 files (10M rows), 0.3 GB at 10
                yield from part._parquet_batches(batch_rows)
            return
        # little read-ahead: memory stays a few batches
        for batch in self._dataset().to_batches(batch_size=batch_rows, batch_readahead=2,
                                                fragment_readahead=1):
            if batch.num_rows:
                yield to_frame(batch)

    def _dataset(self) -> Any:
        import pyarrow.dataset as pds

        try:
            if self.hive is None:
                return pds.dataset(self.files, format="parquet")
            import pyarrow as pa

            # the keys are text whatever the folder names look like: no type is read off
            # the values (DP: metadata from dtypes and names only)
            keys = pa.schema([(k, pa.string()) for k in self.hive[1]])
            return pds.dataset(self.files, format="parquet", partition_base_dir=self.hive[0],
                               partitioning=pds.partitioning(keys, flavor="hive"))
        except (OSError, ValueError) as exc:  # pyarrow.ArrowInvalid is a ValueError
            raise DataError(f"Cannot read the Parquet dataset {self.name!r}: {exc}") from None

    def _read_csv(self, path: str) -> pd.DataFrame:
        from .io import read_table

        return read_table(path, **self.csv_options)

    def partitions(self) -> list[TableSource]:
        """Independent pieces (one per file; one per piece of a split SQL query, its
        partition column checked first) whose batches, in order, are this source's."""
        if self.kind == "sql":
            if self.split is None or self.piece is not None:
                return [self]
            if not self._split_checked:
                check_partition_column(self.empty(), self.split[0],
                                       declared=declares_types(self.url or ""))
                self._split_checked = True
            column, n = self.split
            return [TableSource("sql", query=self.query, url=self.url, split=self.split,
                                piece=i, name=f"{self.name}, piece {i + 1} of {n} ({column})")
                    for i in range(n)]
        if len(self.files) <= 1:
            return [self]
        return [TableSource(self.kind, files=[f], name=f, csv_options=self.csv_options,
                            hive=self.hive) for f in self.files]

    @property
    def n_rows(self) -> int:
        if self._n_rows is None:
            if self.kind == "parquet":
                self._n_rows = int(self._dataset().count_rows())
            else:
                self._n_rows = sum(len(b) for b in self.iter_batches())
        return self._n_rows

    def head(self, batch_rows: int = BATCH_ROWS) -> pd.DataFrame:
        """The first batch (at most ``batch_rows`` rows)."""
        for batch in self.iter_batches(batch_rows):
            return batch
        raise DataError(f"The table {self.name!r} has no rows.")

    def empty(self) -> pd.DataFrame:
        """Zero rows, the columns and their dtypes (Parquet / DuckDB / PostgreSQL: from the
        schema alone, no value read; else from the first batch)."""
        if self.kind == "parquet":
            return to_frame(self._dataset().schema.empty_table())
        if self.kind == "sql" and (self.url or "").startswith("duckdb://"):
            con = _duckdb_connect(self.url or "")
            try:
                reader = con.sql(self.query).to_arrow_reader(1)
                return to_frame(reader.schema.empty_table())
            finally:
                con.close()
        if self.kind == "sql":
            typed = sql_schema_frame(self.query or "", self.url or "")
            if typed is not None:
                return typed
            for batch in sql_batches(self.query or "", self.url or "", 1024):  # whole query
                return batch.iloc[:0]
            raise DataError(f"The table {self.name!r} has no rows.")
        return self.head(1024).iloc[:0]

    @property
    def csv_attrs(self) -> dict[str, Any]:
        """``{"na_rep", "na_values", "sep", "decimal"}`` of the first CSV file (for writing
        samples back)."""
        if self.kind != "csv":
            return {"na_rep": "", "na_values": [""]}
        df = self._read_csv(self.files[0])
        read_as = df.attrs.get("csv") or {}
        return {"na_rep": df.attrs.get("na_rep", ""),
                "na_values": read_as.get("na_values", [""]),
                "sep": read_as.get("sep", ","), "decimal": read_as.get("decimal", ".")}


# ------------------------------------------------------------------------------------- opening
def is_source_spec(data: Any) -> bool:
    """True for what only a streaming fit reads: a :class:`TableSource`, a directory, or a
    glob pattern (``*``, ``?``, ``[``)."""
    if isinstance(data, TableSource):
        return True
    if not isinstance(data, (str, os.PathLike)):
        return False
    text = os.fspath(data)
    return Path(text).is_dir() or any(ch in text for ch in "*?[")


def open_source(data: Any, *, sep: str | None = None, decimal: str | None = None,
                na_values: Any = None, text_columns: Any = ()) -> TableSource:
    """A :class:`TableSource` for a Parquet dataset directory, a glob of Parquet or CSV files
    (all of one format), or a single file (read in batches as well); a source is returned
    as is. The CSV options are those of :func:`tabsynth.io.read_table`.

    Raises
    ------
    DataError
        Nothing matches, mixed or unknown formats, an empty dataset.
    """
    if isinstance(data, TableSource):
        return data
    if not isinstance(data, (str, os.PathLike)):
        raise DataError(f"Expected a path, a glob or a TableSource, got {type(data).__name__}.")
    text = os.fspath(data)
    path = Path(text)
    if path.is_dir():
        files = sorted(str(p) for p in path.rglob("*")
                       if p.is_file() and not _hidden(p.relative_to(path)))
        name = text
    elif path.is_file():
        files, name = [text], text
    else:
        files, name = sorted(glob.glob(text, recursive=True)), text
        files = [f for f in files if Path(f).is_file()]
    if not files:
        raise DataError(f"No table files match {text!r}.")
    kinds = {_kind(f) for f in files}
    if path.is_dir() and "parquet" in kinds:  # a dataset folder: its Parquet parts
        files = [f for f in files if _kind(f) == "parquet"]
        kinds = {"parquet"}
    if None in kinds or len(kinds) > 1:
        raise DataError(
            f"{text!r} must name Parquet files (.parquet, .pq) or CSV files (.csv, .csv.gz, "
            f".tsv, .txt), all of one format; it matches {len(files)} file(s) of other or "
            "mixed formats.")
    kind = kinds.pop()
    options: dict[str, Any] = {}
    if kind == "csv":
        options = {"sep": sep, "decimal": decimal, "na_values": na_values,
                   "text_columns": tuple(text_columns or ())}
    hive = _hive_keys(path, files, text) if path.is_dir() and kind == "parquet" else None
    source = TableSource(str(kind), files=files, name=name, csv_options=options, hive=hive)
    if kind == "parquet" and source.n_rows == 0:
        raise DataError(f"The Parquet dataset {text!r} has no rows.")
    return source


def _hive_keys(root: Path, files: list[str], text: str) -> tuple[str, tuple[str, ...]] | None:
    """``(root, keys)`` when the files sit in ``key=value`` folders under ``root`` (the same
    keys, in the same order, for every file), ``None`` when none does.

    Raises
    ------
    DataError
        Some files are in ``key=value`` folders and others not, or the keys differ.
    """
    layouts = set()
    for f in files:
        folders = Path(f).relative_to(root).parts[:-1]
        layouts.add(tuple(part.split("=", 1)[0] for part in folders if "=" in part))
    if layouts == {()}:
        return None
    if len(layouts) > 1:
        shown = sorted("/".join(f"{k}=..." for k in keys) or "(none)" for keys in layouts)
        raise DataError(f"The Parquet folder {text!r} mixes partition layouts: {shown}; "
                        "every file must sit under the same key=value folders.")
    return str(root), layouts.pop()


def _hidden(rel: Path) -> bool:
    return any(part.startswith((".", "_")) for part in rel.parts)


def _kind(path: str) -> str | None:
    low = path.lower()
    if low.endswith(_PARQUET):
        return "parquet"
    if low.endswith(_CSV):
        return "csv"
    return None
