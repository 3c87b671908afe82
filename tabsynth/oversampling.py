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
from sklearn.base import BaseEstimator

from .errors import ConditionError, NotFittedError, ParameterError, check_param
from .sampling_strategy import (
    _py,
    _sort_key,
    _spent_tuple,
    resolve_sampling_strategy,
)

__all__ = ["Oversampler", "resolve_sampling_strategy"]  # oversample_table: tabsynth.augment

_TARGET = "__tabsynth_target__"
_MODELS = ("ctgan", "tvae", "ar", "smote")
# ---------------------------------------------------------------------------- estimator
class Oversampler(BaseEstimator):
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
    privacy_spent_ : dict or None
        ``{"epsilon", "delta", "accountant", "composition"}`` (the models' shape): the model's
        guarantee, or under parallel composition the maximum epsilon and the maximum delta
        over the parts (each taken separately).
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
        from .models.base import BaseSynthesizer

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

    @staticmethod
    def _check_xy(X: Any, y: Any, private: bool = False) -> tuple[pd.DataFrame, np.ndarray, bool]:
        """``X`` as a DataFrame (copy), ``y`` as a 1-d array; whether X was a DataFrame.
        ``private`` (a DP fit): messages quote no exact count."""
        is_frame = isinstance(X, pd.DataFrame)
        if is_frame:
            frame = X.reset_index(drop=True).copy()
            frame.columns = [str(c) for c in frame.columns]
        else:
            arr = np.asarray(X)
            if arr.ndim != 2:
                raise ParameterError(
                    f"X must be a 2-d table (DataFrame or array); got shape {arr.shape}."
                )
            frame = pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
            frame = frame.infer_objects()
        y_arr = np.asarray(y.to_numpy() if isinstance(y, pd.Series) else y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = y_arr.ravel()
        if y_arr.ndim != 1:
            raise ParameterError(f"y must be 1-d (one label per row); got shape {y_arr.shape}.")
        if len(y_arr) != len(frame):
            sizes = ("" if private else
                     f": X has {len(frame)} rows, y has {len(y_arr)} labels")
            raise ParameterError(f"X and y do not match{sizes} (one label per row).")
        if len(frame) == 0:
            raise ParameterError("X is empty: nothing to oversample.")
        if pd.isna(pd.Series(y_arr)).any():
            raise ParameterError("y has missing labels; drop or label those rows first.")
        return frame, y_arr, is_frame

    # ------------------------------------------------------------------ models
    def _make_model(self) -> Any:
        from .models.base import BaseSynthesizer

        if isinstance(self.model, BaseSynthesizer):
            cls = type(self.model)
            params = dict(self.model.get_params())
        else:
            if self.model == "ctgan":
                from .models.ctgan import CTGAN as cls  # noqa: N813
            elif self.model == "ar":
                from .models.ar import ARSynthesizer as cls
            else:
                from .models.tvae import TVAE as cls  # noqa: N813
            params = {}
        params.update(self.model_params or {})
        valid = cls._get_param_names()
        for key in ("epsilon", "delta", "random_state"):
            value = getattr(self, key)
            if value is None or (key == "random_state" and key in (self.model_params or {})):
                continue
            if key not in valid:
                raise ParameterError(f"{cls.__name__} has no {key!r} parameter (yet).")
            params[key] = value
        bad = sorted(set(params) - set(valid))
        if bad:
            raise ParameterError(
                f"Unknown model_params {bad} for {cls.__name__}. Valid parameters: {valid}."
            )
        return cls(**params)

    def _metadata_for(self, frame: pd.DataFrame, target: str | None, classes: list) -> Any:
        from .metadata import Metadata

        # Under DP nothing is inferred from the values: dtypes and names only.
        md = (Metadata.from_dtypes(frame) if self.epsilon is not None
              else Metadata.detect(frame, warn=False))
        if self.metadata is not None:
            user = self.metadata if isinstance(self.metadata, Metadata) else (
                Metadata.from_dict(self.metadata) if isinstance(self.metadata, Mapping)
                else Metadata.load(self.metadata))
            for name, col in user.columns.items():
                if name in md.columns:
                    md.columns[name] = col
        if target is not None:
            col = md.columns[target]
            sdtype = col.sdtype if col.sdtype in ("categorical", "boolean") else "categorical"
            # Without DP the label set is the observed one. Under DP it is either declared by
            # the user (classes=...: public) or discovered by the model's thresholded DP
            # histogram (classes is None here: no public_domain); frequencies are measured.
            if sdtype == "boolean":
                md.update_column(target, sdtype="boolean")
            elif classes is None:  # a domain the user declared in metadata stays declared
                md.update_column(target, sdtype="categorical", public_domain=col.public_domain)
            else:
                md.update_column(target, sdtype="categorical",
                                 public_domain=[_py(c) for c in classes])
        return md

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
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, name)
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
                from .privacy.errors import PrivacyWarning

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
                from .privacy.errors import PrivacyWarning

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
        spents = [_spent_tuple(getattr(m, "privacy_spent_", None)) for m in self.models_.values()]
        spents = [s for s in spents if s is not None]
        models_dp = bool(spents) and len(spents) == len(self.models_)
        # Parallel composition over disjoint partitions: (max epsilon, max delta), taken
        # separately (a max over (epsilon, delta) tuples would under-report delta).
        self.privacy_spent_ = None if not spents else {
            "epsilon": max(e for e, _ in spents), "delta": max(d for _, d in spents),
            "accountant": self._accountant(),
            "composition": "parallel" if self.per_class else "single model"}
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

    def _exact_strategy(self, counts: Mapping[Any, int], private: bool) -> OrderedDict:
        """``sampling_strategy`` resolved on y's exact class counts. Under DP a refusal quotes
        no label of y and no count (issue 11, item 10): the labels may be private and the
        counts are exact; the reason is given in general terms."""
        try:
            return resolve_sampling_strategy(self.sampling_strategy, counts,
                                             owner=type(self).__name__)
        except ParameterError:
            if not private:
                raise
        raise ParameterError(
            f"sampling_strategy={self.sampling_strategy!r} of {type(self).__name__} does not "
            "fit the labels of y. Under DP the details are not quoted (they would name labels "
            "of y or exact class counts): a float needs exactly two classes and a ratio above "
            "the current minority/majority one; a dict names classes of y with totals at or "
            "above their current counts.") from None

    def _discover_labels(self) -> bool:
        """Under DP without declared classes the label set is a DP output of the model."""
        return self.epsilon is not None and self.model != "smote" and self.classes is None

    def _label_set(self, counts: Mapping[Any, int]) -> list:
        observed = sorted(counts, key=_sort_key)
        if self.epsilon is None or self.model == "smote":
            return observed
        if self.classes is not None:
            declared = sorted({_py(c) for c in self.classes}, key=_sort_key)
            if any(c not in declared for c in observed):
                raise ParameterError(
                    "y has label(s) outside the declared classes: under DP every label must "
                    "be in classes=[...] (labels are not quoted: they are private).")
            return declared
        if self.per_class:
            raise ParameterError(
                "Oversampler(per_class=True, epsilon=...) needs the label set declared as "
                "public, classes=[...]: partitioning by a label set read from y would "
                "release every label, even one held by a single row.")
        return observed  # replaced by the DP-released labels after the fit

    def _released_labels(self, model: Any, counts: Mapping[Any, int]) -> list:
        """Labels released by the model's thresholded DP histogram (never the 'other' bucket),
        mapped back to y's values."""
        cat = model.stats_[self.target_name_]
        other = getattr(cat, "other", None)
        released = [c for c in cat.categories if not (isinstance(other, str) and c == other)]
        by_str = {str(c): c for c in counts}
        labels = [by_str.get(str(c), c) for c in released]
        if len(labels) < 2:
            raise ParameterError(
                "Under DP fewer than two labels cleared the DP release threshold: declare the "
                "label set as public with classes=[...] or raise epsilon.")
        return sorted(labels, key=_sort_key)

    def _accountant(self) -> str | None:
        for m in self.models_.values():
            spent = getattr(m, "privacy_spent_", None)
            if isinstance(spent, Mapping):
                return spent.get("accountant")
        return None

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

    def _synthetic_sizes(self, counts: Mapping[Any, int], classes: list) -> OrderedDict:
        """keep_real=False: rows per class from the model's own statistics (DP under DP)."""
        est: dict[Any, float] = {}
        if self.per_class:
            for cls in classes:
                n = getattr(self.models_[cls].stats_, "n_rows", None)
                est[cls] = float(n) if n else 1.0
        else:
            st = self.model_.stats_
            cat = st[self.target_name_]
            n_rows = float(st.n_rows or sum(counts.values()))
            freq = {str(c): f for c, f in zip(cat.categories, cat.frequencies, strict=True)}
            for cls in classes:
                est[cls] = max(freq.get(str(cls), 0.0) * n_rows, 1.0)
        est_counts = {c: max(int(round(v)), 1) for c, v in est.items()}
        if len(est_counts) < 2:
            return OrderedDict((c, est_counts[c]) for c in classes)
        try:
            add = resolve_sampling_strategy(self.sampling_strategy, est_counts,
                                            owner=type(self).__name__)
        except ParameterError:
            if isinstance(self.sampling_strategy, (str, Mapping)):
                raise
            add = OrderedDict()  # the DP counts may already be above the asked ratio
        return OrderedDict((c, est_counts[c] + add.get(c, 0)) for c in classes)

    def _generate(self, cls: Any, n: int, seed: int) -> pd.DataFrame:
        if self.per_class:
            return self.models_[cls].sample(n, random_state=seed)
        try:
            rows = self.model_.sample(n, conditions={self.target_name_: cls}, random_state=seed)
        except ConditionError as exc:
            raise ConditionError(
                f"Cannot generate rows of class {cls!r}: {exc}"
            ) from exc
        return rows.drop(columns=[self.target_name_])

    # ------------------------------------------------------------------ cleaning
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

    def _wrap(self, X: Any, y: Any, X_res: pd.DataFrame, y_res: np.ndarray,
              is_frame: bool) -> tuple[Any, Any]:
        if is_frame:
            X_res.columns = list(X.columns)
            X_res.attrs["tabsynth"] = {
                "ledgers": [ledger.to_dict() for ledger in self.ledgers_],
                "privacy": dict(self.privacy_report_),
            }
            out_X: Any = X_res
        else:
            out_X = X_res.to_numpy(dtype=np.asarray(X).dtype)
        if isinstance(y, pd.Series):
            out_y: Any = pd.Series(y_res, name=y.name).astype(y.dtype, errors="ignore")
        else:
            out_y = np.asarray(y_res)
        return out_X, out_y

    def _check_is_fitted(self) -> None:
        if not hasattr(self, "sampling_strategy_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' first."
            )


def __getattr__(name: str) -> Any:
    # oversample_table moved to tabsynth.augment (the table helper of the CLI)
    if name == "oversample_table":
        from .augment import oversample_table

        return oversample_table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
