"""Fairness section of the report: group shares, and a downstream model's gaps across groups.

With ``protected`` columns named (``evaluate(..., protected=["sex", "race"])``), a *group* is
one combination of their values (``"Female × White"``). The section holds:

* **group shares** in the real table and in the release (each over all rows of its table;
  missing values are a group value of their own, shown as ``(missing)``);
* with a ``target`` and a real ``holdout``: a ``HistGradientBoostingClassifier`` (seeded, the
  settings of :mod:`.utility`) trained on the real table and one trained on the release, both
  scored on the real holdout: accuracy, ROC AUC of the positive class, the
  **demographic-parity difference** (max - min over groups of the rate of positive predictions)
  and the **equalised-odds gap** (the larger of the max - min true-positive rate and the
  max - min false-positive rate over groups). A prediction is the most probable class; the
  positive class is ``positive`` or, by default, the real table's rarest class (as for the
  utility figures). Groups with fewer than ``min_group_rows`` holdout rows are left out of the
  demographic-parity difference, and groups with fewer than ``min_group_rows`` positive
  (negative) holdout rows out of the true- (false-) positive-rate gap: a rate over a handful of
  rows is noise, and the gap would mostly measure it. The notes name the groups left out.

The schema (rendered by :mod:`.html`)::

    {"protected": [...], "target": str | None, "positive": value | None,
     "groups": [{"group": {col: value}, "label": str, "real_share": float,
                 "release_share": float}, ...],
     "downstream": None | {"models": {"real": {...}, "release": {...}}},
     "notes": [str, ...]}

with ``accuracy``, ``roc_auc``, ``demographic_parity_difference`` and ``equalized_odds_gap``
under each model (``None`` when not computable). :func:`release_section` gives the release
form: shares rounded to 3 decimals and groups with fewer than ``RELEASE_MIN_ROWS`` real rows
dropped (a tiny group's share would tell that a few people of it are in the real table).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._encoding import CONTINUOUS, ordinal_matrix
from ._threads import limited_threads
from .errors import EvaluationParameterError

__all__ = ["MIN_GROUP_ROWS", "RELEASE_MIN_ROWS", "check_protected",
           "demographic_parity_difference", "equalized_odds_gap", "fairness_section",
           "group_shares", "release_section"]

#: Fewest holdout rows (positives / negatives for TPR / FPR) for a group to count in a gap.
MIN_GROUP_ROWS = 20
#: Fewest real rows for a group to be shown in the release form of the report.
RELEASE_MIN_ROWS = 10
_SEP = " × "
_METRICS = ("accuracy", "roc_auc", "demographic_parity_difference", "equalized_odds_gap")


def _py(v: Any) -> Any:
    if v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v.item() if isinstance(v, np.generic) else v


def _label(values: Sequence[Any]) -> str:
    return _SEP.join("(missing)" if v is None else str(v) for v in values)


def _keys(df: pd.DataFrame, protected: Sequence[str]) -> pd.Series:
    """One hashable key (a tuple of plain values, missing -> None) per row."""
    cols = [[_py(v) for v in df[c].astype("object")] for c in protected]
    keys = np.empty(len(df), dtype=object)
    keys[:] = list(zip(*cols, strict=True))
    return pd.Series(keys, index=df.index, dtype=object)


def _sort_key(key: tuple) -> tuple:
    return tuple((v is None, type(v).__name__, str(v)) for v in key)


def group_shares(real: pd.DataFrame, release: pd.DataFrame,
                 protected: Sequence[str]) -> list[dict[str, Any]]:
    """Share of each group (every combination present in either table) in both tables."""
    kr, ks = _keys(real, protected), _keys(release, protected)
    cr, cs = kr.value_counts(), ks.value_counts()
    out = []
    for key in sorted(set(cr.index) | set(cs.index), key=_sort_key):
        out.append({"group": dict(zip(protected, key, strict=True)), "label": _label(key),
                    "real_share": float(cr.get(key, 0) / max(len(real), 1)),
                    "release_share": float(cs.get(key, 0) / max(len(release), 1))})
    return out


def _gap(rates: list[float]) -> float:
    return float(max(rates) - min(rates)) if len(rates) >= 2 else float("nan")


def demographic_parity_difference(pred_positive: Any, groups: Any, *,
                                  min_rows: int = 1) -> float:
    """max - min over groups (with at least ``min_rows`` rows) of P(prediction positive).

    ``nan`` with fewer than two such groups.
    """
    pred = np.asarray(pred_positive, dtype=bool)
    g = pd.Series(list(groups), dtype=object)
    rates = [float(pred[idx].mean()) for idx in g.groupby(g).indices.values()
             if len(idx) >= min_rows]
    return _gap(rates)


def _rate_gaps(y_positive: np.ndarray, pred: np.ndarray, g: pd.Series,
               min_rows: int) -> tuple[float, float]:
    tpr, fpr = [], []
    for idx in g.groupby(g).indices.values():
        yt, yp = y_positive[idx], pred[idx]
        if yt.sum() >= min_rows:
            tpr.append(float(yp[yt].mean()))
        if (~yt).sum() >= min_rows:
            fpr.append(float(yp[~yt].mean()))
    return _gap(tpr), _gap(fpr)


def equalized_odds_gap(y_positive: Any, pred_positive: Any, groups: Any, *,
                       min_rows: int = 1) -> float:
    """max(TPR gap, FPR gap): each the max - min over groups of the true- / false-positive rate.

    A group counts for the TPR (FPR) gap when it has at least ``min_rows`` positive (negative)
    rows. ``nan`` when neither gap has two groups; one gap alone when only it has.
    """
    yt = np.asarray(y_positive, dtype=bool)
    yp = np.asarray(pred_positive, dtype=bool)
    t, f = _rate_gaps(yt, yp, pd.Series(list(groups), dtype=object), min_rows)
    both = [x for x in (t, f) if not math.isnan(x)]
    return float(max(both)) if both else float("nan")


def _left_out(y: np.ndarray, g: pd.Series, min_rows: int) -> list[str]:
    notes = []
    small, no_tpr, no_fpr = [], [], []
    for key, idx in sorted(g.groupby(g).indices.items(), key=lambda kv: _sort_key(kv[0])):
        if len(idx) < min_rows:
            small.append(_label(key))
        if y[idx].sum() < min_rows:
            no_tpr.append(_label(key))
        if (~y[idx]).sum() < min_rows:
            no_fpr.append(_label(key))
    if small:
        notes.append(f"Demographic-parity difference: groups with fewer than {min_rows} holdout "
                     f"rows are left out: {', '.join(small)}.")
    if no_tpr:
        notes.append(f"Equalised-odds gap, true-positive rates: groups with fewer than "
                     f"{min_rows} positive holdout rows are left out: {', '.join(no_tpr)}.")
    if no_fpr:
        notes.append(f"Equalised-odds gap, false-positive rates: groups with fewer than "
                     f"{min_rows} negative holdout rows are left out: {', '.join(no_fpr)}.")
    return notes


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _downstream(real, release, holdout, kinds, protected, target, positive, seed, min_rows):
    """(downstream dict or None, positive value, notes)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import accuracy_score, roc_auc_score

    notes: list[str] = []
    if kinds[target] in CONTINUOUS:
        return None, None, [f"The target '{target}' is numeric: the downstream fairness "
                            "figures need a categorical target."]
    y = [t[target].astype("object").map(_py) for t in (real, release, holdout)]
    if positive is None:
        counts = y[0].dropna().value_counts()
        if len(counts) < 2:
            return None, None, ["The real table has fewer than two classes of the target."]
        rarest = counts[counts == counts.min()].index
        positive = sorted(rarest, key=lambda v: str(v))[0]
    else:
        matches = [v for v in pd.unique(y[0].dropna()) if str(v) == str(positive)]
        if not matches:
            raise EvaluationParameterError(
                f"The positive class {positive!r} is not a class of the target '{target}'.")
        positive = matches[0]
    keep = [s.notna().to_numpy() for s in y]
    features = [c for c in kinds if c != target]
    if not features:
        return None, positive, ["The table has no feature column besides the target."]
    mats, is_cat = ordinal_matrix([real, release, holdout], kinds, features)
    x_hold = mats[2][keep[2]]
    y_hold = (y[2][keep[2]] == positive).to_numpy(dtype=bool)
    g_hold = _keys(holdout.loc[keep[2]], protected).reset_index(drop=True)
    if y_hold.all() or not y_hold.any():
        return None, positive, ["The holdout has a single class of the target (positive vs "
                                "rest): no downstream figure."]
    out: dict[str, Any] = {}
    for side, x, yy, k in (("real", mats[0], y[0], keep[0]), ("release", mats[1], y[1], keep[1])):
        yb = (yy[k] == positive).to_numpy(dtype=bool)
        if yb.all() or not yb.any():
            notes.append(f"The {side} table has a single class of the target (positive vs "
                         "rest): its model is not trained.")
            out[side] = dict.fromkeys(_METRICS)
            continue
        clf = HistGradientBoostingClassifier(
            categorical_features=is_cat if is_cat.any() else None, random_state=seed,
            early_stopping=False, max_iter=100)
        with limited_threads():
            clf.fit(x[k], yb)
            proba = clf.predict_proba(x_hold)[:, list(clf.classes_).index(True)]
        pred = proba >= 0.5
        out[side] = {
            "accuracy": float(accuracy_score(y_hold, pred)),
            "roc_auc": float(roc_auc_score(y_hold, proba)),
            "demographic_parity_difference": _finite(
                demographic_parity_difference(pred, g_hold, min_rows=min_rows)),
            "equalized_odds_gap": _finite(
                equalized_odds_gap(y_hold, pred, g_hold, min_rows=min_rows)),
        }
    notes += _left_out(y_hold, g_hold, min_rows)
    notes.append("Downstream: HistGradientBoostingClassifier (seeded) trained on the real table "
                 "and on the release, scored on the real holdout; a prediction is positive when "
                 f"P({target} = {positive}) >= 0.5 (binary, positive vs rest).")
    return {"models": out}, positive, notes


