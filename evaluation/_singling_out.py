"""Singling-out risk (anonymeter's univariate and multivariate attacks; see :mod:`.anonymeter`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

from ._attack_stats import (
    _NUMERIC_KINDS,
    AttackResults,
    _dedup,
    _n_attacks,
    attack_results,
)
from .distances import _MISSING, _as_float, _as_text

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
