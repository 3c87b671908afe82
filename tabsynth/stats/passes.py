"""One pass of partial aggregates over a table: a DataFrame, or a streamed source's partitions.

:func:`run_pass` feeds every record batch of every partition of a
:class:`~tabsynth.sources.TableSource` to an aggregate made for that partition
(:class:`~tabsynth.stats.partial.ExactAggregate`,
:class:`~tabsynth.stats.private_partial.PrivateCounts`), checks each batch against the
metadata on the way, and merges the partitions' aggregates as they come (the merge is
order-free: counts add, the bottom-k sample keeps the smallest keys, and its values are put
back in table order). The partitions are read in this process, or on Dask workers when the
source carries a :class:`~tabsynth.engine.DaskEngine` (``source.engine``), in groups of
partitions that each task merges on its worker before shipping one aggregate: the same
result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

__all__ = ["check_batch", "is_streamed", "run_pass"]


def is_streamed(data: Any) -> bool:
    """True for a table read in record batches (a :class:`~tabsynth.sources.TableSource`)."""
    return hasattr(data, "iter_batches") and hasattr(data, "partitions")


def check_batch(batch: pd.DataFrame, metadata: Any, private: bool) -> None:
    """The checks of an in-memory fit, on one record batch."""
    from ..metadata import check_data

    metadata.validate(batch, private=private)
    check_data(batch, metadata, private=private, batch=True)


def aggregate_partition(make: Callable[[int], Any], index: int, part: Any, batch_rows: int,
                        check: tuple | None) -> Any:
    """The aggregate of one partition (runs on a Dask worker, or here)."""
    agg = make(partition=index)
    for batch in part.iter_batches(batch_rows):
        if check is not None:
            check_batch(batch, *check)
        agg.update(batch)
        del batch
    return agg


def aggregate_group(make: Callable[[int], Any], indices: list[int], parts: list[Any],
                    batch_rows: int, check: tuple | None) -> Any:
    """The merged aggregate of several partitions, read one after the other (one Dask task):
    a worker ships one aggregate per group instead of one per partition."""
    out = None
    for index, part in zip(indices, parts, strict=True):
        agg = aggregate_partition(make, index, part, batch_rows, check)
        out = agg if out is None else out.merge(agg)
        del agg
    return out


#: Dask tasks per worker of a statistics pass (partitions are grouped into this many tasks
#: per worker: fewer aggregates shipped to the client, enough tasks to balance the load).
TASKS_PER_WORKER = 4


def run_pass(data: Any, make: Callable[[int], Any], *, check: tuple | None = None,
             batch_rows: int | None = None) -> Any:
    """The merged aggregate of ``data``: ``make(partition=index)`` builds an empty aggregate;
    a DataFrame is one batch of partition 0. ``check=(metadata, private)`` checks each batch
    of a streamed source."""
    if not is_streamed(data):
        return make(partition=0).update(data)
    from ..sources import BATCH_ROWS

    rows = int(batch_rows or getattr(data, "batch_rows", None) or BATCH_ROWS)
    parts = data.partitions()
    engine = getattr(data, "engine", None)
    if engine is not None and len(parts) > 1:
        # each task merges a group of partitions on its worker (the merge is order-free)
        n_tasks = min(len(parts), TASKS_PER_WORKER * max(1, engine.worker_count()))
        groups = [list(range(g, len(parts), n_tasks)) for g in range(n_tasks)]
        aggs = engine.map_unordered(aggregate_group, [make] * n_tasks, groups,
                                    [[parts[i] for i in g] for g in groups],
                                    [rows] * n_tasks, [check] * n_tasks)
    else:
        aggs = (aggregate_partition(make, i, p, rows, check) for i, p in enumerate(parts))
    out = None
    for agg in aggs:  # merged as they come: one partition's aggregate held at a time
        out = agg if out is None else out.merge(agg)
        del agg
    return out
