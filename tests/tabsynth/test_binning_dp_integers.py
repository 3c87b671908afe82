"""Bins of a small-range integer column from DP quantiles.

A DP histogram of an integer column on a small range has one bin per value, ``[k - 0.5,
k + 0.5)`` (``stats.dp_histogram.histogram_edges``), so its outermost quantiles are bin
edges: 5.5 is the top of value 5, 1.5 the bottom of value 2. Rounding them half to even gave
value 6 mass (5.5 -> 6) but not value 17 (16.5 -> 16): a parity-dependent off-by-one at the
top of the data. The lowest quantile rounds half up, the highest half down.
"""

from __future__ import annotations

import numpy as np
import pytest

from tabsynth.stats import NumericStats
from tabsynth.transformer.binning import quantile_bins


def _dp_stats(lower: float, upper: float, first: float, last: float) -> NumericStats:
    # DP-like quantiles: a histogram with mass on the values from round(first + 0.5) to
    # round(last - 0.5), uniform inside; outermost quantiles at the bins' outer edges
    q = tuple(np.linspace(first, last, 101).tolist())
    return NumericStats(lower, upper, True, 0, 0.0, (1.0,), ((lower + upper) / 2,), (1.0,),
                        quantiles=q, source="dp")


@pytest.mark.parametrize("first, last, values", [
    (0.5, 5.5, (1, 5)),    # weeks of a month: 1..5 on a DP range [1, 10]
    (1.5, 16.5, (2, 16)),  # an even top
    (1.5, 17.5, (2, 17)),  # an odd top (half to even made it 18)
    (2.5, 4.5, (3, 4)),
])
def test_outer_dp_quantiles_map_to_the_outermost_values(first, last, values):
    st = _dp_stats(1.0, 20.0, first, last)
    *_, q = quantile_bins(st, 48, True)  # the quantiles come last
    assert (q.min(), q.max()) == values


def test_exact_integer_quantiles_are_unchanged():
    st = NumericStats(1.0, 20.0, True, 0, 0.0, (1.0,), (5.0,), (1.0,),
                      quantiles=tuple(np.round(np.linspace(1, 9, 101)).tolist()))
    *_, q = quantile_bins(st, 48, True)  # the quantiles come last
    np.testing.assert_array_equal(q, np.round(np.linspace(1, 9, 101)))
