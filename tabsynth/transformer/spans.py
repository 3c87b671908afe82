"""The layout of an encoded table: the spans of the encoded vector and each column's spec.

:class:`Span` and :class:`DiscreteSpan` are public (``DataTransformer.output_info``,
``DataTransformer.discrete_spans``); :class:`ContinuousSpec` / :class:`DiscreteSpec` (and
:class:`~tabsynth.transformer.binning.Binned` for ``numeric_encoding="bins"``) are what the
per-column encoders and decoders of :mod:`.encode` / :mod:`.decode` read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..metadata import ColumnMetadata
from ..stats.schema import CategoricalStats, DatetimeStats, NumericStats

__all__ = ["ContinuousSpec", "DiscreteSpan", "DiscreteSpec", "Span"]


@dataclass(frozen=True)
class Span:
    """A block of the encoded vector.

    ``kind`` is ``"value"`` (1 dim, tanh), ``"mode"`` (softmax over modes), ``"category"``
    (softmax over categories) or ``"missing"`` (softmax, 2 dims: [present, missing]).
    """

    column: str
    kind: str
    start: int
    dim: int
    activation: str


@dataclass(frozen=True, eq=False)
class DiscreteSpan:
    """A categorical/boolean column covered by the conditional vector.

    ``start``/``dim`` locate its one-hot block in the encoded data vector; ``cond_start`` its
    block in the conditional vector. ``categories`` ends with ``None`` when the column has a
    missing slot; ``frequencies`` (summing to 1) include the missing rate in that slot.
    """

    column: str
    start: int
    dim: int
    categories: tuple
    frequencies: np.ndarray
    cond_start: int = 0


@dataclass(frozen=True)
class ContinuousSpec:
    """A numerical/datetime column in the mode-specific normalisation (``"modes"``)."""

    name: str
    meta: ColumnMetadata
    stats: NumericStats | DatetimeStats
    value: int
    mode: int
    n_modes: int
    missing: int | None  # start of the [present, missing] span


@dataclass(frozen=True)
class DiscreteSpec:
    """A categorical/boolean column: one-hot over its categories (+ a missing slot)."""

    name: str
    meta: ColumnMetadata
    stats: CategoricalStats
    start: int
    dim: int
    has_nan: bool
    index: pd.Index
