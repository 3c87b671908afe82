"""What the first page of the report says: a reviewer's first questions, answered in words.

* **What was released**: rows and columns of the release, the generator (model and route) when
  the caller or the model file names it, the oversampler's composition from a privacy summary,
  and the scenario (conditions) it was generated under.
* **The privacy guarantee in one sentence**: (ε, δ), the unit of privacy, what was declared
  public; or "no DP guarantee" and why.
* **The verdict and the three figures that decided it**: the failing checks (furthest from
  their threshold first), else the passing checks closest to theirs.

Pure functions of a :class:`Report` (no computation on the tables), so the release form shows
exactly what its redacted report holds.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .report import Report


def fmt(v: Any, digits: int = 3) -> str:
    """A figure for the page: 3 decimals, or 3 significant digits when tiny or huge."""
    if v is None or isinstance(v, bool):
        return "—" if v is None else str(v)
    if isinstance(v, float):
        if v != v:
            return "—"
        if v != 0 and (abs(v) < 10 ** -digits or abs(v) >= 10**6):
            return f"{v:.{digits}g}"
        return f"{v:.{digits}f}"
    return str(v)


def _margin(check: dict[str, Any]) -> float | None:
    """Signed distance to the threshold, relative to it (negative: the check fails)."""
    rule, value = check.get("rule") or {}, check.get("value")
    if value is None:
        return None
    gaps = []
    if rule.get("min") is not None:
        gaps.append((value - rule["min"]) / max(abs(rule["min"]), 1e-9))
    if rule.get("max") is not None:
        gaps.append((rule["max"] - value) / max(abs(rule["max"]), 1e-9))
    return min(gaps) if gaps else None


def deciding_checks(checks: list[dict[str, Any]], k: int = 3) -> tuple[str, list[dict]]:
    """(how they were chosen, up to ``k`` checks) that decided the verdict."""
    failed = [c for c in checks if c["status"] == "FAIL"]
    if failed:
        failed.sort(key=lambda c: (_margin(c) is None, _margin(c) or 0.0))
        return "the failing checks, furthest from their threshold first", failed[:k]
    passed = [c for c in checks if c["status"] == "PASS" and _margin(c) is not None]
    passed.sort(key=lambda c: _margin(c))
    return "no check failed; the passing checks closest to their threshold", passed[:k]


def _names(public: Any, limit: int = 8) -> str:
    if isinstance(public, dict):
        items = [str(k) for k in public]
    elif isinstance(public, (list, tuple)):
        items = [str(v) for v in public]
    else:
        items = [str(public)]
    more = len(items) - limit
    return ", ".join(items[:limit]) + (f" and {more} more" if more > 0 else "")


def privacy_sentence(privacy: dict[str, Any] | None, veto: str | None,
                     generator: dict[str, Any] | None = None) -> tuple[str, bool]:
    """(the guarantee in one sentence, whether it is a DP guarantee that holds)."""
    if not privacy:
        if (generator or {}).get("route") == "non-private":
            return (f"No DP guarantee: the generator ({generator.get('model') or 'model'}) was "
                    "trained without differential privacy.", False)
        return ("No DP guarantee: no privacy ledger or summary was supplied, so only the "
                "empirical privacy-risk figures speak to privacy.", False)
    if privacy.get("dp") is False:
        return f"No DP guarantee for this release: {privacy.get('dp_reason')}.", False
    eps, delta = privacy.get("epsilon"), privacy.get("delta")
    if eps is None:
        return ("No DP guarantee: the ledger records no ε (the generator was trained without "
                "differential privacy).", False)
    unit = privacy.get("unit") or "row"
    spent = "spent" if privacy.get("source") == "spent" else "budgeted, an upper bound"
    public = privacy.get("declared_public")
    declared = (f"declared public (no budget spent on it): {_names(public)}" if public
                else "nothing declared public")
    text = (f"(ε = {fmt(float(eps))}, δ = {fmt(float(delta or 0.0), 3)})-differential privacy "
            f"per {unit} ({spent}), with {declared}.")
    if veto:
        return f"Claimed {text[:-1]}; the claim is contradicted: {veto}.", False
    return text, True


def released(report: Report) -> list[tuple[str, str]]:
    """(label, text) rows describing the release."""
    out: list[tuple[str, str]] = []
    syn = report.datasets.get("synthetic") or {}
    if syn.get("rows") is not None:
        out.append(("Release", f"{syn['rows']:,} rows × {syn.get('columns')} columns"
                    + (f" ({syn['source']})" if syn.get("source") else "")))
    gen = report.parameters.get("generator") or {}
    if gen:
        out.append(("Generator", ", ".join(f"{k}: {v}" for k, v in gen.items()
                                           if v is not None)))
    priv = report.privacy or {}
    if priv.get("accountant"):
        out.append(("Accountant", str(priv["accountant"])))
    ledger = priv.get("ledger") if isinstance(priv.get("ledger"), dict) else {}
    if ledger.get("composition"):
        out.append(("Route", f"oversampler, {ledger['composition']}"))
    target = report.parameters.get("target")
    if target:
        out.append(("Target", str(target)))
    return out


def scenario(report: Report) -> dict[str, Any] | None:
    """The scenario's conditions and the release's conformance, when a scenario was given."""
    cond = report.parameters.get("conditions")
    if not cond:
        return None
    from .scenario import describe

    as_tuples = {c: ((v["low"], v["high"]) if isinstance(v, dict) else v)
                 for c, v in cond.items()}
    m = next((m for m in report.metrics if m.name == "scenario_conformance"), None)
    out: dict[str, Any] = {"text": describe(as_tuples), "share": None, "not_meeting": None}
    if m is not None and m.ran:
        out["share"] = fmt(float(m.value))
        out["not_meeting"] = m.details.get("rows_not_meeting")
        out["per_condition"] = {c: n for c, n in (m.details.get("per_condition") or {}).items()
                                if n}
    return out


def finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
