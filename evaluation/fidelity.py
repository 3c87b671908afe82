"""Fidelity: how closely the synthetic table reproduces the real one's distributions.

Definitions follow SDMetrics (``sdmetrics`` 0.15-0.21) so figures compare with published ones:

* **KSComplement** (numerical, datetime as int64 ns): ``1 - D`` where ``D`` is the two-sample
  Kolmogorov-Smirnov statistic ``max_x |F_real(x) - F_syn(x)|`` on the non-null values.
* **TVComplement** (categorical, boolean): ``1 - TVD`` with ``TVD = 1/2 sum_v |p_real(v) -
  p_syn(v)|`` over the category frequencies of the *non-null* values (SDMetrics calls
  ``dropna()`` first, then counts with ``collections.Counter`` and gives categories seen only in
  the synthetic table a real count of 1e-6; we use an exact 0, which differs by < 1e-6/n).
* **Column Shapes** = mean of the per-column scores.
* **CorrelationSimilarity** (two continuous columns): ``1 - |rho_real - rho_syn| / 2``, Pearson on
  the rows where both values are present (SDMetrics drops the incomplete rows of the pair too);
  a constant column, or a correlation that is undefined on either side, gives ``nan`` (left out
  of the mean, as SDMetrics does).
* **ContingencySimilarity** (any other pair): ``1 - TVD`` of the joint frequency tables, where a
  missing value is its own category and frequencies are over all rows (SDMetrics'
  ``groupby(dropna=False).size() / len``). Continuous columns of mixed pairs are cut into 10
  equal-width bins exactly as SDMetrics' QualityReport does: each table on its own range with
  ``np.digitize`` (the maximum gets an 11th bin) -- the default, ``pair_binning="own"``, so our
  figures equal SDMetrics' (checked to 1e-6 in the interop tests). ``pair_binning="real"`` cuts
  both tables on the *real* table's range instead (values outside fall into the edge bins,
  missing values get their own bin), which does not reward a synthetic column for a shifted
  range.
* **Column Pair Trends** = mean of the pair scores over *every* pair: SDMetrics' classic
  definition, which its ``QualityReport`` computes with ``real_correlation_threshold = 0`` and
  ``real_association_threshold = 0`` (and which the published figures of SDV, TabularARGN
  and others use). SDMetrics >= 0.2x's ``QualityReport`` by default averages only the pairs whose
  real association is strong (``|Pearson| > 0.5`` for two continuous columns, Cramer's V > 0.3
  otherwise; :data:`SDMETRICS_THRESHOLDS`); that figure is reported beside ours in
  ``details["sdmetrics_thresholded"]`` (equal to SDMetrics' default QualityReport to 1e-6), so a
  reader who runs SDMetrics with its defaults finds their number in the report too.

Every column is integer-coded once; joint tables are ``np.bincount`` over combined codes, so the
pair scores cost one pass over the rows per pair (no groupby).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from ._encoding import CONTINUOUS, as_float, category_codes, ordinal_matrix
from ._schema import Kind
from ._threads import limited_threads
from ._types import MetricResult

N_BINS = 10
DETECTION_ROWS = 10_000
PAIR_BINNINGS = ("own", "real")
#: SDMetrics' QualityReport defaults (``sdmetrics.reports.utils``): pairs counted in its
#: thresholded Column Pair Trends need |real Pearson| above the first (two continuous columns)
#: or real Cramer's V above the second (any other pair).
SDMETRICS_THRESHOLDS = {"correlation": 0.5, "association": 0.3}
BINNING_LABELS = {
    "own": f"{N_BINS} equal-width bins on each table's own range (SDMetrics' QualityReport)",
    "real": f"{N_BINS} equal-width bins on the real table's range (pair_binning='real'; "
            "differs from SDMetrics)",
}


# ---------------------------------------------------------------- encoding helpers
# (as_float, category_codes, ordinal_matrix live in ._encoding; re-exported here)


def _bin_codes(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Equal-width bin index in [0, N_BINS) over [lo, hi]; nan -> N_BINS."""
    width = (hi - lo) / N_BINS if hi > lo else 1.0
    idx = np.floor((x - lo) / width)
    idx = np.clip(np.nan_to_num(idx, nan=0.0), 0, N_BINS - 1).astype(np.int64)
    idx[np.isnan(x)] = N_BINS
    return idx


