"""``FitResult``: everything a fit produces, stored by the estimator in one place.

A synthesizer's fitted attributes (``metadata_``, ``stats_``, ``transformer_``, ``device_``,
``columns_``, ``n_features_in_``, ``ledger_``, ``privacy_spent_``, ``dp_schedule_``,
``loss_history_``, ``training_summary_``, ``correction_``) are written by
:meth:`BaseSynthesizer._store_fit <tabsynth.models.base.BaseSynthesizer._store_fit>` and nowhere
else: the fitting routes (exact, DP-SGD, marginals, the autoregressive model) and loading a model
file return a :class:`FitResult`. A fit stores it twice: before training, what the training reads
(``with_training`` left empty), then the complete result. The networks are built on the model by
its ``_build_networks`` hook (private attributes, the same at fit and at load).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FitResult"]


@dataclass(frozen=True)
class FitResult:
    """What a fit (or a model file) gives the estimator.

    ``privacy_spent`` is a :class:`tabsynth.privacy.spent.PrivacySpent` (``None`` when not
    private); ``correction`` the :class:`~tabsynth.sampling.correction.MarginalCorrection` of a
    DP-SGD model (``None`` otherwise); ``dp_schedule`` the resolved DP-SGD schedule.
    """

    metadata: Any
    stats: Any
    transformer: Any
    device: Any
    n_features_in: int
    columns: list[str] = field(default_factory=list)
    ledger: Any = None
    privacy_spent: Any = None
    dp_schedule: dict[str, Any] | None = None
    loss_history: Any = None
    training_summary: dict[str, Any] = field(default_factory=dict)
    correction: Any = None

    def with_training(self, **changes: Any) -> FitResult:
        """A copy with the training's outcome (``loss_history``, ``privacy_spent``, ...)."""
        return dataclasses.replace(self, **changes)

    def attributes(self) -> dict[str, Any]:
        """The fitted attributes this result sets (``name_`` -> value); ``dp_schedule_`` only
        for a DP-SGD fit."""
        out = {
            "metadata_": self.metadata, "stats_": self.stats,
            "transformer_": self.transformer, "device_": self.device,
            "columns_": list(self.columns or self.transformer.columns),
            "n_features_in_": int(self.n_features_in), "ledger_": self.ledger,
            "privacy_spent_": self.privacy_spent, "loss_history_": self.loss_history,
            "training_summary_": dict(self.training_summary), "correction_": self.correction,
        }
        if self.dp_schedule is not None:
            out["dp_schedule_"] = dict(self.dp_schedule)
        return out
