"""Differentially private per-column statistics: DP counterpart of :func:`.stats.compute_stats`.

:func:`compute_private_stats` is the only code of the DP path that reads the real table before
training (DESIGN.md, "Differential privacy: the rules", rule 2). Every number of the
:class:`~tabsynth.stats.TableStats` it returns (``source="dp"``) is either

* **public** — declared in the metadata (``public_bounds``, ``public_domain``) or fixed by the
  schema (the ``{False, True}`` domain of a ``bool`` column, ``is_integer`` from the
  ``representation``, the datetime ``unit`` from ``datetime_format``); recorded with
  :meth:`Ledger.declare_public`, costs nothing; or
* **post-processing of a Gaussian measurement** whose :class:`LedgerEntry` is in the returned
  :class:`Ledger`.

Measurements (one row added/removed changes each by at most its sensitivity)
-----------------------------------------------------------------------------
Per numerical / datetime column (datetimes as epoch seconds):

1. bounds — :func:`dp_bounds` (sensitivity 1), unless ``public_bounds``;
2. one histogram of ``n_bins`` equal bins over ``[lower, upper]`` **plus a "missing" bin**
   (sensitivity 1). Modes (:func:`gmm_modes_from_histogram`), the 101 quantiles
   (:func:`quantiles_from_histogram`), the missing rate and a noisy row count are all
   post-processing of this one measurement. Integer columns whose range has at most ``n_bins``
   values use one bin per integer. Without public bounds, the bounds are then tightened to the
   outermost bins whose noisy count clears ``sigma * Phi^-1(1 - 0.01/n_bins)`` (post-processing,
   as in :func:`dp_bounds`): sparse extreme bins are cut off, which also protects outliers.

Per categorical / boolean column:

* ``public_domain`` (or a ``bool``/``boolean`` dtype: ``{False, True}`` is public by schema) —
  one :func:`gaussian_histogram` over the domain plus a missing bin (sensitivity 1); negative
  counts are clipped, frequencies renormalised, and each category keeps a small floor
  (``min(1e-4, 0.01/K)`` before renormalising) so conditioning on it still works;
* otherwise :func:`discover_categories` (sensitivity ``sqrt(2)``, thresholded) on the values with
  missing values replaced by a private marker, so the missing rate comes from the same
  measurement. Released categories are sorted deterministically; everything below the threshold
  is folded into "other" (see below).

All ``k`` measurements use one noise multiplier from :func:`preprocessing_noise` so that together
they spend about ``share * budget.epsilon``.

Delta split
-----------
Category discovery releases a category present in only one of two neighbouring tables with a
small probability (its ``extra_delta``). That probability is paid out of ``budget.delta``:
``category_delta_share * budget.delta`` is split equally between the discovered columns (each
gets its threshold from :func:`threshold_for`), and the rest,
``(1 - category_delta_share) * budget.delta``, is the accountant's delta — both for the
preprocessing noise here and, through :attr:`Ledger.extra_delta`, for the DP-SGD calibration
that follows. Without discovered columns the accountant gets all of ``budget.delta``. So
``ledger.spent()`` (accountant at ``delta - extra_delta``) reports about
``share * epsilon`` with total delta ``budget.delta``.

The "other" category (categorical columns without ``public_domain``)
---------------------------------------------------------------------
Values whose noisy count did not clear the threshold are never named anywhere. Their mass goes
to ``CategoricalStats.other``, which the transformer uses for every unknown value:

* text-like columns (``str``/``string``/``object``/``category`` dtypes whose released
  categories are all strings): a sentinel category :data:`OTHER` (``"__other__"``, with extra
  underscores if a released category already has that name). Sampled rows may contain this
  sentinel: it stands for "some value too rare to be released" and never reveals a real rare
  value. Declare a ``public_domain`` to avoid it;
* other dtypes (integers, floats, object columns of bools, ...) have no representable sentinel:
  ``other`` is the most frequent released category, which also receives the folded mass — rare
  values are encoded as, and sampled as, that category, and the output keeps its dtype;
* if nothing at all clears the threshold in such a column, the sentinel is used anyway with a
  :class:`~tabsynth.privacy.PrivacyWarning` (the column then cannot keep a numeric dtype).

``TableStats.n_rows`` is a noisy count: the inverse-variance weighted mean of the totals of all
histograms (post-processing), never the exact ``n``.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from .category_cap import OTHER, cap_categories
from .errors import DataError, MetadataError, check_param
from .metadata import ColumnMetadata, Metadata, _bound_to_seconds
from .privacy import (
    ACCOUNTANTS,
    BudgetExceededError,
    Ledger,
    LedgerEntry,
    PrivacyBudget,
    PrivacyWarning,
    discover_categories,
    dp_bounds,
    gaussian_histogram,
    gmm_modes_from_histogram,
    preprocessing_noise,
    quantiles_from_histogram,
    threshold_for,
)
from .privacy.noise import is_noise_rng
from .stats import (
    _N_QUANTILES,
    CategoricalStats,
    ColumnStats,
    DatetimeStats,
    NumericStats,
    TableStats,
    _numeric_values,
    _py,
    _sort_key,
    datetime_to_seconds,
)

__all__ = ["OTHER", "compute_private_stats", "count_measurements"]

#: At most this share of a column's noisy mass is cut off when tightening DP bounds.
_TIGHTEN_MASS = 0.02

#: Category that stands for all values too rare to be released by DP category discovery.

_TIME_DIRECTIVES = re.compile(r"%[HIMSpXcTRrf]")
_STRING_DTYPES = ("object", "str", "string", "category")


class _Missing:
    """Marker for a missing value inside :func:`discover_categories` (never released)."""

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "<missing>"


_MISSING = _Missing()


# ------------------------------------------------------------------------------------- planning
def _is_bool_schema(col: ColumnMetadata, s: pd.Series | None = None) -> bool:
    """``{False, True}`` is public by schema: a column whose metadata says boolean.

    Decided by the metadata alone (never by the dtype of the values, which one row can
    change); the values must then be booleans."""
    return col.sdtype == "boolean"


def _plan(df: pd.DataFrame, metadata: Metadata) -> tuple[int, list[str]]:
    """(number of Gaussian measurements, columns that need category discovery)."""
    k = 0
    discovered = []
    for name in metadata.modelled_columns:
        col = metadata.columns[name]
        if col.sdtype in ("categorical", "boolean"):
            k += 1
            if col.public_domain is None and not _is_bool_schema(col):
                discovered.append(name)
        else:
            k += 1 + int(col.public_bounds is None)
    return k, discovered


def count_measurements(df: pd.DataFrame, metadata: Metadata) -> int:
    """How many Gaussian measurements :func:`compute_private_stats` makes for this schema
    (depends on the metadata and dtypes only, never on the values)."""
    return _plan(df, metadata)[0]


# --------------------------------------------------------------------------------- the function
def compute_private_stats(
    df: pd.DataFrame,
    metadata: Metadata,
    budget: PrivacyBudget,
    *,
    share: float = 0.1,
    accountant: str = "prv",
    rng: np.random.Generator | None = None,
    max_modes: int = 10,
    n_bins: int = 32,
    category_delta_share: float = 0.1,
    secure_mode: bool = False,
    tighten_bounds: bool = True,
) -> tuple[TableStats, Ledger]:
    """DP statistics of the modelled columns of ``df`` and the ledger that pays for them.

    Parameters
    ----------
    df : pandas.DataFrame
        The real table (read here and nowhere else before DP training).
    metadata : Metadata
        Column types and what is declared public (``public_bounds``, ``public_domain``).
    budget : PrivacyBudget
        The whole run's budget; the returned ledger carries it.
    share : float in (0, 1), default 0.1
        Fraction of ``budget.epsilon`` the preprocessing measurements spend together.
    accountant : {"prv", "rdp"}, default "prv"
    rng : privacy noise source
        :func:`tabsynth.privacy.noise_rng` (OS entropy; required unless ``secure_mode``).
        Never a generator seeded by ``random_state``: the noise could then be replayed.
    max_modes : int, default 10
        Modes per numerical/datetime column (post-processing of its histogram).
    n_bins : int, default 32
        Bins of each numerical/datetime histogram (plus one missing bin).
    category_delta_share : float in (0, 1), default 0.1
        Fraction of ``budget.delta`` given to the thresholds of category discovery (see the
        module docstring); the rest is the accountant's delta.
    secure_mode : bool, default False
        Cryptographically secure noise (os.urandom; see :mod:`tabsynth.privacy.noise`).
    tighten_bounds : bool, default True
        Without ``public_bounds``, tighten each numeric column's DP bounds to the outermost
        histogram bins whose noisy count clears the threshold (post-processing). ``False``
        keeps the :func:`dp_bounds` range (the marginal route: its bins measure the tails).

    Returns
    -------
    (TableStats, Ledger)
        Statistics with ``source="dp"`` and a ledger with one public declaration per public
        statistic and one Gaussian entry per measurement; ``ledger.spent()`` is within
        ``budget``.

    Raises
    ------
    MetadataError
        A modelled column is missing from ``df``.
    DataError
        Values that the metadata rules out (non-numeric values in a numerical column,
        unparseable dates, infinite values, values outside a ``public_domain``).
    BudgetExceededError
        The measurements would not fit the budget (cannot happen with ``share < 1``).
    """
    owner = "compute_private_stats"
    check_param(owner, "budget", budget, isinstance(budget, PrivacyBudget), "a PrivacyBudget")
    check_param(owner, "share", share,
                isinstance(share, (int, float)) and not isinstance(share, bool)
                and 0 < share < 1, "a float in (0, 1)")
    check_param(owner, "accountant", accountant, accountant in ACCOUNTANTS,
                f"one of {list(ACCOUNTANTS)}")
    check_param(owner, "rng", rng, (secure_mode and rng is None) or is_noise_rng(rng),
                "a privacy noise source (tabsynth.privacy.noise_rng())")
    check_param(owner, "max_modes", max_modes,
                isinstance(max_modes, int) and not isinstance(max_modes, bool) and max_modes >= 1,
                "an int >= 1")
    check_param(owner, "n_bins", n_bins,
                isinstance(n_bins, int) and not isinstance(n_bins, bool) and n_bins >= 2,
                "an int >= 2")
    check_param(owner, "category_delta_share", category_delta_share,
                isinstance(category_delta_share, (int, float))
                and not isinstance(category_delta_share, bool)
                and 0 < category_delta_share < 1, "a float in (0, 1)")
    check_param(owner, "secure_mode", secure_mode, isinstance(secure_mode, bool), "a bool")
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"Expected a pandas DataFrame, got {type(df).__name__}.")
    missing = [c for c in metadata.modelled_columns if c not in df.columns]
    if missing:
        raise MetadataError(f"The data does not match the metadata: columns {missing} are missing.")

    ledger = Ledger(budget=budget, accountant=accountant)
    k, discovered = _plan(df, metadata)
    if k == 0:
        return TableStats({}, None, "dp"), ledger
    cat_delta = category_delta_share * budget.delta if discovered else 0.0
    nm = preprocessing_noise(budget, k, share=share, accountant=accountant,
                             extra_delta=cat_delta)
    note = (f"one of {k} preprocessing measurements sharing noise multiplier {nm:.4g} "
            f"(share={share:g} of epsilon)")
    ctx = _Ctx(ledger=ledger, nm=nm, rng=rng, secure_mode=secure_mode, note=note,
               n_bins=n_bins, max_modes=max_modes, tighten_bounds=bool(tighten_bounds),
               extra_delta=cat_delta / len(discovered) if discovered else 0.0)

    cols: dict[str, ColumnStats] = {}
    for name in metadata.modelled_columns:
        col = metadata.columns[name]
        s = df[name]
        if col.sdtype in ("categorical", "boolean"):
            if col.public_domain is not None:
                ledger.declare_public(f"column {name!r} domain",
                                      f"public_domain of {len(col.public_domain)} values")
                cols[name] = _domain_stats(ctx, name, list(col.public_domain), s)
            elif _is_bool_schema(col):
                ledger.declare_public(f"column {name!r} domain",
                                      "{False, True}: boolean sdtype (schema)")
                cols[name] = _domain_stats(ctx, name, [False, True], s)
            else:
                cols[name] = _discovered_stats(ctx, name, col, s)
            cols[name] = cap_categories(name, cols[name])  # post-processing
        else:
            cols[name] = _continuous_stats(ctx, name, col, s)

    eps, _ = ledger.spent()
    if eps > budget.epsilon:  # pragma: no cover - preprocessing_noise keeps eps <= share * eps
        raise BudgetExceededError(
            f"The preprocessing measurements spend epsilon={eps:.4g} > the budget "
            f"epsilon={budget.epsilon:g}; the run stops here."
        )
    return TableStats(cols, ctx.n_rows(), "dp"), ledger


# ------------------------------------------------------------------------------------ internals
class _Ctx:
    """Shared state of one call: noise, ledger, and the noisy row-count estimates."""

    def __init__(self, *, ledger: Ledger, nm: float, rng: Any, secure_mode: bool, note: str,
                 n_bins: int, max_modes: int, extra_delta: float,
                 tighten_bounds: bool = True) -> None:
        self.ledger = ledger
        self.tighten_bounds = tighten_bounds
        self.nm = nm
        self.rng = rng
        self.secure_mode = secure_mode
        self.note = note
        self.n_bins = n_bins
        self.max_modes = max_modes
        self.extra_delta = extra_delta
        self._n_estimates: list[tuple[float, float]] = []  # (estimate, variance)

    def charge(self, entry: LedgerEntry) -> None:
        self.ledger.add(LedgerEntry(**{**entry.to_dict(), "note": self.note}), enforce=False)

    def histogram(self, codes: np.ndarray, n_bins: int, target: str,
                  params: dict[str, Any]) -> np.ndarray:
        """Noisy counts of ``codes`` over ``0..n_bins-1`` (the last bin is "missing")."""
        counts, _ = gaussian_histogram(codes.astype(np.int64), n_bins, self.nm, self.rng,
                                       target=target, secure_mode=self.secure_mode)
        self.charge(LedgerEntry.gaussian("gaussian_histogram", target, sigma=self.nm,
                                         params={"n_bins": int(n_bins), "missing_bin": True,
                                                 **params}))
        self.count(float(np.sum(counts)), n_bins * self.nm ** 2)
        return counts

    def count(self, estimate: float, variance: float) -> None:
        self._n_estimates.append((estimate, variance))

    def n_rows(self) -> int | None:
        if not self._n_estimates:
            return None
        w = np.array([1.0 / v for _, v in self._n_estimates])
        x = np.array([e for e, _ in self._n_estimates])
        return max(int(round(float(np.sum(w * x) / np.sum(w)))), 1)


def _frequencies(mass: np.ndarray) -> np.ndarray:
    """Clip, renormalise, floor (so every category keeps a little mass), renormalise."""
    p = np.clip(np.asarray(mass, dtype=float), 0.0, None)
    p = p / p.sum() if p.sum() > 0 else np.full(len(p), 1.0 / len(p))
    p = np.maximum(p, min(1e-4, 0.01 / len(p)))
    return p / p.sum()


def _domain_stats(ctx: _Ctx, name: str, domain: list, s: pd.Series) -> CategoricalStats:
    values = s.to_numpy(dtype=object)
    isna = pd.isna(s).to_numpy()
    index = pd.Index(domain, dtype=object)
    codes = index.get_indexer(values)
    outside = (codes < 0) & ~isna
    if outside.any():
        raise DataError(f"Column {name!r} has value(s) outside its public domain.")
    _warn_if_domain_looks_observed(name, domain, codes[~isna])
    codes = np.where(isna, len(domain), codes)
    counts = ctx.histogram(codes, len(domain) + 1, f"column {name!r} categories (+missing)", {})
    mass = np.clip(counts, 0.0, None)
    total = float(mass.sum())
    missing_rate = float(mass[-1] / total) if total > 0 else 0.0
    return CategoricalStats(tuple(domain), tuple(_frequencies(counts[:-1])), missing_rate,
                            source="dp")


#: A declared domain of at least this many values that equals the observed set, with a value
#: seen in at most ``_LEAK_RARE`` rows, is reported as a probable leak.
_LEAK_MIN_VALUES = 3
_LEAK_RARE = 2


def _warn_if_domain_looks_observed(name: str, domain: list, codes: np.ndarray) -> None:
    """Warn (loudly) when a declared public domain is exactly the set of observed values and
    some of them are rare: the usual sign of a "public" codebook built from the rows.

    A codebook from published documentation usually lists values absent from a given table,
    or has only common ones; a value seen once or twice that is in the domain *and* every
    domain value being present is what ``df[col].unique()`` produces. The warning is for the
    data owner running the fit (it is not saved in the model) and quotes no value or count.
    """
    if len(domain) < _LEAK_MIN_VALUES or not len(codes):
        return
    counts = np.bincount(codes, minlength=len(domain))
    if (counts > 0).all() and counts.min() <= _LEAK_RARE:
        warnings.warn(
            f"Column {name!r}: the declared public_domain is exactly the set of values present "
            "in the table, some of them rare. If the domain was read from the data (e.g. "
            "df[col].unique()), it is NOT public: every rare value it names is released with "
            "certainty, outside the privacy budget. Take the domain from published "
            "documentation (a codebook), or leave public_domain unset so DP discovery decides.",
            PrivacyWarning, stacklevel=4)


def _text_like(col: ColumnMetadata, s: pd.Series | None = None) -> bool:
    """Text-like by the metadata's dtype (no dtype declared: decided by the released
    categories, which are DP outputs)."""
    dtype = col.dtype
    return dtype is None or dtype in _STRING_DTYPES or dtype.startswith("string")


def _discovered_stats(ctx: _Ctx, name: str, col: ColumnMetadata,
                      s: pd.Series) -> CategoricalStats:
    values = s.to_numpy(dtype=object).copy()
    values[pd.isna(s).to_numpy()] = _MISSING
    sigma = ctx.nm * math.sqrt(2.0)  # sensitivity sqrt(2): (counts..., n)
    threshold = threshold_for(sigma, ctx.extra_delta)
    target = f"column {name!r} categories (+missing)"
    release, entry = discover_categories(values, sigma, threshold, ctx.rng, target=target,
                                         secure_mode=ctx.secure_mode)
    ctx.charge(entry)
    ctx.count(float(release["n"]), sigma ** 2)
    # -- post-processing of released (above-threshold) categories only --
    released = {}
    missing_count = 0.0
    for cat, c in zip(release["categories"], release["counts"], strict=True):
        if cat is _MISSING:
            missing_count = float(c)
        else:
            released[_py(cat)] = float(c)
    other_mass = float(release["other"])
    cats = sorted(released, key=_sort_key)
    counts = [released[c] for c in cats]
    other: Any
    if _text_like(col) and all(isinstance(c, str) for c in cats):
        other = OTHER
        while other in released:
            other += "_"
        cats.append(other)
        counts.append(other_mass)
    elif cats:
        other = max(cats, key=lambda c: released[c])  # ties: first in sorted order
        counts[cats.index(other)] += other_mass
    else:
        warnings.warn(
            f"Column {name!r}: no value is frequent enough to be released under DP; every value "
            f"is encoded as {OTHER!r}, so the column's dtype cannot be restored. Declare its "
            "public_domain or raise epsilon/share.",
            PrivacyWarning,
            stacklevel=3,
        )
        other = OTHER
        cats, counts = [OTHER], [other_mass]
    present = float(np.sum(np.clip(counts, 0.0, None)))
    missing_rate = missing_count / (missing_count + present) if missing_count > 0 else 0.0
    return CategoricalStats(tuple(cats), tuple(_frequencies(np.array(counts))),
                            float(missing_rate), source="dp", other=other)


def _datetime_unit(col: ColumnMetadata) -> str:
    """Granularity from the schema: ``datetime_format`` without a time part -> days."""
    fmt = col.datetime_format
    if fmt is None:
        return "s"
    if "%f" in fmt:
        return "us"
    return "s" if _TIME_DIRECTIVES.search(fmt) else "D"


def _continuous_stats(ctx: _Ctx, name: str, col: ColumnMetadata,
                      s: pd.Series) -> NumericStats | DatetimeStats:
    is_dt = col.sdtype == "datetime"
    if is_dt:
        vals = datetime_to_seconds(s, col).to_numpy(dtype=float)
        bad = s.notna().to_numpy() & np.isnan(vals)
        if bad.any():
            raise DataError(
                f"Column {name!r}: some value(s) cannot be parsed as dates."  # no count: DP
            )
        is_integer = False
    else:
        vals = _numeric_values(name, s)
        is_integer = col.representation == "int"  # the metadata's type, never the dtype
    isna = np.isnan(vals)
    present = vals[~isna]
    if np.isinf(present).any():
        raise DataError(f"Column {name!r} has infinite values.")

    # -- bounds --
    public = col.public_bounds is not None
    if public:
        lo, hi = ((_bound_to_seconds(b) for b in col.public_bounds) if is_dt
                  else (float(b) for b in col.public_bounds))
        ctx.ledger.declare_public(f"column {name!r} bounds", f"public_bounds [{lo:g}, {hi:g}]")
    else:
        (lo, hi), entry = dp_bounds(present, ctx.nm, ctx.rng, target=f"column {name!r} bounds",
                                    secure_mode=ctx.secure_mode)
        ctx.charge(entry)
        if is_integer:
            lo, hi = float(math.floor(lo)), float(math.ceil(hi))

    # -- one histogram: n_bins over [lo, hi] (+ a missing bin) --
    target = f"column {name!r} histogram (+missing)"
    if hi > lo:
        aligned = (is_integer and lo == math.floor(lo) and hi == math.floor(hi)
                   and hi - lo + 1 <= ctx.n_bins)
        if aligned:  # one bin per integer
            edges = lo - 0.5 + np.arange(int(hi - lo) + 2, dtype=float)
        else:
            edges = np.linspace(lo, hi, ctx.n_bins + 1)
        nb = len(edges) - 1
        x = np.clip(present, edges[0], edges[-1])
        codes = np.empty(len(vals), dtype=np.int64)
        codes[~isna] = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, nb - 1)
        codes[isna] = nb
        counts = ctx.histogram(codes, nb + 1, target,
                               {"lower": float(lo), "upper": float(hi), "bins": nb})
    else:  # a point (public bounds lo == hi): only present vs missing
        codes = isna.astype(np.int64)
        counts = ctx.histogram(codes, 2, target, {"lower": float(lo), "upper": float(hi)})
        edges, nb, aligned = None, 1, False

    # -- post-processing --
    hist = counts[:-1]
    present_mass = float(np.clip(hist, 0.0, None).sum())
    miss = max(float(counts[-1]), 0.0)
    missing_rate = miss / (miss + present_mass) if miss + present_mass > 0 else 0.0
    if edges is None:
        std = max(1e-6 * max(1.0, abs(lo)), 1e-12)
        weights, means, stds = (1.0,), (lo,), (std,)
        quantiles = (lo,) * _N_QUANTILES
    else:
        # Tighten: drop edge bins that are below the dp_bounds-style noise threshold AND,
        # together, hold a negligible share (_TIGHTEN_MASS) of the noisy mass. Cutting to "the
        # outermost bins that clear the threshold" alone collapses the range on small tables,
        # where every bin of a spread-out column is below the threshold (a 5,000-row age
        # column at epsilon=1 came out as [10, 12.8]).
        if not public and ctx.tighten_bounds:
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
            hist = hist[first:last + 1]
            edges = edges[first:last + 2]
            if aligned:
                lo, hi = float(edges[0] + 0.5), float(edges[-1] - 0.5)
            elif is_integer:
                lo, hi = float(math.floor(edges[0])), float(math.ceil(edges[-1]))
            else:
                lo, hi = float(edges[0]), float(edges[-1])
        modes = gmm_modes_from_histogram(hist, edges, n_modes=ctx.max_modes)
        weights = tuple(modes.weights)
        means = tuple(np.clip(modes.means, lo, hi))
        stds = tuple(modes.stds)
        quantiles = tuple(np.clip(
            quantiles_from_histogram(hist, edges, np.linspace(0, 1, _N_QUANTILES)), lo, hi))
    if is_dt:
        return DatetimeStats(lo, hi, missing_rate, weights, means, stds, quantiles,
                             datetime_format=col.datetime_format, unit=_datetime_unit(col),
                             source="dp")
    return NumericStats(lo, hi, bool(is_integer), 0 if is_integer else None, missing_rate,
                        weights, means, stds, quantiles, source="dp")
