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

__all__ = ["Binned", "bin_codes", "quantile_bins"]


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


def quantile_bins(st: NumericStats | DatetimeStats, n_bins: int, is_integer: bool):
    """(lo, hi, cuts, interval_bin, atoms, atom_bin) of the bins of one column (see Binned)."""
    lower, upper = float(st.lower), float(st.upper)
    if is_integer:
        lower, upper = float(np.ceil(lower)), float(np.floor(upper))
        upper = max(upper, lower)
    q = np.asarray(st.quantiles if st.quantiles else np.linspace(lower, upper, 101), dtype=float)
    q = np.clip(q, lower, upper)
    if is_integer:
        q = np.round(q)
    support = getattr(st, "atoms", None)  # exact statistics: every value the column holds
    support = [a for a in (support or ()) if lower <= a <= upper]
    if support and (not is_integer or upper - lower + 1 > n_bins):
        return _support_bins(np.asarray(sorted(support), dtype=float), q, is_integer)
    if is_integer and upper - lower + 1 <= n_bins:  # one bin per integer
        atoms = np.arange(lower, upper + 1.0)
        cuts = atoms.copy()
    else:
        vals, counts = np.unique(q, return_counts=True)
        per_bin = int(np.ceil((len(q) - 1) / n_bins))
        atoms = vals[counts > per_bin]  # a value holding at least a bin's worth of mass
        # the lower bound and 0 always get a point bin: point masses there (capital-gain == 0)
        # are common and histogram quantiles smear them; the measured marginal says how much
        extra = [lower] + ([0.0] if lower < 0.0 < upper else [])
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
                        interval_bin, np.asarray(atoms, dtype=float), atom_bin, q, is_integer)


def _support_bins(atoms: np.ndarray, q: np.ndarray, is_integer: bool):
    """One point bin per value of a column whose every value is known (``NumericStats.atoms``,
    exact statistics): nothing is drawn between them. A value between two of them (none in
    the fitted table) goes to the lower one's bin."""
    k = len(atoms)
    return _with_levels(atoms.copy(), atoms.copy(), atoms.copy(),
                        np.arange(max(k - 1, 1), dtype=np.int64), atoms,
                        np.arange(k, dtype=np.int64), q, is_integer)


def _with_levels(lo_a, hi_a, cuts, interval_bin, atoms, atom_bin, q, is_integer):
    """The bins plus the quantile levels each spans: values are drawn by inverting the
    quantile function."""
    levels01 = np.linspace(0.0, 1.0, len(q))
    upper_edge = hi_a + (1.0 if is_integer else 0.0)
    lev = np.stack([np.interp(lo_a, q, levels01), np.interp(upper_edge, q, levels01)], axis=1)
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
