"""Empirical privacy audits of a synthesizer: canaries in, one or many fits, a lower bound out.

An audit inserts *canaries* (rows that no real row resembles) into a copy of the training
table, trains the same model the user means to release, and measures how well an attacker
who sees only synthetic rows can tell which canaries were trained on. The statistics live in
:mod:`tabsynth.privacy.audit`; this module builds the canaries, trains and scores.

The canary. Each canary is a real row (picked at random) with
- a category of its own in a categorical column whose domain is declared public
  (``canary_column``): the category is added to the declared domain, so it is *declared but
  unseen* in the real data and every fit sees the same public inputs;
- every numerical column with declared ``public_bounds`` set to its upper bound (an extreme
  value, still within the declared bounds).
The attack score of a canary is the number of synthetic rows that carry its category
(sampled from the fitted model: the black-box view of a release), ties broken at random.

Two audits
----------
:func:`audit_one_run` (Steinke, Nasr & Jagielski 2023): ``n_canaries`` canaries, each
included independently with probability 1/2, ONE fit; the auditor guesses in/out for the
extremes of the score ranking. Cheap enough to run beside a real release.

:func:`audit_multi_run`: ``n_trials`` fits with the canary ("in") and ``n_trials`` without
("out"); a threshold chosen on a calibration share of the trials, then Clopper-Pearson bounds
on TPR/FPR of the others (:func:`tabsynth.privacy.epsilon_lower_bound`).

Both return a plain dict with exactly the keys of :data:`AUDIT_KEYS`::

    {"method": "one-run" | "multi-run", "epsilon_lower": float, "confidence": float,
     "claimed_epsilon": float | None, "delta": float | None, "n_canaries": int,
     "n_guesses": int, "n_correct": int, "positive_control_epsilon_lower": float | None,
     "passed": bool}

``passed`` is ``epsilon_lower <= claimed_epsilon`` (false when nothing is claimed).
``positive_control=True`` repeats the same audit on a NON-private fit (``epsilon=None``, same
parameters and canaries): its bound must exceed the claim, or the audit had no power to fail.

The audit's own randomness (which canaries go in, the template rows, tie-breaks) comes from
``random_state``: it is the auditor's secret, not privacy noise. The figure is computed from
the real table (it is not itself DP): it belongs in an internal sign-off.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .errors import ParameterError, check_param
from .metadata.columns import duration_to_seconds

__all__ = ["AUDIT_KEYS", "audit_multi_run", "audit_one_run", "check_audit_result",
           "make_canaries"]

#: The keys of an audit result, in order (the JSON that ``tabsynth evaluate --audit`` reads).
AUDIT_KEYS = ("method", "epsilon_lower", "confidence", "claimed_epsilon", "delta",
              "n_canaries", "n_guesses", "n_correct", "positive_control_epsilon_lower",
              "passed")

CANARY_PREFIX = "__tabsynth_canary_"

ModelFactory = Callable[[float | None, float | None, int | None], Any]


# --------------------------------------------------------------------------- inputs
def _default_factory(model: str, params: dict[str, Any] | None) -> ModelFactory:
    check_param("audit", "model", model, model in ("tvae", "ctgan"), "'tvae' or 'ctgan'")

    def factory(epsilon: float | None, delta: float | None, random_state: int | None) -> Any:
        if model == "tvae":
            from .models.tvae import TVAE as cls
        else:
            from .models.ctgan import CTGAN as cls
        kw: dict[str, Any] = {"verbose": False, **(params or {})}
        kw.update(epsilon=epsilon, random_state=random_state)
        if epsilon is None:
            kw.pop("delta", None)
            if kw.get("route") == "marginals":  # the non-private twin trains on rows
                kw.pop("route")
        elif delta is not None:
            kw["delta"] = delta
        return cls(**kw)

    return factory


def _prepare(data: Any, metadata: Any, canary_column: str | None) -> tuple[pd.DataFrame, Any, str]:
    from .io import read_table
    from .metadata import Metadata

    df = read_table(data)
    if metadata is None:
        raise ParameterError(
            "An audit needs metadata with a declared public_domain on a categorical column "
            "(the canaries' categories are added to it); detected metadata declares none.")
    if isinstance(metadata, Metadata):
        md = metadata.copy()
    elif isinstance(metadata, dict):
        md = Metadata.from_dict(metadata)
    else:
        md = Metadata.load(metadata)
    declared = [c for c in md.modelled_columns
                if md[c].sdtype == "categorical" and md[c].public_domain is not None]
    if canary_column is None:
        if not declared:
            raise ParameterError(
                "An audit needs a categorical column with a declared public_domain (the "
                "canaries' categories are added to it); the metadata declares none.")
        canary_column = declared[0]
    check_param("audit", "canary_column", canary_column, canary_column in declared,
                f"a categorical column with a declared public_domain (one of {declared})")
    return df, md, canary_column


def make_canaries(df: pd.DataFrame, metadata: Any, n: int, *, canary_column: str,
                  rng: np.random.Generator) -> tuple[pd.DataFrame, Any]:
    """``n`` canary rows and the metadata with their categories added to the declared domain.

    Each canary is a random real row with its own category in ``canary_column`` and every
    numerical column with declared ``public_bounds`` at its upper bound.
    """
    rows = df.iloc[rng.integers(0, len(df), size=n)].copy().reset_index(drop=True)
    labels = [f"{CANARY_PREFIX}{i:05d}" for i in range(n)]
    rows[canary_column] = labels
    for name in metadata.modelled_columns:
        col = metadata[name]
        if col.is_duration and col.public_bounds is not None:
            hi_s = duration_to_seconds(col.public_bounds[1])
            rows[name] = pd.Series(pd.to_timedelta([hi_s] * n, unit="s")).astype(
                df[name].dtype)
        elif col.sdtype == "numerical" and col.public_bounds is not None:
            hi = col.public_bounds[1]
            if pd.api.types.is_integer_dtype(df[name].dtype):
                hi = int(math.floor(hi))
            rows[name] = pd.Series([hi] * n, dtype=df[name].dtype)
    md = metadata.copy()
    md.update_column(canary_column,
                     public_domain=[*metadata[canary_column].public_domain, *labels])
    return rows, md


def _scores(model: Any, labels: list[str], column: str, n_synthetic: int, seed: int,
            ) -> np.ndarray:
    synthetic = model.sample(n_synthetic, random_state=seed)
    counts = synthetic[column].value_counts()
    return np.array([float(counts.get(lab, 0)) for lab in labels])


def _check_common(epsilon: Any, confidence: Any, random_state: Any) -> None:
    check_param("audit", "epsilon", epsilon,
                epsilon is None or (isinstance(epsilon, (int, float)) and epsilon > 0),
                "a float > 0 or None")
    check_param("audit", "confidence", confidence,
                isinstance(confidence, float) and 0 < confidence < 1, "a float in (0, 1)")
    check_param("audit", "random_state", random_state,
                random_state is None or isinstance(random_state, (int, np.integer)),
                "an int or None")


def _claim(model: Any, epsilon: float | None, delta: float | None) -> tuple[Any, Any]:
    if epsilon is None:
        return None, delta
    spent = getattr(model, "privacy_spent_", None) or {}
    spent_delta = spent.get("delta") if isinstance(spent, dict) else None
    return float(epsilon), float(spent_delta if spent_delta is not None else (delta or 0.0))


def _result(method: str, eps_lo: float, confidence: float, claimed: Any, delta: Any, m: int,
            k: int, correct: int, control: Any) -> dict[str, Any]:
    out = {"method": method, "epsilon_lower": float(eps_lo), "confidence": float(confidence),
           "claimed_epsilon": claimed, "delta": delta, "n_canaries": int(m),
           "n_guesses": int(k), "n_correct": int(correct),
           "positive_control_epsilon_lower": None if control is None else float(control),
           "passed": bool(claimed is not None and eps_lo <= claimed)}
    check_audit_result(out)
    return out


def check_audit_result(result: dict[str, Any]) -> None:
    """Raise :class:`ParameterError` unless ``result`` has exactly the audit schema."""
    keys = tuple(result) if isinstance(result, dict) else ()
    if set(keys) != set(AUDIT_KEYS):
        raise ParameterError(f"An audit result has exactly the keys {list(AUDIT_KEYS)}. "
                             f"Got {list(keys)}.")
    problems = []
    if result["method"] not in ("one-run", "multi-run"):
        problems.append("method must be 'one-run' or 'multi-run'")
    for key in ("epsilon_lower", "confidence"):
        if not isinstance(result[key], float):
            problems.append(f"{key} must be a float")
    for key in ("claimed_epsilon", "delta", "positive_control_epsilon_lower"):
        if result[key] is not None and not isinstance(result[key], float):
            problems.append(f"{key} must be a float or null")
    for key in ("n_canaries", "n_guesses", "n_correct"):
        if not isinstance(result[key], int) or isinstance(result[key], bool):
            problems.append(f"{key} must be an int")
    if not isinstance(result["passed"], bool):
        problems.append("passed must be a bool")
    if problems:
        raise ParameterError("Invalid audit result: " + "; ".join(problems) + ".")


# --------------------------------------------------------------------------- one run
def audit_one_run(
    data: Any,
    metadata: Any,
    *,
    epsilon: float | None,
    delta: float | None = None,
    model: str = "tvae",
    model_params: dict[str, Any] | None = None,
    model_factory: ModelFactory | None = None,
    n_canaries: int = 100,
    n_guesses: Any = None,
    confidence: float = 0.95,
    canary_column: str | None = None,
    n_synthetic: int | None = None,
    positive_control: bool = False,
    random_state: int | None = None,
) -> dict[str, Any]:
    """One-run audit (Steinke, Nasr & Jagielski 2023) of ``model`` fitted at ``epsilon``.

    Parameters
    ----------
    data, metadata
        The training table and its metadata (a categorical column must have a declared
        ``public_domain``; bounded numerical columns give the canaries their extreme values).
    epsilon, delta
        The claim audited (``epsilon=None``: a non-private fit, nothing claimed).
    model, model_params
        ``"tvae"``/``"ctgan"`` and their parameters (``epsilon``, ``delta`` and
        ``random_state`` are set by the audit), or ``model_factory(epsilon, delta, seed)``
        returning any estimator with ``fit(df, metadata=...)`` and
        ``sample(n, random_state=...)``.
    n_canaries
        Canaries ``m``; about half are trained on. More canaries, more power (and a
        training table further from the real one).
    n_guesses
        Guesses ``k`` (int), candidates (sequence, union bound), or ``None`` (10/20/40%).
    n_synthetic
        Synthetic rows sampled to score the canaries (default ``max(20000, 20 * rows)``).
    positive_control
        Also audit a non-private fit with the same canaries (its bound must exceed the claim).
    """
    from .privacy.audit import one_run_audit

    _check_common(epsilon, confidence, random_state)
    check_param("audit_one_run", "n_canaries", n_canaries,
                isinstance(n_canaries, int) and n_canaries >= 10, "an int >= 10")
    df, md, column = _prepare(data, metadata, canary_column)
    factory = model_factory or _default_factory(model, model_params)
    rng = np.random.default_rng(random_state)
    canaries, md_audit = make_canaries(df, md, n_canaries, canary_column=column, rng=rng)
    included = rng.random(n_canaries) < 0.5
    train = pd.concat([df, canaries[included]], ignore_index=True)
    labels = list(canaries[column])
    n_syn = int(n_synthetic or max(20_000, 20 * len(train)))
    seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=4)]

    def run(eps: float | None, claimed_delta: float | None) -> tuple[Any, Any]:
        fitted = factory(eps, claimed_delta, seeds[0]).fit(train, metadata=md_audit)
        scores = _scores(fitted, labels, column, n_syn, seeds[1])
        return fitted, scores

    fitted, scores = run(epsilon, delta)
    claimed, claimed_delta = _claim(fitted, epsilon, delta)
    audit_delta = claimed_delta or 0.0
    res = one_run_audit(scores, included, n_guesses=n_guesses, delta=audit_delta,
                        confidence=confidence, rng=np.random.default_rng(seeds[2]))
    control = None
    if positive_control:
        _, control_scores = run(None, None)
        control = one_run_audit(control_scores, included, n_guesses=n_guesses,
                                delta=audit_delta, confidence=confidence,
                                rng=np.random.default_rng(seeds[3])).epsilon_lower
    return _result("one-run", res.epsilon_lower, confidence, claimed, claimed_delta,
                   n_canaries, res.n_guesses, res.n_correct, control)


# --------------------------------------------------------------------------- many runs
def audit_multi_run(
    data: Any,
    metadata: Any,
    *,
    epsilon: float | None,
    delta: float | None = None,
    model: str = "tvae",
    model_params: dict[str, Any] | None = None,
    model_factory: ModelFactory | None = None,
    n_trials: int = 100,
    canary_copies: int = 1,
    calibration_share: float = 0.25,
    confidence: float = 0.95,
    canary_column: str | None = None,
    n_synthetic: int | None = None,
    positive_control: bool = False,
    random_state: int | None = None,
) -> dict[str, Any]:
    """Multi-run audit: ``n_trials`` fits with the canary and ``n_trials`` without.

    The threshold on the score is chosen on the first ``calibration_share`` of the trials of
    each side and the bound is computed on the others with that fixed threshold
    (Clopper-Pearson at ``confidence``), so picking the threshold is not optimistic.
    With ``canary_copies = c > 1`` the canary row is inserted ``c`` times and the claim
    audited is the group guarantee ``(c * epsilon, c * e^((c-1) epsilon) * delta)``;
    ``n_canaries`` in the result is ``c``. ``n_guesses`` / ``n_correct``: evaluation trials
    and those classified right at the threshold. Power: with ``T`` evaluation trials per side
    the bound cannot exceed ``ln((1 - a) / a)``, ``a = 1 - ((1 - confidence) / 2)^(1/T)``
    (about 2.0 for T = 30, 3.0 for T = 75 at 95%).
    """
    from .privacy.audit import epsilon_lower_bound

    _check_common(epsilon, confidence, random_state)
    check_param("audit_multi_run", "n_trials", n_trials,
                isinstance(n_trials, int) and n_trials >= 8, "an int >= 8")
    check_param("audit_multi_run", "canary_copies", canary_copies,
                isinstance(canary_copies, int) and canary_copies >= 1, "an int >= 1")
    check_param("audit_multi_run", "calibration_share", calibration_share,
                isinstance(calibration_share, float) and 0 < calibration_share < 1,
                "a float in (0, 1)")
    df, md, column = _prepare(data, metadata, canary_column)
    factory = model_factory or _default_factory(model, model_params)
    rng = np.random.default_rng(random_state)
    canary, md_audit = make_canaries(df, md, 1, canary_column=column, rng=rng)
    with_canary = pd.concat([df, *([canary] * canary_copies)], ignore_index=True)
    label = str(canary[column].iloc[0])
    n_syn = int(n_synthetic or max(20_000, 20 * len(with_canary)))
    n_cal = max(2, int(round(calibration_share * n_trials)))

    def trials(eps: float | None) -> tuple[np.ndarray, np.ndarray, Any]:
        s_in, s_out, last = [], [], None
        for _ in range(n_trials):
            for table, out in ((with_canary, s_in), (df, s_out)):
                seed = int(rng.integers(0, 2**31 - 1))
                last = factory(eps, delta, seed).fit(table, metadata=md_audit)
                out.append(_scores(last, [label], column, n_syn, seed + 1)[0])
        return np.array(s_in), np.array(s_out), last

    def bound(s_in: np.ndarray, s_out: np.ndarray, d: float) -> Any:
        cal = epsilon_lower_bound(s_in[:n_cal], s_out[:n_cal], delta=d, confidence=confidence)
        return epsilon_lower_bound(s_in[n_cal:], s_out[n_cal:], delta=d,
                                   confidence=confidence, threshold=cal.threshold)

    s_in, s_out, fitted = trials(epsilon)
    claimed, claimed_delta = _claim(fitted, epsilon, delta)
    c = canary_copies
    if claimed is not None:
        claimed_delta = c * math.exp((c - 1) * claimed) * (claimed_delta or 0.0)
        claimed = c * claimed
    d = min(claimed_delta or 0.0, 0.5)
    res = bound(s_in, s_out, d)
    n_eval = n_trials - n_cal
    correct = int(round(res.tpr * n_eval + (1 - res.fpr) * n_eval))
    control = None
    if positive_control:
        c_in, c_out, _ = trials(None)
        control = bound(c_in, c_out, d).epsilon_lower
    return _result("multi-run", res.epsilon_lower, confidence, claimed, claimed_delta, c,
                   2 * n_eval, correct, control)
