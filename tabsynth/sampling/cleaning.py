"""The non-private parts of the :class:`~tabsynth.Oversampler`: SMOTE and the real-data filter.

Both read the real rows outside any DP mechanism, so the Oversampler labels their output
non-private (``privacy_report_["non_private"]``, a
:class:`~tabsynth.privacy.PrivacyWarning` when an ``epsilon`` was asked for):

* ``model="smote"``: imbalanced-learn's SMOTE-NC / SMOTE, a baseline;
* ``filter_synthetic``: a :class:`~sklearn.ensemble.HistGradientBoostingClassifier` trained on
  the real ``(X, y)`` keeps a synthetic row of class ``c`` only if it scores at least
  ``filter_synthetic * P(c)`` (SMOTE-ENN/Tomek-style cleaning).

A mixin of the Oversampler (its methods read the Oversampler's parameters and fitted state).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError
from .strategy import _py

__all__ = ["Cleaning"]


class Cleaning:
    """The real-data filter and SMOTE of the Oversampler (a mixin)."""

    @staticmethod
    def _filter_encode(frame: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
        """``frame`` for a HistGradientBoosting classifier: numbers as floats, other columns as
        categories of ``ref`` (unseen values -> missing); more than 250 categories -> codes."""
        out = pd.DataFrame(index=frame.index)
        for c in ref.columns:
            col, rcol = frame[c], ref[c]
            if pd.api.types.is_bool_dtype(rcol.dtype):
                out[c] = col.astype(float)
            elif pd.api.types.is_numeric_dtype(rcol.dtype):
                out[c] = pd.to_numeric(col, errors="coerce").astype(float)
            else:
                cats = pd.unique(rcol.dropna().astype(str))
                values = col.astype(object).where(col.notna(), None)
                values = values.map(lambda v: None if v is None else str(v))
                values = values.where(values.isin(set(cats)), None)  # unseen -> missing
                cat = pd.Categorical(values, categories=cats)
                out[c] = cat if len(cats) <= 250 else np.where(cat.codes < 0, np.nan,
                                                                  cat.codes.astype(float))
        return out

    def _fit_filter(self, frame: pd.DataFrame, y_arr: np.ndarray) -> Any:
        """``(classifier, priors, ref)``: the real-data classifier of ``filter_synthetic``."""
        from sklearn.ensemble import HistGradientBoostingClassifier

        index = {_py(c): i for i, c in enumerate(self.classes_)}
        codes = np.array([index[_py(v)] for v in y_arr], dtype=np.int64)
        clf = HistGradientBoostingClassifier(categorical_features="from_dtype",
                                             random_state=self.random_state)
        clf.fit(self._filter_encode(frame, frame), codes)
        priors = np.bincount(codes, minlength=len(self.classes_)) / len(codes)
        return clf, priors, frame

    def _class_index(self, v: Any) -> int:
        for i, c in enumerate(self.classes_):
            if _py(c) == _py(v):
                return i
        raise ParameterError(f"Unknown class {v!r}.")  # pragma: no cover - internal

    def _generate_filtered(self, cls: Any, n: int, seed: int, scorer: Any,
                           frame: pd.DataFrame) -> pd.DataFrame:
        """``n`` rows of ``cls`` whose real-data score is >= filter_synthetic x base rate."""
        clf, priors, ref = scorer
        k = self._class_index(cls)
        col = list(clf.classes_).index(k)
        threshold = float(self.filter_synthetic) * float(priors[k])
        rng = np.random.default_rng(seed)
        kept: list[pd.DataFrame] = []
        rejected: list[tuple[np.ndarray, pd.DataFrame]] = []
        n_kept = drawn = 0
        budget = 50 * n
        batch = max(2 * n, 256)
        while n_kept < n and drawn < budget:
            m = min(batch, budget - drawn)
            rows = self._generate(cls, m, int(rng.integers(2**31 - 1))).reset_index(drop=True)
            drawn += m
            p = clf.predict_proba(self._filter_encode(rows[ref.columns], ref))[:, col]
            ok = p >= threshold
            kept.append(rows[ok])
            rejected.append((p[~ok], rows[~ok]))
            n_kept += int(ok.sum())
        out = pd.concat(kept, ignore_index=True).iloc[:n]
        filled = n - len(out)
        if filled > 0:
            p_rej = np.concatenate([r[0] for r in rejected])
            rows_rej = pd.concat([r[1] for r in rejected], ignore_index=True)
            best = np.argsort(-p_rej, kind="stable")[:filled]
            out = pd.concat([out, rows_rej.iloc[best]], ignore_index=True)
        self.filter_report_[_py(cls)] = {"asked": int(n), "drawn": int(drawn),
                                         "kept": int(n - filled), "filled": int(filled)}
        return out.reset_index(drop=True)

    def _smote(self, X: Any, y: Any, frame: pd.DataFrame, y_arr: np.ndarray,
               is_frame: bool) -> tuple[Any, Any]:
        try:
            from imblearn.over_sampling import SMOTE, SMOTENC
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "Oversampler(model='smote') needs imbalanced-learn: pip install imbalanced-learn"
            ) from exc
        cat = [i for i, c in enumerate(frame.columns)
               if not pd.api.types.is_numeric_dtype(frame[c].dtype)]
        strategy = dict(self.sampling_strategy_)
        strategy = {c: n + int((y_arr == c).sum()) for c, n in strategy.items()}
        counts = Counter(_py(v) for v in y_arr)
        k = max(1, min(5, min(counts[c] for c in strategy) - 1))
        if cat:
            sampler = SMOTENC(categorical_features=cat, sampling_strategy=strategy,
                              random_state=self.random_state, k_neighbors=k)
        else:
            sampler = SMOTE(sampling_strategy=strategy, random_state=self.random_state,
                            k_neighbors=k)
        X_res, y_res = sampler.fit_resample(frame, y_arr)
        self.synthetic_mask_ = np.arange(len(X_res)) >= len(frame)  # imblearn appends
        return self._wrap(X, y, X_res.reset_index(drop=True), np.asarray(y_res), is_frame)
