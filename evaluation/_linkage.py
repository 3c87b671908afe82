"""Linkability and attribute-inference risks (anonymeter's method; see :mod:`.anonymeter`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ._attack_stats import (
    _NUMERIC_KINDS,
    AttackResults,
    _n_attacks,
    _sample,
    attack_results,
)
from .distances import GowerEncoder, _as_float, _as_text, nearest_neighbors


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
