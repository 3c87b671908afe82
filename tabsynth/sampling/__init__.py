"""Sampling from a fitted synthesizer: what happens after ``fit``.

- ``conditions`` — ``{column: value | (lo, hi) | [values]}`` parsed against the transformer;
  exact through the network where the model can, bounded rejection for the rest;
- ``chunks`` — chunked generation (``sample`` / ``sample_to``: bounded memory, exactly ``n``
  rows) and the streaming table writer;
- ``correction`` — the DP post-processing of a DP-SGD model's rows onto its DP marginals;
- ``rare`` — rare regions (numeric tails, rare categories) of a column;
- ``strategy`` — how many rows to add per class (imbalanced-learn's ``sampling_strategy``);
- ``oversampler`` (``Oversampler``), ``labels`` (the DP label domain and per-class sizes),
  ``cleaning`` (SMOTE and the real-data filter: non-private) — rare-class oversampling;
- ``augment`` — the augmented table of ``tabsynth sample --oversample``;
- ``partitioned`` — ``sample_to_dataset``: a partitioned Parquet dataset from independent
  seeded partitions, in parallel worker processes (``tabsynth sample --partitions``).

Attributes load lazily (the oversampler imports scikit-learn; nothing here imports torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

__all__ = ["Oversampler", "iter_rare_chunks", "oversample_table", "resolve_sampling_strategy",
           "sample_rare", "sample_to_dataset"]

_LAZY = {
    "Oversampler": ("tabsynth.sampling.oversampler", "Oversampler"),
    "iter_rare_chunks": ("tabsynth.sampling.rare", "iter_rare_chunks"),
    "oversample_table": ("tabsynth.sampling.augment", "oversample_table"),
    "resolve_sampling_strategy": ("tabsynth.sampling.strategy", "resolve_sampling_strategy"),
    "sample_rare": ("tabsynth.sampling.rare", "sample_rare"),
    "sample_to_dataset": ("tabsynth.sampling.partitioned", "sample_to_dataset"),
}

if TYPE_CHECKING:  # pragma: no cover
    from .augment import oversample_table
    from .oversampler import Oversampler
    from .partitioned import sample_to_dataset
    from .rare import iter_rare_chunks, sample_rare
    from .strategy import resolve_sampling_strategy

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals(), __all__)
