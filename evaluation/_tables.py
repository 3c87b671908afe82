"""Validating the tables given to :func:`evaluate`: shared columns, types, keys, targets.

Problems of one call are collected and raised together as one :class:`EvaluationDataError`
naming every column. Reading and fingerprints: :mod:`._table_io` (re-exported here).
"""

from __future__ import annotations

import datetime
import decimal
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._encoding import naive_utc
from ._schema import (
    Kind,
    duration_seconds,
    formats_from_metadata,
    infer_kinds,
    text_date_format,
    text_durations,
)
from ._table_io import Table, load_dataset_sample, load_table, sha256_frame
from .errors import (
    EvaluationDataError,
    EvaluationParameterError,
    EvaluationWarning,
    check_param,
)

__all__ = ["Table", "check_ignored", "count_shared_rows", "drop_ignored", "drop_key_columns",
           "load_dataset_sample",
           "load_table", "normalise_metadata", "prepare", "sha256_frame", "subsample"]


is_datetime = pd.api.types.is_datetime64_any_dtype


def _family(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    if pd.api.types.is_numeric_dtype(s):
        return "numeric"
    return "text"


def _date_formats(real: pd.DataFrame, kinds: Mapping[str, Kind],
                  metadata: Mapping[str, Any] | None) -> dict[str, str]:
    """Each text datetime column's format: the metadata's ``datetime_format``, else the one
    :func:`text_date_format` reads off the real table (None: ISO / mixed parsing)."""
    declared = formats_from_metadata(metadata)
    out = {}
    for col, kind in kinds.items():
        if kind != "datetime" or col not in real or is_datetime(real[col]):
            continue
        fmt = declared.get(col) or text_date_format(real[col])
        if fmt:
            out[col] = fmt
    return out


def _coerce_datetimes(df: pd.DataFrame, kinds: Mapping[str, Kind],
                      formats: Mapping[str, str]) -> pd.DataFrame:
    """Parse text columns of datetime kind (so CSV inputs compare), with the column's format
    in ``formats`` where it has one (the same for every table), else ISO / mixed parsing."""
    for col, kind in kinds.items():
        if kind == "datetime" and col in df and not is_datetime(df[col]):
            # a release written in ISO 8601 by another tool still reads where the real
            # table's format does not
            for fmt in dict.fromkeys((formats.get(col, "mixed"), "ISO8601")):
                try:
                    parsed = pd.to_datetime(df[col], errors="coerce", format=fmt)
                except (ValueError, TypeError):  # offsets mixed with naive times: in UTC
                    parsed = pd.to_datetime(df[col], errors="coerce", format=fmt, utc=True)
                if parsed.notna().sum() >= df[col].notna().sum():
                    df[col] = parsed
                    break
    return df


def _coerce_python_objects(tables: list[Table]) -> None:
    """Object columns of ``decimal.Decimal`` / ``datetime.date`` values (pandas' reading of a
    Parquet DECIMAL / DATE, a database driver's rows) as float64 / datetime64, in each table
    that holds them, so they score as numbers and dates rather than categories."""
    for t in tables:
        for col in t.frame.columns:
            s = t.frame[col]
            present = s.dropna()
            if s.dtype != object or not len(present) or not isinstance(
                    present.iloc[0], (decimal.Decimal, datetime.date)):
                continue  # (the first value turns down a text column cheaply)
            types = set(present.map(type))
            if types <= {decimal.Decimal}:
                t.frame[col] = pd.to_numeric(s).astype("float64")
            elif types <= {datetime.date}:
                t.frame[col] = pd.to_datetime(s).astype("datetime64[us]")


def _coerce_durations(real: Table, others: list[Table]) -> None:
    """Durations in seconds: every ``timedelta64`` column, and a column of duration text
    (a CSV's) where the real table's column is a duration; a release whose column does not
    parse as durations is left as text, for the type check to report."""
    for col in real.frame.columns:
        s = real.frame[col]
        if not (pd.api.types.is_timedelta64_dtype(s) or text_durations(s)):
            continue
        for t in (real, *others):
            if col not in t.frame.columns:
                continue
            c = t.frame[col]
            if (pd.api.types.is_timedelta64_dtype(c) or text_durations(c)
                    or (c.isna().all() and not pd.api.types.is_numeric_dtype(c))):
                t.frame[col] = duration_seconds(c)


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


#: The name pandas reads an unnamed CSV column under ("Unnamed: 0"), a written index's.
_WRITTEN_INDEX = re.compile(r"Unnamed: \d+(_level_\d+)?")


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
        index_like = [c for c in missing + extra if _WRITTEN_INDEX.fullmatch(c)]
        if index_like:
            problems.append(
                f"column(s) {index_like} look like a row index written into the file (pandas' "
                "to_csv writes one, unnamed, unless index=False): write the file with "
                "index=False, or drop the column")
    _coerce_python_objects(tables)
    _coerce_durations(real, tables[1:])
    try:
        kinds = infer_kinds(real.frame, metadata) if len(real.frame) else {}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EvaluationDataError(f"The metadata cannot be read: {exc}") from None
    formats = _date_formats(real.frame, kinds, metadata)
    for t in tables:
        _coerce_datetimes(t.frame, kinds, formats)
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


def check_ignored(ignore_columns: Any, target: str | None) -> list[str]:
    if ignore_columns is None:
        return []
    names = [ignore_columns] if isinstance(ignore_columns, str) else ignore_columns
    check_param("evaluate", "ignore_columns", ignore_columns,
                isinstance(names, (list, tuple)) and all(isinstance(c, str) for c in names),
                "a list of column names")
    if target is not None and target in names:
        raise EvaluationParameterError(
            f"The 'ignore_columns' parameter of evaluate names the target {target!r}: it "
            "cannot be left out of the comparison.")
    return list(dict.fromkeys(names))


def drop_ignored(ignored: list[str], tables: list) -> list[str]:
    """Drop ``ignored`` from every table that has it; the report's note. A name in no table,
    or one that would leave no column, is refused."""
    if not ignored:
        return []
    present = set().union(*(map(str, t.frame.columns) for t in tables))
    unknown = [c for c in ignored if c not in present]
    if unknown:
        raise EvaluationParameterError(
            f"The 'ignore_columns' parameter of evaluate names column(s) {unknown} that no "
            f"table has (the real table's columns: {list(map(str, tables[0].frame.columns))}).")
    for t in tables:
        t.frame = t.frame.drop(columns=[c for c in ignored if c in t.frame.columns])
    if t_empty := [t.role for t in tables if t.frame.shape[1] == 0]:
        raise EvaluationParameterError(
            f"The 'ignore_columns' parameter of evaluate leaves out every column of the "
            f"{', '.join(t_empty)} table(s).")
    return [f"Column(s) {ignored} were left out of the comparison as asked (ignore_columns)."]


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
            out[c] = naive_utc(s).astype("datetime64[us]")  # (9999-12-31 fits)
        else:
            out[c] = s.astype("str")
    return pd.DataFrame(out)


def subsample(df: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """At most ``n`` rows drawn uniformly without replacement (row order kept)."""
    if len(df) <= n:
        return df
    idx = np.sort(rng.choice(len(df), size=n, replace=False))
    return df.iloc[idx].reset_index(drop=True)
