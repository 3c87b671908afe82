"""Exact statistics as mergeable partial aggregates: a table read in record batches or partitions.

:class:`ExactAggregate` reads one batch at a time (``update``), merges with the aggregate of
another partition (``merge``) and ``finish``-es into the same :class:`TableStats` that
:func:`~tabsynth.stats.compute_stats` computes from a DataFrame:

* **exactly mergeable** (equal to the in-memory statistics): the row count, each column's
  missing count, categories and their counts, min/max, the distinct values of a numeric column
  with at most ``max(MAX_ATOMS, max_modes)`` of them (its atoms and exact modes), integer dtype,
  the datetime rounding unit;
* **from a uniform sample**: each numeric/datetime column keeps a seeded bottom-k sample of
  :data:`SAMPLE_ROWS` present values (every value gets a uniform key from a generator seeded by
  ``(seed, partition, column)``; the ``SAMPLE_ROWS`` smallest keys are kept, which merges
  exactly), from which the 101 quantiles, the mixture modes and the decimals are computed.
  With at most ``SAMPLE_ROWS`` present values the sample is the whole column, in table order,
  and the statistics equal :func:`compute_stats`'s with the same seed; beyond it the quantiles
  are those of a uniform sample of that size (rank error about ``0.5 / sqrt(SAMPLE_ROWS)``).

Memory: ``SAMPLE_ROWS`` values per numeric column plus one batch, whatever the row count.
The DP counterpart is :mod:`tabsynth.stats.private_partial` (exact counts merged, noise once).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._scalars import py_scalar, sort_key
from ..errors import DataError
from ..metadata import Metadata
from .categories import cap_categories
from .exact import _datetime_unit, continuous_entry, finish_columns
from .schema import _UNITS_NS, MAX_ATOMS, CategoricalStats, TableStats, _floats
from .values import column_values, public_bounds

__all__ = ["SAMPLE_ROWS", "ExactAggregate"]

#: Present values kept per numeric/datetime column for the quantiles and mixture modes.
SAMPLE_ROWS = 50_000
_UNITS = [u for u, _ in _UNITS_NS]
_ROW_BITS = 40  # position = partition << 40 | row within the partition


class _Categorical:
    def __init__(self, domain: list | None) -> None:
        self.domain = domain
        self.counts: Any = np.zeros(len(domain), np.int64) if domain is not None else {}
        self.missing = 0
        self.all_bool = True

    def update(self, name: str, s: pd.Series) -> None:
        isna = pd.isna(s).to_numpy()
        self.missing += int(isna.sum())
        self.all_bool &= bool(pd.api.types.is_bool_dtype(s.dtype))
        values = s[~isna]
        if self.domain is not None:
            index = pd.Index(self.domain, dtype=object)
            arr = values.to_numpy(dtype=object)
            codes = index.get_indexer(arr)
            outside = codes < 0
            if outside.any():
                examples = list(dict.fromkeys(py_scalar(v) for v in arr[outside]))[:5]
                raise DataError(f"Column {name!r} has value(s) outside its public_domain, "
                                f"such as {examples!r}.")
            self.counts += np.bincount(codes, minlength=len(self.domain))
            return
        for v, c in values.value_counts(sort=False).items():
            key = py_scalar(v)
            self.counts[key] = self.counts.get(key, 0) + int(c)

    def merge(self, other: _Categorical) -> None:
        self.missing += other.missing
        self.all_bool &= other.all_bool
        if self.domain is not None:
            self.counts += other.counts
        else:
            for k, c in other.counts.items():
                self.counts[k] = self.counts.get(k, 0) + c

    def finish(self, name: str, sdtype: str, n: int) -> CategoricalStats:
        if self.domain is not None:
            categories, counts = tuple(self.domain), self.counts.astype(float)
        else:
            if sdtype == "boolean" and self.all_bool:
                cats = [False, True]
            else:
                cats = sorted(self.counts, key=sort_key)
            categories = tuple(cats)
            counts = np.array([self.counts.get(c, 0) for c in cats], dtype=float)
        if not categories:
            raise DataError(f"Column {name!r} has only missing values.")
        freqs = counts / counts.sum() if counts.sum() > 0 else np.full(len(categories),
                                                                       1 / len(categories))
        return CategoricalStats(categories, _floats(freqs), self.missing / n if n else 0.0)


class _Continuous:
    def __init__(self, seed: Any, cap: int, sample_rows: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.cap = cap
        self.sample_rows = sample_rows
        self.n_present = 0
        self.lo, self.hi = np.inf, -np.inf
        self.n_hi = 0  # present values equal to hi
        self.distinct: dict[float, int] | None = {}
        self.keys = np.empty(0)
        self.pos = np.empty(0, np.int64)
        self.values = np.empty(0)
        self.all_int = True
        self.unit = -1

    def update(self, name: str, col: Any, s: pd.Series, start: int) -> None:
        vals = column_values(name, col, s)
        keep = ~np.isnan(vals)
        present = vals[keep]
        self.all_int &= bool(pd.api.types.is_integer_dtype(s.dtype))
        if not len(present):
            return
        if col.sdtype == "datetime":
            self.unit = max(self.unit, _UNITS.index(_datetime_unit(s, col)))
        bounds = public_bounds(col)
        clipped = np.clip(present, *bounds) if bounds is not None else present
        self.n_present += len(present)
        self.lo = min(self.lo, float(clipped.min()))
        self._merge_hi(float(clipped.max()), int(np.count_nonzero(clipped == clipped.max())))
        if self.distinct is not None:
            uniq, counts = np.unique(clipped, return_counts=True)
            if len(uniq) > self.cap:  # more distinct values than kept: no need to count them
                self.distinct = None
            else:
                for v, c in zip(uniq.tolist(), counts.tolist(), strict=True):
                    self.distinct[v] = self.distinct.get(v, 0) + c
                if len(self.distinct) > self.cap:
                    self.distinct = None
        pos = start + np.flatnonzero(keep).astype(np.int64)
        self._add(self.rng.random(len(present)), pos, present)

    def _add(self, keys: np.ndarray, pos: np.ndarray, values: np.ndarray) -> None:
        if len(self.keys) >= self.sample_rows:
            # a full sample: only keys below its largest can enter the bottom-k (the same
            # sample as selecting from all of them, without sorting the rest)
            enter = keys < self.keys.max()
            keys, pos, values = keys[enter], pos[enter], values[enter]
        keys = np.concatenate([self.keys, keys])
        pos = np.concatenate([self.pos, pos])
        values = np.concatenate([self.values, values])
        if len(keys) > self.sample_rows:
            idx = np.argpartition(keys, self.sample_rows - 1)[:self.sample_rows]
            keys, pos, values = keys[idx], pos[idx], values[idx]
        self.keys, self.pos, self.values = keys, pos, values

    def _merge_hi(self, hi: float, count: int) -> None:
        if hi > self.hi:
            self.hi, self.n_hi = hi, count
        elif hi == self.hi:
            self.n_hi += count

    def merge(self, other: _Continuous) -> None:
        self.n_present += other.n_present
        self.lo = min(self.lo, other.lo)
        self._merge_hi(other.hi, other.n_hi)
        self.all_int &= other.all_int
        self.unit = max(self.unit, other.unit)
        if self.distinct is not None and other.distinct is not None:
            for k, c in other.distinct.items():
                self.distinct[k] = self.distinct.get(k, 0) + c
            if len(self.distinct) > self.cap:
                self.distinct = None
        else:
            self.distinct = None
        self._add(other.keys, other.pos, other.values)

    def summary(self) -> dict[str, Any]:
        distinct = None
        if self.distinct is not None:
            uniq = np.array(sorted(self.distinct), dtype=float)
            distinct = (uniq, np.array([self.distinct[v] for v in uniq.tolist()]))
        return {"n_present": self.n_present, "lo": self.lo, "hi": self.hi, "n_hi": self.n_hi,
                "distinct": distinct}

    def sample(self) -> np.ndarray:
        """The sampled values in table order (all of them when the column fits)."""
        return self.values[np.argsort(self.pos, kind="stable")]


class ExactAggregate:
    """Mergeable exact statistics of ``metadata``'s modelled columns (module docstring).

    ``partition`` numbers the piece of the table this aggregate reads (its rows' positions
    and its sampling keys); aggregates of all partitions merged in any order give the
    same statistics wherever each partition was read.
    """

    def __init__(self, metadata: Metadata, *, seed: int = 0, partition: int = 0,
                 max_modes: int = 10, sample_rows: int = SAMPLE_ROWS) -> None:
        self.metadata = metadata
        self.n = 0
        self.partition = int(partition)
        self.cols: dict[str, Any] = {}
        cap = max(MAX_ATOMS, int(max_modes))
        for j, name in enumerate(metadata.modelled_columns):
            col = metadata.columns[name]
            if col.sdtype in ("categorical", "boolean"):
                domain = list(col.public_domain) if col.public_domain is not None else None
                self.cols[name] = _Categorical(domain)
            else:
                self.cols[name] = _Continuous([int(seed), self.partition, j], cap,
                                              int(sample_rows))

    def update(self, df: pd.DataFrame) -> ExactAggregate:
        start = (self.partition << _ROW_BITS) + self.n
        for name, agg in self.cols.items():
            col = self.metadata.columns[name]
            if isinstance(agg, _Categorical):
                agg.update(name, df[name])
            else:
                agg.update(name, col, df[name], start)
        self.n += len(df)
        return self

    def merge(self, other: ExactAggregate) -> ExactAggregate:
        self.n += other.n
        for name, agg in self.cols.items():
            agg.merge(other.cols[name])
        return self

    def finish(self, *, random_state: Any = None, max_modes: int = 10,
               max_fit_rows: int = 5_000, weight_threshold: float = 0.005,
               n_jobs: int | None = None, mixtures: bool = True) -> TableStats:
        """The :class:`TableStats` (``source="exact"``), as :func:`compute_stats`'s (same
        ``mixtures`` switch)."""
        rng = np.random.default_rng(random_state)
        cols: dict[str, Any] = {}
        pending: list[tuple] = []
        for name, agg in self.cols.items():
            col = self.metadata.columns[name]
            if isinstance(agg, _Categorical):
                cols[name] = cap_categories(name, agg.finish(name, col.sdtype, self.n))
                continue
            is_integer = col.representation == "int" or agg.all_int
            unit = _UNITS[agg.unit] if agg.unit >= 0 else None
            cols[name] = continuous_entry(
                name, col, agg.sample(), self.n, rng, pending, max_modes, max_fit_rows,
                weight_threshold, is_integer=is_integer, unit=unit, summary=agg.summary())
        finish_columns(cols, pending, n_jobs, mixtures=mixtures)
        return TableStats(cols, int(self.n), "exact")
