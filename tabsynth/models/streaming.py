"""A streaming fit: the table is read in record batches, never whole (:mod:`tabsynth.sources`).

Three passes over the source (four for a DP fit with numeric columns without declared bounds;
one more for CSV/SQL sources under DP without ``delta``, to count the rows), each holding one
batch (``source.batch_rows`` rows, default 65,536) at a time:

1. **statistics** — partial aggregates per batch and partition, merged (exact:
   :mod:`tabsynth.stats.partial`; DP: :mod:`tabsynth.stats.private_partial`, the noise added
   once after the merge, so the ledger is the in-memory fit's), on Dask workers when the
   source carries an engine;
2. **encoding** — each batch's cells (:meth:`DataTransformer.column_codes`) appended to a
   file of the smallest unsigned integer type that holds them, in a temporary folder removed
   when the fit ends (also on error), then mapped read-only (``numpy.memmap``); with a Dask
   engine, each partition is encoded on a worker (:func:`encode_partition`, the transformer
   rebuilt there from its state: metadata and statistics as plain dicts) and its cells are
   written here in partition order, a few partitions in flight at a time, so the file is the
   one this process would write;
3. **training** reads each minibatch's rows from that file (:class:`tabsynth.models.rows.
   RowStore`, ``os.preadv``): a permutation per epoch, or Poisson sampling over all ``n`` rows
   for DP-SGD (exact and global, as in memory).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError

__all__ = ["code_dtype", "encode_partition", "encode_rows_partition", "encode_to_memmap",
           "streamed_stats", "transform_to_memmaps", "transformer_state"]


def streamed_stats(source: Any, metadata: Any, seed: int, *, mixtures: bool = True) -> Any:
    """Exact statistics of a streamed table (:class:`tabsynth.stats.partial.ExactAggregate`,
    per partition, merged), seeded by ``seed`` as :func:`compute_stats` is (``mixtures``: as
    there); the exact row count is kept on the source (``source.n_rows``) for the encoding
    pass."""
    from functools import partial

    from ..stats.partial import ExactAggregate
    from ..stats.passes import run_pass

    agg = run_pass(source, partial(ExactAggregate, metadata, seed=seed),
                   check=(metadata, False))
    source._n_rows = int(agg.n)
    if agg.n < 2:
        raise DataError(f"The data cannot be used: the table needs at least 2 rows, it has "
                        f"{agg.n}.")
    return agg.finish(random_state=seed, mixtures=mixtures)


def code_dtype(domains: list[int]) -> np.dtype:
    """The smallest unsigned integer type that holds every cell index."""
    top = max(domains, default=1)
    for dt in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(dt).max + 1:
            return np.dtype(dt)
    return np.dtype(np.int64)  # pragma: no cover


def transformer_state(transformer: Any) -> dict[str, Any]:
    """What rebuilds ``transformer`` elsewhere (a Dask worker): plain data, no object."""
    return {"metadata": transformer.metadata.to_dict(), "stats": transformer.stats.to_dict(),
            "numeric_encoding": transformer.numeric_encoding, "n_bins": transformer.n_bins}


def _from_state(state: dict[str, Any]) -> Any:
    from ..metadata import Metadata
    from ..stats.schema import TableStats
    from ..transformer import DataTransformer

    return DataTransformer(Metadata.from_dict(state["metadata"]),
                           TableStats.from_dict(state["stats"]),
                           numeric_encoding=state["numeric_encoding"], n_bins=state["n_bins"])


def encode_partition(state: dict[str, Any], part: Any, batch_rows: int,
                     dtype: str) -> np.ndarray:
    """The cells of every batch of one partition, in order, as ``dtype`` (on a Dask worker)."""
    transformer = _from_state(state)
    blocks = [np.asarray(transformer.column_codes(b), dtype=dtype)
              for b in part.iter_batches(batch_rows)]
    if not blocks:
        return np.empty((0, len(transformer.column_domains)), dtype=dtype)
    return np.concatenate(blocks) if len(blocks) > 1 else blocks[0]


def _remote_transformer(source: Any, encode: Callable[[Any], np.ndarray]) -> Any:
    """The transformer whose ``column_codes`` is ``encode``, when the source's partitions are
    read on a Dask engine; else ``None`` (encoded here, batch by batch)."""
    from ..transformer import DataTransformer

    owner = getattr(encode, "__self__", None)
    if (getattr(source, "engine", None) is None or not isinstance(owner, DataTransformer)
            or getattr(encode, "__func__", None) is not DataTransformer.column_codes):
        return None
    return owner


def _blocks(source: Any, encode: Callable[[Any], np.ndarray], dtype: np.dtype) -> Iterator[Any]:
    """Cell blocks in table order: per batch here, or per partition from the Dask workers."""
    transformer = _remote_transformer(source, encode)
    parts = source.partitions() if transformer is not None else []
    if len(parts) > 1:
        state = transformer_state(transformer)
        k = len(parts)
        yield from source.engine.map_ordered(encode_partition, [state] * k, parts,
                                             [int(source.batch_rows)] * k, [dtype.str] * k)
        return
    for batch in source.iter_batches(source.batch_rows):
        yield encode(batch)
        del batch


def _check_more(n: int | None, rows: int) -> None:
    """DataError when a pass reads more rows than an earlier pass counted."""
    if n is not None and rows > n:
        raise DataError("The table changed while it was read (more rows than counted): a "
                        "streamed source must return the same rows on every pass.")


def _counted(source: Any, n: int | None, rows: int) -> int:
    """The row count after a pass that read ``rows``: checked against an earlier pass's
    ``n`` (DataError when fewer), else kept on the source for the next passes."""
    if n is not None and rows != n:
        raise DataError("The table changed while it was read (fewer rows than counted): a "
                        "streamed source must return the same rows on every pass.")
    if n is None:
        source._n_rows = rows
    return rows


@contextlib.contextmanager
def encode_to_memmap(source: Any, encode: Callable[[Any], np.ndarray], domains: list[int], *,
                     verbose: bool = False) -> Iterator[np.memmap]:
    """Encode every batch of ``source`` into a memmap ``(n_rows, len(domains))``; the
    temporary folder holding it is removed when the block ends (also on error).

    When ``encode`` is a transformer's ``column_codes`` and the source carries a Dask engine,
    the partitions are encoded on the workers and written in partition order: the same cells.
    """
    from tqdm.auto import tqdm

    # the rows counted by an earlier pass (checked against), else counted here: no extra pass
    known = getattr(source, "_n_rows", None)
    n = None if known is None else int(known)
    dtype = code_dtype(domains)
    width = len(domains)
    with tempfile.TemporaryDirectory(prefix="tabsynth-codes-") as tmp:
        path = Path(tmp) / "codes.u"
        row = 0
        # appended to a file, not written through a map: written pages stay in the kernel's
        # cache instead of this process's resident memory (which grew with the rows)
        with open(path, "wb") as out, tqdm(total=n, desc="encoding", unit="row",
                                           disable=not verbose, leave=False) as bar:
            for cells in _blocks(source, encode, dtype):
                k = len(cells)
                _check_more(n, row + k)
                block = np.ascontiguousarray(cells, dtype=dtype)
                if block.shape != (k, width):
                    raise ValueError(f"encoded block of shape {block.shape}, expected "
                                     f"({k}, {width})")
                out.write(memoryview(block).cast("B"))  # the block's bytes, not a copy
                row += k
                bar.update(k)
                del cells, block
        n = _counted(source, n, row)
        codes = np.memmap(path, dtype=dtype, mode="r", shape=(n, width)) if n else \
            np.empty((0, width), dtype=dtype)
        try:
            yield codes
        finally:
            del codes


def encode_rows_partition(state: dict[str, Any], part: Any, batch_rows: int,
                          seed: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """CTGAN's and TVAE's encoding of one partition (on a Dask worker): ``(X, codes)`` of
    every batch, in order, the modes drawn from ``numpy.random.default_rng(seed)``."""
    transformer = _from_state(state)
    blocks = list(_rows_blocks(transformer, part, batch_rows, np.random.default_rng(seed)))
    if not blocks:
        return (np.empty((0, int(transformer.output_dim)), dtype=np.float32),
                np.empty((0, len(transformer.discrete_spans)), dtype=np.int64))
    return (np.concatenate([x for x, _ in blocks]), np.concatenate([c for _, c in blocks]))


def _rows_blocks(transformer: Any, part: Any, batch_rows: int,
                 rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for batch in part.iter_batches(batch_rows):
        x = np.ascontiguousarray(transformer.transform(batch, rng=rng), dtype=np.float32)
        yield x, np.asarray(transformer.category_codes(batch), dtype=np.int64)
        del batch


@contextlib.contextmanager
def transform_to_memmaps(source: Any, transformer: Any, rng: np.random.Generator, *,
                         verbose: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """CTGAN's and TVAE's encoding of a streamed table: ``(X, codes)``, read-only memmaps of
    ``transformer.transform`` (``float32``, ``(n, output_dim)``) and
    ``transformer.category_codes`` (the smallest unsigned type, ``(n, discrete spans)``),
    written in one pass over ``source`` into a temporary folder removed when the block ends
    (also on error). The modes of partition ``i`` are drawn from
    ``numpy.random.default_rng([s, i])``, ``s`` drawn once from ``rng``: with a Dask engine
    each partition is encoded on a worker (:func:`encode_rows_partition`) and the files are
    the ones this process would write."""
    from tqdm.auto import tqdm

    known = getattr(source, "_n_rows", None)
    n = None if known is None else int(known)
    width = int(transformer.output_dim)
    spans = [int(sp.dim) for sp in transformer.discrete_spans]
    code_type = code_dtype(spans)
    base = int(rng.integers(2**63))
    parts = source.partitions()
    batch_rows = int(source.batch_rows)
    if getattr(source, "engine", None) is not None and len(parts) > 1:
        k = len(parts)
        blocks: Any = source.engine.map_ordered(
            encode_rows_partition, [transformer_state(transformer)] * k, parts,
            [batch_rows] * k, [[base, i] for i in range(k)])
    else:
        blocks = (block for i, part in enumerate(parts)
                  for block in _rows_blocks(transformer, part, batch_rows,
                                            np.random.default_rng([base, i])))
    with tempfile.TemporaryDirectory(prefix="tabsynth-encoded-") as tmp:
        x_path, c_path = Path(tmp) / "x.f4", Path(tmp) / "codes.u"
        row = 0
        with open(x_path, "wb") as xs, open(c_path, "wb") as cs, \
                tqdm(total=n, desc="encoding", unit="row", disable=not verbose,
                     leave=False) as bar:
            for x, c in blocks:
                k = len(x)
                _check_more(n, row + k)
                xs.write(memoryview(np.ascontiguousarray(x, dtype=np.float32)).cast("B"))
                if spans:
                    cs.write(memoryview(np.ascontiguousarray(c, dtype=code_type)).cast("B"))
                row += k
                bar.update(k)
                del x, c
        n = _counted(source, n, row)
        X = (np.memmap(x_path, dtype=np.float32, mode="r", shape=(n, width)) if n and width
             else np.empty((n, width), dtype=np.float32))
        codes = (np.memmap(c_path, dtype=code_type, mode="r", shape=(n, len(spans)))
                 if n and spans else np.zeros((n, len(spans)), dtype=np.int64))
        try:
            yield X, codes
        finally:
            del X, codes
