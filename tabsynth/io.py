"""Reading and writing tables (CSV / Parquet), with clear errors and atomic writes."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from .errors import DataError

__all__ = ["atomic_path", "read_table", "write_table"]

_CSV_SUFFIXES = (".csv", ".csv.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq")


def _format_of(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(_CSV_SUFFIXES):
        return "csv"
    if name.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    raise DataError(
        f"Cannot tell the format of {str(path)!r} from its extension. "
        f"Use one of: {', '.join(_CSV_SUFFIXES + _PARQUET_SUFFIXES)}."
    )


def _csv_header(path: Path) -> list[str] | None:
    """Column names from the first line of a CSV file (None when the file is empty)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:  # type: ignore[operator]
        first = fh.readline()
    if not first.strip():
        return None
    return next(csv.reader(io.StringIO(first)))


def read_table(src: pd.DataFrame | str | os.PathLike) -> pd.DataFrame:
    """Read a table from a DataFrame (copied) or a ``.csv``/``.csv.gz``/``.parquet``/``.pq`` file.

    Parameters
    ----------
    src : DataFrame or path

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    DataError
        Missing, empty, header-only or undecodable file; duplicate column names; unknown
        extension.
    """
    if isinstance(src, pd.DataFrame):
        dups = [c for c, k in Counter(map(str, src.columns)).items() if k > 1]
        if dups:
            raise DataError(f"The table has duplicate column names: {sorted(dups)}.")
        return src.copy()
    if not isinstance(src, (str, os.PathLike)):
        raise DataError(f"Expected a DataFrame or a file path, got {type(src).__name__}.")
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
            header = _csv_header(path)
            if header is None:
                raise DataError(f"The file {str(path)!r} is empty (no header line).")
            dups = sorted(c for c, k in Counter(header).items() if k > 1)
            if dups:
                raise DataError(f"The file {str(path)!r} has duplicate column names: {dups}.")
            df = pd.read_csv(path, encoding="utf-8")
        else:
            df = pd.read_parquet(path)
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
    return df


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    The temporary file (``.{name}.tmp-XXXX`` in the same folder) is removed if the block
    raises, so nothing is left behind.

    Raises
    ------
    OSError
        The folder does not exist or is not writable (message and ``filename`` name it).
    """
    target = Path(path)
    folder = target.parent
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=folder)
    except OSError as exc:
        raise type(exc)(
            exc.errno, f"Cannot write {str(target)!r}: {exc.strerror}", str(target)
        ) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` as CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``), atomically.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    target = Path(path)
    fmt = _format_of(target)
    with atomic_path(target) as tmp:
        if fmt == "csv":
            compression = "gzip" if target.name.lower().endswith(".gz") else None
            df.to_csv(tmp, index=False, compression=compression)
        else:
            df.to_parquet(tmp, index=False)
    return target
