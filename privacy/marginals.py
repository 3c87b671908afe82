"""DP measurement of low-order marginals, selected adaptively (AIM / GEM style).

The marginal route to a private generator (DESIGN.md rule 7) measures a workload of one-, two- and
three-way marginals of the *discretised* table with Gaussian noise and then fits a generator to
the noisy answers — the fitting is pure post-processing and lives outside this package
(``tabsynth.models.marginal_fit``); this module never sees a model, only callables that return
the current model's marginals.

Layout (as in private-pgm's MST/AIM):

* :class:`MarginalMeasurer` holds the integer-coded real rows and is the **only** object that reads
  them. It does two things, each charged to the ledger it was given:

  - :meth:`~MarginalMeasurer.measure` — Gaussian mechanism on one marginal (a histogram over a
    domain fixed in advance: L2 sensitivity 1 under add/remove of a row);
  - :meth:`~MarginalMeasurer.select` — exponential mechanism over candidate marginals with quality
    ``||M_real(c) - n_hat * p_model(c)||_1 - sqrt(2/pi) * sigma * cells(c)`` (AIM's score; L1
    sensitivity 1, since one row moves one cell of ``M_real(c)`` by 1 and ``n_hat``/``p_model``
    are post-processing of earlier releases).

* :func:`measure_adaptively` reads top to bottom: budget split (in zCDP), one-way marginals,
  then rounds of *fit -> select -> measure*. It returns only :class:`Measurement` objects.

Accounting. Everything is a Gaussian mechanism at sample rate 1 except the EM; an ``eps0``-EM is
``eps0^2/8``-zCDP (Cesar & Rogers 2021), which in RDP is the curve of a Gaussian with noise
multiplier ``2/eps0``; it is recorded as such with ``mechanism_family="exponential"``, which makes
the ledger compose with RDP (PRV of a Gaussian is not a valid bound for the EM). The budget is
planned in zCDP: ``rho_total`` is the largest ``rho`` whose RDP curve ``alpha * rho`` converts (with
the accountant's orders and conversion) to at most ``epsilon`` at the accountant's delta; every
mechanism of the route costs ``1/(2 nm^2)`` of it. The ledger re-checks the full composition at
every entry (:meth:`Ledger.add` refuses an entry that would exceed the budget).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .accounting import _rdp_epsilon
from .errors import BudgetError, PrivacyParameterError
from .ledger import Ledger, LedgerEntry
from .noise import is_noise_rng

__all__ = [
    "Clique",
    "MarginalMeasurer",
    "Measurement",
    "candidate_cliques",
    "measure_adaptively",
    "rho_for_epsilon",
    "rho_of_history",
]

Clique = tuple[int, ...]
#: Fraction of each round's zCDP budget given to selection (AIM uses 0.1).
SELECT_SHARE = 0.1


@dataclass(frozen=True, eq=False)
class Measurement:
    """A noisy marginal: counts over the product domain of ``clique`` (C order), noise ``sigma``.

    ``sigma == 0`` only in the testing mode ``MarginalMeasurer(exact=True)``.
    """

    clique: Clique
    shape: tuple[int, ...]
    noisy: np.ndarray
    sigma: float

    @property
    def cells(self) -> int:
        return int(np.prod(self.shape))


# ------------------------------------------------------------------------------------------ rho
def rho_for_epsilon(epsilon: float, delta: float, *, rtol: float = 1e-6) -> float:
    """Largest zCDP ``rho`` whose RDP curve ``alpha * rho`` converts to ``<= epsilon`` at ``delta``.

    Uses the ledger's RDP accountant (same orders and conversion), so a run that spends at most
    ``rho`` in total is within ``(epsilon, delta)`` by :meth:`Ledger.spent` as well.
    """
    if not (epsilon > 0 and 0 < delta < 1):
        raise PrivacyParameterError(
            f"rho_for_epsilon needs epsilon > 0 and delta in (0, 1). Got {epsilon!r}, {delta!r}."
        )

    def eps_of(rho: float) -> float:
        return _rdp_epsilon([(1.0 / math.sqrt(2.0 * rho), 1.0, 1)], delta)

    lo, hi = 1e-12, 1.0
    while eps_of(hi) <= epsilon:
        lo, hi = hi, hi * 4
    while hi / lo > 1 + rtol:
        mid = math.sqrt(lo * hi)
        if eps_of(mid) <= epsilon:
            lo = mid
        else:
            hi = mid
    return lo


def rho_of_history(history: Iterable[Sequence]) -> float:
    """zCDP ``rho`` of sample-rate-1 Gaussian(-equivalent) steps: ``sum s / (2 nm^2)``."""
    rho = 0.0
    for nm, q, steps in history:
        if q != 1:
            raise PrivacyParameterError(
                "rho_of_history covers sample-rate-1 mechanisms only (no DP-SGD steps)."
            )
        rho += steps / (2.0 * nm * nm)
    return rho


# ----------------------------------------------------------------------------------- workload
def candidate_cliques(domain: Sequence[int], *, max_way: int = 3, max_cells: int = 4096,
                      target: int | None = None) -> list[Clique]:
    """Two- (and three-) way cliques whose product domain has at most ``max_cells`` cells.

    Three-way cliques are restricted to those containing ``target`` when one is named (the
    workload favours the target; it also keeps the candidate set small). Data-independent.
    """
    d = len(domain)
    out: list[Clique] = [c for c in itertools.combinations(range(d), 2)
                         if domain[c[0]] * domain[c[1]] <= max_cells]
    if max_way >= 3:
        for c in itertools.combinations(range(d), 3):
            if target is not None and target not in c:
                continue
            if int(np.prod([domain[i] for i in c])) <= max_cells:
                out.append(c)
    return out


# ---------------------------------------------------------------------------------- measurement
class MarginalMeasurer:
    """The integer-coded real rows and the two mechanisms that read them.

    Parameters
    ----------
    codes : int array (n, d)
        Row ``i``'s cell in column ``j``: ``0 <= codes[i, j] < domain[j]``. The domains (bins,
        categories) must be fixed before looking at the rows (public or DP).
    domain : sequence of int
    ledger : Ledger
        Every mechanism is charged here (with budget enforcement).
    rng : numpy.random.Generator
    names : sequence of str, optional
        Column names for the ledger targets.
    exact : bool, default False
        TESTING ONLY: measurements without noise and argmax selection, charged nothing. Not DP.
    """

    def __init__(self, codes: np.ndarray, domain: Sequence[int], *, ledger: Ledger,
                 rng: np.random.Generator, names: Sequence[str] | None = None,
                 exact: bool = False) -> None:
        codes = np.asarray(codes)
        domain = [int(k) for k in domain]
        if codes.ndim != 2 or codes.shape[1] != len(domain):
            raise PrivacyParameterError(
                f"codes must be an (n, {len(domain)}) integer array. Got shape {codes.shape}."
            )
        if codes.size and (not np.issubdtype(codes.dtype, np.integer) or codes.min() < 0
                           or np.any(codes.max(axis=0) >= np.asarray(domain))):
            raise PrivacyParameterError("codes must be integers in [0, domain[j]) per column.")
        if not exact and not is_noise_rng(rng):
            raise PrivacyParameterError(
                "The 'rng' parameter of MarginalMeasurer must be a privacy noise source "
                f"(tabsynth.privacy.noise_rng()). Got {rng!r} instead."
            )
        self._codes = codes.astype(np.int64, copy=False)
        self.domain = domain
        self.ledger = ledger
        self.rng = rng
        self.names = list(names) if names is not None else [str(j) for j in range(len(domain))]
        self.exact = exact
        self._cache: dict[Clique, np.ndarray] = {}

    def _describe(self, clique: Clique) -> str:
        return "marginal (" + ", ".join(repr(self.names[j]) for j in clique) + ")"

    def _real(self, clique: Clique) -> np.ndarray:
        """Exact counts of ``clique`` (flat, C order). Private: never returned to callers."""
        if clique not in self._cache:
            shape = tuple(self.domain[j] for j in clique)
            flat = np.ravel_multi_index(tuple(self._codes[:, j] for j in clique), shape)
            self._cache[clique] = np.bincount(flat, minlength=int(np.prod(shape))).astype(float)
        return self._cache[clique]

    def measure(self, clique: Clique, sigma: float, *, note: str = "") -> Measurement:
        """Gaussian mechanism: counts of ``clique`` + N(0, sigma^2) per cell (L2 sensitivity 1)."""
        clique = tuple(int(j) for j in clique)
        shape = tuple(self.domain[j] for j in clique)
        exact = self._real(clique)
        if self.exact:
            return Measurement(clique, shape, exact.copy(), 0.0)
        entry = LedgerEntry.gaussian("gaussian_marginal", self._describe(clique), sigma=sigma,
                                     params={"cells": int(exact.size)}, note=note)
        self.ledger.add(entry)  # raises BudgetExceededError (nothing measured) if over budget
        noisy = exact + self.rng.normal(0.0, sigma, size=exact.shape)
        return Measurement(clique, shape, noisy, float(sigma))

    def select(self, candidates: Sequence[Clique], model_counts: Mapping[Clique, np.ndarray], *,
               epsilon: float, sigma: float, note: str = "") -> Clique:
        """Exponential mechanism (Gumbel-max) over ``candidates``.

        Quality ``||M_real(c) - model_counts[c]||_1 - sqrt(2/pi) * sigma * cells(c)`` (L1
        sensitivity 1; ``model_counts`` must be post-processing of earlier releases, already
        scaled to a noisy row count). Charged as an ``epsilon``-EM.
        """
        if not candidates:
            raise PrivacyParameterError("select needs at least one candidate marginal.")
        penalty = math.sqrt(2.0 / math.pi) * sigma
        scores = np.array([
            np.abs(self._real(c) - np.asarray(model_counts[c], dtype=float).ravel()).sum()
            - penalty * self._real(c).size
            for c in candidates
        ])
        if self.exact:
            return tuple(candidates[int(np.argmax(scores))])
        entry = LedgerEntry.exponential(f"selection among {len(candidates)} marginals",
                                        epsilon=epsilon, sensitivity=1.0, note=note)
        self.ledger.add(entry)
        gumbel = self.rng.gumbel(size=len(scores))
        return tuple(candidates[int(np.argmax(epsilon * scores / 2.0 + gumbel))])


# ------------------------------------------------------------------------------------ the driver
#: ``fit(measurements, final)`` fits the model to the noisy marginals so far (``final``: the last
#: call, after every selection) and returns a function that gives the model's marginal
#: (probabilities, flat C order) for each clique asked.
FitCallback = Callable[[list[Measurement], bool],
                       Callable[[Sequence[Clique]], Mapping[Clique, np.ndarray]]]


def measure_adaptively(
    measurer: MarginalMeasurer,
    fit: FitCallback,
    *,
    rho: float,
    rounds: int,
    per_round: int = 2,
    candidates: Sequence[Clique],
    target: int | None = None,
    one_way_share: float = 0.1,
    note: str = "",
) -> tuple[list[Measurement], Callable[[Sequence[Clique]], Mapping[Clique, np.ndarray]]]:
    """AIM-style adaptive measurement within ``rho`` (zCDP); returns (measurements, model).

    Budget split (zCDP, additive):

    * ``one_way_share * rho`` — all one-way marginals, equal noise;
    * the rest in ``rounds`` equal parts; each round makes ``per_round`` selections, each a
      ``SELECT_SHARE`` part EM (``eps0 = sqrt(8 * share * rho_sel)``) followed by a Gaussian
      measurement of the chosen marginal with the remaining part.

    Rounds: fit on everything measured so far, then select (EM on the current model's error) and
    measure. When ``target`` is given, every other selection is among candidates containing it
    (a data-independent restriction, so sensitivity stays 1). A clique is measured at most once.
    Finally the model is fitted once more on all measurements. ``fit`` only ever receives
    :class:`Measurement` objects.
    """
    if not (rho > 0 and rounds >= 0 and per_round >= 1 and 0 < one_way_share <= 1):
        raise PrivacyParameterError(
            "measure_adaptively needs rho > 0, rounds >= 0, per_round >= 1 and "
            "one_way_share in (0, 1]."
        )
    d = len(measurer.domain)
    if rounds == 0:
        one_way_share = 1.0
    # -- budget split (visible) --
    rho_one = one_way_share * rho / d
    rho_step = (1.0 - one_way_share) * rho / max(rounds * per_round, 1)
    sigma_one = math.sqrt(1.0 / (2.0 * rho_one))
    sigma_step = math.sqrt(1.0 / (2.0 * (1.0 - SELECT_SHARE) * rho_step)) if rounds else math.inf
    eps_select = math.sqrt(8.0 * SELECT_SHARE * rho_step) if rounds else 0.0

    # -- one-way marginals --
    measurements = [measurer.measure((j,), sigma_one, note=note) for j in range(d)]
    if measurer.exact:
        n_hat = float(measurements[0].noisy.sum())
    else:  # inverse-variance mean of the one-way totals (all have the same noise) - post-proc.
        n_hat = max(float(np.mean([m.noisy.sum() for m in measurements])), 1.0)

    remaining = [tuple(c) for c in candidates]
    with_target = [c for c in remaining if target is not None and target in c]
    for r in range(rounds):
        model = fit(list(measurements), False)
        for k in range(per_round):
            pool = remaining
            if target is not None and (r * per_round + k) % 2 == 0:
                pool = [c for c in remaining if c in set(with_target)] or remaining
            if not pool:
                break
            probs = model(pool)
            counts = {c: n_hat * np.asarray(probs[c], dtype=float) for c in pool}
            chosen = measurer.select(pool, counts, epsilon=eps_select, sigma=sigma_step,
                                     note=note)
            remaining.remove(chosen)
            measurements.append(measurer.measure(chosen, sigma_step, note=note))
    return measurements, fit(list(measurements), True)


def check_rho(ledger: Ledger, rho_total: float) -> float:
    """zCDP left in ``rho_total`` after what ``ledger`` already holds; raises if none."""
    left = rho_total - rho_of_history(ledger.history())
    if left <= 0:
        raise BudgetError("The preprocessing measurements already use the whole budget.")
    return left
