"""The empirical privacy audit in the report: validate its JSON, turn it into a figure.

An audit (``tabsynth.privacy.audit`` or any tool) is given to :func:`evaluate` as plain JSON::

    {"method": "one-run" | "multi-run", "epsilon_lower": 0.41, "confidence": 0.95,
     "claimed_epsilon": 1.0, "delta": 1e-6, "n_canaries": 1000, "n_guesses": 200,
     "n_correct": 131, "positive_control_epsilon_lower": 4.2, "passed": true}

``epsilon_lower`` is an empirical lower bound on the ε of the training procedure at the given
confidence: a sound DP claim has ``epsilon_lower <= claimed_epsilon``. ``passed`` is the
audit's own verdict (the lower bound stays below the claim); ``positive_control_epsilon_lower``
is the same audit on a non-private fit, which must exceed the claim for the audit to have
shown it can fail. The counts are of canaries and guesses, never of real rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ._types import MetricResult
from .errors import EvaluationParameterError

AUDIT_METHODS = ("one-run", "multi-run")
_REQUIRED = ("method", "epsilon_lower", "confidence", "n_canaries", "n_guesses", "n_correct",
             "passed")
_OPTIONAL = ("claimed_epsilon", "delta", "positive_control_epsilon_lower")
AUDIT_KEYS = _REQUIRED + _OPTIONAL


def _is_num(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(float(v)))


def _is_count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def validate_audit(audit: Any) -> dict[str, Any] | None:
    """The audit as a plain dict with every key, or one error listing every problem.

    Raises
    ------
    EvaluationParameterError
        ``audit`` is not a mapping, lacks a key, has an unknown key or a value of the wrong
        type or range (all problems in one message).
    """
    if audit is None:
        return None
    if hasattr(audit, "to_dict") and not isinstance(audit, Mapping):
        audit = audit.to_dict()
    if not isinstance(audit, Mapping):
        raise EvaluationParameterError(
            f"The 'audit' parameter of evaluate must be a mapping (the audit's JSON) or None. "
            f"Got {type(audit).__name__} instead."
        )
    problems: list[str] = []
    unknown = sorted(str(k) for k in audit if k not in AUDIT_KEYS)
    if unknown:
        problems.append(f"unknown key(s) {unknown} (valid keys: {list(AUDIT_KEYS)})")
    missing = [k for k in _REQUIRED if k not in audit]
    if missing:
        problems.append(f"missing key(s) {missing}")
    a = {k: audit.get(k) for k in AUDIT_KEYS}

    def bad(key: str, expected: str) -> None:
        problems.append(f"'{key}' must be {expected}, got {a[key]!r}")

    if "method" in audit and a["method"] not in AUDIT_METHODS:
        bad("method", f"one of {list(AUDIT_METHODS)}")
    if "epsilon_lower" in audit and not (_is_num(a["epsilon_lower"]) and a["epsilon_lower"] >= 0):
        bad("epsilon_lower", "a float >= 0")
    if "confidence" in audit and not (_is_num(a["confidence"]) and 0 < a["confidence"] < 1):
        bad("confidence", "a float in (0, 1)")
    for key in ("claimed_epsilon", "positive_control_epsilon_lower"):
        if a[key] is not None and not (_is_num(a[key]) and a[key] >= 0):
            bad(key, "a float >= 0 or null")
    if a["delta"] is not None and not (_is_num(a["delta"]) and 0 <= a["delta"] < 1):
        bad("delta", "a float in [0, 1) or null")
    for key in ("n_canaries", "n_guesses", "n_correct"):
        if key in audit and not _is_count(a[key]):
            bad(key, "an int >= 0")
    if (_is_count(a["n_guesses"]) and _is_count(a["n_correct"])
            and a["n_correct"] > a["n_guesses"]):
        problems.append(f"'n_correct' ({a['n_correct']}) exceeds 'n_guesses' ({a['n_guesses']})")
    if (_is_count(a["n_guesses"]) and _is_count(a["n_canaries"])
            and a["n_guesses"] > a["n_canaries"]):
        problems.append(f"'n_guesses' ({a['n_guesses']}) exceeds 'n_canaries' "
                        f"({a['n_canaries']})")
    if "passed" in audit and not isinstance(a["passed"], bool):
        bad("passed", "true or false")
    if problems:
        raise EvaluationParameterError("The audit cannot be used: " + "; ".join(problems) + ".")
    for key in ("epsilon_lower", "confidence", *_OPTIONAL):
        if a[key] is not None:
            a[key] = float(a[key])
    return a


def audit_sentence(a: Mapping[str, Any]) -> str:
    """E.g. ``empirical lower bound ε ≥ 0.41 at confidence 0.95 (one-run, 1,000 canaries, ...)``."""
    text = (f"empirical lower bound ε ≥ {a['epsilon_lower']:.3g} at confidence "
            f"{a['confidence']:.3g} ({a['method']}, {a['n_canaries']:,} canaries, "
            f"{a['n_guesses']:,} guesses, {a['n_correct']:,} correct)")
    if a.get("claimed_epsilon") is not None:
        text += f"; claimed ε = {a['claimed_epsilon']:.3g}"
    if a.get("positive_control_epsilon_lower") is not None:
        text += (f"; positive control (non-private fit) ε ≥ "
                 f"{a['positive_control_epsilon_lower']:.3g}")
    return text


def audit_metric(a: Mapping[str, Any] | None) -> MetricResult:
    """The ``audit_epsilon_lower`` figure (NOT RUN when no audit was given)."""
    title = "Empirical ε lower bound (audit)"
    desc = ("A privacy audit (canaries inserted in training, then guessed from the output) "
            "gives a lower bound on the true ε; it must stay below the claimed ε.")
    if a is None:
        return MetricResult(name="audit_epsilon_lower", group="privacy", value=float("nan"),
                            title=title, description=desc, higher_is_better=False,
                            reason="no privacy audit was supplied")
    return MetricResult(name="audit_epsilon_lower", group="privacy",
                        value=float(a["epsilon_lower"]), title=title, description=desc,
                        higher_is_better=False,
                        details={**dict(a), "summary": audit_sentence(a)})


def audit_veto(a: Mapping[str, Any] | None, claimed: float | None) -> str | None:
    """Why the audit contradicts the DP claim (None when it does not)."""
    if a is None:
        return None
    claim = a.get("claimed_epsilon") if a.get("claimed_epsilon") is not None else claimed
    if not a["passed"] and a.get("claimed_epsilon") is not None:
        return f"the privacy audit failed: {audit_sentence(a)}"
    if claim is not None and a["epsilon_lower"] > claim + 1e-12:
        return (f"the privacy audit's lower bound ε ≥ {a['epsilon_lower']:.3g} exceeds the "
                f"claimed ε = {claim:.3g}")
    return None
