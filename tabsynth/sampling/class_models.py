"""The models behind the :class:`~tabsynth.Oversampler`: one synthesizer, or one per class, and
the label domain.

A mixin of the Oversampler (its methods read the Oversampler's parameters): the model built
from ``model`` / ``model_params``, the metadata of ``X`` plus the label column, the label set
(observed without DP; under DP declared with ``classes=[...]`` or released by the model's
thresholded DP histogram, never read from ``y``), the class sizes of ``keep_real=False`` (from
the models' own DP statistics) and the generation of one class's rows (exact, through the
conditional vector; with ``per_class=True`` from that class's model). With ``per_class=True``
the models are trained on disjoint parts (the record's own label): under DP they compose in
parallel (:func:`tabsynth.privacy.spent.parallel_spent`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..errors import ConditionError, ParameterError
from .strategy import _py, _sort_key, resolve_sampling_strategy

__all__ = ["ClassModels"]


class ClassModels:
    """Model, metadata, label domain and class sizes of the Oversampler (a mixin)."""

    def _make_model(self) -> Any:
        from ..models.base import BaseSynthesizer

        if isinstance(self.model, BaseSynthesizer):
            cls = type(self.model)
            params = dict(self.model.get_params())
        else:
            if self.model == "ctgan":
                from ..models.ctgan import CTGAN as cls  # noqa: N813
            elif self.model == "ar":
                from ..models.ar import ARSynthesizer as cls
            else:
                from ..models.tvae import TVAE as cls  # noqa: N813
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
        from ..metadata import Metadata

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
