"""Quantile bins of a continuous column (the ``numeric_encoding="bins"`` of
:class:`~tabsynth.transformer.DataTransformer`, used by the marginal route and ARSynthesizer).

Built from statistics only (exact or DP quantiles, bounds, and for exact statistics the
column's support, ``NumericStats.atoms``): point masses and small integer ranges get a bin of
their own, the rest is cut at quantile levels; :func:`bin_codes` maps values to bins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..metadata import ColumnMetadata
from ..stats.schema import DatetimeStats, NumericStats

__all__ = ["Binned", "bin_codes", "quantile_bins", "quantile_levels", "quantile_values",
           "reaches_bound"]

#: Pickands' tail index is clipped to this range (-1: a uniform tail; 1: a Pareto tail with
#: an infinite mean, heavier than any amount column should get from four quantiles).
TAIL_INDEX_RANGE = (-1.0, 1.0)
#: Rows holding the upper bound (exact statistics, ``NumericStats.upper_count``) from which it
#: gets a point bin of its own: a top-coded value or sentinel (adult's age 90 in 28 rows,
#: capital-gain 99999 in 124) comes back as itself, at its rate. A maximum held by fewer rows
#: (one person's value, as most continuous maxima) stays inside the top bin's tail.
UPPER_POINT_ROWS = 10


@dataclass(frozen=True, eq=False)
class Binned:
    """A continuous column encoded as one softmax over quantile bins (``numeric_encoding="bins"``).

    Bin ``b`` holds the values in ``[lo[b], hi[b]]`` (integers) or ``[lo[b], hi[b])`` (floats;
    ``lo == hi`` is a point). ``cuts``/``interval_bin`` map a value to its interval bin,
    ``atoms``/``atom_bin`` the point masses to theirs.
    """

    name: str
    meta: ColumnMetadata
    stats: NumericStats | DatetimeStats
    start: int
    dim: int  # bins (+1 missing slot)
    n_bins: int
    has_nan: bool
    is_integer: bool
    lo: np.ndarray
    hi: np.ndarray
    cuts: np.ndarray
    interval_bin: np.ndarray
    atoms: np.ndarray
    atom_bin: np.ndarray
    levels: np.ndarray  # (n_bins, 2) quantile levels each bin spans
    quantiles: np.ndarray


def reaches_bound(st: NumericStats | DatetimeStats) -> bool:
    """Whether the column's bounds are values of the data (exact statistics: its minimum and
    maximum), which the tails must then reach; under DP the bounds are declared or noisy and
    may lie far beyond the data."""
    return getattr(st, "source", "exact") == "exact"


def _integer_quantiles(q: np.ndarray, *, exact: bool) -> np.ndarray:
    """Quantiles of an integer column as integers. DP quantiles of a small range come from a
    histogram with one bin per value, ``[k - 0.5, k + 0.5)``, so a half-integer is a bin edge:
    towards the median it belongs to the value inside the data (the lowest quantile 0.5 is
    value 1, the highest 5.5 value 5; half to even made 5.5 a 6 but 16.5 a 16). Exact
    quantiles keep ``numpy.round``."""
    if exact:
        return np.round(q)
    low_half = np.linspace(0.0, 1.0, len(q)) <= 0.5
    return np.where(low_half, np.floor(q + 0.5), np.ceil(q - 0.5))


def quantile_bins(st: NumericStats | DatetimeStats, n_bins: int, is_integer: bool):
    """(lo, hi, cuts, interval_bin, atoms, atom_bin) of the bins of one column (see Binned)."""
    lower, upper = float(st.lower), float(st.upper)
    if is_integer:
        lower, upper = float(np.ceil(lower)), float(np.floor(upper))
        upper = max(upper, lower)
    q = np.asarray(st.quantiles if st.quantiles else np.linspace(lower, upper, 101), dtype=float)
    q = np.clip(q, lower, upper)
    if is_integer:
        q = _integer_quantiles(q, exact=reaches_bound(st))
    support = getattr(st, "atoms", None)  # exact statistics: every value the column holds
    support = [a for a in (support or ()) if lower <= a <= upper]
    if support and (not is_integer or upper - lower + 1 > n_bins):
        return _support_bins(np.asarray(sorted(support), dtype=float), q, is_integer,
                             reaches_bound(st))
    if is_integer and upper - lower + 1 <= n_bins:  # one bin per integer
        atoms = np.arange(lower, upper + 1.0)
        cuts = atoms.copy()
    else:
        vals, counts = np.unique(q, return_counts=True)
        per_bin = int(np.ceil((len(q) - 1) / n_bins))
        atoms = vals[counts > per_bin]  # a value holding at least a bin's worth of mass
        # the lower bound and 0 always get a point bin: point masses there (capital-gain == 0)
        # are common and histogram quantiles smear them; the measured marginal says how much.
        # The upper bound gets one when exact statistics count enough rows there.
        extra = [lower] + ([0.0] if lower < 0.0 < upper else [])
        if (getattr(st, "upper_count", None) or 0) >= UPPER_POINT_ROWS:
            extra.append(upper)
        atoms = np.unique(np.concatenate([atoms, extra]))
        levels = np.round(np.linspace(0, len(q) - 1, n_bins + 1)).astype(int)
        cuts = np.unique(np.concatenate([q[levels], [lower, upper], atoms]))
    lo: list[float] = []
    hi: list[float] = []
    interval_bin = np.full(max(len(cuts) - 1, 1), -1, dtype=np.int64)
    atom_bin = np.zeros(len(atoms), dtype=np.int64)
    atom_set = set(atoms.tolist())
    a_pos = {v: i for i, v in enumerate(atoms.tolist())}
    # walk the cut points in order: atom point bins, then the interval to the next cut
    for i in range(len(cuts)):
        c = float(cuts[i])
        if c in atom_set:
            atom_bin[a_pos[c]] = len(lo)
            lo.append(c)
            hi.append(c)
        if i == len(cuts) - 1:
            break
        nxt = float(cuts[i + 1])
        last = i == len(cuts) - 2
        if is_integer:
            a = c + 1 if c in atom_set else c
            b = nxt if (last and nxt not in atom_set) else nxt - 1
            if b < a:
                continue
        else:
            a, b = c, nxt
        interval_bin[i] = len(lo)
        lo.append(a)
        hi.append(b)
    if not lo:  # a single point (lower == upper)
        lo, hi = [lower], [lower]
        atoms, atom_bin = np.array([lower]), np.zeros(1, dtype=np.int64)
    # empty intervals (integers): values cannot land there; route defensively to the nearest bin
    valid = np.flatnonzero(interval_bin >= 0)
    if valid.size:
        idx = np.arange(len(interval_bin))
        nearest = valid[np.clip(np.searchsorted(valid, idx), 0, len(valid) - 1)]
        interval_bin = interval_bin[nearest]
    else:
        interval_bin[:] = atom_bin[0]
    return _with_levels(np.asarray(lo, dtype=float), np.asarray(hi, dtype=float), cuts,
                        interval_bin, np.asarray(atoms, dtype=float), atom_bin, q, is_integer,
                        reaches_bound(st))


def _support_bins(atoms: np.ndarray, q: np.ndarray, is_integer: bool, reach: bool):
    """One point bin per value of a column whose every value is known (``NumericStats.atoms``,
    exact statistics): nothing is drawn between them. A value between two of them (none in
    the fitted table) goes to the lower one's bin."""
    k = len(atoms)
    return _with_levels(atoms.copy(), atoms.copy(), atoms.copy(),
                        np.arange(max(k - 1, 1), dtype=np.int64), atoms,
                        np.arange(k, dtype=np.int64), q, is_integer, reach)


