"""The exact counts that the DP statistics measure, as mergeable partial aggregates.

:func:`~tabsynth.stats.private.compute_private_stats` measures, per column, a histogram whose
domain is fixed before looking at the data (a declared or boolean domain plus a missing bin;
the fixed grid of :func:`~tabsynth.privacy.dp_bounds`; equal bins over the declared or DP
bounds plus a missing bin) or the counts of an unknown domain (category discovery). Exact
counts add up over record batches and partitions, so a table that does not fit in memory (or
is spread over Dask workers) is measured by **merging the exact counts first and adding the
noise once**, in :func:`measure_columns`, the one function both the in-memory and the
streaming paths call: the same mechanisms, sensitivities and noise multipliers, the same
ledger.

Passes: :class:`PrivateCounts` with ``bounds=None`` is the first pass (domains, discovery,
declared-bounds histograms, bounds grids); when some numeric column has no declared bounds, a
second pass counts its histogram over the DP bounds measured from the first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..metadata import Metadata
from .categories import cap_categories
from .private_columns import (
    _MISSING,
    DPContext,
    bounds_counts,
    category_counts,
    continuous_stats,
    discovered_stats,
    domain_counts,
    domain_stats,
    histogram_counts,
    histogram_edges,
    is_integer_column,
    measure_bounds,
    present_values,
)
from .schema import ColumnStats
from .values import public_bounds

__all__ = ["PrivateCounts", "measure_columns"]


def _domain(col: Any) -> list | None:
    """The public domain of a categorical column (declared, or ``{False, True}`` for the
    boolean sdtype: public by schema); ``None`` when it must be discovered."""
    if col.public_domain is not None:
        return list(col.public_domain)
    if col.sdtype == "boolean":
        return [False, True]
    return None


class PrivateCounts:
    """Exact counts of one pass (module docstring); ``update`` a batch, ``merge`` another
    partition's. Never released: :func:`measure_columns` adds the noise."""

    def __init__(self, metadata: Metadata, n_bins: int,
                 bounds: dict[str, tuple[float, float]] | None = None, *,
                 partition: int = 0, detail: bool = False) -> None:
        self.metadata = metadata
        self.n = 0
        self.plan: dict[str, tuple] = {}
        for name in metadata.modelled_columns:
            col = metadata.columns[name]
            if bounds is not None:  # second pass: histograms over the DP bounds
                if name in bounds:
                    lo, hi = bounds[name]
                    self.plan[name] = ("hist", histogram_edges(
                        lo, hi, is_integer_column(col), n_bins, detail)[0])
            elif col.sdtype in ("categorical", "boolean"):
                domain = _domain(col)
                self.plan[name] = ("discover",) if domain is None else ("domain", domain)
            elif col.public_bounds is not None:
                lo, hi = public_bounds(col)  # type: ignore[misc]
                self.plan[name] = ("hist", histogram_edges(
                    lo, hi, is_integer_column(col), n_bins, detail)[0])
            else:
                self.plan[name] = ("grid",)
        self.counts: dict[str, Any] = {}

    def update(self, df: pd.DataFrame) -> PrivateCounts:
        for name, (kind, *args) in self.plan.items():
            s = df[name]
            col = self.metadata.columns[name]
            if kind == "domain":
                exact: Any = domain_counts(name, args[0], s)
            elif kind == "discover":
                self.counts[name] = category_counts(s, self.counts.get(name))
                continue
            elif kind == "grid":
                exact = bounds_counts(present_values(name, col, s))
                exact = np.append(exact, int(s.isna().sum()))  # last: missing (never measured)
            else:
                exact = histogram_counts(present_values(name, col, s), args[0])
            self.counts[name] = exact + self.counts[name] if name in self.counts else exact
        self.n += len(df)
        return self

    def merge(self, other: PrivateCounts) -> PrivateCounts:
        self.n += other.n
        for name, value in other.counts.items():
            mine = self.counts.get(name)
            if mine is None:
                self.counts[name] = value
            elif isinstance(mine, dict):
                for k, c in value.items():
                    mine[k] = mine.get(k, 0) + c
            else:
                self.counts[name] = mine + value
        return self

    def only_missing(self) -> list[str]:
        """Columns whose every value is missing (checked before any measurement)."""
        out = []
        for name, (kind, *_) in self.plan.items():
            c = self.counts.get(name)
            if c is None:
                out.append(name)
            elif kind == "discover":
                if not any(k is not _MISSING for k in c):
                    out.append(name)
            elif c[:-1].sum() == 0:
                out.append(name)
        return out

    def grid(self, name: str) -> np.ndarray:
        return self.counts[name][:-1]


def measure_columns(ctx: DPContext, metadata: Metadata, first: PrivateCounts,
                    second_pass: Callable[[dict[str, tuple[float, float]]], PrivateCounts],
                    ) -> dict[str, ColumnStats]:
    """The DP statistics of every modelled column from merged exact counts: the noise of each
    measurement is drawn here, once. DP bounds first (they define the second pass, run by
    ``second_pass(bounds)`` only when a column needs them), then each column in table order
    (its ledger entries together, in the order of the in-memory fit)."""
    bounds: dict[str, tuple] = {}
    for name, (kind, *_) in first.plan.items():
        if kind == "grid":
            bounds[name] = measure_bounds(ctx, name, metadata.columns[name], first.grid(name))
    second = second_pass({k: v[0] for k, v in bounds.items()}) if bounds else None
    cols: dict[str, ColumnStats] = {}
    for name in metadata.modelled_columns:
        col = metadata.columns[name]
        kind = first.plan[name][0]
        if kind == "domain":
            domain = first.plan[name][1]
            what = (f"public_domain of {len(domain)} values" if col.public_domain is not None
                    else "{False, True}: boolean sdtype (schema)")
            ctx.ledger.declare_public(f"column {name!r} domain", what)
            cols[name] = cap_categories(name, domain_stats(ctx, name, domain,
                                                           first.counts[name]))
        elif kind == "discover":
            cols[name] = cap_categories(name, discovered_stats(ctx, name, col,
                                                               first.counts.get(name, {})))
        elif kind == "grid":
            (lo, hi), entry = bounds[name]
            cols[name] = continuous_stats(ctx, name, col, lo, hi, entry,
                                          second.counts[name])  # type: ignore[union-attr]
        else:
            lo, hi = public_bounds(col)  # type: ignore[misc]
            cols[name] = continuous_stats(ctx, name, col, lo, hi, None, first.counts[name])
    ctx.warn()  # once the row count has every measurement
    return cols


def check_only_missing(counts: PrivateCounts) -> None:
    """A column whose every value is missing cannot be modelled (no count in the message)."""
    empty = counts.only_missing()
    if empty:
        raise DataError("The data cannot be used: " + "; ".join(
            f"column {name!r} has only missing values" for name in empty) + ".")
