"""ML utility: train on synthetic, test on real (TSTR) against train on real, test on real (TRTR).

Both models are ``HistGradientBoosting{Classifier,Regressor}`` with the same seeded settings;
categorical features are ordinal codes shared by the three tables and declared through
``categorical_features``. The test set is the real holdout, which neither model saw.

Classification (categorical target): ROC AUC (binary: the positive class is the training
table's rarest class; multiclass: one-vs-rest macro average over the classes present in the
holdout), PR-AUC (average precision for the rarest class), F1 of the rarest class, and
``tstr_auc_ratio = AUC_TSTR / AUC_TRTR``. Regression: R², MAE and ``tstr_r2_ratio`` (only when
``R²_TRTR > 0``). Without a holdout or a target every figure is NOT RUN with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._schema import Kind
from ._threads import limited_threads
from ._types import MetricResult
from .fidelity import CONTINUOUS, category_codes, ordinal_matrix

CLASSIFICATION = {
    "tstr_auc_ratio": ("TSTR/TRTR ROC AUC ratio", True),
    "tstr_roc_auc": ("ROC AUC, trained on synthetic", True),
    "trtr_roc_auc": ("ROC AUC, trained on real", True),
    "tstr_pr_auc": ("PR AUC (rarest class), trained on synthetic", True),
    "trtr_pr_auc": ("PR AUC (rarest class), trained on real", True),
    "tstr_f1": ("F1 (rarest class), trained on synthetic", True),
    "trtr_f1": ("F1 (rarest class), trained on real", True),
}
REGRESSION = {
    "tstr_r2_ratio": ("TSTR/TRTR R² ratio", True),
    "tstr_r2": ("R², trained on synthetic", True),
    "trtr_r2": ("R², trained on real", True),
    "tstr_mae": ("Mean absolute error, trained on synthetic", False),
    "trtr_mae": ("Mean absolute error, trained on real", False),
}
METRIC_NAMES = (*CLASSIFICATION, *REGRESSION)
_DESC = ("Models trained on the synthetic table (TSTR) and on the real table (TRTR) are both "
         "scored on the real holdout; a ratio near 1 means the synthetic data is as useful.")


def _result(name: str, value: float, reason: str | None = None, **details) -> MetricResult:
    title, hib = {**CLASSIFICATION, **REGRESSION}[name]
    return MetricResult(name=name, group="utility", value=float(value), title=title,
                        description=_DESC, higher_is_better=hib, details=details, reason=reason)


def _not_run(names, reason: str) -> list[MetricResult]:
    return [_result(n, float("nan"), reason) for n in names]


def utility_metrics(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    kinds: Mapping[str, Kind],
    *,
    target: str | None,
    random_state: int | None,
    conditions: Mapping[str, Any] | None = None,
) -> list[MetricResult]:
    """TSTR vs TRTR figures (NOT RUN with a reason when no holdout or no target, or when the
    release is a scenario that fixes the target: ``conditions`` on it). A release that holds
    one class of the target otherwise scores as the constant model trained on it."""
    if target is None:
        return _not_run(METRIC_NAMES, "no target column was given")
    if conditions and target in conditions:
        return _not_run(METRIC_NAMES, f"the release is a scenario on the target '{target}' "
                        "(its conditions fix it), so no model can learn the target from it "
                        "alone: score the real rows plus the release as one table instead")
    if holdout is None:
        return _not_run(METRIC_NAMES, "no holdout table was given (utility is measured on "
                        "real rows that no model saw)")
    features = [c for c in kinds if c != target]
    if not features:
        return _not_run(METRIC_NAMES, "the table has no feature column besides the target")
    rng = np.random.default_rng(random_state)
    seed = int(rng.integers(2**31 - 1))
    (x_real, x_syn, x_hold), is_cat = ordinal_matrix([real, synthetic, holdout], kinds, features)
    if kinds[target] in CONTINUOUS:
        return _not_run(CLASSIFICATION, f"the target '{target}' is numeric; see the R² "
                        "figures") + _regression(real, synthetic, holdout, target,
                                                 (x_real, x_syn, x_hold), is_cat, seed)
    return _classification(real, synthetic, holdout, target, (x_real, x_syn, x_hold),
                           is_cat, seed) + _not_run(
        REGRESSION, f"the target '{target}' is categorical; see the ROC AUC figures")


def _classification(real, synthetic, holdout, target, mats, is_cat, seed) -> list[MetricResult]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

    (y_real, y_syn, y_hold), k = category_codes(real[target], synthetic[target], holdout[target])
    x_real, x_syn, x_hold = mats
    keep = [y_real != k - 1, y_syn != k - 1, y_hold != k - 1]  # rows with a known class
    x_real, y_real = x_real[keep[0]], y_real[keep[0]]
    x_syn, y_syn = x_syn[keep[1]], y_syn[keep[1]]
    x_hold, y_hold = x_hold[keep[2]], y_hold[keep[2]]
    counts = np.bincount(y_real, minlength=k - 1)
    present = np.flatnonzero(counts)
    minority = int(present[np.argmin(counts[present])])
    hold_classes = np.unique(y_hold)
    label = str(pd.concat([real[target], synthetic[target], holdout[target]],
                          ignore_index=True).dropna().astype("object").unique()[minority])
    if len(hold_classes) < 2:
        return _not_run(CLASSIFICATION, "the holdout has fewer than two classes of the target")
    if minority not in hold_classes:
        return _not_run(CLASSIFICATION, f"the holdout has no row of the rarest class ({label})")

    def scores(x, y) -> dict[str, float]:
        proba = np.zeros((len(x_hold), k - 1))
        classes = np.unique(y)
        if len(classes) == 1:  # (only a release can have one: prepare refuses a real one)
            proba[:, classes] = 1.0  # what a model trained on one class predicts: it
        else:
            clf = HistGradientBoostingClassifier(
                categorical_features=is_cat if is_cat.any() else None, random_state=seed,
                early_stopping=False, max_iter=100,
            )
            clf.fit(x, y)
            proba[:, clf.classes_] = clf.predict_proba(x_hold)
        pred = classes[np.argmax(proba[:, classes], axis=1)]
        pos = (y_hold == minority).astype(int)
        if len(hold_classes) == 2:
            auc = roc_auc_score(pos, proba[:, minority])
        else:
            sub = proba[:, hold_classes]
            total = sub.sum(axis=1, keepdims=True)
            sub = np.where(total > 0, sub / np.where(total > 0, total, 1), 1 / len(hold_classes))
            auc = roc_auc_score(y_hold, sub, multi_class="ovr", average="macro",
                                labels=hold_classes)
        return {
            "roc_auc": float(auc),
            "pr_auc": float(average_precision_score(pos, proba[:, minority])),
            "f1": float(f1_score(y_hold, pred, labels=[minority], average=None,
                                 zero_division=0)[0]),
        }

    with limited_threads():
        tstr, trtr = scores(x_syn, y_syn), scores(x_real, y_real)
    info: dict[str, Any] = {"positive_class": label, "n_classes": int(len(present)),
                            "holdout_rows": int(len(y_hold)),
                            "model": "HistGradientBoostingClassifier"}
    syn_classes = np.unique(y_syn)
    tstr_info = dict(info)
    if len(syn_classes) == 1:
        only = str(pd.concat([real[target], synthetic[target], holdout[target]],
                             ignore_index=True).dropna().astype("object").unique()[
                                 syn_classes[0]])
        tstr_info["note"] = (f"the synthetic table holds a single class of the target "
                             f"({only!r}): a model trained on it predicts that class for "
                             "every row (ROC AUC 0.5)")
    out = []
    for side, res, extra in (("tstr", tstr, tstr_info), ("trtr", trtr, info)):
        for m in ("roc_auc", "pr_auc", "f1"):
            out.append(_result(f"{side}_{m}", res[m], **extra))
    out.insert(0, _result("tstr_auc_ratio", tstr["roc_auc"] / trtr["roc_auc"],
                          tstr_roc_auc=tstr["roc_auc"], trtr_roc_auc=trtr["roc_auc"],
                          **tstr_info))
    return out


def _regression(real, synthetic, holdout, target, mats, is_cat, seed) -> list[MetricResult]:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.metrics import mean_absolute_error, r2_score

    from .fidelity import as_float

    ys = [as_float(t[target]) for t in (real, synthetic, holdout)]
    xs = [m[~np.isnan(y)] for m, y in zip(mats, ys, strict=True)]
    ys = [y[~np.isnan(y)] for y in ys]
    x_hold, y_hold = xs[2], ys[2]

    def scores(x, y):
        reg = HistGradientBoostingRegressor(
            categorical_features=is_cat if is_cat.any() else None, random_state=seed,
            early_stopping=False, max_iter=100,
        )
        reg.fit(x, y)
        pred = reg.predict(x_hold)
        return float(r2_score(y_hold, pred)), float(mean_absolute_error(y_hold, pred))

    with limited_threads():
        (r2_s, mae_s), (r2_r, mae_r) = scores(xs[1], ys[1]), scores(xs[0], ys[0])
    info = {"holdout_rows": int(len(y_hold)), "model": "HistGradientBoostingRegressor"}
    ratio = _result("tstr_r2_ratio", r2_s / r2_r, tstr_r2=r2_s, trtr_r2=r2_r, **info) if r2_r > 0 \
        else _result("tstr_r2_ratio", float("nan"), "R² of the model trained on real is <= 0")
    return [ratio, _result("tstr_r2", r2_s, **info), _result("trtr_r2", r2_r, **info),
            _result("tstr_mae", mae_s, **info), _result("trtr_mae", mae_r, **info)]
