"""The privacy budget ``(epsilon, delta)`` and the default choice of ``delta``.

The unit of privacy is one row under add/remove of a single row (DESIGN.md, rule 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

from .errors import BudgetError, check_param
from .ledger_entry import LedgerEntry

__all__ = ["COUNT_NOISE", "PrivacyBudget", "ResolvedBudget", "check_delta", "check_delta_noisy",
           "default_delta", "resolve_budget"]


def _is_real(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class PrivacyBudget:
    """A requested ``(epsilon, delta)``-DP guarantee.

    Parameters
    ----------
    epsilon : float
        Privacy loss bound, ``> 0`` and finite. Smaller is more private; every mechanism and the
        DP-SGD run together compose to at most this value (DESIGN.md, rule 4).
    delta : float
        Probability of failure of the ``epsilon`` bound, in ``(0, 1)``. It must be well below
        ``1/n`` for ``n`` rows (see :func:`default_delta` and :func:`check_delta`); with
        ``delta >= 1/n`` a mechanism that publishes one random row would be "private".
    """

    epsilon: float
    delta: float

    def __post_init__(self) -> None:
        eps, delta = self.epsilon, self.delta
        check_param(
            "PrivacyBudget", "epsilon", eps,
            _is_real(eps) and math.isfinite(eps) and eps > 0,
            "a float > 0 and finite", BudgetError,
        )
        check_param(
            "PrivacyBudget", "delta", delta,
            _is_real(delta) and 0 < delta < 1,
            "a float in (0, 1)", BudgetError,
        )
        object.__setattr__(self, "epsilon", float(eps))
        object.__setattr__(self, "delta", float(delta))

    @classmethod
    def for_rows(cls, epsilon: float, n_rows: int, *, delta: float | None = None) -> PrivacyBudget:
        """Budget for a table of ``n_rows`` rows: ``delta`` defaults to :func:`default_delta`
        and is checked against ``1/n_rows`` with :func:`check_delta`."""
        if delta is None:
            delta = default_delta(n_rows)
        budget = cls(epsilon, delta)
        check_delta(budget.delta, n_rows)
        return budget

    def to_dict(self) -> dict[str, float]:
        return {"epsilon": self.epsilon, "delta": self.delta}

    @classmethod
    def from_dict(cls, d: dict) -> PrivacyBudget:
        unknown = set(d) - {"epsilon", "delta"}
        if unknown:
            raise BudgetError(
                f"Unknown budget keys {sorted(unknown)}; valid keys are ['delta', 'epsilon']."
            )
        return cls(d["epsilon"], d["delta"])


def _check_rows(n_rows: object, owner: str) -> int:
    check_param(
        owner, "n_rows", n_rows,
        isinstance(n_rows, int) and not isinstance(n_rows, bool) and n_rows >= 1,
        "an int >= 1", BudgetError,
    )
    return int(n_rows)  # type: ignore[arg-type]


def default_delta(n_rows: int) -> float:
    r"""Default ``delta`` for ``n_rows`` rows: ``min(1e-5, 1 / (n ln n))`` (``1e-5`` for n < 3).

    Why: ``delta`` bounds the probability that the guarantee fails; a mechanism that publishes each
    row with probability ``delta`` is ``(0, delta)``-DP, so ``delta`` must be far below ``1/n``.
    ``1 / (n ln n)`` is ``ln n`` times below ``1/n`` (x7 at 1,000 rows, x14 at 1M rows) and keeps
    shrinking faster than ``1/n``; the ``1e-5`` cap makes small tables (where ``1/(n ln n)`` is
    large) use the customary value, e.g. ``1e-5`` for 1,000 rows (100 times below ``1/n``).
    Unlike ``1/n^1.1``, whose margin over ``1/n`` is only ``n^0.1`` (x4 at 1M rows), the margin
    never falls under ``ln n``. Smaller ``delta`` costs little epsilon for Gaussian mechanisms
    (``epsilon`` grows like ``sqrt(log(1/delta))``).
    """
    n = _check_rows(n_rows, "default_delta")
    if n < 3:
        return 1e-5
    return min(1e-5, 1.0 / (n * math.log(n)))


def check_delta(delta: float, n_rows: int) -> None:
    """Raise :class:`BudgetError` unless ``0 < delta < 1 / n_rows``."""
    n = _check_rows(n_rows, "check_delta")
    check_param("check_delta", "delta", delta, _is_real(delta) and 0 < delta < 1,
                "a float in (0, 1)", BudgetError)
    if delta >= 1.0 / n:
        raise BudgetError(
            f"delta={delta:g} is not below 1/n = {1.0 / n:g} for {n} rows: such a delta allows "
            f"publishing a whole row. Use delta <= {default_delta(n):.3g} "
            "(the default, see default_delta)."
        )


#: Noise std of the row count behind the default delta is ``COUNT_NOISE / epsilon``.
COUNT_NOISE = 50.0


@dataclass(frozen=True)
class ResolvedBudget:
    """A run's budget and what was measured to choose it.

    ``n_noisy`` is a charged Gaussian count of the rows (``None`` when ``delta`` was given, so
    no count was needed); ``entry`` is its ledger entry (to charge first)."""

    budget: PrivacyBudget
    n_noisy: float | None = None
    sigma: float | None = None
    entry: object | None = None


def resolve_budget(epsilon: float, delta: float | None, n_rows: int, rng: object) -> ResolvedBudget:
    """The budget of a DP fit, without using the exact row count ``n_rows`` outside a mechanism.

    * ``delta`` given: used as is (a bound the user chose; compare it later with a noisy count,
      e.g. :func:`check_delta_noisy`);
    * ``delta=None``: a Gaussian count of the rows (sensitivity 1, std ``COUNT_NOISE /
      epsilon``, charged to the ledger through the returned entry) gives a high estimate
      ``n_hi = noisy + 3 std``, and ``delta = default_delta(n_hi)``. The exact ``n`` never
      decides ``delta``.

    ``rng`` is the privacy noise source (:func:`.noise.noise_rng`).
    """
    if delta is not None:
        return ResolvedBudget(PrivacyBudget(epsilon, delta))
    check_param("resolve_budget", "epsilon", epsilon,
                _is_real(epsilon) and math.isfinite(epsilon) and epsilon > 0,
                "a float > 0 and finite", BudgetError)
    _check_rows(n_rows, "resolve_budget")
    sigma = COUNT_NOISE / float(epsilon)
    noisy = float(n_rows) + float(rng.normal(0.0, sigma))
    entry = LedgerEntry.gaussian("gaussian_count", "number of rows", sigma=sigma,
                                 note="row count behind the default delta (delta=None)")
    n_hi = max(int(math.ceil(noisy + 3.0 * sigma)), 3)
    return ResolvedBudget(PrivacyBudget(epsilon, default_delta(n_hi)), noisy, sigma, entry)


def check_delta_noisy(delta: float, n_noisy: float) -> None:
    """:func:`check_delta` against a noisy row count (post-processing: the exact ``n`` is never
    compared, so whether this raises does not depend on one row beyond the noise)."""
    n = max(int(round(float(n_noisy))), 1)
    if delta >= 1.0 / n:
        raise BudgetError(
            f"delta={delta:g} is not below 1/n for a table of about {n} rows (a noisy count): "
            f"such a delta allows publishing a whole row. Use delta <= {default_delta(n):.3g} "
            "or leave delta=None (the default rule, see default_delta)."
        )
