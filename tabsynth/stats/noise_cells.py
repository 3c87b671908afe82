"""Post-processing of noisy DP histograms: cells that cannot be told from noise.

Both functions read only the noisy counts and their noise standard deviation (from the ledger
entry's scale): no row is read, nothing is charged. Used by :mod:`.private_columns`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SUPPORT_GROW_Z", "SUPPORT_SEED_Z", "drop_noise_bins", "even_out_noise_cells"]

#: Post-processing of a DP histogram (:func:`drop_noise_bins`): a bin whose noisy count
#: clears this many noise standard deviations is taken as holding rows...
SUPPORT_SEED_Z = 3.0
#: ...and so is a run of neighbouring bins above this many.
SUPPORT_GROW_Z = 0.5


def drop_noise_bins(hist: np.ndarray, sigma: float) -> np.ndarray:
    """The noisy histogram with the bins that are indistinguishable from empty set to 0.

    Under a wide declared range most bins are empty, and each one's positive noise (about
    0.4 sd on average once clipped) adds up to tail mass: 99 empty bins of 100 over
    ``[0, 1e6]`` gave 14% of a 4,000-row amount column, and a 99th percentile of ~340,000
    against 360. Kept: every bin above :data:`SUPPORT_SEED_Z` sd (an empty bin gets there
    with probability 0.0013) and the runs of neighbouring bins above :data:`SUPPORT_GROW_Z`
    sd that reach one (a tail that thins out bin by bin). Where no bin reaches the seed
    level, or where the bins to drop hold rows together (the sum of their noisy counts,
    zero-mean noise if they are empty, above :data:`SUPPORT_SEED_Z` times its sd: a column
    spread thinly over its bins), the histogram is left as it is. Pure
    post-processing of the noisy counts and their noise scale: no row is read, nothing is
    charged.
    """
    hist = np.asarray(hist, dtype=float)
    if sigma <= 0 or len(hist) < 2:
        return hist
    seed = hist > SUPPORT_SEED_Z * sigma
    if not seed.any():
        return hist
    grow = hist > SUPPORT_GROW_Z * sigma
    keep = seed.copy()
    for _ in range(len(hist)):  # grow the kept runs into neighbouring bins above `grow`
        nxt = keep.copy()
        nxt[1:] |= keep[:-1] & grow[1:]
        nxt[:-1] |= keep[1:] & grow[:-1]
        if (nxt == keep).all():
            break
        keep = nxt
    dropped = hist[~keep]
    if dropped.sum() > SUPPORT_SEED_Z * sigma * math.sqrt(max(len(dropped), 1)):
        return hist  # the dropped bins hold rows together (their noise alone sums to ~0)
    return np.where(keep, hist, 0.0)



def even_out_noise_cells(counts: np.ndarray, sigma: float) -> np.ndarray:
    """A declared domain's noisy counts with the cells indistinguishable from noise evened out.

    A domain much larger than the table (2,000 merchants over 3,000 rows) is mostly cells
    of zero to two rows, whose noise, once clipped, is most of the column's mass (the 50 most
    frequent values: 66% of the rows, 20% of the DP statistics at epsilon 1). Every cell
    below :data:`SUPPORT_SEED_Z` noise sd (an empty cell gets above with probability 0.0013)
    gets the same share of what those cells hold together (the sum of their noisy counts,
    whose noise is zero-mean, clipped at 0); a cell above keeps its count. Where no cell or
    every cell clears the level, the counts are returned as they are. Post-processing of
    the noisy counts and their noise scale: no row is read, nothing is charged, and no one
    row's value stands out among the cells evened out.
    """
    counts = np.asarray(counts, dtype=float)
    if sigma <= 0:
        return counts
    low = counts <= SUPPORT_SEED_Z * sigma
    if not low.any() or low.all():
        return counts
    out = counts.copy()
    out[low] = max(float(counts[low].sum()), 0.0) / int(low.sum())
    return out
