"""A bound on the categories one column may model (memory and time stay bounded).

A categorical column becomes one-hot (CTGAN, TVAE): a column with 50,000 distinct values on a
45,000-row table is a 9 GB matrix before training starts. :func:`cap_categories` keeps the
``MAX_CATEGORIES - 1`` most frequent categories of a column's statistics and folds every other
one into a single ``other`` category, with a warning giving the count:

* when every category is a string, the bucket is the sentinel ``"__other__"`` (underscores
  added if a real category has that name); sampled rows may contain it;
* otherwise (integers, floats, ...) the most frequent kept category absorbs the folded mass,
  so the column keeps its dtype;
* an ``other`` the statistics already have (DP folding of rare values) stays and absorbs it.

It runs on the statistics only (post-processing): under DP it reads the noisy frequencies, and
the warning states counts of *released* categories, nothing about the private values.
Declare the column as ``id`` or ``text`` (not modelled) when its values are keys or free text.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import DataWarning
from .schema import CategoricalStats

__all__ = ["MAX_CATEGORIES", "OTHER", "cap_categories"]

#: Most categories one column models (the rest are folded into one "other" category).
MAX_CATEGORIES = 1000
OTHER = "__other__"


def cap_categories(name: str, st: CategoricalStats,
                   max_categories: int = MAX_CATEGORIES) -> CategoricalStats:
    """``st`` with at most ``max_categories`` categories (see the module docstring)."""
    cats, freqs = list(st.categories), np.asarray(st.frequencies, dtype=float)
    if len(cats) <= max_categories:
        return st
    order = sorted(range(len(cats)), key=lambda i: (-freqs[i], i))
    text = all(isinstance(c, str) for c in cats)
    keep_n = max_categories - 1 if (text and st.other is None) else max_categories
    keep = order[:keep_n]
    if st.other is not None:
        j = cats.index(st.other)
        if j not in keep:
            keep = [*keep[:-1], j]
    keep = sorted(keep)  # keep the statistics' order
    dropped = [i for i in range(len(cats)) if i not in set(keep)]
    folded = float(freqs[dropped].sum())
    new_cats = [cats[i] for i in keep]
    new_freqs = [float(freqs[i]) for i in keep]
    if st.other is not None:
        other = st.other
    elif text:
        other = OTHER
        while other in cats:
            other += "_"
        new_cats.append(other)
        new_freqs.append(0.0)
    else:
        other = new_cats[int(np.argmax(new_freqs))]
    new_freqs[new_cats.index(other)] += folded
    warnings.warn(
        f"Column {name!r} has {len(cats):,} categories, more than the {max_categories:,} a "
        f"column models: the {len(dropped):,} least frequent ({folded:.1%} of the rows) are "
        f"folded into {other!r}. If the column holds keys or free text, declare it sdtype "
        "'id' or 'text' (not modelled).",
        DataWarning, stacklevel=3,
    )
    total = sum(new_freqs)
    return CategoricalStats(tuple(new_cats), tuple(f / total for f in new_freqs),
                            st.missing_rate, source=st.source, other=other)
