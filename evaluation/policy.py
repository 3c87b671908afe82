"""Policy: thresholds that turn metric figures into PASS / FAIL / NOT RUN, and a verdict.

A policy is YAML or JSON::

    version: 1
    checks:
      column_shapes: {min: 0.80}
      detection_auc: {max: 0.90}
      tstr_auc_ratio: {between: [0.85, 1.2]}
      exact_copy_rate: {max: 0.01, or_at_most: exact_copy_rate_holdout}
      membership_inference_auc: {max: 0.60, required: true}

Each check names a metric (see :data:`CHECKS`) and exactly one of ``min``, ``max``,
``between``. ``or_at_most: METRIC`` also passes a check whose figure is no larger than that
metric's figure (e.g. copying training rows no more often than fresh real rows are copied).
``required: true`` makes the check FAIL when it cannot run. A figure that is only an upper
bound (``details["upper_bound"]``: an anonymeter-style risk without a holdout, the raw attack
success rate) PASSes a ``max`` check it meets and is NOT RUN (FAIL if required) above it: an
upper bound above the threshold proves nothing. A figure whose claim is void
(``details["veto"]``: e.g. a DP ε for a release that contains real rows, or an audit that
contradicts it) FAILs its check whatever the threshold, with that reason.

How NOT RUN counts: a check whose figure could not be computed (no holdout, no target, no
ledger, privacy metrics unavailable) is NOT RUN and does **not** fail the policy unless it is
``required``. The verdict then reads ``"PASS (2 checks not run)"`` so the gap stays visible;
:attr:`Report.passed` is True. ``"FAIL (1 of 12 checks failed)"`` otherwise.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ._types import MetricResult
from .errors import PolicyError

PASS, FAIL, NOT_RUN = "PASS", "FAIL", "NOT RUN"

#: Every check a policy may name: metric name -> plain-English meaning for non-specialists.
CHECKS: dict[str, str] = {
    "column_shapes": "How closely each column's distribution matches the real one "
    "(1 = identical).",
    "column_pair_trends": "How well relationships between pairs of columns are kept "
    "(1 = identical).",
    "detection_auc": "How easily a classifier tells synthetic rows from real ones "
    "(0.5 = cannot tell them apart, 1 = always can).",
    "minority_column_shapes": "Column distributions within the rarest class of the target "
    "(1 = identical).",
    "minority_column_pair_trends": "Pairwise relationships within the rarest class of the target "
    "(1 = identical).",
    "tstr_auc_ratio": "A model trained on synthetic data predicts the target on real data this "
    "well, relative to a model trained on real data (1 = just as well).",
    "tstr_roc_auc": "Prediction quality on real data of a model trained on synthetic data.",
    "trtr_roc_auc": "Prediction quality on real data of a model trained on real data.",
    "tstr_pr_auc": "How well a model trained on synthetic data finds the rarest class.",
    "trtr_pr_auc": "How well a model trained on real data finds the rarest class.",
    "tstr_f1": "F1 of the rarest class for a model trained on synthetic data.",
    "trtr_f1": "F1 of the rarest class for a model trained on real data.",
    "tstr_r2_ratio": "A model trained on synthetic data predicts the (numeric) target this well, "
    "relative to one trained on real data (1 = just as well).",
    "tstr_r2": "R² on real data of a model trained on synthetic data.",
    "trtr_r2": "R² on real data of a model trained on real data.",
    "tstr_mae": "Mean absolute error on real data of a model trained on synthetic data.",
    "trtr_mae": "Mean absolute error on real data of a model trained on real data.",
    "exact_copy_rate": "Share of synthetic rows that are exact copies of a training row.",
    "exact_copy_rate_holdout": "Share of synthetic rows identical to a real row the generator "
    "never saw (the base rate of coincidental copies).",
    "dcr_closer_to_train_share": "Share of synthetic rows closer to a training row than to any "
    "unseen real row (0.5 = no memorisation).",
    "nndr_median": "Median ratio of the distances to the nearest and second-nearest training row "
    "(low = synthetic rows hug single real records).",
    "dcr_median": "Median distance from a synthetic row to its closest training row.",
    "membership_inference_auc": "How well an attacker can tell whether a person was in the "
    "training data (0.5 = no better than guessing).",
    "singling_out_risk": "Risk that an attacker isolates one real person from the synthetic data "
    "(0 = none).",
    "linkability_risk": "Risk that an attacker links two pieces of information about the same "
    "real person (0 = none).",
    "attribute_inference_risk": "Risk that an attacker infers a secret attribute of a real person "
    "(0 = none).",
    "dp_epsilon": "The formal differential-privacy budget spent to train the generator "
    "(smaller = stronger guarantee).",
    "audit_epsilon_lower": "An empirical privacy audit's lower bound on ε (it must stay below "
    "the claimed ε; larger = the guarantee is weaker than claimed).",
}

_KEYS = {"min", "max", "between", "or_at_most", "required"}


@dataclass(frozen=True)
class Check:
    """One rule of a policy."""

    name: str
    min: float | None = None
    max: float | None = None
    or_at_most: str | None = None
    required: bool = False

    @property
    def threshold(self) -> str:
        if self.min is not None and self.max is not None:
            text = f"between {self.min:g} and {self.max:g}"
        elif self.min is not None:
            text = f"≥ {self.min:g}"
        else:
            text = f"≤ {self.max:g}"
        if self.or_at_most:
            text += f" (or ≤ {self.or_at_most})"
        return text

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.min is not None and self.max is not None:
            d["between"] = [self.min, self.max]
        elif self.min is not None:
            d["min"] = self.min
        else:
            d["max"] = self.max
        if self.or_at_most:
            d["or_at_most"] = self.or_at_most
        if self.required:
            d["required"] = True
        return d


@dataclass(frozen=True)
class Policy:
    """A validated set of checks (build with :func:`load_policy`)."""

    checks: tuple[Check, ...]
    source: str = "default"
    version: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "checks": {c.name: c.to_dict() for c in self.checks}}

    def apply(self, metrics: list[MetricResult]) -> list[dict[str, Any]]:
        """One record per check: name, title, status, value, threshold, explanation, reason."""
        by_name = {m.name: m for m in metrics}
        out = []
        for c in self.checks:
            m = by_name.get(c.name)
            value = float(m.value) if m is not None and m.ran else None
            reason = None
            if value is None:
                status = FAIL if c.required else NOT_RUN
                reason = (m.reason if m is not None else None) or "the figure was not computed"
                if c.required:
                    reason = f"required check could not run: {reason}"
            elif m is not None and m.details.get("veto"):
                status = FAIL  # the figure stands, but the claim behind it does not hold
                reason = str(m.details["veto"])
            elif (m is not None and m.details.get("upper_bound") and c.max is not None
                  and value > c.max):
                # an upper bound above a maximum proves nothing either way
                status = FAIL if c.required else NOT_RUN
                reason = (f"{m.details['upper_bound']}: {value:.3f} is above {c.max:g} but "
                          "only bounds the risk from above (it also counts what the "
                          "population reveals); give a holdout to measure the risk")
                if c.required:
                    reason = f"required check could not be decided: {reason}"
            else:
                ok = (c.min is None or value >= c.min) and (c.max is None or value <= c.max)
                if not ok and c.or_at_most:
                    ref = by_name.get(c.or_at_most)
                    if ref is not None and ref.ran and value <= float(ref.value):
                        ok = True
                        reason = (f"above {c.max:g} but no higher than {c.or_at_most} "
                                  f"({float(ref.value):.4g})")
                status = PASS if ok else FAIL
            out.append({
                "name": c.name,
                "title": m.title if m is not None else c.name.replace("_", " ").capitalize(),
                "group": m.group if m is not None else None,
                "status": status,
                "value": value,
                "threshold": c.threshold,
                "rule": c.to_dict(),
                "explanation": CHECKS.get(c.name, ""),
                "reason": reason,
            })
        return out


def verdict(checks: list[dict[str, Any]]) -> tuple[bool, str]:
    """(passed, text) from applied checks; NOT RUN does not fail but is counted in the text."""
    failed = sum(c["status"] == FAIL for c in checks)
    not_run = sum(c["status"] == NOT_RUN for c in checks)
    if failed:
        return False, f"FAIL ({failed} of {len(checks)} check{'s' if len(checks) != 1 else ''} " \
                      "failed)"
    if not_run:
        return True, f"PASS ({not_run} check{'s' if not_run != 1 else ''} not run)"
    return True, "PASS"


def _number(name: str, key: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise PolicyError(f"Check '{name}': '{key}' must be a finite number. Got {v!r} instead.")
    return float(v)


def _parse(d: Any, source: str) -> Policy:
    if not isinstance(d, Mapping):
        raise PolicyError(f"The policy ({source}) must be a mapping with 'version' and 'checks'.")
    unknown = set(d) - {"version", "checks"}
    if unknown:
        raise PolicyError(f"The policy ({source}) has unknown key(s) {sorted(unknown)}; "
                          "valid keys: ['checks', 'version'].")
    version = d.get("version", 1)
    if version != 1:
        raise PolicyError(f"The policy ({source}) has version {version!r}; this tabsynth reads "
                          "version 1.")
    raw = d.get("checks")
    if not isinstance(raw, Mapping) or not raw:
        raise PolicyError(f"The policy ({source}) must have a non-empty 'checks' mapping.")
    bad = sorted(set(map(str, raw)) - set(CHECKS))
    problems = []
    if bad:
        problems.append(f"unknown check(s) {bad}; valid checks: {sorted(CHECKS)}")
    checks = []
    for name, rule in raw.items():
        if name in bad:
            continue
        if not isinstance(rule, Mapping):
            problems.append(f"check '{name}' must be a mapping like {{min: 0.8}}")
            continue
        extra = set(rule) - _KEYS
        if extra:
            problems.append(f"check '{name}' has unknown key(s) {sorted(extra)}; valid keys: "
                            f"{sorted(_KEYS)}")
            continue
        bounds = [k for k in ("min", "max", "between") if k in rule]
        if len(bounds) != 1:
            problems.append(f"check '{name}' needs exactly one of 'min', 'max', 'between'")
            continue
        try:
            lo = hi = None
            if "min" in rule:
                lo = _number(name, "min", rule["min"])
            elif "max" in rule:
                hi = _number(name, "max", rule["max"])
            else:
                pair = rule["between"]
                if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                    raise PolicyError(f"Check '{name}': 'between' must be [low, high].")
                lo, hi = _number(name, "between", pair[0]), _number(name, "between", pair[1])
                if lo > hi:
                    raise PolicyError(f"Check '{name}': 'between' low {lo:g} > high {hi:g}.")
        except PolicyError as exc:
            problems.append(str(exc).rstrip("."))
            continue
        ref = rule.get("or_at_most")
        if ref is not None and (ref not in CHECKS or hi is None):
            problems.append(f"check '{name}': 'or_at_most' must name a metric and go with 'max'")
            continue
        req = rule.get("required", False)
        if not isinstance(req, bool):
            problems.append(f"check '{name}': 'required' must be true or false")
            continue
        checks.append(Check(str(name), lo, hi, ref, req))
    if problems:
        raise PolicyError(f"The policy ({source}) is invalid: " + "; ".join(problems) + ".")
    return Policy(tuple(checks), source=source, version=1)


def load_policy(policy: str | os.PathLike | Mapping[str, Any] | Policy | None = None) -> Policy:
    """A :class:`Policy` from a YAML/JSON path, a dict, a Policy, or None (the default policy).

    Raises :class:`PolicyError` naming every problem (unknown checks list the valid ones).
    """
    if policy is None:
        text = resources.files(__package__).joinpath("default_policy.yaml").read_text("utf-8")
        return _parse(_yaml_load(text, "default policy"), "default")
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, Mapping):
        return _parse(policy, "dict")
    if isinstance(policy, (str, os.PathLike)):
        path = Path(policy)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(f"The policy file {path} cannot be read: {exc.strerror}.") from None
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise PolicyError(f"The policy file {path.name} is not valid JSON: {exc}.") \
                    from None
        else:
            data = _yaml_load(text, path.name)
        return _parse(data, path.name)
    raise PolicyError(f"policy must be a path, a dict or None. Got {type(policy).__name__}.")


def _yaml_load(text: str, source: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"The policy ({source}) is not valid YAML: {exc}") from None


__all__ = ["CHECKS", "FAIL", "NOT_RUN", "PASS", "Check", "Policy", "load_policy", "verdict"]
