"""A streaming fit: the table is read in record batches, never whole (:mod:`tabsynth.sources`).

Three passes over the source (four for a DP fit with numeric columns without declared bounds;
one more for CSV/SQL sources under DP without ``delta``, to count the rows), each holding one
batch (``source.batch_rows`` rows, default 65,536) at a time:

1. **statistics** — partial aggregates per batch and partition, merged (exact:
   :mod:`tabsynth.stats.partial`; DP: :mod:`tabsynth.stats.private_partial`, the noise added
   once after the merge, so the ledger is the in-memory fit's), on Dask workers when the
   source carries an engine;
2. **encoding** — each batch's cells (:meth:`DataTransformer.column_codes`) written into a
   ``numpy.memmap`` of the smallest unsigned integer type that holds them, in a temporary
   folder removed when the fit ends (also on error);
3. **training** gathers each minibatch from the memmap (:class:`tabsynth.models.rows.RowStore`):
   a permutation per epoch, or Poisson sampling over all ``n`` rows for DP-SGD (exact and
   global, as in memory).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError

__all__ = ["code_dtype", "encode_to_memmap", "streamed_stats"]


def streamed_stats(source: Any, metadata: Any, seed: int) -> Any:
    """Exact statistics of a streamed table (:class:`tabsynth.stats.partial.ExactAggregate`,
    per partition, merged), seeded by ``seed`` as :func:`compute_stats` is; the exact row count
    is kept on the source (``source.n_rows``) for the encoding pass."""
    from functools import partial

    from ..stats.partial import ExactAggregate
    from ..stats.passes import run_pass

    agg = run_pass(source, partial(ExactAggregate, metadata, seed=seed),
                   check=(metadata, False))
    source._n_rows = int(agg.n)
    if agg.n < 2:
        raise DataError(f"The data cannot be used: the table needs at least 2 rows, it has "
                        f"{agg.n}.")
    return agg.finish(random_state=seed)


def code_dtype(domains: list[int]) -> np.dtype:
    """The smallest unsigned integer type that holds every cell index."""
    top = max(domains, default=1)
    for dt in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(dt).max + 1:
            return np.dtype(dt)
    return np.dtype(np.int64)  # pragma: no cover


@contextlib.contextmanager
def encode_to_memmap(source: Any, encode: Callable[[Any], np.ndarray], domains: list[int], *,
                     verbose: bool = False) -> Iterator[np.memmap]:
    """Encode every batch of ``source`` into a memmap ``(n_rows, len(domains))``; the
    temporary folder holding it is removed when the block ends (also on error)."""
    from tqdm.auto import tqdm

    n = int(source.n_rows)
    with tempfile.TemporaryDirectory(prefix="tabsynth-codes-") as tmp:
        codes = np.memmap(Path(tmp) / "codes.u", dtype=code_dtype(domains), mode="w+",
                          shape=(n, len(domains)))
        row = 0
        with tqdm(total=n, desc="encoding", unit="row", disable=not verbose,
                  leave=False) as bar:
            for batch in source.iter_batches(source.batch_rows):
                cells = encode(batch)
                k = len(cells)
                if row + k > n:
                    raise DataError("The table changed while it was read (more rows than "
                                    "counted): a streamed source must return the same rows "
                                    "on every pass.")
                codes[row:row + k] = cells
                row += k
                bar.update(k)
                del batch, cells
        if row != n:
            raise DataError("The table changed while it was read (fewer rows than counted): a "
                            "streamed source must return the same rows on every pass.")
        codes.flush()
        try:
            yield codes
        finally:
            del codes
