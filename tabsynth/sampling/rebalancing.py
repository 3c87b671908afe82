"""Balanced representation: rebalance a table over protected attributes (``tabsynth.rebalance``).

A *group* is one combination of values of the protected columns (``sex`` x ``race`` on adult
gives 2 x 5 = 10 groups). The group domain is the model's: the categories its statistics hold
for each protected column — declared public (``public_domain``) or DP-released under DP, never
read from the private rows — less the missing slot and the DP/cap ``"__other__"`` bucket
(which stands for no real value). Target shares are ``"equal"`` or a dict group -> share.

Two modes:

* ``keep_real=True`` (default): the real table plus synthetic rows of the groups below their
  target, each group generated exactly through the model's conditions
  (``model.sample(k, conditions={"sex": ..., "race": ...})``), so that the augmented table
  reaches the target shares. Rows are only added: the group with the largest
  ``count / target`` sets the size. It reads the exact group counts of the real table and
  returns the real rows: **not a DP release** (``privacy["dp"]`` is False with the reason),
  whatever the model's epsilon.
* ``keep_real=False``: a synthetic release of ``n`` rows whose groups have exactly the target
  shares (largest-remainder rounding of ``n x share``). Pure post-processing of the model: no
  real row or count is read, so a DP model's guarantee carries over to the release, and every
  row is in a group of the declared / DP-released domain.

Refused (``ParameterError``, or ``ConditionError`` from the model): a protected column that is
not a categorical column of the model or of ``data``; a shares dict with an unknown group, a
negative share or shares not summing to 1; a group with a positive share that the model saw no
training row of (exact statistics: frequency 0, i.e. a value only a declared domain brought in;
or, with ``data`` under a non-DP model, a combination with no real row). Under DP such a group
is allowed (whether a row had the value must not be told): a ``DataWarning`` says its rows come
from the model's prior, not from data.

Rebalancing shifts group *shares*; it does not by itself make a downstream model fairer.
``tabsynth.evaluation.evaluate(..., protected=[...])`` measures both (README, "Balanced
representation").
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataWarning, ParameterError, check_param
from .augment import fill_unmodelled
from .groups import (
    allocate,
    domain,
    frequencies,
    group_codes,
    group_label,
    plan_added,
    protected_columns,
    resolve_shares,
)

__all__ = ["MAX_GROUPS", "MAX_NEW_ROWS", "Rebalanced", "group_label", "rebalance"]

#: Most groups one call handles (the product of the protected columns' domains).
MAX_GROUPS = 10_000
#: Most synthetic rows one call generates (time and memory).
MAX_NEW_ROWS = 10_000_000
_OWNER = "rebalance"
_MODELS = ("ar", "ctgan", "tvae")


@dataclass
class Rebalanced:
    """The result of :func:`rebalance`.

    Attributes
    ----------
    table : DataFrame
        ``keep_real=True``: the real rows (first, unchanged) then the synthetic ones;
        ``keep_real=False``: synthetic rows only.
    synthetic_mask : ndarray of bool
        True on the synthetic rows of ``table``.
    groups : list of dict
        Per group: ``group`` ({column: value}), ``label`` (``"Female × White"``),
        ``target_share``, ``added`` (synthetic rows), ``real`` (real rows; ``None`` when
        ``keep_real=False``: no real count is read) and ``share`` (its share of the grouped
        rows of ``table``).
    privacy : dict
        ``{"dp": bool, "reason": str | None, "epsilon", "delta", "real_rows_in_output",
        "note"}`` — the form ``tabsynth.evaluation.evaluate(ledger=...)`` reads.
    model : synthesizer
        The fitted model the rows came from.
    """

    table: pd.DataFrame
    synthetic_mask: np.ndarray
    groups: list[dict[str, Any]]
    privacy: dict[str, Any]
    model: Any = field(repr=False, default=None)


def _fit(data: Any, model: Any, *, epsilon, delta, metadata, model_params, random_state,
         verbose) -> Any:
    if model is not None and not isinstance(model, str):
        given = [k for k, v in (("epsilon", epsilon), ("delta", delta),
                                ("model_params", model_params)) if v is not None]
        if given:
            raise ParameterError(f"rebalance: {', '.join(given)} go with fitting a model here "
                                 "(model=None or a name); a synthesizer instance carries its "
                                 "own parameters.")
        if hasattr(model, "transformer_"):
            return model
        if data is None:
            raise ParameterError("rebalance: the model is not fitted and no data was given.")
        return model.fit(data, metadata)
    name = "ar" if model is None else model
    check_param(_OWNER, "model", model, name in _MODELS,
                f"a fitted synthesizer, one of {list(_MODELS)} or None")
    if data is None:
        raise ParameterError("rebalance needs data= to fit a model (or a fitted model=).")
    check_param(_OWNER, "model_params", model_params,
                model_params is None or isinstance(model_params, Mapping), "None or a dict")
    import tabsynth  # the public (lazy) names of the models

    klass = getattr(tabsynth, {"ar": "ARSynthesizer", "ctgan": "CTGAN", "tvae": "TVAE"}[name])
    params = {"epsilon": epsilon, "delta": delta, "random_state": random_state,
              "verbose": verbose, **dict(model_params or {})}
    return klass(**params).fit(data, metadata)


def _is_private(model: Any) -> bool:
    return (getattr(model, "privacy_spent_", None) is not None
            or getattr(getattr(model, "stats_", None), "source", "exact") == "dp")


def _check_seen(model: Any, cols: list[str], groups: list[tuple], target: np.ndarray,
                private: bool) -> None:
    """Refuse (exact statistics) a group with a value the model saw no training row of."""
    if private:
        return  # the model's conditions warn when a DP estimate is below one row
    freqs = [frequencies(model, c) for c in cols]
    unseen = sorted({f"{c}={v!r}" for g, t in zip(groups, target, strict=True) if t > 0
                     for c, v, f in zip(cols, g, freqs, strict=True) if f.get(v, 0.0) == 0.0})
    if unseen:
        raise ParameterError(
            f"The model saw no training row with {', '.join(unseen[:10])} (the value is in the "
            "model only through a declared public domain), so it cannot generate that group "
            "faithfully. Give such groups a share of 0 (shares={group: share, ...})."
        )


def _check_counts(counts: np.ndarray, groups: list[tuple], target: np.ndarray,
                  private: bool, keep_real: bool) -> None:
    labels = [group_label(g) for g in groups]
    kept = [labels[i] for i in np.flatnonzero((target == 0) & (counts > 0))]
    if keep_real and kept:
        raise ParameterError(
            f"keep_real=True only adds rows, so a group with real rows cannot get a share of 0: "
            f"{kept[:10]}. Give them a share, or use keep_real=False (a synthetic release)."
        )
    empty = [labels[i] for i in np.flatnonzero((target > 0) & (counts == 0))]
    if not empty:
        return
    if not private:
        raise ParameterError(
            f"The data holds no row of the group(s) {empty[:10]}: the model learnt nothing "
            "about them, so their rows would not be faithful. Give them a share of 0."
        )
    warnings.warn(
        f"The data holds no row of the group(s) {empty[:10]}: their rows come from the DP "
        "model's prior for those values, not from data. Check them before use.",
        DataWarning, stacklevel=3,
    )


def rebalance(
    data: Any = None,
    *,
    protected: str | Sequence[str],
    model: Any = None,
    shares: str | Mapping[Any, float] = "equal",
    keep_real: bool = True,
    n: int | None = None,
    epsilon: float | None = None,
    delta: float | None = None,
    metadata: Any = None,
    model_params: Mapping[str, Any] | None = None,
    random_state: int | None = None,
    verbose: bool = True,
) -> Rebalanced:
    """Rebalance a table over the groups of ``protected`` to target shares (module docstring).

    Parameters
    ----------
    data : DataFrame or path, optional
        The real table: augmented when ``keep_real=True``; used to fit a model when ``model``
        is not a fitted synthesizer.
    protected : str or list of str
        Categorical column(s); the groups are the combinations of their values.
    model : fitted synthesizer, "ar", "ctgan", "tvae" or None, default=None
        The generator; ``None`` fits an :class:`~tabsynth.ARSynthesizer` (exact on several
        conditions at once) on ``data`` with ``epsilon``, ``delta``, ``model_params``.
    shares : "equal" or dict, default="equal"
        Target share per group. Dict keys: a value (one protected column), a tuple of values
        in the order of ``protected``, or the label ``"Female × White"`` (also
        ``"Female|White"``); shares >= 0 summing to 1; unnamed groups get 0.
    keep_real : bool, default=True
        Augment the real table (not a DP release), or return a synthetic release of ``n``
        rows (post-processing of the model; DP when the model is).
    n : int, optional
        ``keep_real=False``: rows of the release (default: the model's row count, the DP
        estimate under DP).
    random_state : int, optional
        Seeds the model's fit (when fitted here; never privacy noise) and the sampling.

    Returns
    -------
    Rebalanced
        ``table``, ``synthetic_mask``, ``groups``, ``privacy``, ``model``.
    """
    from ..io import read_table

    cols = protected_columns(protected)
    check_param(_OWNER, "keep_real", keep_real, isinstance(keep_real, bool), "a bool")
    check_param(_OWNER, "n", n, n is None or (isinstance(n, numbers.Integral)
                                               and not isinstance(n, bool) and n >= 1),
                "None or an int >= 1")
    check_param(_OWNER, "random_state", random_state, random_state is None or (
        isinstance(random_state, numbers.Integral) and random_state >= 0), "None or an int >= 0")
    if keep_real and data is None:
        raise ParameterError("rebalance(keep_real=True) augments a real table: give data=.")
    if keep_real and n is not None:
        raise ParameterError("n goes with keep_real=False (with keep_real=True the size "
                             "follows from the real counts and the target shares).")
    df = None if data is None else read_table(data)
    if df is not None:
        absent = [c for c in cols if c not in df.columns]
        if absent:
            raise ParameterError(f"The protected column(s) {absent} are not in the data; "
                                 f"columns: {list(df.columns)[:20]}.")
    fitted = _fit(df, model, epsilon=epsilon, delta=delta, metadata=metadata,
                  model_params=model_params, random_state=random_state, verbose=verbose)
    private = _is_private(fitted)
    domains = [domain(fitted, c) for c in cols]
    for c, dom in zip(cols, domains, strict=True):
        if not dom:
            raise ParameterError(f"The model holds no category of {c!r} to rebalance over "
                                 "(only missing values or the '__other__' bucket).")
    n_groups = math.prod(len(d) for d in domains)
    if n_groups > MAX_GROUPS:
        raise ParameterError(f"{' x '.join(cols)} makes {n_groups:,} groups, more than "
                             f"{MAX_GROUPS:,}: protect fewer or coarser columns.")
    groups = list(product(*domains))
    target = resolve_shares(shares, groups)
    _check_seen(fitted, cols, groups, target, private)
    counts = None
    if df is not None and (keep_real or not private):  # never read real counts for a DP release
        codes = group_codes(df, cols, domains)
        counts = np.bincount(codes[codes >= 0], minlength=n_groups).astype(np.int64)
        _check_counts(counts, groups, target, private, keep_real)
    if keep_real:
        assert counts is not None and df is not None
        outside = int((codes < 0).sum())
        if outside:
            warnings.warn(f"{outside} real row(s) have a missing protected value or one the "
                          "model does not hold: they are kept and left out of the shares.",
                          DataWarning, stacklevel=2)
        added = plan_added(counts, target)
    else:
        if n is None:
            n_rows = getattr(getattr(fitted, "stats_", None), "n_rows", None)
            if not n_rows:
                raise ParameterError("rebalance(keep_real=False) needs n= (the model holds no "
                                     "row count).")
            n = max(int(round(float(n_rows))), 1)
        added = allocate(int(n), target)
    total = int(added.sum())
    if total > MAX_NEW_ROWS:
        raise ParameterError(f"rebalance would generate {total:,} rows, more than the limit of "
                             f"{MAX_NEW_ROWS:,} for one call: choose less extreme shares.")
    synth = _generate(fitted, cols, groups, added, random_state, verbose)
    if keep_real:
        assert df is not None
        synth = fill_unmodelled(df, synth, fitted)
        table = pd.concat([df.reset_index(drop=True), synth], ignore_index=True)
        mask = np.r_[np.zeros(len(df), bool), np.ones(len(synth), bool)]
    else:
        table, mask = synth, np.ones(len(synth), dtype=bool)
    have = added + (counts if keep_real and counts is not None else 0)
    info = [{"group": dict(zip(cols, g, strict=True)), "label": group_label(g),
             "target_share": float(t), "added": int(a),
             "real": int(counts[i]) if keep_real and counts is not None else None,
             "share": float(have[i] / max(have.sum(), 1))}
            for i, (g, t, a) in enumerate(zip(groups, target, added, strict=True))]
    return Rebalanced(table, mask, info, _privacy(fitted, private, keep_real), fitted)


def _generate(model: Any, cols: list[str], groups: list[tuple], added: np.ndarray,
              random_state: int | None, verbose: bool) -> pd.DataFrame:
    """The synthetic rows of every group (exact conditions), shuffled (seeded)."""
    from tqdm.auto import tqdm

    seeds = np.random.SeedSequence(random_state).spawn(len(groups) + 1)
    parts = []
    with tqdm(total=int(added.sum()), desc="rebalance", unit="row", disable=not verbose,
              leave=False) as bar:
        for g, k, seed in zip(groups, added, seeds, strict=False):
            if k <= 0:
                continue
            bar.set_postfix_str(group_label(g)[:40])
            parts.append(model.sample(int(k), conditions=dict(zip(cols, g, strict=True)),
                                      random_state=int(seed.generate_state(1)[0])))
            bar.update(int(k))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in model.columns_})
    out = pd.concat(parts, ignore_index=True)
    order = np.random.default_rng(seeds[-1]).permutation(len(out))
    return out.iloc[order].reset_index(drop=True)


def _privacy(model: Any, private: bool, keep_real: bool) -> dict[str, Any]:
    spent = getattr(model, "privacy_spent_", None) or {}
    eps, delta = spent.get("epsilon"), spent.get("delta")
    if keep_real:
        reason = ("keep_real=True: the output contains the real rows passed in, and the group "
                  "sizes come from their exact counts")
    elif not private:
        reason = "the model is not differentially private"
    else:
        reason = None
    note = ("Synthetic release: post-processing of the DP model (group domain from its declared "
            "or DP-released categories, group sizes from the target shares); the model's "
            "(epsilon, delta) covers it." if reason is None else f"Not a DP release: {reason}.")
    return {"dp": reason is None, "reason": reason, "epsilon": eps, "delta": delta,
            "real_rows_in_output": bool(keep_real), "note": note}
