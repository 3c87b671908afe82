"""The layout of a numeric column's DP histogram (one Gaussian measurement with a missing
bin, :func:`~tabsynth.stats.private_columns.continuous_stats`) and its post-processing cut.

:func:`histogram_edges` fixes the bins from the bounds alone (public or DP: never from the
values), :func:`histogram_counts` counts a table's values on them (counts of record batches
add up), :func:`tighten` drops noise-level edge bins of the noisy histogram.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats as sps

__all__ = ["CLIP_WARN_SHARE", "GEOMETRIC_SPAN", "clipped_rows", "histogram_counts",
           "histogram_edges", "point_values", "tighten"]

#: The geometric half of a non-negative column's DP histogram edges starts at this share of
#: its upper bound (:func:`histogram_edges`).
GEOMETRIC_SPAN = 1e-4
#: At most this share of a column's noisy mass is cut off when tightening DP bounds.
_TIGHTEN_MASS = 0.02
#: A DP fit warns when :func:`clipped_rows` puts at least this share of the table's (noisy)
#: rows above a column's DP upper bound.
CLIP_WARN_SHARE = 0.05
#: ... and only when the count at the bound is beyond this many noise standard deviations
#: (pure noise gets there in 3 of 100,000 columns; at 3 sd, 1 in 750 columns of a 200-row
#: table warned falsely in test_dp_clipped_warning.py's end-to-end case).
_CLIP_Z = 4.0
#: Bins below the bound whose density gives an integer column's own rows at the bound.
_CLIP_NEIGHBOURS = 4


def histogram_edges(lo: float, hi: float, is_integer: bool, n_bins: int,
                    detail: bool = False) -> tuple[np.ndarray | None, bool]:
    """``(edges or None, one bin per integer?)`` of a column's histogram over ``[lo, hi]``:
    ``n_bins`` equal bins (one per integer on a small integer range); ``None`` for a point.
    With ``detail`` (the ARSynthesizer's statistics: ``compute_private_stats(point_bins=
    True)``), a non-negative range gets half its edges equal and half geometric from
    :data:`GEOMETRIC_SPAN` of the upper bound (the union: still one partition): an amount
    column's values crowd near 0, where equal bins over a declared [0, 1e6] are 10,000 wide
    (on bench_ar_unlike.py's amounts table, the KS distance between the amount and its DP
    quantiles went from 0.386 to 0.129; adult's capital-gain 0.013 to 0.009), and the bins
    also get a zero-width bin ``[a, a]`` (two equal edges) at each of
    :func:`point_values`: a point mass there (adult's capital-gain: 92% zeros) is counted on
    its own instead of being smeared over the bin ``[0, 1000)`` by the quantiles, and the
    rows clipped to the upper bound are counted apart from those below it. The
    layout depends on the bounds alone (public or DP), and each value still lands in
    exactly one bin (:func:`histogram_counts`), so the sensitivity stays 1."""
    if not hi > lo:
        return None, False
    aligned = (is_integer and lo == math.floor(lo) and hi == math.floor(hi)
               and hi - lo + 1 <= n_bins)
    if aligned:  # one bin per integer
        return lo - 0.5 + np.arange(int(hi - lo) + 2, dtype=float), True
    edges = np.linspace(lo, hi, n_bins + 1)
    if not detail:
        return edges, False
    if lo >= 0.0 and n_bins >= 4:  # half the edges geometric: detail where amounts crowd
        start = max(lo, hi * GEOMETRIC_SPAN)
        if start > 0.0 and hi / start > 2.0:
            edges = np.unique(np.concatenate([np.linspace(lo, hi, n_bins // 2 + 1),
                                              np.geomspace(start, hi, n_bins - n_bins // 2)]))
    pts = point_values(lo, hi)
    # each point twice among the edges (once more if it is an edge already): a zero-width bin
    return np.sort(np.concatenate([edges, pts, [p for p in pts if p not in edges]])), False


def point_values(lo: float, hi: float) -> list[float]:
    """Values of ``[lo, hi]`` whose equal-bin DP histogram gets a zero-width bin of their
    own: the lower bound, and 0 where the range crosses it (the point bins that
    :func:`~tabsynth.transformer.binning.quantile_bins` gives every column), and the upper
    bound, where the rows clipped to it land (no row of a DP range's highest grid bin equals
    the bound: :func:`clipped_rows`)."""
    return [float(lo)] + ([0.0] if lo < 0.0 < hi else []) + [float(hi)]


def histogram_counts(vals: np.ndarray, edges: np.ndarray | None) -> np.ndarray:
    """Exact counts of ``vals`` (floats, NaN = missing) on ``edges`` plus a missing bin
    (a point, ``edges=None``: present vs missing). Bins are ``[e_i, e_{i+1})`` (the last one
    closed); a zero-width bin ``[a, a]`` holds the values equal to ``a``, and the bin after
    it those above. Values beyond the bounds count at them. Counts of batches add up."""
    isna = np.isnan(vals)
    if edges is None:
        return np.bincount(isna.astype(np.int64), minlength=2)
    nb = len(edges) - 1
    x = np.clip(vals[~isna], edges[0], edges[-1])
    codes = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, nb - 1)
    point = np.flatnonzero(edges[:-1] == edges[1:])
    if point.size:
        at = edges[point]
        pos = np.clip(np.searchsorted(at, x), 0, len(at) - 1)
        codes = np.where(at[pos] == x, point[pos], codes)
    out = np.bincount(codes, minlength=nb + 1)
    out[nb] += int(isna.sum())
    return out


def tighten(ctx: Any, hist: np.ndarray, edges: np.ndarray, aligned: bool,
             is_integer: bool) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Drop edge bins that are below the dp_bounds-style noise threshold AND, together, hold a
    negligible share (``_TIGHTEN_MASS``) of the noisy mass, keeping a range of positive
    width (never only zero-width point bins); returns ``(hist, edges, lo, hi)``.

    Cutting to "the outermost bins that clear the threshold" alone collapses the range on small
    tables, where every bin of a spread-out column is below the threshold (a 5,000-row age
    column at epsilon=1 came out as [10, 12.8]). Post-processing only.
    """
    nb = len(hist)
    thr = ctx.nm * float(sps.norm.isf(0.01 / nb))
    pos = np.clip(hist, 0.0, None)
    allowance = _TIGHTEN_MASS * float(pos.sum())
    first, dropped = 0, 0.0
    while first < nb - 1 and hist[first] <= thr and dropped + pos[first] <= allowance:
        dropped += float(pos[first])
        first += 1
    last = nb - 1
    while last > first and hist[last] <= thr and dropped + pos[last] <= allowance:
        dropped += float(pos[last])
        last -= 1
    # zero-width point bins alone (point_bins) would leave the range [a, a]: keep a bin of
    # positive width next to them (above if there is one)
    while edges[last + 1] <= edges[first] and (last < nb - 1 or first > 0):
        if last < nb - 1:
            last += 1
        else:
            first -= 1
    hist = hist[first:last + 1]
    edges = edges[first:last + 2]
    if aligned:
        lo, hi = float(edges[0] + 0.5), float(edges[-1] - 0.5)
    elif is_integer:
        lo, hi = float(math.floor(edges[0])), float(math.ceil(edges[-1]))
    else:
        lo, hi = float(edges[0]), float(edges[-1])
    return hist, edges, lo, hi


def clipped_rows(hist: np.ndarray, edges: np.ndarray, aligned: bool, sigma: float,
                 is_integer: bool = False) -> float:
    """The noisy count of a column's rows clipped to its DP upper bound, read off the noisy
    histogram over the bounds (``hist``: present bins only; post-processing), or 0.0.

    A DP upper bound is the upper edge of the highest accepted bin of the bounds grid
    (:func:`~tabsynth.privacy.dp_bounds`), a value no row of the accepted bins takes, so the
    rows counted at the bound are rows at or above it, clipped to it
    (:func:`histogram_counts`): the zero-width bin at the bound (``histogram_edges(...,
    detail=True)``), or the top integer's bin (``aligned``). An integer column's bound can
    also be a value of its own rows, left as they are (a 0/1 column's bound 1): there the
    rows the density of the :data:`_CLIP_NEIGHBOURS` bins below predicts at one integer are
    subtracted. 0.0 for a layout without a bin at the bound (equal bins: the top bin mixes
    clipped rows with those below the bound), and unless the excess is beyond
    :data:`_CLIP_Z` standard deviations of its noise (``sigma``: each count's). Not for
    declared bounds, where rows at the bound are legitimate.
    """
    hist = np.asarray(hist, dtype=float)
    widths = np.diff(np.asarray(edges, dtype=float))
    if len(hist) < 2 or len(widths) != len(hist) or not (aligned or widths[-1] == 0):
        return 0.0
    expected, noise_var = 0.0, sigma * sigma
    if aligned or is_integer:
        below = np.flatnonzero(widths[:-1] > 0)[-_CLIP_NEIGHBOURS:]
        if below.size:
            scale = 1.0 / float(widths[below].sum())  # rows at one integer per row counted
            expected = float(np.clip(hist[below], 0.0, None).sum()) * scale
            noise_var += below.size * (sigma * scale) ** 2
    excess = float(hist[-1]) - expected
    return excess if excess > _CLIP_Z * math.sqrt(noise_var) else 0.0
