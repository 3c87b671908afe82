"""Gower-style distances between mixed-type records, with bounded-memory nearest neighbours.

The distance between two records ``x`` and ``y`` over ``p`` evaluated columns is the mean of
per-column contributions (Gower, 1971):

* numerical / datetime: ``|x - y| / range``, where ``range`` is the column's range in the
  *scaling* table (the training data) and values are first clipped to that range, so each
  contribution lies in ``[0, 1]``;
* categorical: ``0`` if equal, ``1`` otherwise;
* missing values: missing vs missing is ``0``, missing vs a value is ``1`` (any kind).

For speed the records are encoded once (:class:`GowerEncoder`) so the sum over columns splits
into three vectorised parts, computed a block of query rows at a time:

* an L1 distance over the scaled numerical columns (a column holding missing values is written
  as three coordinates ``(v/2, (1-v)/2, 0)`` or ``(0, 0, 1/2)`` for missing, which gives exactly
  the contributions above);
* categorical mismatches of low-cardinality columns from one matrix product of one-hot codes
  (``mismatches = n_columns - onehot_x · onehot_y``, i.e. Gower equals L1 on scaled numerics
  plus 0.5 · L1 on one-hot codes);
* categorical mismatches of high-cardinality columns by comparing integer codes.

Memory is bounded by ``chunk_size × n_reference`` float32 values (two buffers).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ._encoding import naive_utc

__all__ = [
    "EncodedRows",
    "GowerEncoder",
    "canonical_rows",
    "gower_matrix",
    "nearest_neighbors",
]

_NUMERIC_KINDS = ("numerical", "datetime")
_MISSING = "\x00<missing>"


def _as_float(s: pd.Series, kind: str) -> np.ndarray:
    """A numerical or datetime column as float64 (datetimes in seconds; missing is NaN)."""
    if kind == "datetime":
        dt = naive_utc(pd.to_datetime(s, errors="coerce"))
        out = (dt - pd.Timestamp("1970-01-01")) / pd.Timedelta(1, "s")
        return np.asarray(out, dtype=np.float64)
    if pd.api.types.is_bool_dtype(s):
        return np.asarray(s.astype("float64"), dtype=np.float64)
    return np.asarray(pd.to_numeric(s, errors="coerce").astype("float64"), dtype=np.float64)


def _as_text(s: pd.Series) -> np.ndarray:
    """A categorical column as canonical strings, so ``1``, ``1.0`` and ``"1"`` agree only
    where they should: numbers are written through ``float``; missing is one sentinel."""
    missing = s.isna().to_numpy()
    if pd.api.types.is_bool_dtype(s):
        text = s.astype(str)
    elif pd.api.types.is_numeric_dtype(s):
        text = s.astype("float64").map(repr)
    else:
        text = s.astype(object).map(str)
    out = np.asarray(text, dtype=object)
    out[missing] = _MISSING
    return out


def canonical_rows(df: pd.DataFrame, kinds: Mapping[str, str]) -> np.ndarray:
    """One 64-bit hash per row over the evaluated columns, equal exactly when the rows are equal.

    Numbers compare by value (``39 == 39.0``), missing equals missing, datetimes by instant.
    """
    cols: dict[str, object] = {}
    for c, kind in kinds.items():
        if kind in _NUMERIC_KINDS:
            v = _as_float(df[c], kind) + 0.0  # -0.0 -> 0.0
            v[np.isnan(v)] = np.nan  # one NaN bit pattern
            cols[c] = v
        else:
            cols[c] = _as_text(df[c])
    frame = pd.DataFrame(cols, index=pd.RangeIndex(len(df)))
    return np.asarray(pd.util.hash_pandas_object(frame, index=False), dtype=np.uint64)


@dataclass(frozen=True)
class EncodedRows:
    """Records encoded for :func:`nearest_neighbors` (see the module docstring)."""

    numeric: np.ndarray  # (n, d_num) float32, L1 part
    onehot: np.ndarray  # (n, d_onehot) float32, one 1 per low-cardinality categorical column
    codes: np.ndarray  # (n, d_codes) int32, high-cardinality categorical columns
    n_onehot_columns: int
    n_columns: int

    def __len__(self) -> int:
        return self.numeric.shape[0]

    def take(self, idx: np.ndarray) -> EncodedRows:
        return EncodedRows(
            self.numeric[idx],
            self.onehot[idx],
            self.codes[idx],
            self.n_onehot_columns,
            self.n_columns,
        )


class GowerEncoder:
    """Encode mixed-type frames so that Gower distances reduce to fast array operations.

    ``kinds`` maps each evaluated column to ``"numerical"``, ``"categorical"`` or
    ``"datetime"``. ``max_onehot`` is the largest number of categories a column may have to be
    one-hot encoded (matrix product); larger ones are compared by integer code.
    """

    def __init__(self, kinds: Mapping[str, str], *, max_onehot: int = 64):
        self.kinds = kinds
        self.max_onehot = max_onehot

    def fit(self, scale_from: pd.DataFrame, *others: pd.DataFrame) -> GowerEncoder:
        """Learn numeric ranges from ``scale_from`` and the categories seen in all frames."""
        self.lows_: dict[str, float] = {}
        self.ranges_: dict[str, float] = {}
        self.has_missing_: dict[str, bool] = {}
        self.categories_: dict[str, dict[str, int]] = {}
        frames = (scale_from, *others)
        for c, kind in self.kinds.items():
            if kind in _NUMERIC_KINDS:
                v = _as_float(scale_from[c], kind)
                finite = v[np.isfinite(v)]
                lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
                self.lows_[c] = lo
                self.ranges_[c] = hi - lo if hi > lo else 1.0
                self.has_missing_[c] = any(bool(f[c].isna().any()) for f in frames)
            else:
                values = pd.unique(np.concatenate([_as_text(f[c]) for f in frames]))
                self.categories_[c] = {v: i for i, v in enumerate(values)}
        return self

    def transform(self, df: pd.DataFrame) -> EncodedRows:
        n = len(df)
        num_parts: list[np.ndarray] = []
        onehot_parts: list[np.ndarray] = []
        code_parts: list[np.ndarray] = []
        for c, kind in self.kinds.items():
            if kind in _NUMERIC_KINDS:
                v = _as_float(df[c], kind)
                scaled = np.clip((v - self.lows_[c]) / self.ranges_[c], 0.0, 1.0)
                if self.has_missing_[c]:
                    miss = np.isnan(scaled)
                    s = np.where(miss, 0.0, scaled)
                    num_parts += [
                        np.where(miss, 0.0, s / 2),
                        np.where(miss, 0.0, (1 - s) / 2),
                        miss * 0.5,
                    ]
                else:
                    num_parts.append(scaled)
            else:
                cats = self.categories_[c]
                text = _as_text(df[c])
                codes = np.fromiter((cats.get(t, -1) for t in text), dtype=np.int64, count=n)
                if (codes < 0).any():
                    raise ValueError(f"column {c!r} has categories not seen in fit")
                if len(cats) <= self.max_onehot:
                    oh = np.zeros((n, len(cats)), dtype=np.float32)
                    oh[np.arange(n), codes] = 1.0
                    onehot_parts.append(oh)
                else:
                    code_parts.append(codes.astype(np.int32))
        numeric = (np.column_stack(num_parts) if num_parts else np.zeros((n, 0))).astype(np.float32)
        onehot = np.hstack(onehot_parts) if onehot_parts else np.zeros((n, 0), np.float32)
        codes = np.column_stack(code_parts) if code_parts else np.zeros((n, 0), np.int32)
        return EncodedRows(
            np.ascontiguousarray(numeric),
            np.ascontiguousarray(onehot),
            np.ascontiguousarray(codes),
            len(onehot_parts),
            len(self.kinds),
        )


def _block_distances(q: EncodedRows, ref: EncodedRows, ref_numeric_t: np.ndarray) -> np.ndarray:
    """Gower distances (float32, shape ``len(q) × len(ref)``) of one block of query rows."""
    if q.onehot.shape[1]:
        d = q.onehot @ ref.onehot.T
        np.subtract(np.float32(q.n_onehot_columns), d, out=d)
    else:
        d = np.zeros((len(q), len(ref)), dtype=np.float32)
    if q.numeric.shape[1] or q.codes.shape[1]:
        tmp = np.empty_like(d)
        for j in range(q.numeric.shape[1]):
            np.subtract(q.numeric[:, j, None], ref_numeric_t[j][None, :], out=tmp)
            np.abs(tmp, out=tmp)
            d += tmp
        for j in range(q.codes.shape[1]):
            d += q.codes[:, j, None] != ref.codes[None, :, j]
    d /= np.float32(max(q.n_columns, 1))
    return d


def _k_smallest(d: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise ``k`` smallest values (ascending; ties to the lower index). Overwrites ``d``."""
    rows = np.arange(d.shape[0])
    if k <= 4:
        idx = np.empty((d.shape[0], k), dtype=np.int64)
        dist = np.empty((d.shape[0], k), dtype=np.float64)
        for i in range(k):
            a = d.argmin(axis=1)
            idx[:, i] = a
            dist[:, i] = d[rows, a]
            d[rows, a] = np.inf
        return dist, idx
    part = np.argpartition(d, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(d, part, axis=1)
    order = np.lexsort((part, vals), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    return np.take_along_axis(vals, order, axis=1).astype(np.float64), idx


def nearest_neighbors(
    query: EncodedRows,
    reference: EncodedRows,
    *,
    k: int = 1,
    chunk_size: int = 256,
    n_jobs: int | None = None,
    block_fn: Callable[[EncodedRows, EncodedRows, np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest reference records of each query record under the Gower distance.

    Returns ``(distances, indices)``, both of shape ``(len(query), k)``, ascending (ties go to
    the lower reference index). ``k`` is capped at ``len(reference)``. Query rows are processed
    ``chunk_size`` at a time, so at most ``2 × chunk_size × len(reference)`` float32 values are
    held per worker; ``n_jobs`` threads (default: up to 2) work on separate chunks.
    """
    if len(reference) == 0:
        raise ValueError("the reference table is empty")
    if k < 1:
        raise ValueError(f"k must be an int >= 1. Got {k} instead.")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be an int >= 1. Got {chunk_size} instead.")
    k = min(k, len(reference))
    block = _block_distances if block_fn is None else block_fn
    ref_t = np.ascontiguousarray(reference.numeric.T)
    starts = range(0, len(query), chunk_size)

    def run(s: int) -> tuple[np.ndarray, np.ndarray]:
        q = query.take(slice(s, s + chunk_size))
        return _k_smallest(block(q, reference, ref_t), k)

    workers = n_jobs if n_jobs is not None else min(2, os.cpu_count() or 1)
    if workers > 1 and len(starts) > 1:
        # one BLAS thread per worker: the workers already use the cores
        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as ex:
            parts = list(ex.map(run, starts))
    else:
        parts = [run(s) for s in starts]
    if not parts:
        return np.zeros((0, k)), np.zeros((0, k), dtype=np.int64)
    return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])


def gower_matrix(
    a: pd.DataFrame,
    b: pd.DataFrame,
    *,
    kinds: Mapping[str, str],
    scale_from: pd.DataFrame | None = None,
) -> np.ndarray:
    """Full Gower distance matrix ``len(a) × len(b)`` (float64), computed column by column
    from the definition. Meant for small tables and as the reference the fast path is tested
    against; numeric ranges come from ``scale_from`` (default ``b``)."""
    scale = b if scale_from is None else scale_from
    total = np.zeros((len(a), len(b)))
    for c, kind in kinds.items():
        if kind in _NUMERIC_KINDS:
            s = _as_float(scale[c], kind)
            s = s[np.isfinite(s)]
            lo, hi = (s.min(), s.max()) if s.size else (0.0, 0.0)
            rng = hi - lo if hi > lo else 1.0
            x = np.clip((_as_float(a[c], kind) - lo) / rng, 0, 1)[:, None]
            y = np.clip((_as_float(b[c], kind) - lo) / rng, 0, 1)[None, :]
            with np.errstate(invalid="ignore"):
                part = np.abs(x - y)
            xn, yn = np.isnan(x), np.isnan(y)
            part = np.where(xn & yn, 0.0, np.where(xn | yn, 1.0, part))
        else:
            part = (_as_text(a[c])[:, None] != _as_text(b[c])[None, :]).astype(float)
        total += part
    return total / max(len(kinds), 1)