def _with_levels(lo_a, hi_a, cuts, interval_bin, atoms, atom_bin, q, is_integer, reach):
    """The bins plus the quantile levels each spans: values are drawn by inverting the
    quantile function (:func:`quantile_values`)."""
    upper_edge = hi_a + (1.0 if is_integer else 0.0)
    lev = np.stack([quantile_levels(lo_a, q, reach_bound=reach),
                    quantile_levels(upper_edge, q, reach_bound=reach)], axis=1)
    return (lo_a, hi_a, cuts, interval_bin, atoms, atom_bin, lev, q)


def bin_codes(spec: Binned, x: np.ndarray) -> np.ndarray:
    """The bin of each value ``x`` (the column's numeric space; NaN: the missing slot)."""
    nan = np.isnan(x)
    x = np.where(nan, spec.lo[0], x)
    lower, upper = float(spec.cuts[0]), float(spec.cuts[-1])
    x = np.clip(x, lower, upper)
    if spec.is_integer:
        x = np.round(x)
    k = np.clip(np.searchsorted(spec.cuts, x, side="right") - 1, 0,
                len(spec.interval_bin) - 1)
    codes = spec.interval_bin[k]
    if spec.atoms.size:
        pos = np.clip(np.searchsorted(spec.atoms, x), 0, len(spec.atoms) - 1)
        hit = spec.atoms[pos] == x
        codes = np.where(hit, spec.atom_bin[pos], codes)
    if spec.has_nan:
        codes = np.where(nan, spec.dim - 1, codes)
    return codes.astype(np.int64)


# ---------------------------------------------------------------------------- quantile function
# Between two of the K+1 quantiles (levels 0, 1/K, ..., 1) the quantile function is linear,
# except in the two outermost segments: there the spacing of the quantiles says nothing of
# the shape between the 99th percentile and the maximum, and linear interpolation makes the
# top 1% uniform on [q99, max] (a lognormal amount's 99.9th percentile came back 4.7x too
# high). There the values follow a generalized Pareto tail whose index comes from the
# quantiles next to it (Pickands' estimator, xi = log2((q[K-1] - q[K-2]) / (q[K-2] - q[K-4])):
# -1 is a uniform tail, so evenly spaced quantiles stay linear), truncated at the bound so
# that the segment still spans exactly [q[K-1], q[K]]. With ``reach_bound`` (exact statistics,
# whose bound is the data's maximum: :func:`reaches_bound`) a negative index whose tail would end
# below the bound is raised to the least one that reaches it. Not under DP: there the bound is
# declared or noisy, and reaching it put mass far beyond the data (adult at epsilon 1: shapes
# 0.966 -> 0.906).
def _g(t: np.ndarray, xi: float) -> np.ndarray:
    """``(t**xi - 1) / xi`` (``log t`` at ``xi == 0``)."""
    return np.log(t) if abs(xi) < 1e-9 else np.expm1(xi * np.log(t)) / xi


