"""Rare-class oversampling with a synthesizer, in imbalanced-learn's sampler API.

:class:`Oversampler` trains ONE model (CTGAN by default) on ``X`` plus the label column and
adds synthetic rows of the classes to boost, each generated *exactly* through the model's
conditional vector (no rejection loop, fast even for a 0.1% class). With ``per_class=True`` it
trains one model per class on that class's rows only: a disjoint partition by the record's own
label, so under DP the parts compose in parallel (DESIGN.md rule 6) and each may use the whole
budget; each part's ledger records the partition (``Ledger.partition``).

It follows imbalanced-learn's sampler contract (``fit_resample(X, y) -> (X_res, y_res)``,
``sampling_strategy``, ``sampling_strategy_``) without importing imbalanced-learn, so it drops
into :class:`imblearn.pipeline.Pipeline`::

    from imblearn.pipeline import Pipeline
    from sklearn.ensemble import HistGradientBoostingClassifier
    from tabsynth import Oversampler

    pipe = Pipeline([("over", Oversampler(sampling_strategy=0.5, random_state=0,
                                          model_params={"epochs": 50})),
                     ("clf", HistGradientBoostingClassifier())])
    pipe.fit(X_train, y_train)

Privacy (DESIGN.md rules 5-6): sampling from a DP model is post-processing. The synthetic rows
carry the model's ledger (``ledgers_``, ``privacy_spent_``; on DataFrame output also
``X_res.attrs["tabsynth"]``). The *returned table* also holds the real rows you passed in, so it
is never a DP release as a whole; ``keep_real=False`` returns synthetic rows only, with class
sizes taken from the model's own (DP) statistics. ``model="smote"`` (SMOTE-NC, a baseline) reads
the real minority rows again outside any DP mechanism: it is labelled non-private
(``privacy_report_["non_private"]``, a :class:`~tabsynth.privacy.PrivacyWarning` when an
``epsilon`` was asked for). Each call of ``fit``/``fit_resample`` trains afresh: refitting a DP
oversampler on the same rows (cross-validation folds, a hyperparameter search) spends the budget
again (sequential composition) — the ledgers of one fit do not account for that.

Recipe that helps a downstream classifier (issue 5, ``benchmarks/bench_rare.py``; settings chosen
by cross-validation on the training part only)::

    Oversampler("tvae", per_class=True, filter_synthetic=0.5, sampling_strategy=0.1)

i.e. a minority-only TVAE, a small ratio, and *cleaning*: synthetic rows of class ``c`` that a
classifier trained on the real rows scores below ``0.5 * P(c)`` are dropped (most conditional
CTGAN/TVAE minority rows look like majority rows to such a classifier, and adding them as
positives hurts PR-AUC). Cleaning reads the real rows outside any DP mechanism: it is labelled
non-private like SMOTE. ``synthetic_mask_`` marks the synthetic rows of the last
``fit_resample`` so they can be down-weighted (``sample_weight=np.where(over.synthetic_mask_,
0.5, 1.0)``).
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections import Counter, OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._estimator import Estimator
from ..errors import NotFittedError, ParameterError, check_param
from ..privacy.spent import parallel_spent
from .class_models import ClassModels
from .cleaning import Cleaning
from .sampler_io import SamplerIO
from .strategy import (
    _py,
    resolve_sampling_strategy,
)

# oversample_table: tabsynth.sampling.augment
__all__ = ["Oversampler", "resolve_sampling_strategy"]

_TARGET = "__tabsynth_target__"
_MODELS = ("ctgan", "tvae", "ar", "smote")
# ---------------------------------------------------------------------------- estimator
class Oversampler(ClassModels, Cleaning, SamplerIO, Estimator):
    """Oversample rare classes with synthetic rows from a (DP) CTGAN/TVAE/ARSynthesizer.

    Parameters
    ----------
    model : {"ctgan", "tvae", "ar", "smote"} or a synthesizer instance, default="ctgan"
        The generator. An instance (e.g. ``CTGAN(epochs=50)``) is used as a template: its
        parameters are copied into a fresh model at each fit. ``"smote"`` uses
        imbalanced-learn's SMOTE-NC/SMOTE (needs imbalanced-learn; non-private baseline).
    epsilon : float or None, default=None
        DP budget of each model (with ``per_class=True``, of each part: parallel composition).
        ``None``: non-private.
    delta : float or None, default=None
        DP delta (``None``: the model's default).
    sampling_strategy : float, str or dict, default="auto"
        See :func:`resolve_sampling_strategy`.
    random_state : int or None, default=None
        Seeds training and sampling.
    model_params : dict or None, default=None
        Extra parameters of the model (``{"epochs": 50, "verbose": False}``).
    per_class : bool, default=False
        One model per class, trained on that class's rows only (disjoint partition).
    keep_real : bool, default=True
        Return the real rows plus the synthetic ones (imbalanced-learn's behaviour). ``False``:
        synthetic rows only, every class generated, sizes from the model's statistics (the DP
        class counts under DP) scaled by ``sampling_strategy`` — a fully synthetic, rebalanced
        training set that is DP as a whole when the model is.
    metadata : Metadata or None, default=None
        Column types of ``X`` (the label column is added as categorical). ``None``: detected.
    classes : sequence or None, default=None
        The label set, declared public. Without DP the observed labels are used. Under DP
        the label set is never read from ``y``: give ``classes`` (required with
        ``per_class=True``), or leave it ``None`` and the model's thresholded DP histogram
        decides which labels are released (a label held by a few rows is not).
    filter_synthetic : float or None, default=None
        Clean the synthetic rows (like SMOTE-ENN/Tomek cleaning): a
        :class:`~sklearn.ensemble.HistGradientBoostingClassifier` is trained on the real
        ``(X, y)`` and a synthetic row of class ``c`` is kept only if its predicted probability
        of ``c`` is at least ``filter_synthetic * P(c)`` (``P(c)``: the share of ``c`` in ``y``;
        ``1.0`` = at least the base rate, ``0.5`` = half of it). Rows are drawn in batches until
        enough are kept; if the draw budget (``50 x`` the rows asked) runs out, the best-scored
        rejected rows fill the rest, so the class sizes of ``sampling_strategy`` are always met
        (``filter_report_`` says how many). NON-PRIVATE: the classifier reads the real rows
        outside any DP mechanism (``privacy_report_["non_private"]``, a
        :class:`~tabsynth.privacy.PrivacyWarning` when an ``epsilon`` was asked for).
        ``None``: no cleaning.

    Attributes
    ----------
    sampling_strategy_ : OrderedDict
        ``{class: rows added}`` (with ``keep_real=False``: rows generated per class).
    model_ : synthesizer or None
        The single model (``per_class=False``).
    models_ : dict
        ``{class: model}`` with ``per_class=True`` (``{None: model_}`` otherwise).
    ledgers_ : list of Ledger
        One per model (empty for non-private models); per-class ledgers carry
        ``partition={"column": ..., "value": ...}``.
    privacy_spent_ : PrivacySpent or None
        ``{"epsilon", "delta", "accountant", "composition"}``
        (:class:`tabsynth.privacy.spent.PrivacySpent`, the models' type): the model's
        guarantee, or under parallel composition the maximum epsilon and the maximum delta over
        the parts (each taken separately).
    privacy_report_ : dict
        ``{"dp": bool, "composition": ..., "epsilon": ..., "delta": ..., "non_private": [...],
        "real_rows_in_output": bool, "note": ...}``.
    synthetic_mask_ : ndarray of bool
        After ``fit_resample``: ``True`` for the synthetic rows of ``X_res`` (for a
        ``sample_weight`` that down-weights them, or to audit them).
    filter_report_ : dict
        With ``filter_synthetic``: ``{class: {"asked", "drawn", "kept", "filled"}}``.
    """

    _sampling_type = "over-sampling"
    _estimator_type = "sampler"

    def __init__(
        self,
        model: Any = "ctgan",
        *,
        epsilon: float | None = None,
        delta: float | None = None,
        sampling_strategy: Any = "auto",
        random_state: int | None = None,
        model_params: Mapping[str, Any] | None = None,
        per_class: bool = False,
        keep_real: bool = True,
        metadata: Any = None,
        filter_synthetic: float | None = None,
        classes: Any = None,
    ) -> None:
        self.model = model
        self.epsilon = epsilon
        self.delta = delta
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.model_params = model_params
        self.per_class = per_class
        self.keep_real = keep_real
        self.metadata = metadata
        self.filter_synthetic = filter_synthetic
        self.classes = classes

    # ------------------------------------------------------------------ checks
    def _validate_params(self) -> None:
        from ..models.base import BaseSynthesizer

        name = type(self).__name__
        check_param(name, "model", self.model,
                    (isinstance(self.model, str) and self.model in _MODELS)
                    or isinstance(self.model, BaseSynthesizer),
                    f"one of {list(_MODELS)} or a tabsynth synthesizer instance")
        check_param(name, "epsilon", self.epsilon,
                    self.epsilon is None or (isinstance(self.epsilon, numbers.Real)
                                             and not isinstance(self.epsilon, bool)
                                             and self.epsilon > 0),
                    "None or a float > 0")
        check_param(name, "delta", self.delta,
                    self.delta is None or (isinstance(self.delta, numbers.Real)
                                           and 0 < self.delta < 1),
                    "None or a float in (0, 1)")
        check_param(name, "random_state", self.random_state,
                    self.random_state is None or (isinstance(self.random_state, numbers.Integral)
                                                  and not isinstance(self.random_state, bool)
                                                  and self.random_state >= 0),
                    "None or an int >= 0")
        check_param(name, "model_params", self.model_params,
                    self.model_params is None or isinstance(self.model_params, Mapping),
                    "None or a dict")
        for flag in ("per_class", "keep_real"):
            check_param(name, flag, getattr(self, flag), isinstance(getattr(self, flag), bool),
                        "a bool")
        fs = self.filter_synthetic
        check_param(name, "filter_synthetic", fs,
                    fs is None or (isinstance(fs, numbers.Real) and not isinstance(fs, bool)
                                   and math.isfinite(fs) and fs > 0),
                    "None or a float > 0 (a multiple of the class's base rate)")
        if self.model == "smote" and fs is not None:
            raise ParameterError(
                "Oversampler(model='smote') does not take filter_synthetic (use "
                "imbalanced-learn's SMOTEENN/SMOTETomek for cleaned SMOTE)."
            )
        if self.model == "smote" and (self.per_class or not self.keep_real):
            raise ParameterError(
                "Oversampler(model='smote') interpolates real rows: per_class=True and "
                "keep_real=False do not apply."
            )

    # ------------------------------------------------------------------ API
    def fit(self, X: Any, y: Any) -> Oversampler:
        """Fit the model(s) and resolve ``sampling_strategy_``; returns ``self``."""
        self._fit(X, y)
        return self

    def fit_resample(self, X: Any, y: Any, **params: Any) -> tuple[Any, Any]:
        """Fit, then return ``(X_res, y_res)``: real rows followed by synthetic ones.

        The output has the type of the input (DataFrame/array, Series/array); with
        ``keep_real=False`` synthetic rows only.

        Raises
        ------
        ParameterError
            ``y`` length differs from ``X``, a single class, an unknown class or a ratio not
            above the current one in ``sampling_strategy``.
        """
        frame, y_arr, is_frame = self._fit(X, y)
        if self.model == "smote":
            return self._smote(X, y, frame, y_arr, is_frame)
        rng = np.random.default_rng(self.random_state)
        scorer = (self._fit_filter(frame, y_arr) if self.filter_synthetic is not None
                  else None)
        if scorer is not None:
            self.filter_report_ = {}
        parts_X, parts_y = [], []
        for cls, n_new in self.sampling_strategy_.items():
            if n_new <= 0:
                continue
            seed = int(rng.integers(2**31 - 1))
            if scorer is None:
                rows = self._generate(cls, n_new, seed)
            else:
                rows = self._generate_filtered(cls, n_new, seed, scorer, frame)
            parts_X.append(rows[frame.columns])
            parts_y.append(np.full(n_new, cls, dtype=y_arr.dtype if y_arr.dtype != object
                                   else object))
        if self.keep_real:
            parts_X.insert(0, frame)
            parts_y.insert(0, y_arr)
        X_res = (pd.concat(parts_X, ignore_index=True) if parts_X
                 else frame.iloc[:0].copy())
        X_res = X_res.astype(frame.dtypes.to_dict(), errors="ignore")
        y_res = np.concatenate(parts_y) if parts_y else y_arr[:0]
        self.synthetic_mask_ = np.arange(len(X_res)) >= (len(frame) if self.keep_real else 0)
        return self._wrap(X, y, X_res, y_res, is_frame)

    # ------------------------------------------------------------------ internals
    def _fit(self, X: Any, y: Any) -> tuple[pd.DataFrame, np.ndarray, bool]:
        self._validate_params()
        self._reset_fitted()
        private = self.epsilon is not None and self.model != "smote"
        frame, y_arr, is_frame = self._check_xy(X, y, private)
        counts = Counter(_py(v) for v in y_arr)
        classes = self._label_set(counts)
        self.classes_ = np.asarray(classes, dtype=y_arr.dtype if y_arr.dtype != object else object)
        if len(classes) < 2 and not self._discover_labels():
            raise ParameterError(
                f"y has a single class ({classes[0]!r}): there is no minority class to "
                "oversample."
            )
        strategy = self._exact_strategy(counts, private)
        self.target_name_ = (str(y.name) if isinstance(y, pd.Series) and y.name is not None
                             and str(y.name) not in frame.columns else _TARGET)
        self.model_ = None
        self.models_ = {}
        self.ledgers_ = []
        non_private: list[str] = []
        if self.model == "smote":
            non_private.append("SMOTE-NC interpolates real minority rows outside any DP "
                               "mechanism: the synthetic rows are not differentially private.")
            if self.epsilon is not None:
                from ..privacy.errors import PrivacyWarning

                warnings.warn(
                    "Oversampler(model='smote') ignores epsilon: SMOTE reads the real minority "
                    "rows again outside a DP mechanism, so its output is NOT differentially "
                    "private.", PrivacyWarning, stacklevel=3)
            self.sampling_strategy_ = strategy
        if self.filter_synthetic is not None:
            non_private.append("filter_synthetic cleans the synthetic rows with a classifier "
                               "trained on the real rows outside any DP mechanism: which "
                               "synthetic rows are kept is not differentially private.")
            if self.epsilon is not None:
                from ..privacy.errors import PrivacyWarning

                warnings.warn(
                    "Oversampler(filter_synthetic=...) selects synthetic rows with a classifier "
                    "trained on the real rows outside a DP mechanism, so its output is NOT "
                    "differentially private (the model's ledger still holds for the model).",
                    PrivacyWarning, stacklevel=3)
        if self.model == "smote":
            pass
        elif not self.per_class:
            data = frame.copy()
            data[self.target_name_] = y_arr
            md = self._metadata_for(data, self.target_name_,
                                    None if self._discover_labels() else classes)
            model = self._make_model().fit(data, md)
            self.model_ = model
            if self._discover_labels():
                classes = self._released_labels(model, counts)
                self.classes_ = np.asarray(classes, dtype=object)
                strategy = OrderedDict((c, n) for c, n in strategy.items() if c in classes)
            self.models_ = {None: model}
            if getattr(model, "ledger_", None) is not None:
                self.ledgers_.append(model.ledger_)
        else:
            md = None
            for cls in classes:
                part = frame.loc[y_arr == cls].reset_index(drop=True)
                if md is None:
                    md = self._metadata_for(frame, None, classes)
                model = self._make_model().fit(part, md)
                ledger = getattr(model, "ledger_", None)
                if ledger is not None:
                    ledger.partition = {"column": self.target_name_, "value": _py(cls),
                                        "parts": [_py(c) for c in classes]}
                    self.ledgers_.append(ledger)
                self.models_[cls] = model
        if self.model != "smote":
            self.sampling_strategy_ = (strategy if self.keep_real
                                       else self._synthetic_sizes(counts, classes))
        spents = [getattr(m, "privacy_spent_", None) for m in self.models_.values()]
        models_dp = bool(spents) and all(sp is not None for sp in spents)
        # Parallel composition over disjoint partitions (tabsynth.privacy.spent)
        self.privacy_spent_ = parallel_spent(
            spents, composition="parallel" if self.per_class else "single model")
        if self.keep_real and models_dp:
            non_private.append("keep_real=True: the output contains the real rows passed in "
                               "(and class sizes from the real labels).")
        dp = models_dp and not non_private
        self.privacy_report_ = {
            "dp": dp,
            "reason": None if dp else ("; ".join(non_private) if non_private
                                       else "the model is not differentially private"),
            "composition": ("parallel (one model per class, disjoint partition by the label)"
                            if self.per_class else "single model"),
            "epsilon": None if self.privacy_spent_ is None else self.privacy_spent_["epsilon"],
            "delta": None if self.privacy_spent_ is None else self.privacy_spent_["delta"],
            "non_private": non_private,
            "real_rows_in_output": bool(self.keep_real),
            "note": self._note(dp, non_private),
        }
        return frame, y_arr, is_frame

    def _note(self, dp: bool, non_private: list[str]) -> str:
        if non_private:
            return "NON-PRIVATE: " + " ".join(non_private)
        if not dp:
            return "Non-private model: no differential privacy."
        note = ("The synthetic rows are post-processing of the DP model(s) (no extra epsilon).")
        if self.keep_real:
            note += (" The returned table also contains the real rows passed in, and the class "
                     "sizes come from the real labels: the table as a whole is not a DP release.")
        return note

    def _check_is_fitted(self) -> None:
        if not hasattr(self, "sampling_strategy_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' first."
            )


def __getattr__(name: str) -> Any:
    # oversample_table moved to tabsynth.sampling.augment (the table helper of the CLI)
    if name == "oversample_table":
        from .augment import oversample_table

        return oversample_table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
