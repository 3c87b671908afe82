"""RowStore: minibatches gathered from a streaming fit's cell file equal the map's rows, in
the order asked, and leave the file's pages out of this process's resident memory."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabsynth.models.rows import RowStore

N, WIDTH = 5_000, 7


@pytest.fixture(scope="module")
def cell_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cells") / "codes.u"
    cells = np.random.default_rng(0).integers(0, 60_000, (N, WIDTH), dtype=np.uint16)
    path.write_bytes(cells.tobytes())
    return path, cells


@settings(max_examples=60, deadline=None)
@given(idx=st.lists(st.integers(0, N - 1), max_size=300))
def test_take_reads_the_rows_asked_in_their_order(cell_file, idx):
    path, cells = cell_file
    codes = np.memmap(path, dtype=np.uint16, mode="r", shape=(N, WIDTH))
    with RowStore(codes, "cpu") as store:
        assert store._fd is not None or not hasattr(os, "pread")
        got = store.take(np.asarray(idx, dtype=np.int64)).numpy()
    assert got.dtype == np.int64 and got.shape == (len(idx), WIDTH)
    assert (got == cells[idx]).all()


def test_runs_repeats_and_an_npy_header(tmp_path, cell_file):
    _, cells = cell_file
    np.save(tmp_path / "codes.npy", cells)
    codes = np.load(tmp_path / "codes.npy", mmap_mode="r")  # a map with an offset
    idx = np.array([4, 5, 6, 6, 0, N - 1, N - 2, N - 1, 7, 8])
    with RowStore(codes, "cpu") as store:
        assert (store.take(idx).numpy() == cells[idx]).all()
        assert store.take(np.arange(N)).numpy().sum() == cells.astype(np.int64).sum()
        assert store.take(np.array([], dtype=np.int64)).shape == (0, WIDTH)
        with pytest.raises(IndexError):
            store.take(np.array([N]))


def test_a_slice_of_a_map_is_read_through_the_map(cell_file):
    """A slice keeps its parent's file name and offset: read through the map, never with
    pread at the parent's offsets."""
    path, cells = cell_file
    part = np.memmap(path, dtype=np.uint16, mode="r", shape=(N, WIDTH))[5:]
    with RowStore(part, "cpu") as store:
        assert store._fd is None
        assert (store.take(np.array([0, 1])).numpy() == cells[[5, 6]]).all()


def test_writable_and_in_memory_codes_are_read_as_before(tmp_path, cell_file):
    _, cells = cell_file
    cow = np.load(_saved(tmp_path, cells), mmap_mode="c")
    cow[0] = 1  # a private change: a copy-on-write map is read through the map
    store = RowStore(cow, "cpu")
    assert store._fd is None and (store.take(np.array([0, 3])).numpy() == cow[[0, 3]]).all()
    assert (RowStore(cells, "cpu").take(np.array([2, 1])).numpy() == cells[[2, 1]]).all()


def _saved(tmp_path, cells) -> str:
    np.save(tmp_path / "c.npy", cells)
    return str(tmp_path / "c.npy")


def _mapped_kib(path) -> int:
    """Resident KiB of ``path``'s maps in this process (Linux /proc/self/smaps)."""
    total, inside = 0, False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5:  # a map's header line
                inside = fields[-1] == str(path)
            elif inside and fields[0] == "Rss:":
                total += int(fields[1])
    return total


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps") or not hasattr(os, "pread"),
                    reason="Linux: reads /proc/self/smaps")
def test_an_epoch_of_minibatches_leaves_the_file_out_of_resident_memory(tmp_path):
    """Through the map, a few hundred random rows already made this 15 MB file resident (the
    kernel maps whole page-cache folios per fault); read with pread, none of it is."""
    n, width = 250_000, 64
    path = tmp_path / "codes.u"
    path.write_bytes(np.random.default_rng(1).integers(0, 250, (n, width), np.uint8).tobytes())
    codes = np.memmap(path, dtype=np.uint8, mode="r", shape=(n, width))
    rng = np.random.default_rng(2)
    with RowStore(codes, "cpu") as store:
        for _ in range(50):
            idx = rng.choice(n, 512, replace=False)
            assert (store.take(idx).numpy() == codes[idx]).all()  # the check maps pages...
        before = _mapped_kib(path)
    del codes, store  # ...so drop that map and read through a new store alone
    codes = np.memmap(path, dtype=np.uint8, mode="r", shape=(n, width))
    with RowStore(codes, "cpu") as store:
        for _ in range(50):
            store.take(rng.choice(n, 512, replace=False))
        assert _mapped_kib(path) == 0
    assert before > 0  # the comparison: reading through the map made pages resident
