"""The encoded rows a training loop reads, one minibatch at a time.

A numpy array (an in-memory fit) goes to the device once, as int64, as it always did; a
read-only ``numpy.memmap`` (a streaming fit, :mod:`tabsynth.models.streaming`) stays on disk
and each minibatch is gathered from its file (``take``): the loop's sampling (a permutation,
Poisson masks over all ``n`` rows) is unchanged, only the rows it names are read.

The rows are read with ``os.pread`` (runs of consecutive rows in one call), not through the
map: random minibatches fault a page-cache folio into the map per row, and an epoch made the
whole cell file resident in this process (10M rows: 286 MB more at the peak). Read this way
the file's pages stay in the kernel's cache. Where ``pread`` is missing (Windows), or the map
is writable or not backed by a plain file, rows are gathered through the map.
"""

from __future__ import annotations

import mmap
import os
from typing import Any

import numpy as np

__all__ = ["RowStore"]


class RowStore:
    """``take(idx)`` -> the rows ``idx`` (numpy indices) as a tensor on ``device``, of
    ``dtype`` (int64: the ARSynthesizer's cells; float32: CTGAN's and TVAE's encoded rows).

    Holds a file descriptor when reading a map's file: :meth:`close` (or the end of a
    ``with`` block, or garbage collection) releases it.
    """

    _fd: int | None = None  # also when __init__ failed early (__del__ reads it)

    def __init__(self, codes: np.ndarray, device: Any, dtype: Any = np.int64) -> None:
        import torch

        self.device = device
        self._dtype = np.dtype(dtype)
        self.n = len(codes)
        self._fd: int | None = None
        self._disk: np.ndarray | None = None
        self._data = None
        if isinstance(codes, np.memmap):
            self._disk = codes
            self._width = int(codes.shape[1]) if codes.ndim == 2 else 0
            self._row_bytes = self._width * codes.dtype.itemsize
            # the whole map only (a slice keeps its parent's offset and file name)
            if (hasattr(os, "pread") and codes.mode == "r" and codes.ndim == 2
                    and isinstance(codes.base, mmap.mmap) and codes.flags.c_contiguous
                    and self._row_bytes > 0
                    and isinstance(codes.filename, (str, os.PathLike))):
                self._offset = int(codes.offset)
                self._fd = os.open(os.fspath(codes.filename),
                                   os.O_RDONLY | getattr(os, "O_BINARY", 0))
        else:
            self._data = torch.from_numpy(np.ascontiguousarray(codes, dtype=self._dtype)).to(device)

    def __len__(self) -> int:
        return self.n

    def __enter__(self) -> RowStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()

    def take(self, idx: np.ndarray) -> Any:
        import torch

        idx = np.asarray(idx, dtype=np.int64)
        if self._data is not None:
            return self._data[torch.from_numpy(idx).to(self.device)]
        if self._fd is None:
            rows = np.asarray(self._disk[idx], dtype=self._dtype)  # type: ignore[index]
        else:
            rows = self._read(idx).astype(self._dtype, copy=False)
        return torch.from_numpy(rows).to(self.device)

    def _read(self, idx: np.ndarray) -> np.ndarray:
        """The rows ``idx`` read from the file, one ``pread`` per run of consecutive rows."""
        assert self._disk is not None and self._fd is not None
        if len(idx) and (idx.min() < 0 or idx.max() >= self.n):
            raise IndexError(f"row index out of range for {self.n} rows")
        out = np.empty((len(idx), self._width), dtype=self._disk.dtype)
        if not len(idx):
            return out
        view = memoryview(out.reshape(-1).view(np.uint8))
        starts = np.flatnonzero(np.diff(idx, prepend=-2) != 1)  # where a run begins
        ends = np.append(starts[1:], len(idx))
        rb, fd, base = self._row_bytes, self._fd, self._offset
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            want = (e - s) * rb
            got = os.preadv(fd, [view[s * rb:e * rb]], base + int(idx[s]) * rb) \
                if hasattr(os, "preadv") else _pread_into(fd, view[s * rb:e * rb],
                                                          base + int(idx[s]) * rb)
            if got != want:
                raise OSError(f"short read of the training rows' file ({got} of {want} bytes)")
        return out


def _pread_into(fd: int, target: memoryview, offset: int) -> int:
    data = os.pread(fd, len(target), offset)
    target[:len(data)] = data
    return len(data)