def _g_inv(y: np.ndarray, xi: float) -> np.ndarray:
    if abs(xi) < 1e-9:
        return np.exp(y)
    base = 1.0 + xi * y
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(base > 0, np.power(np.maximum(base, 1e-300), 1.0 / xi), np.inf)


def _upper_tail(q: np.ndarray, reach_bound: bool = False
                ) -> tuple[float, float, float, float, float] | None:
    """``(xi, anchor, d1, h, p_top)`` of the upper tail segment, or ``None`` (linear): ``x(p) =
    anchor + d1 g(2h / p) / g(2)`` for the survival ``p`` in ``[p_top, h]``."""
    k = len(q) - 1
    if k < 8:
        return None
    h = 1.0 / k
    d1, d2, top = q[k - 1] - q[k - 2], q[k - 2] - q[k - 4], q[k] - q[k - 1]
    if not (d1 > 0 and d2 > 0 and top > 0):
        return None
    xi = float(np.clip(np.log2(d1 / d2), *TAIL_INDEX_RANGE))
    if reach_bound and xi < 0 and d1 / (1.0 - 2.0**xi) < q[k] - q[k - 2]:
        # a short tail ending below the bound (capital-loss: at 2,052 against a maximum of
        # 4,356, with 0.7% of the rows above 2,052): the least index whose tail reaches it
        xi = min(float(np.log2(1.0 - d1 / (q[k] - q[k - 2]))), 0.0)
    g2 = float(_g(np.asarray(2.0), xi))
    t_top = float(_g_inv(np.asarray((q[k] - q[k - 2]) * g2 / d1), xi))
    p_top = 2.0 * h / t_top if np.isfinite(t_top) else 0.0
    if not p_top < h:
        return None
    return xi, float(q[k - 2]), float(d1), h, p_top


def _tail_values(u: np.ndarray, q: np.ndarray, tail) -> np.ndarray:
    """Values at levels ``u`` in the top segment ``[1 - h, 1]``."""
    xi, anchor, d1, h, p_top = tail
    p = h - (u - (1.0 - h)) / h * (h - p_top)
    p = np.clip(p, max(p_top, 1e-300), h)
    x = anchor + d1 * _g(2.0 * h / p, xi) / _g(np.asarray(2.0), xi)
    return np.clip(x, q[-2], q[-1])


def _tail_levels(x: np.ndarray, q: np.ndarray, tail) -> np.ndarray:
    """Levels in ``[1 - h, 1]`` of values ``x`` in ``[q[K-1], q[K]]`` (inverse of
    :func:`_tail_values`)."""
    xi, anchor, d1, h, p_top = tail
    t = _g_inv((np.clip(x, q[-2], q[-1]) - anchor) * _g(np.asarray(2.0), xi) / d1, xi)
    with np.errstate(divide="ignore"):
        p = np.where(np.isfinite(t), 2.0 * h / t, 0.0)
    p = np.clip(p, p_top, h)
    return (1.0 - h) + (h - p) / (h - p_top) * h


def quantile_values(levels: np.ndarray, q: np.ndarray, *,
                    reach_bound: bool = False) -> np.ndarray:
    """The quantile function at ``levels`` (in ``[0, 1]``) given the quantiles ``q`` at evenly
    spaced levels: linear between them, a truncated generalized Pareto tail in the two
    outermost segments (comment above)."""
    q = np.asarray(q, dtype=float)
    levels = np.asarray(levels, dtype=float)
    x = np.interp(levels, np.linspace(0.0, 1.0, len(q)), q)
    k = len(q) - 1
    if k < 8:
        return x
    up, low = _upper_tail(q, reach_bound), _upper_tail(-q[::-1], reach_bound)
    if up is not None:
        top = levels > 1.0 - 1.0 / k
        x = np.where(top, _tail_values(levels, q, up), x)
    if low is not None:
        bottom = levels < 1.0 / k
        x = np.where(bottom, -_tail_values(1.0 - levels, -q[::-1], low), x)
    return x


def quantile_levels(x: np.ndarray, q: np.ndarray, *, reach_bound: bool = False) -> np.ndarray:
    """The inverse of :func:`quantile_values`: the level of each value ``x``."""
    q = np.asarray(q, dtype=float)
    x = np.asarray(x, dtype=float)
    lev = np.interp(x, q, np.linspace(0.0, 1.0, len(q)))
    k = len(q) - 1
    if k < 8:
        return lev
    up, low = _upper_tail(q, reach_bound), _upper_tail(-q[::-1], reach_bound)
    if up is not None:
        lev = np.where(x > q[-2], _tail_levels(x, q, up), lev)
    if low is not None:
        lev = np.where(x < q[1], 1.0 - _tail_levels(-x, -q[::-1], low), lev)
    return lev
