"""The statistics + encoding pass of a streaming fit holds one batch and bounded aggregates:
its peak memory (tracemalloc: numpy and Python allocations) does not grow with the rows."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd

from tabsynth import Metadata, open_source
from tabsynth.models.streaming import encode_to_memmap, streamed_stats
from tabsynth.stats.partial import SAMPLE_ROWS
from tabsynth.transformer import DataTransformer

PART = 10_000


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "a": rng.normal(size=n),
        "b": rng.exponential(size=n),
        "c": rng.integers(0, 1000, n).astype(float),
        "k": rng.choice(["u", "v", "w", "x"], n),
        "m": rng.choice(["p", "q"], n),
    })


def peak_of_pass(n: int, folder, md: Metadata) -> int:
    folder.mkdir()
    for j in range(n // PART):
        frame(PART, j).to_parquet(folder / f"part-{j:04d}.parquet", index=False)
    source = open_source(folder)
    source.batch_rows = PART
    tracemalloc.start()
    try:
        stats = streamed_stats(source, md, seed=0)
        transformer = DataTransformer(md, stats, numeric_encoding="bins", n_bins=48)
        with encode_to_memmap(source, transformer.column_codes,
                              transformer.column_domains) as codes:
            assert codes.shape == (n, 5) and codes.dtype == np.uint8 and codes.mode == "r"
            assert int(codes[-1].max()) < max(transformer.column_domains)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_rows(tmp_path):
    small, large = 60_000, 240_000
    assert small > SAMPLE_ROWS  # both beyond the bounded sample of each numeric column
    md = Metadata.detect(frame(1000, 99))
    peak_of_pass(2 * PART, tmp_path / "warm-up", md)  # imports (sklearn...) out of the figures
    p_small = peak_of_pass(small, tmp_path / "small", md)
    p_large = peak_of_pass(large, tmp_path / "large", md)
    assert p_large / p_small < 1.3, (p_small, p_large)


def test_arrow_buffers_do_not_grow_with_the_files_read(tmp_path):
    """A folder is read file by file: one scan over every file held arrow buffers that grew
    with the files (22 MB at 60 files of 20,000 rows, 3.9 MB at 5; ~1 GB at 100 files of
    100,000 rows x 30 columns)."""
    import pyarrow as pa

    def peak(nfiles: int) -> int:
        folder = tmp_path / f"f{nfiles}"
        folder.mkdir()
        for j in range(nfiles):
            frame(20_000, j).to_parquet(folder / f"part-{j:04d}.parquet", index=False)
        source, top, rows = open_source(folder), 0, 0
        for batch in source.iter_batches(5_000):
            top, rows = max(top, pa.total_allocated_bytes()), rows + len(batch)
        assert rows == 20_000 * nfiles
        return top

    few, many = peak(5), peak(60)
    assert many < 1.3 * few + 2**20, (few, many)

