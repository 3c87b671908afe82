"""Shared statistics and helpers of the anonymeter-style attacks (see :mod:`.anonymeter`).

Wilson score success rates, the main-over-control residual risk, the attack result record, and
the sampling helpers every evaluator uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from .distances import canonical_rows

_NUMERIC_KINDS = ("numerical", "datetime")


# ---------------------------------------------------------------------------------- statistics
@dataclass(frozen=True)
class SuccessRate:
    """Estimated success rate of an attack and the half-width of its confidence interval."""

    value: float
    error: float

    def bounded(self) -> tuple[float, tuple[float, float]]:
        """Value and interval clipped to ``[0, 1]``."""

        def clip(x: float) -> float:
            return min(max(x, 0.0), 1.0)

        return clip(self.value), (clip(self.value - self.error), clip(self.value + self.error))


def wilson_success_rate(
    n_total: float, n_success: float, confidence_level: float = 0.95
) -> SuccessRate:
    """Wilson score estimate of a Bernoulli success rate (Wilson 1927, JASA 22:209)."""
    if not 0 <= confidence_level <= 1:
        raise ValueError(
            "The 'confidence_level' parameter must be a float in [0, 1]. "
            f"Got {confidence_level} instead."
        )
    if n_total <= 0:
        raise ValueError(f"The 'n_total' parameter must be > 0. Got {n_total} instead.")
    z = float(norm.ppf(0.5 * (1.0 + confidence_level)))
    z2 = z * z
    denom = n_total + z2
    rate = (n_success + 0.5 * z2) / denom
    var = max(n_success * (n_total - n_success) / n_total, 0.0)
    return SuccessRate(rate, (z / denom) * math.sqrt(var + 0.25 * z2))


def _residual(attack: SuccessRate, control: SuccessRate) -> SuccessRate:
    """Excess success over the control, normalised; error propagated to first order."""
    value = (attack.value - control.value) / (1.0 - control.value)
    d_attack = 1.0 / abs(1.0 - control.value)
    d_control = (attack.value - 1.0) / (1.0 - control.value) ** 2
    return SuccessRate(value, math.hypot(attack.error * d_attack, control.error * d_control))


@dataclass(frozen=True)
class AttackResults:
    """Outcome of one privacy evaluator: counts, rates and the risk with its interval."""

    n_attacks: int
    n_success: int
    n_baseline: int
    n_control: float | None
    confidence_level: float
    attack_rate: SuccessRate
    baseline_rate: SuccessRate
    control_rate: SuccessRate | None
    risk: float
    ci: tuple[float, float]
    warnings: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def to_details(self) -> dict[str, Any]:
        """Plain-JSON breakdown for ``MetricResult.details``."""

        def rate(r: SuccessRate | None) -> dict[str, float] | None:
            return None if r is None else {"value": float(r.value), "error": float(r.error)}

        return {
            "n_attacks": int(self.n_attacks),
            "n_success": int(self.n_success),
            "n_baseline": int(self.n_baseline),
            "n_control": None if self.n_control is None else float(self.n_control),
            "confidence_level": self.confidence_level,
            "attack_rate": rate(self.attack_rate),
            "baseline_rate": rate(self.baseline_rate),
            "control_rate": rate(self.control_rate),
            "warnings": list(self.warnings),
            **self.extra,
        }


def attack_results(
    *,
    n_attacks: int,
    n_success: int,
    n_baseline: int,
    n_control: float | None,
    confidence_level: float = 0.95,
    extra: Mapping[str, Any] | None = None,
) -> AttackResults:
    """Rates and risk from attack counts, as anonymeter's ``EvaluationResults`` computes them."""
    attack = wilson_success_rate(n_attacks, n_success, confidence_level)
    baseline = wilson_success_rate(n_attacks, n_baseline, confidence_level)
    control = (
        None if n_control is None else wilson_success_rate(n_attacks, n_control, confidence_level)
    )
    notes = []
    if baseline.value >= attack.value:
        notes.append(
            "The attack is no better than random guessing (baseline); "
            "the risk figure is not informative."
        )
    if control is not None and control.value >= 1:
        notes.append("The control attack always succeeds; the excess risk cannot be measured.")
    if control is None:
        risk, ci = attack.bounded()
    elif control.value >= 1:
        risk, ci = 0.0, (0.0, 1.0)
    else:
        risk, ci = _residual(attack, control).bounded()
    return AttackResults(
        n_attacks,
        n_success,
        n_baseline,
        n_control,
        confidence_level,
        attack,
        baseline,
        control,
        risk,
        ci,
        tuple(notes),
        dict(extra or {}),
    )


# ------------------------------------------------------------------------------------ helpers
def _dedup(df: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    keys = canonical_rows(df, kinds)
    return df.loc[~pd.Series(keys).duplicated().to_numpy()].reset_index(drop=True)


def _sample(df: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    return df.iloc[np.sort(rng.choice(len(df), size=n, replace=False))].reset_index(drop=True)


def _n_attacks(requested: int, *sizes: int) -> int:
    if requested < 1:
        raise ValueError(f"The 'n_attacks' parameter must be an int >= 1. Got {requested} instead.")
    return int(min(requested, *sizes))
