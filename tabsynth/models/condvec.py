"""CTGAN's conditional vectors: which (column, category) a row is conditioned on.

Shared by the non-private training in :mod:`tabsynth.models.ctgan` (training-by-sampling of
real rows) and by the DP-SGD training in :mod:`tabsynth.models.dp_training` (fake side only,
from the DP class frequencies). Needs numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ConditionSampler"]


class ConditionSampler:
    """Vectorised conditional vectors and training-by-sampling of real rows.

    Category probabilities come from the transformer's ``DiscreteSpan.frequencies`` (i.e.
    from ``TableStats``); the per-category row lists from ``category_codes`` of the training
    rows (training-by-sampling reads real rows by design; the DP variant must not use it).
    """

    def __init__(self, transformer: Any, codes: np.ndarray | None, *, log_frequency: bool,
                 n_rows: int) -> None:
        spans = transformer.discrete_spans
        self.n_discrete = len(spans)
        self.cond_dim = int(transformer.cond_dim)
        self.cond_starts = np.array([s.cond_start for s in spans], dtype=np.int64)
        self.dims = np.array([s.dim for s in spans], dtype=np.int64)
        width = int(self.dims.max()) if self.n_discrete else 0
        self.sample_cum = np.ones((self.n_discrete, width))
        self.train_cum = np.ones((self.n_discrete, width))
        self.has_rows = np.ones(self.n_discrete, dtype=bool)
        counts_in_data = None
        if codes is not None and self.n_discrete:
            counts_in_data = [
                np.bincount(codes[:, j], minlength=s.dim) for j, s in enumerate(spans)
            ]
        for j, s in enumerate(spans):
            freq = np.clip(np.asarray(s.frequencies, dtype=float), 0.0, None)
            if freq.sum() <= 0:
                freq = np.ones(s.dim)
            self.sample_cum[j, : s.dim] = np.cumsum(freq / freq.sum())
            train = np.log(freq * n_rows + 1.0) if log_frequency else freq.copy()
            if counts_in_data is not None:
                train = np.where(counts_in_data[j] > 0, train, 0.0)
                if train.sum() <= 0:  # categories known to the stats only: fall back to data
                    train = counts_in_data[j].astype(float)
            self.train_cum[j, : s.dim] = np.cumsum(train / train.sum())
        # Training-by-sampling: rows sorted by category code, per (column, category) slices.
        if codes is not None and self.n_discrete:
            n = codes.shape[0]
            order = np.argsort(codes, axis=0, kind="stable")  # (n, n_discrete)
            self.order = order.T.reshape(-1)  # span j occupies [j*n, (j+1)*n)
            self.cat_count = np.concatenate(counts_in_data)
            starts = []
            for j, c in enumerate(counts_in_data):
                starts.append(j * n + np.concatenate([[0], np.cumsum(c)[:-1]]))
            self.cat_start = np.concatenate(starts)

    @staticmethod
    def _draw(cum: np.ndarray, col: np.ndarray, dims: np.ndarray, rng: np.random.Generator):
        u = rng.random(len(col))
        opt = (u[:, None] > cum[col]).sum(axis=1)
        return np.minimum(opt, dims[col] - 1)

    def training_condvec(self, batch: int, rng: np.random.Generator):
        """(column, category, global cond index) per row: column uniform, log-frequency category."""
        col = rng.integers(self.n_discrete, size=batch)
        opt = self._draw(self.train_cum, col, self.dims, rng)
        return col, opt, self.cond_starts[col] + opt

    def original_condvec(self, batch: int, rng: np.random.Generator) -> np.ndarray:
        """Global cond index per row: column uniform, category by its frequency (for sampling)."""
        col = rng.integers(self.n_discrete, size=batch)
        opt = self._draw(self.sample_cum, col, self.dims, rng)
        return self.cond_starts[col] + opt

    def sample_rows(self, gidx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One random real row per entry, among the rows having that (column, category)."""
        count = self.cat_count[gidx]
        pick = (rng.random(len(gidx)) * count).astype(np.int64)
        return self.order[self.cat_start[gidx] + np.minimum(pick, np.maximum(count - 1, 0))]
