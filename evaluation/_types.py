"""The one record every metric returns, so the report, policy and JSON treat them alike."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Group = Literal["fidelity", "utility", "privacy"]


@dataclass(frozen=True)
class MetricResult:
    """One figure of the evaluation.

    ``name`` is the stable key the policy refers to (e.g. ``"column_shapes"``,
    ``"dcr_closer_to_train_share"``). ``value`` is ``nan`` when the check could not run;
    ``reason`` then says why. ``ci`` is an optional (low, high) confidence interval.
    ``details`` holds per-column / per-pair breakdowns (plain JSON types only, never real
    records). ``higher_is_better`` tells the policy and the renderer the direction.
    """

    name: str
    group: Group
    value: float
    title: str
    description: str
    higher_is_better: bool | None = True
    ci: tuple[float, float] | None = None
    details: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None

    @property
    def ran(self) -> bool:
        return not (isinstance(self.value, float) and math.isnan(self.value))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["value"] = None if not self.ran else float(self.value)
        d["ci"] = None if self.ci is None else [float(self.ci[0]), float(self.ci[1])]
        return d