def _digitize_own(x: np.ndarray) -> np.ndarray:
    # SDMetrics' QualityReport: np.digitize on the table's own histogram edges (nan -> 11).
    finite = x[~np.isnan(x)]
    edges = np.histogram_bin_edges(finite) if len(finite) else np.linspace(0, 1, N_BINS + 1)
    return np.digitize(x, edges).astype(np.int64)


# ---------------------------------------------------------------- single-column scores


def ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    """1 - the two-sample KS statistic of the non-null values (nan if either side is empty)."""
    a = np.sort(real[~np.isnan(real)])
    b = np.sort(synthetic[~np.isnan(synthetic)])
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / len(a)
    cdf_b = np.searchsorted(b, grid, side="right") / len(b)
    return float(1.0 - np.max(np.abs(cdf_a - cdf_b)))


def tv_complement(real_codes: np.ndarray, syn_codes: np.ndarray, n_codes: int) -> float:
    """1 - total variation distance of the non-null category frequencies.

    Codes as from :func:`category_codes` (the last code, ``n_codes - 1``, is "missing").
    """
    pr = np.bincount(real_codes, minlength=n_codes)[: n_codes - 1].astype(float)
    ps = np.bincount(syn_codes, minlength=n_codes)[: n_codes - 1].astype(float)
    if pr.sum() == 0 or ps.sum() == 0:
        return float("nan")
    return float(1.0 - 0.5 * np.abs(pr / pr.sum() - ps / ps.sum()).sum())


def _column_scores(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, Kind]
) -> list[dict[str, Any]]:
    rows = []
    for col, kind in kinds.items():
        if kind in CONTINUOUS:
            score = ks_complement(as_float(real[col]), as_float(synthetic[col]))
            metric = "KSComplement"
        else:
            (cr, cs), k = category_codes(real[col], synthetic[col])
            score = tv_complement(cr, cs, k)
            metric = "TVComplement"
        rows.append({"column": col, "kind": kind, "metric": metric, "score": _clean(score)})
    return rows


# ---------------------------------------------------------------- pair scores


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    if len(x) < 2:
        return float("nan")
    x = x - x.mean()
    y = y - y.mean()
    den = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / den) if den > 0 else float("nan")


def _is_constant(x: np.ndarray) -> bool:
    v = x[~np.isnan(x)]
    return len(v) == 0 or bool(np.all(v == v[0]))


def correlation_similarity(
    real_x: np.ndarray, real_y: np.ndarray, syn_x: np.ndarray, syn_y: np.ndarray
) -> tuple[float, float, float]:
    """(score, rho_real, rho_syn); score nan when a column is constant in either table."""
    if any(_is_constant(v) for v in (real_x, real_y, syn_x, syn_y)):
        return float("nan"), float("nan"), float("nan")
    rr = _pearson(real_x, real_y)
    rs = _pearson(syn_x, syn_y)
    if np.isnan(rr) or np.isnan(rs):  # SDMetrics: an undefined correlation scores nan
        return float("nan"), rr, rs
    return 1.0 - abs(rr - rs) / 2.0, rr, rs


def contingency_similarity(
    real_a: np.ndarray, real_b: np.ndarray, syn_a: np.ndarray, syn_b: np.ndarray, ka: int, kb: int
) -> float:
    """1 - TVD of the joint frequency tables of two integer-coded columns."""
    jr = np.bincount(real_a * kb + real_b, minlength=ka * kb) / len(real_a)
    js = np.bincount(syn_a * kb + syn_b, minlength=ka * kb) / len(syn_a)
    return float(1.0 - 0.5 * np.abs(jr - js).sum())


def cramers_v(codes_a: np.ndarray, codes_b: np.ndarray, ka: int, kb: int) -> float:
    """Cramer's V of two integer-coded columns over their observed categories (nan if < 2).

    As SDMetrics computes ``real_association`` (``scipy.stats.contingency.association`` on the
    real table's contingency table of observed values, missing values a category of their own).
    """
    from scipy.stats.contingency import association

    table = np.bincount(codes_a * kb + codes_b, minlength=ka * kb).reshape(ka, kb)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if table.sum() == 0 or min(table.shape) < 2:
        return float("nan")
    return float(association(table, method="cramer"))


