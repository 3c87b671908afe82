"""Singling-out, linkability and attribute-inference risks, after anonymeter.

Re-implements on current numpy/pandas the method of Giomi et al., "A Unified Framework for
Quantifying Privacy Risk in Synthetic Data", PoPETs 2023 (2), and of its reference code
``anonymeter`` (which pins numpy < 1.27). Each evaluator runs three attacks:

* the **main** attack uses the synthetic table against records of the training (``ori``) table;
* the **control** attack is the same attack against records of a holdout (``control``) table
  that the generator never saw: what the synthetic data reveals about *anyone*;
* the **baseline** attack guesses at random, to check the main attack is informative at all.

Success rates are Wilson score estimates ``(k + z²/2) / (n + z²)`` with error
``z / (n + z²) · sqrt(k (n - k) / n + z² / 4)`` (Wilson, 1927). The privacy risk is the
main attack's excess success over the control attack, normalised by the room left::

    risk = (main_rate - control_rate) / (1 - control_rate)

with its error propagated to first order from both rates, and value and interval clipped to
``[0, 1]`` (without a control table the risk is the main attack's success rate).

Distances are the Gower distances of :mod:`.distances` (numerics scaled by their range over the
synthetic table and the attacked records, as anonymeter does).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit
from scipy.stats import norm

from .distances import (
    _MISSING,
    GowerEncoder,
    _as_float,
    _as_text,
    canonical_rows,
    nearest_neighbors,
)

__all__ = [
    "AttackResults",
    "SuccessRate",
    "attack_results",
    "default_aux_cols",
    "inference_risk",
    "linkability_risk",
    "singling_out_risk",
    "wilson_success_rate",
]

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


# ---------------------------------------------------------------------------- singling out
# A univariate predicate: (column, operator, value); value is a float for numerical/datetime
# columns and a canonical string for categorical ones. Semantics follow pandas queries:
# comparisons with a missing value are False, except "!=" which is True.
_Query = tuple[str, str, Any]


class _Columns:
    """The evaluated columns of one table in comparable form."""

    def __init__(self, df: pd.DataFrame, kinds: Mapping[str, str]):
        self.values = {
            c: (_as_float(df[c], k) if k in _NUMERIC_KINDS else _as_text(df[c]))
            for c, k in kinds.items()
        }
        self.missing = {
            c: (np.isnan(v) if kinds[c] in _NUMERIC_KINDS else (v == _MISSING))
            for c, v in self.values.items()
        }
        self.n = len(df)

    def mask(self, q: _Query) -> np.ndarray:
        col, op, val = q
        v, miss = self.values[col], self.missing[col]
        if op == "isna":
            return miss
        if op == "notna":
            return ~miss
        with np.errstate(invalid="ignore"):
            if op == "==":
                return (v == val) & ~miss
            if op == "!=":
                return (v != val) | miss
            if op == "<=":
                return (v <= val) & ~miss
            if op == ">=":
                return (v >= val) & ~miss
            if op == "<":
                return (v < val) & ~miss
            if op == ">":
                return (v > val) & ~miss
        raise ValueError(f"unknown operator {op!r}")

    def counts(self, queries: Sequence[_Query]) -> np.ndarray:
        return np.array([int(self.mask(q).sum()) for q in queries], dtype=np.int64)


def _univariate_queries(
    syn: _Columns, kinds: Mapping[str, str], n_queries: int, rng: np.random.Generator
) -> list[_Query]:
    """Predicates on one attribute that isolate one synthetic record: a lone missing value,
    the minimum or maximum of a numeric column, or a value that occurs once."""
    candidates: list[_Query] = []
    for col in kinds:
        v, miss = syn.values[col], syn.missing[col]
        if miss.sum() == 1:
            candidates.append((col, "isna", None))
        present = v[~miss]
        if kinds[col] in _NUMERIC_KINDS and present.size:
            candidates += [(col, "<=", float(present.min())), (col, ">=", float(present.max()))]
        uniq, cnt = np.unique(present, return_counts=True)
        candidates += [
            (col, "==", (float(u) if kinds[col] in _NUMERIC_KINDS else u)) for u in uniq[cnt == 1]
        ]
    order = rng.permutation(len(candidates))
    out: list[_Query] = []
    seen: set[_Query] = set()
    for i in order:
        q = candidates[i]
        if q in seen:
            continue
        if int(syn.mask(q).sum()) == 1:
            seen.add(q)
            out.append(q)
            if len(out) == n_queries:
                break
    return out


def _random_queries(
    syn: _Columns, kinds: Mapping[str, str], n_queries: int, rng: np.random.Generator
) -> list[_Query]:
    """The baseline attacker: a random column, a random synthetic value, a random operator."""
    cols = list(kinds)
    uniques = {
        c: list(np.unique(syn.values[c][~syn.missing[c]]))
        + ([None] if syn.missing[c].any() else [])
        for c in cols
    }
    out: list[_Query] = []
    for _ in range(n_queries):
        col = cols[int(rng.integers(len(cols)))]
        values = uniques[col]
        if not values:
            out.append((col, "isna", None))
            continue
        val = values[int(rng.integers(len(values)))]
        if val is None:
            out.append((col, ["isna", "notna"][int(rng.integers(2))], None))
        elif kinds[col] in _NUMERIC_KINDS:
            out.append((col, ["==", "!=", ">", "<", ">=", "<="][int(rng.integers(6))], float(val)))
        else:
            out.append((col, ["==", "!="][int(rng.integers(2))], val))
    return out


def _singling_out_integral(n: np.ndarray | float, w_max: float) -> np.ndarray | float:
    """∫_0^w_max of P(w, n) = n w (1 - w)^(n - 1), the chance a query of weight w singles out
    in a population of n (Cohen & Nissim 2020)."""
    return (1.0 - (n * w_max + 1.0) * (1.0 - w_max) ** n) / (n + 1.0)


def _size_correction(
    control: _Columns, queries: Sequence[_Query], n_target: int, rng: np.random.Generator
) -> float:
    """Factor rescaling control successes from the control's size to the training size:
    successes on subsamples of the control are fitted with ``norm · ∫ P(w, n) dw`` (as
    anonymeter does: 10 sizes from min(1000, n) to n, 5 repeats each)."""
    masks = np.array([control.mask(q) for q in queries], dtype=bool)
    sizes, successes = [], []
    for n_rows in np.linspace(min(1000, control.n), control.n, 10).astype(int):
        for _ in range(5):
            idx = rng.choice(control.n, size=n_rows, replace=False)
            successes.append(int((masks[:, idx].sum(axis=1) == 1).sum()))
            sizes.append(n_rows)
    x, y = np.asarray(sizes, dtype=float), np.asarray(successes, dtype=float)

    def model(n: np.ndarray, w_eff: float, scale: float) -> np.ndarray:
        return scale * _singling_out_integral(n, w_eff)

    w0 = 1.0 / x.max()
    p0 = (w0, 1.0 / _singling_out_integral(x.max(), w0))
    popt, _ = curve_fit(model, x, y, p0=p0, bounds=(0, (1, np.inf)))
    return float(model(np.float64(n_target), *popt) / model(np.float64(control.n), *popt))


def singling_out_risk(
    ori: pd.DataFrame,
    syn: pd.DataFrame,
    control: pd.DataFrame | None,
    *,
    kinds: Mapping[str, str],
    n_attacks: int = 500,
    confidence_level: float = 0.95,
    random_state: int | np.random.Generator | None = None,
) -> AttackResults:
    """Univariate singling-out risk (anonymeter's ``SinglingOutEvaluator(mode="univariate")``).

    The attacker writes up to ``n_attacks`` one-attribute predicates that isolate exactly one
    record of the (de-duplicated) synthetic table; an attack succeeds when the predicate also
    isolates exactly one record of the training table. The control attack evaluates the same
    predicates on the holdout, with its count rescaled to the training size; the baseline uses
    random predicates. The rates divide by the number of predicates actually found.
    """
    rng = np.random.default_rng(random_state)
    ori_c = _Columns(_dedup(ori, kinds), kinds)
    syn_c = _Columns(_dedup(syn, kinds), kinds)
    ctl_c = None if control is None else _Columns(_dedup(control, kinds), kinds)
    queries = _univariate_queries(syn_c, kinds, _n_attacks(n_attacks, 10**12), rng)
    if not queries:
        raise ValueError("no single-attribute predicate isolates a synthetic record")
    n = len(queries)
    n_success = int((ori_c.counts(queries) == 1).sum())
    n_baseline = int((ori_c.counts(_random_queries(syn_c, kinds, n, rng)) == 1).sum())
    notes: dict[str, Any] = {"mode": "univariate", "n_attacks_requested": int(n_attacks)}
    n_control: float | None = None
    if ctl_c is not None:
        n_control = float((ctl_c.counts(queries) == 1).sum())
        notes["size_correction"] = 1.0
        if ctl_c.n != ori_c.n and n_control > 0:
            try:
                corr = _size_correction(ctl_c, queries, ori_c.n, rng)
            except (RuntimeError, ValueError, FloatingPointError):
                corr = 1.0
                notes["size_correction_failed"] = True
            if np.isfinite(corr) and corr > 0:
                n_control = min(n_control * corr, float(n))
                notes["size_correction"] = corr
    return attack_results(
        n_attacks=n,
        n_success=n_success,
        n_baseline=n_baseline,
        n_control=n_control,
        confidence_level=confidence_level,
        extra=notes,
    )


# ----------------------------------------------------------------------------- linkability
def _nn_on(
    cols: Sequence[str], targets: pd.DataFrame, syn: pd.DataFrame, kinds: Mapping[str, str], k: int
) -> np.ndarray:
    sub = {c: kinds[c] for c in cols}
    enc = GowerEncoder(sub).fit(
        pd.concat([syn[list(cols)], targets[list(cols)]], ignore_index=True)
    )
    return nearest_neighbors(enc.transform(targets), enc.transform(syn), k=k)[1]


def default_aux_cols(kinds: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """Split the columns into two auxiliary sets for the linkability attack.

    Numerical/datetime columns, then categorical ones, are dealt alternately to the two sets, so
    both halves get a share of the (more identifying) numeric columns.
    """
    ordered = [c for c, k in kinds.items() if k in _NUMERIC_KINDS]
    ordered += [c for c, k in kinds.items() if k not in _NUMERIC_KINDS]
    return ordered[0::2], ordered[1::2]


def linkability_risk(
    ori: pd.DataFrame,
    syn: pd.DataFrame,
    control: pd.DataFrame | None,
    *,
    kinds: Mapping[str, str],
    aux_cols: tuple[Sequence[str], Sequence[str]] | None = None,
    n_attacks: int = 500,
    n_neighbors: int = 1,
    confidence_level: float = 0.95,
    random_state: int | np.random.Generator | None = None,
) -> AttackResults:
    """Linkability risk (anonymeter's ``LinkabilityEvaluator``).

    The attacker holds two tables that share no columns (``aux_cols``, default:
    :func:`default_aux_cols`) about the same people. For each of ``n_attacks`` attacked records,
    it looks up the ``n_neighbors`` nearest synthetic records on each half (ties go to the first
    synthetic record); the two halves are linked when those sets intersect. Control: the same on
    holdout records. Baseline: random synthetic records instead of nearest ones.
    """
    rng = np.random.default_rng(random_state)
    a0, a1 = default_aux_cols(kinds) if aux_cols is None else (list(aux_cols[0]), list(aux_cols[1]))
    if not a0 or not a1:
        raise ValueError("linkability needs two non-empty sets of auxiliary columns")
    if n_neighbors < 1:
        raise ValueError(
            f"The 'n_neighbors' parameter must be an int >= 1. Got {n_neighbors} instead."
        )
    sizes = [len(ori)] + ([] if control is None else [len(control)])
    n = _n_attacks(n_attacks, *sizes)
    k = min(n_neighbors, len(syn))

    def attack(table: pd.DataFrame) -> int:
        targets = _sample(table, n, rng)
        i0, i1 = _nn_on(a0, targets, syn, kinds, k), _nn_on(a1, targets, syn, kinds, k)
        return _count_links(i0, i1)

    # anonymeter runs the baseline first, then the main and the control attacks
    r0 = np.array([rng.choice(len(syn), size=k, replace=False) for _ in range(n)])
    r1 = np.array([rng.choice(len(syn), size=k, replace=False) for _ in range(n)])
    n_baseline = _count_links(r0, r1)
    n_success = attack(ori)
    n_control = None if control is None else float(attack(control))
    return attack_results(
        n_attacks=n,
        n_success=n_success,
        n_baseline=n_baseline,
        n_control=n_control,
        confidence_level=confidence_level,
        extra={
            "aux_cols": [list(a0), list(a1)],
            "n_neighbors": int(k),
            "n_attacks_requested": int(n_attacks),
        },
    )


def _count_links(idx0: np.ndarray, idx1: np.ndarray) -> int:
    """Attacked records whose two halves share at least one neighbour."""
    if idx0.shape[1] == 1:
        return int((idx0[:, 0] == idx1[:, 0]).sum())
    return int(
        sum(bool(set(a) & set(b)) for a, b in zip(idx0.tolist(), idx1.tolist(), strict=True))
    )


# ------------------------------------------------------------------------------- inference
def _guess_matches(
    guesses: np.ndarray, secrets: np.ndarray, regression: bool, tolerance: float
) -> np.ndarray:
    if regression:
        g, s = guesses.astype(float), secrets.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = np.abs(g - s) / (np.abs(g) + 1e-12) <= tolerance
        return ok | (np.isnan(g) & np.isnan(s))
    return guesses == secrets  # canonical text: missing equals missing


def inference_risk(
    ori: pd.DataFrame,
    syn: pd.DataFrame,
    control: pd.DataFrame | None,
    *,
    kinds: Mapping[str, str],
    secret: str,
    aux_cols: Sequence[str] | None = None,
    n_attacks: int = 500,
    tolerance: float = 0.05,
    confidence_level: float = 0.95,
    random_state: int | np.random.Generator | None = None,
) -> AttackResults:
    """Attribute-inference risk (anonymeter's ``InferenceEvaluator``).

    The attacker knows ``aux_cols`` (default: every other column) of a target and guesses its
    ``secret`` as the secret of the nearest synthetic record. A guess is right when it equals
    the secret (categorical) or is within a relative ``tolerance`` of it (numerical/datetime:
    ``|guess - secret| / |guess| <= tolerance``). Control: the same attack on holdout records;
    baseline: the secret of a random synthetic record.
    """
    if secret not in kinds:
        raise ValueError(f"The secret column {secret!r} is not among the evaluated columns.")
    aux = [c for c in kinds if c != secret] if aux_cols is None else list(aux_cols)
    if not aux:
        raise ValueError("inference needs at least one auxiliary column")
    rng = np.random.default_rng(random_state)
    regression = kinds[secret] in _NUMERIC_KINDS
    sizes = [len(ori), len(syn)] + ([] if control is None else [len(control)])
    n = _n_attacks(n_attacks, *sizes)

    def values(df: pd.DataFrame) -> np.ndarray:
        return _as_float(df[secret], kinds[secret]) if regression else _as_text(df[secret])

    syn_secret = values(syn)

    def attack(table: pd.DataFrame, naive: bool) -> int:
        targets = _sample(table, n, rng)
        if naive:
            guesses = syn_secret[rng.choice(len(syn), size=n, replace=False)]
        else:
            guesses = syn_secret[_nn_on(aux, targets, syn, kinds, 1)[:, 0]]
        return int(_guess_matches(guesses, values(targets), regression, tolerance).sum())

    n_baseline = attack(ori, naive=True)
    n_success = attack(ori, naive=False)
    n_control = None if control is None else float(attack(control, naive=False))
    return attack_results(
        n_attacks=n,
        n_success=n_success,
        n_baseline=n_baseline,
        n_control=n_control,
        confidence_level=confidence_level,
        extra={
            "secret": secret,
            "aux_cols": aux,
            "regression": regression,
            "tolerance": tolerance if regression else None,
            "n_attacks_requested": int(n_attacks),
        },
    )
