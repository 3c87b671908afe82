"""The encoded rows a training loop reads, one minibatch at a time.

A numpy array (an in-memory fit) goes to the device once, as int64, as it always did; a
``numpy.memmap`` (a streaming fit, :mod:`tabsynth.models.streaming`) stays on disk and each
minibatch is gathered from it (``take``): the loop's sampling (a permutation, Poisson masks
over all ``n`` rows) is unchanged, only the rows it names are read.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["RowStore"]


class RowStore:
    """``take(idx)`` -> the rows ``idx`` (numpy indices) as an int64 tensor on ``device``."""

    def __init__(self, codes: np.ndarray, device: Any) -> None:
        import torch

        self.device = device
        self.n = len(codes)
        if isinstance(codes, np.memmap):
            self._disk: np.memmap | None = codes
            self._data = None
        else:
            self._disk = None
            self._data = torch.from_numpy(np.ascontiguousarray(codes, dtype=np.int64)).to(device)

    def __len__(self) -> int:
        return self.n

    def take(self, idx: np.ndarray) -> Any:
        import torch

        idx = np.asarray(idx, dtype=np.int64)
        if self._data is not None:
            return self._data[torch.from_numpy(idx).to(self.device)]
        rows = np.asarray(self._disk[idx], dtype=np.int64)  # type: ignore[index]
        return torch.from_numpy(rows).to(self.device)
