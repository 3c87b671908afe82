"""Loading, fingerprinting and validating the tables given to :func:`evaluate`.

The only module that reads the caller's tables from disk. Problems of one call are
collected and raised together as one :class:`EvaluationDataError` naming every column.

Fingerprints: the sha256 of the file bytes when a path was given; for a DataFrame, the sha256
of a canonical CSV serialisation (``DataFrame.to_csv(index=False, lineterminator="\\n")``,
UTF-8, written in chunks of 100,000 rows so memory stays bounded). The two differ for the same
table, so the report says which one was used (``"fingerprint": "file"`` or ``"csv"``).
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._csvdialect import read_csv_path
from ._schema import Kind, infer_kinds
from .errors import EvaluationDataError, EvaluationWarning

_CHUNK = 100_000


@dataclass
class Table:
    """A loaded table and its fingerprint."""

    role: str
    frame: pd.DataFrame
    sha256: str
    fingerprint: str  # "file" or "csv"
    source: str | None  # file name when read from disk
    sample: dict[str, Any] | None = None  # a partitioned dataset: what was read of it
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
        how = None
        try:
            if suffix.endswith((".parquet", ".pq")):
                df = pd.read_parquet(path)
            else:
                df, how = read_csv_path(path, role, csv_format or {})
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
        return Table(role, df, _sha256_file(path), "file", path.name, csv=how)
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
    return Table(role, df, h.hexdigest(), "file", f"{path.name}/ ({len(files)} Parquet files)",
                 sample)


def _family(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    if pd.api.types.is_numeric_dtype(s):
        return "numeric"
    return "text"


def _coerce_datetimes(df: pd.DataFrame, kinds: Mapping[str, Kind]) -> pd.DataFrame:
    """Parse text columns that metadata declares as datetime (so CSV inputs compare)."""
    for col, kind in kinds.items():
        if kind == "datetime" and col in df and not pd.api.types.is_datetime64_any_dtype(df[col]):
            parsed = pd.to_datetime(df[col], errors="coerce", format="mixed")
            if parsed.notna().sum() >= df[col].notna().sum():
                df[col] = parsed
    return df


def normalise_metadata(metadata: Any) -> dict[str, Any] | None:
    """Metadata as a plain dict (``to_dict`` objects and JSON paths accepted)."""
    if metadata is None:
        return None
    if isinstance(metadata, (str, os.PathLike)):
        import json

        try:
            metadata = json.loads(Path(metadata).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EvaluationDataError(f"The metadata file cannot be read: {exc}") from None
    if hasattr(metadata, "to_dict"):
        metadata = metadata.to_dict()
    if not isinstance(metadata, Mapping):
        raise EvaluationDataError(
            f"metadata must be a dict, an object with to_dict() or a JSON path. "
            f"Got {type(metadata).__name__} instead."
        )
    return dict(metadata)


_ID_NAME = re.compile(r"(^id$)|(_id$)|([a-z0-9]Id$)|(^uuid$)|(^guid$)|(_key$)|(^key$)", re.I)
_NOT_MODELLED = ("id", "text", "pii")


def _unmodelled_in_metadata(metadata: Mapping[str, Any] | None) -> tuple[set[str], set[str]]:
    """(columns the metadata marks id/text/pii or primary key, columns it lists at all)."""
    if not metadata:
        return set(), set()
    cols = metadata.get("columns")
    if cols is None and isinstance(metadata.get("tables"), Mapping) and metadata["tables"]:
        inner = next(iter(metadata["tables"].values()))
        if not isinstance(inner, Mapping):  # malformed: the schema check says so
            return set(), set()
        cols, pk = inner.get("columns"), inner.get("primary_key")
    else:
        pk = metadata.get("primary_key")
    if not isinstance(cols, Mapping):
        return set(), set()
    marked = {str(c) for c, spec in cols.items()
              if isinstance(spec, Mapping) and spec.get("sdtype") in _NOT_MODELLED}
    keys = pk if isinstance(pk, list) else [pk]
    marked |= {str(k) for k in keys if isinstance(k, str)}
    return marked, {str(c) for c in cols}


def drop_key_columns(real: Table, synthetic: Table, holdout: Table | None,
                     metadata: Mapping[str, Any] | None) -> list[str]:
    """Drop from real/holdout the key columns the generator did not model; return the notes.

    A column of the real table that the synthetic table lacks is dropped (not refused) when
    the metadata marks it ``id``/``text``/``pii`` or as the primary key, when metadata is given
    and does not list it (the generator never saw it), or, without metadata, when its name
    reads as a key (``id``, ``*_id``, ``uuid``...) and its values are unique. The fingerprints
    stay those of the tables as given.
    """
    marked, listed = _unmodelled_in_metadata(metadata)
    syn_cols = set(map(str, synthetic.frame.columns))
    dropped: list[str] = []
    why: dict[str, str] = {}
    for c in map(str, real.frame.columns):
        if c in syn_cols:
            continue
        if c in marked:
            why[c] = "the metadata marks it as an id/key/text column"
        elif metadata and listed and c not in listed:
            why[c] = "the metadata does not list it (the generator never modelled it)"
        elif not metadata and _ID_NAME.search(c) and real.frame[c].is_unique:
            why[c] = "its name reads as a key and its values are unique"
        else:
            continue
        dropped.append(c)
    if not dropped:
        return []
    for t in (real, holdout):
        if t is not None:
            t.frame = t.frame.drop(columns=[c for c in dropped if c in t.frame.columns])
    return [f"Column '{c}' of the real table is not in the synthetic table and was left out of "
            f"the comparison: {why[c]}." for c in dropped]


def _dtype_problems(real: Table, others: list[Table], real_cols: list[str]) -> list[str]:
    """One problem per column whose type family differs between the real and another table."""
    problems: list[str] = []
    for col in real_cols:
        fam = _family(real.frame[col])
        for t in others:
            if col not in t.frame.columns or len(t.frame) == 0 or len(real.frame) == 0:
                continue
            other = _family(t.frame[col])
            if other != fam and not (
                {fam, other} <= {"numeric", "boolean"}
                or t.frame[col].isna().all()
                or real.frame[col].isna().all()
            ):
                problems.append(
                    f"column '{col}' is {fam} ({real.frame[col].dtype}) in the real table but "
                    f"{other} ({t.frame[col].dtype}) in the {t.role} table"
                )
    return problems


def prepare(
    real: Table,
    synthetic: Table,
    holdout: Table | None,
    *,
    metadata: dict[str, Any] | None,
    target: str | None,
) -> tuple[dict[str, Kind], list[str]]:
    """Validate the tables; return the evaluated columns' kinds and the warnings raised.

    Raises one :class:`EvaluationDataError` listing every problem found.
    """
    problems: list[str] = []
    notes: list[str] = drop_key_columns(real, synthetic, holdout, metadata)
    tables = [t for t in (real, synthetic, holdout) if t is not None]
    for t in tables:
        if len(t.frame) == 0:
            problems.append(f"the {t.role} table is empty (0 rows)")
        if t.frame.shape[1] == 0:
            problems.append(f"the {t.role} table has no columns")
    real_cols = list(map(str, real.frame.columns))
    for t in tables[1:]:
        cols = set(map(str, t.frame.columns))
        missing = [c for c in real_cols if c not in cols]
        extra = [c for c in map(str, t.frame.columns) if c not in set(real_cols)]
        if missing:
            hint = (" (if they are ID/key columns the generator did not model, mark them "
                    "sdtype 'id' in the metadata, or pass the model with --model)"
                    if t.role == "synthetic" else "")
            problems.append(f"the {t.role} table lacks column(s) {missing} of the real "
                            f"table{hint}")
        if extra:
            problems.append(f"the {t.role} table has column(s) {extra} not in the real table")
    try:
        kinds = infer_kinds(real.frame, metadata) if len(real.frame) else {}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EvaluationDataError(f"The metadata cannot be read: {exc}") from None
    for t in tables:
        _coerce_datetimes(t.frame, kinds)
    problems += _dtype_problems(real, tables[1:], real_cols)
    for t in tables:
        if len(t.frame) == 0:
            continue
        all_nan = [str(c) for c in t.frame.columns if t.frame[c].isna().all()]
        if all_nan:
            problems.append(
                f"column(s) {all_nan} of the {t.role} table contain only missing values"
            )
    if target is not None:
        if target not in real.frame.columns:
            problems.append(f"the target column '{target}' is not in the real table")
        elif len(real.frame) and real.frame[target].nunique(dropna=True) < 2:
            problems.append(f"the target column '{target}' is constant in the real table")
        elif target not in kinds:
            problems.append(f"the target column '{target}' is declared id/text in the metadata")
    if problems:
        raise EvaluationDataError(
            "The tables cannot be compared: " + "; ".join(problems) + "."
        )
    if holdout is not None:
        overlap = count_shared_rows(real.frame, holdout.frame[real_cols])
        if overlap:
            msg = (
                f"{overlap} row(s) of the holdout table also appear in the real (training) table; "
                "the holdout must be disjoint from training, so the privacy-risk figures that "
                "compare against it (DCR share, membership inference, holdout copy rate) are "
                "meaningless."
            )
            warnings.warn(msg, EvaluationWarning, stacklevel=3)
            notes.append(msg)
    return kinds, notes


def count_shared_rows(a: pd.DataFrame, b: pd.DataFrame) -> int:
    """Number of rows of ``b`` identical to some row of ``a`` (same columns, NaN equals NaN)."""
    ha = pd.util.hash_pandas_object(_canonical(a), index=False).to_numpy()
    hb = pd.util.hash_pandas_object(_canonical(b), index=False).to_numpy()
    return int(np.isin(hb, ha).sum())


def _canonical(df: pd.DataFrame) -> pd.DataFrame:
    # Same dtype per family in both tables, so 1 (int) and 1.0 (float) hash alike.
    out = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            out[c] = s.astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.astype("datetime64[ns]")
        else:
            out[c] = s.astype("str")
    return pd.DataFrame(out)


def subsample(df: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """At most ``n`` rows drawn uniformly without replacement (row order kept)."""
    if len(df) <= n:
        return df
    idx = np.sort(rng.choice(len(df), size=n, replace=False))
    return df.iloc[idx].reset_index(drop=True)
