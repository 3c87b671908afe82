"""Reading the tables given to :func:`evaluate`: DataFrames, CSV and Parquet files, partitioned
Parquet folders; and their fingerprints.

The only module that reads the caller's tables from disk (CSV rules in :mod:`._csvdialect`).
Fingerprints: the sha256 of the file bytes when a path was given; for a DataFrame, the sha256
of a canonical CSV serialisation (``DataFrame.to_csv(index=False, lineterminator="\\n")``,
UTF-8, written in chunks of 100,000 rows so memory stays bounded). The two differ for the same
table, so the report says which one was used (``"fingerprint": "file"`` or ``"csv"``). A file
or folder of more than ``max_rows`` rows is read as a seeded uniform sample of ``max_rows``
rows (``Table.sample`` says so), so memory follows ``max_rows``, not the release.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._csvdialect import read_csv_path
from .errors import EvaluationDataError

_CHUNK = 100_000


@dataclass
class Table:
    """A loaded table and its fingerprint."""

    role: str
    frame: pd.DataFrame
    sha256: str
    fingerprint: str  # "file" or "csv"
    source: str | None  # file name when read from disk
    sample: dict[str, Any] | None = None  # a folder or long file: what was read of it
    csv: dict[str, str] | None = None  # a CSV file: separator, decimal mark, missing tokens

    def summary(self) -> dict[str, Any]:
        out = {
            "sha256": self.sha256,
            "fingerprint": self.fingerprint,
            "rows": int(len(self.frame)),
            "columns": int(self.frame.shape[1]),
            "source": self.source,
        }
        if self.sample is not None:  # rows: the dataset's; rows_read: the sample evaluated
            out.update(rows=self.sample["rows_total"], rows_read=self.sample["rows_read"],
                       files=self.sample["files"], sample_seed=self.sample["seed"])
        return out


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_frame(df: pd.DataFrame) -> str:
    """sha256 of the canonical CSV serialisation of ``df`` (header + rows, no index)."""
    h = hashlib.sha256()
    for start in range(0, max(len(df), 1), _CHUNK):
        chunk = df.iloc[start : start + _CHUNK]
        text = chunk.to_csv(index=False, header=start == 0, lineterminator="\n")
        h.update(text.encode("utf-8"))
    return h.hexdigest()


def load_table(obj: Any, role: str, *, max_rows: int | None = None,
               seed: int | None = None, csv_format: Mapping[str, Any] | None = None) -> Table:
    """Read a DataFrame, CSV or Parquet path into a :class:`Table` (frames are copied).

    A folder is read as a partitioned Parquet dataset: a seeded uniform sample of at most
    ``max_rows`` rows (:func:`load_dataset_sample`), never every row. A CSV file is read by
    :func:`._csvdialect.read_csv_path` under ``csv_format`` (checked by
    :func:`._csvdialect.check_csv_format`)."""
    if isinstance(obj, pd.DataFrame):
        if obj.columns.duplicated().any():
            dup = sorted(map(str, obj.columns[obj.columns.duplicated()]))
            raise EvaluationDataError(f"The {role} table has duplicate column names: {dup}.")
        # shallow copy: with pandas' copy-on-write the caller's frame is never modified
        return Table(role, obj.copy(deep=False), sha256_frame(obj), "csv", None)
    if isinstance(obj, (str, os.PathLike)):
        path = Path(obj)
        if path.is_dir():
            return load_dataset_sample(path, role, max_rows, seed)
        if not path.is_file():
            raise EvaluationDataError(f"The {role} table file does not exist: {path}")
        suffix = "".join(path.suffixes[-2:]).lower()
        how = sample = None
        try:
            if suffix.endswith((".parquet", ".pq")):
                if max_rows is not None and _parquet_rows(path) > max_rows:
                    return load_dataset_sample(path, role, max_rows, seed)  # row groups only
                df = pd.read_parquet(path)
            else:
                df, how, sample = read_csv_path(path, role, csv_format or {},
                                                max_rows=max_rows, seed=seed)
        except EvaluationDataError:
            raise
        except UnicodeDecodeError as exc:  # worded as tabsynth fit's reader
            raise EvaluationDataError(
                f"The {role} table {path.name} is not valid UTF-8 text (byte {exc.start}: "
                f"{exc.reason}). Re-save it as UTF-8."
            ) from None
        except (pd.errors.EmptyDataError, pd.errors.ParserError,
                ImportError, ValueError, OSError, EOFError) as exc:
            raise EvaluationDataError(
                f"The {role} table {path.name} cannot be read: {exc}"
            ) from None
        return Table(role, df, _sha256_file(path), "file", path.name, sample, csv=how)
    raise EvaluationDataError(
        f"The {role} table must be a pandas DataFrame or a CSV/Parquet path. "
        f"Got {type(obj).__name__} instead."
    )


def load_dataset_sample(path: Path, role: str, max_rows: int | None,
                        seed: int | None) -> Table:
    """A uniform sample (without replacement, row order kept) of ``max_rows`` rows of the
    Parquet dataset in ``path``, drawn with ``numpy.random.default_rng(seed)``.

    Row counts come from each file's footer; only the row groups holding a sampled row are
    read, one at a time. The fingerprint is the sha256 of the files' bytes concatenated in
    name order (streamed)."""
    import pyarrow as pa
    import pyarrow.dataset as pds
    import pyarrow.parquet as pq

    try:
        files = sorted(pds.dataset(str(path), format="parquet").files)
        if not files:
            raise EvaluationDataError(f"The {role} folder {path} holds no Parquet files.")
        handles = [pq.ParquetFile(f) for f in files]
        counts = np.array([h.metadata.num_rows for h in handles], dtype=np.int64)
        total = int(counts.sum())
        seed = int(np.random.SeedSequence(seed).generate_state(1)[0]) if seed is None else seed
        rng = np.random.default_rng(seed)
        take = total if max_rows is None or total <= max_rows else int(max_rows)
        idx = (np.arange(total) if take == total
               else np.sort(rng.choice(total, size=take, replace=False)))
        starts = np.concatenate([[0], np.cumsum(counts)])
        pieces = []
        for k, h in enumerate(handles):
            local = idx[(idx >= starts[k]) & (idx < starts[k + 1])] - starts[k]
            g0 = 0
            for g in range(h.metadata.num_row_groups):
                g1 = g0 + h.metadata.row_group(g).num_rows
                sel = local[(local >= g0) & (local < g1)] - g0
                if len(sel):
                    pieces.append(h.read_row_group(g).take(pa.array(sel)))
                g0 = g1
        df = pa.concat_tables(pieces).to_pandas() if pieces else pd.DataFrame()
    except EvaluationDataError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise EvaluationDataError(
            f"The {role} dataset {path.name} cannot be read as partitioned Parquet: {exc}"
        ) from None
    h = hashlib.sha256()
    for f in files:
        with open(f, "rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                h.update(block)
    sample = {"rows_total": total, "rows_read": int(len(df)), "files": len(files),
              "seed": seed}
    if path.is_file():
        return Table(role, df, h.hexdigest(), "file", path.name,
                     sample | {"what": "the Parquet file"})
    return Table(role, df, h.hexdigest(), "file", f"{path.name}/ ({len(files)} Parquet files)",
                 sample)


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)