def check_protected(protected: Any, kinds: Mapping[str, str], target: str | None) -> list[str]:
    """``protected`` as a list of evaluated categorical columns, or EvaluationParameterError."""
    protected = [protected] if isinstance(protected, str) else protected
    if not isinstance(protected, Sequence) or not all(isinstance(c, str) for c in protected):
        raise EvaluationParameterError(
            f"The 'protected' parameter of evaluate must be a column name or a list of column "
            f"names. Got {protected!r} instead.")
    protected = list(dict.fromkeys(protected))
    problems = []
    if not protected:
        problems.append("name at least one protected column")
    for c in protected:
        if c not in kinds:
            problems.append(f"the protected column {c!r} is not an evaluated column of the "
                            f"tables (columns: {list(kinds)[:20]})")
        elif kinds[c] in CONTINUOUS:
            problems.append(f"the protected column {c!r} is numeric: bin it into groups first "
                            "(e.g. age bands) or declare it categorical in the metadata")
    if target is not None and target in protected:
        problems.append(f"the target {target!r} cannot also be a protected column")
    if problems:
        raise EvaluationParameterError("Fairness: " + "; ".join(problems) + ".")
    return protected


def fairness_section(
    real: pd.DataFrame,
    release: pd.DataFrame,
    holdout: pd.DataFrame | None,
    kinds: Mapping[str, str],
    *,
    protected: Sequence[str],
    target: str | None = None,
    positive: Any = None,
    random_state: int | None = None,
    min_group_rows: int = MIN_GROUP_ROWS,
    shares_from: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """The fairness section (module docstring). ``shares_from`` (real, release): the tables to
    take the group shares from when ``real`` / ``release`` are subsamples.

    Raises
    ------
    EvaluationParameterError
        ``protected`` empty or naming a column that is not evaluated, or a numeric one; an
        unknown ``positive`` class.
    """
    protected = check_protected(protected, kinds, target)
    share_real, share_rel = shares_from or (real, release)
    section: dict[str, Any] = {
        "protected": protected, "target": target, "positive": None,
        "groups": group_shares(share_real, share_rel, protected), "downstream": None,
        "notes": [],
    }
    notes = ["Group shares are over all rows of each table; a group is one combination of "
             f"the values of {', '.join(protected)}."]
    if target is None:
        notes.append("No target was given: no downstream fairness figure.")
    elif holdout is None:
        notes.append("No holdout was given: the downstream figures are measured on real rows "
                     "that no model saw.")
    else:
        seed = int(np.random.default_rng(random_state).integers(2**31 - 1))
        down, pos, more = _downstream(real, release, holdout, kinds, protected, target,
                                      positive, seed, min_group_rows)
        section["downstream"], section["positive"] = down, _py(pos)
        notes += more
    section["notes"] = notes
    return section


def _count_list(note: str) -> str:
    """``"... are left out: A, B."`` -> ``"... are left out (2 group(s))."`` (release form: the
    names of small groups are not published)."""
    head, sep, tail = note.partition(" are left out: ")
    if not sep:
        return note
    return f"{head} are left out ({len(tail.rstrip('.').split(', '))} group(s))."


def release_section(section: Mapping[str, Any] | None, real_rows: int | None, *,
                    min_rows: int = RELEASE_MIN_ROWS) -> dict[str, Any] | None:
    """The release form: shares rounded to 3 decimals, groups with fewer than ``min_rows`` real
    rows (from ``real_share x real_rows``) dropped; a note says so. Without ``real_rows`` every
    group whose real share is below 1% is dropped instead."""
    if section is None:
        return None
    kept, dropped = [], 0
    for g in section.get("groups", []):
        share = float(g.get("real_share") or 0.0)
        small = (round(share * real_rows) < min_rows if real_rows is not None else share < 0.01)
        if small:
            dropped += 1
            continue
        kept.append({**g, "real_share": round(share, 3),
                     "release_share": round(float(g.get("release_share") or 0.0), 3)})
    notes = [_count_list(n) for n in section.get("notes", [])]
    rule = (f"fewer than {min_rows} real rows" if real_rows is not None
            else "a real share below 1%")
    notes.append(f"Release form: shares rounded to 3 decimals; groups with {rule} are left out "
                 f"({dropped} group(s)).")
    return {**section, "groups": kept, "notes": notes}