def _discrete_codes(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, Kind], pair_binning: str
) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    codes = {}
    for col, kind in kinds.items():
        if kind in CONTINUOUS:
            xr, xs = as_float(real[col]), as_float(synthetic[col])
            if pair_binning == "own":
                codes[col] = (_digitize_own(xr), _digitize_own(xs), N_BINS + 2)
            else:
                finite = xr[~np.isnan(xr)]
                lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
                codes[col] = (_bin_codes(xr, lo, hi), _bin_codes(xs, lo, hi), N_BINS + 1)
        else:
            (cr, cs), k = category_codes(real[col], synthetic[col])
            codes[col] = (cr, cs, k)
    return codes


def _pair_scores(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, Kind],
    *,
    pair_binning: str = "own",
) -> list[dict[str, Any]]:
    cols = list(kinds)
    discrete = _discrete_codes(real, synthetic, kinds, pair_binning)
    floats = {c: (as_float(real[c]), as_float(synthetic[c]))
              for c in cols if kinds[c] in CONTINUOUS}
    rows = []
    for a, b in combinations(cols, 2):
        if kinds[a] in CONTINUOUS and kinds[b] in CONTINUOUS:
            (ra, sa), (rb, sb) = floats[a], floats[b]
            score, rr, rs = correlation_similarity(ra, rb, sa, sb)
            rows.append({"column_1": a, "column_2": b, "metric": "CorrelationSimilarity",
                         "score": _clean(score), "real_correlation": _clean(rr),
                         "synthetic_correlation": _clean(rs)})
        else:
            ra, sa, ka = discrete[a]
            rb, sb, kb = discrete[b]
            score = contingency_similarity(ra, rb, sa, sb, ka, kb)
            rows.append({"column_1": a, "column_2": b, "metric": "ContingencySimilarity",
                         "score": _clean(score), "real_correlation": None,
                         "synthetic_correlation": None,
                         "real_association": _clean(cramers_v(ra, rb, ka, kb))})
    return rows


def sdmetrics_thresholded(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """SDMetrics >= 0.2x's default Column Pair Trends: the mean over the strong real pairs."""
    t_cor, t_assoc = SDMETRICS_THRESHOLDS["correlation"], SDMETRICS_THRESHOLDS["association"]
    kept = []
    for r in rows:
        if r["metric"] == "CorrelationSimilarity":
            strong = r["real_correlation"] is not None and abs(r["real_correlation"]) > t_cor
        else:
            strong = r.get("real_association") is not None and r["real_association"] > t_assoc
        if strong:
            kept.append(r["score"])
    value = _mean(kept)
    return {"value": _clean(value), "pairs_counted": len([k for k in kept if k is not None]),
            "pairs_total": len(rows), "correlation_threshold": t_cor,
            "association_threshold": t_assoc}


# ---------------------------------------------------------------- metrics


def _clean(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 10)


def _mean(scores: Sequence[float | None]) -> float:
    vals = [s for s in scores if s is not None]
    return float(np.mean(vals)) if vals else float("nan")


def column_shapes(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, Kind], *, prefix: str = "",
    title_suffix: str = "",
) -> MetricResult:
    rows = _column_scores(real, synthetic, kinds)
    value = _mean([r["score"] for r in rows])
    return MetricResult(
        name=f"{prefix}column_shapes",
        group="fidelity",
        value=value,
        title="Column shapes" + title_suffix,
        description="Mean over columns of 1 - KS statistic (numeric) or 1 - total variation "
        "distance (categorical); 1.0 means identical marginal distributions.",
        details={"columns": rows},
        reason=None if np.isfinite(value) else "no column could be scored",
    )


