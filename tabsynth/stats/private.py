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

from functools import partial

import numpy as np
import pandas as pd

from ..errors import DataError, MetadataError, check_param, is_int, is_real
from ..metadata import ColumnMetadata, Metadata
from ..privacy import (
    ACCOUNTANTS,
    BudgetExceededError,
    Ledger,
    PrivacyBudget,
    preprocessing_noise,
)
from ..privacy.noise import is_noise_rng
from .categories import OTHER
from .passes import is_streamed, run_pass
from .private_columns import DPContext
from .private_partial import PrivateCounts, check_only_missing, measure_columns
from .schema import TableStats

__all__ = ["OTHER", "compute_private_stats", "count_measurements"]


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
    point_bins: bool = False,
) -> tuple[TableStats, Ledger]:
    """DP statistics of the modelled columns of ``df`` and the ledger that pays for them.

    Parameters
    ----------
    df : pandas.DataFrame or TableSource
        The real table (read here and nowhere else before DP training); a
        :class:`~tabsynth.sources.TableSource` is read in record batches (partitions on Dask
        workers if it carries an engine): the exact counts are merged first and the noise
        added once (:mod:`tabsynth.stats.private_partial`), so the ledger is the one of the
        same table in memory.
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
    point_bins : bool, default False
        Each numeric histogram gets a zero-width bin at its lower bound and at 0, and a
        non-negative column half its edges geometric
        (:func:`~tabsynth.stats.dp_histogram.histogram_edges`): the same measurement and
        ledger, point masses and amounts near 0 kept. The ARSynthesizer's statistics use it;
        CTGAN's DP-SGD fit on the fraud table diverged to NaN in about a quarter of the fits
        with it (5 of 17; none in 12 without), so CTGAN and TVAE do not yet.

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
                is_real(share) and 0 < share < 1, "a float in (0, 1)")
    check_param(owner, "accountant", accountant, accountant in ACCOUNTANTS,
                f"one of {list(ACCOUNTANTS)}")
    check_param(owner, "rng", rng, (secure_mode and rng is None) or is_noise_rng(rng),
                "a privacy noise source (tabsynth.privacy.noise_rng())")
    check_param(owner, "max_modes", max_modes,
                is_int(max_modes) and max_modes >= 1, "an int >= 1")
    check_param(owner, "n_bins", n_bins,
                is_int(n_bins) and n_bins >= 2, "an int >= 2")
    check_param(owner, "category_delta_share", category_delta_share,
                is_real(category_delta_share) and 0 < category_delta_share < 1,
                "a float in (0, 1)")
    check_param(owner, "secure_mode", secure_mode, isinstance(secure_mode, bool), "a bool")
    check_param(owner, "point_bins", point_bins, isinstance(point_bins, bool), "a bool")
    streamed = is_streamed(df)
    if not isinstance(df, pd.DataFrame) and not streamed:
        raise DataError(f"Expected a pandas DataFrame, got {type(df).__name__}.")
    columns = df.empty().columns if streamed else df.columns
    missing = [c for c in metadata.modelled_columns if c not in columns]
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
    ctx = DPContext(ledger=ledger, nm=nm, rng=rng, secure_mode=secure_mode, note=note,
               n_bins=n_bins, max_modes=max_modes, tighten_bounds=bool(tighten_bounds),
               point_bins=point_bins,
               extra_delta=cat_delta / len(discovered) if discovered else 0.0)

    # exact counts (merged over the batches / partitions of a streamed table), then the noise
    # of every measurement, once: the same calls and ledger for a DataFrame and a stream
    check = (metadata, True) if streamed else None
    first = run_pass(df, partial(PrivateCounts, metadata, n_bins, detail=point_bins),
                     check=check)
    if streamed:
        check_only_missing(first)

    def second_pass(bounds: dict) -> PrivateCounts:
        return run_pass(df, partial(PrivateCounts, metadata, n_bins, bounds,
                                    detail=point_bins))

    cols = measure_columns(ctx, metadata, first, second_pass)

    eps, _ = ledger.spent()
    if eps > budget.epsilon:  # pragma: no cover - preprocessing_noise keeps eps <= share * eps
        raise BudgetExceededError(
            f"The preprocessing measurements spend epsilon={eps:.4g} > the budget "
            f"epsilon={budget.epsilon:g}; the run stops here."
        )
    return TableStats(cols, ctx.n_rows(), "dp"), ledger