def column_pair_trends(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, Kind], *, prefix: str = "",
    title_suffix: str = "", pair_binning: str = "own",
) -> MetricResult:
    if len(kinds) < 2:
        return MetricResult(
            name=f"{prefix}column_pair_trends", group="fidelity", value=float("nan"),
            title="Column pair trends" + title_suffix, description="",
            reason="fewer than two evaluated columns",
        )
    rows = _pair_scores(real, synthetic, kinds, pair_binning=pair_binning)
    value = _mean([r["score"] for r in rows])
    return MetricResult(
        name=f"{prefix}column_pair_trends",
        group="fidelity",
        value=value,
        title="Column pair trends" + title_suffix,
        description="Mean over column pairs of correlation similarity (two numeric columns) or "
        "contingency similarity (otherwise); 1.0 means identical pairwise relationships.",
        details={"pairs": rows, "binning": BINNING_LABELS[pair_binning],
                 "pair_binning": pair_binning,
                 "sdmetrics_thresholded": sdmetrics_thresholded(rows)},
        reason=None if np.isfinite(value) else "no column pair could be scored",
    )


def detection(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, Kind], *,
    random_state: int | None, max_rows: int = DETECTION_ROWS,
) -> MetricResult:
    """Cross-validated AUC of a classifier telling real rows from synthetic rows (0.5 ideal)."""
    from sklearn.model_selection import StratifiedKFold

    rng = np.random.default_rng(random_state)
    n = min(len(real), len(synthetic), max_rows)
    if n < 10:
        return MetricResult(
            name="detection_auc", group="fidelity", value=float("nan"), title="Detection AUC",
            description="", higher_is_better=False, reason="fewer than 10 rows in a table",
        )
    r = real.iloc[np.sort(rng.choice(len(real), n, replace=False))]
    s = synthetic.iloc[np.sort(rng.choice(len(synthetic), n, replace=False))]
    cols = list(kinds)
    (xr, xs), is_cat = ordinal_matrix([r, s], kinds, cols)
    X = np.vstack([xr, xs])
    y = np.r_[np.zeros(n, dtype=int), np.ones(n, dtype=int)]
    seed = int(rng.integers(2**31 - 1))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    with limited_threads():
        aucs = _cv_aucs(X, y, is_cat, folds, seed)
    auc = float(np.mean(aucs))
    half = 1.96 * float(np.std(aucs, ddof=1)) / np.sqrt(len(aucs))
    return MetricResult(
        name="detection_auc",
        group="fidelity",
        value=auc,
        title="Detection AUC",
        description="Cross-validated ROC AUC of a gradient-boosting classifier trained to tell "
        "real rows from synthetic ones (0.5: indistinguishable; 1.0: always told apart).",
        higher_is_better=False,
        ci=(max(0.0, auc - half), min(1.0, auc + half)),
        details={
            "fold_aucs": [round(float(a), 6) for a in aucs],
            "rows_per_side": int(n),
            "classifier": "HistGradientBoostingClassifier(max_iter=100), ordinal-encoded",
            "detection_score": round(1.0 - max(0.0, 2.0 * (auc - 0.5)), 6),
        },
    )


def _cv_aucs(X, y, is_cat, folds, seed) -> list[float]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    aucs = []
    for train_idx, test_idx in folds.split(X, y):
        clf = HistGradientBoostingClassifier(
            categorical_features=is_cat if is_cat.any() else None,
            max_iter=100, early_stopping=False, random_state=seed,
        )
        clf.fit(X[train_idx], y[train_idx])
        aucs.append(float(roc_auc_score(y[test_idx], clf.predict_proba(X[test_idx])[:, 1])))
    return aucs


def fidelity_metrics(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, Kind],
    *,
    target: str | None,
    random_state: int | None,
    step: Callable[[str], None] | None = None,
    pair_binning: str = "own",
    conditions: Mapping[str, Any] | None = None,
) -> list[MetricResult]:
    """All fidelity metrics: shapes, pair trends, detection, rarest-class (scenario) figures.

    ``conditions`` (checked by :func:`.scenario.check_conditions`) restricts the real rows of
    the rarest-class section to the scenario (the release's conformance is scored apart, on
    the whole release: :func:`.scenario.scenario_conformance`).
    """
    from .scenario import minority_fidelity

    step = step or (lambda _label: None)
    out = [column_shapes(real, synthetic, kinds)]
    step("fidelity: column pair trends")
    out.append(column_pair_trends(real, synthetic, kinds, pair_binning=pair_binning))
    step("fidelity: detection")
    out.append(detection(real, synthetic, kinds, random_state=random_state))
    step("fidelity: rarest class")
    out.extend(minority_fidelity(real, synthetic, kinds, target, conditions=conditions,
                                 pair_binning=pair_binning))
    return out
