"""The privacy ledger (or a release's privacy summary) as the report reads it: opaque JSON.

Accepted inputs, all plain JSON (or objects with ``to_dict``):

* a ledger (``Ledger.to_dict()``): ``budget`` / ``spent`` / ``entries`` / ``declared_public``;
* a privacy summary with a DP flag, e.g. ``Oversampler.privacy_report_``:
  ``{"dp": false, "reason": "...", "epsilon": 1.0, "delta": 1e-6, "real_rows_in_output": true,
  "non_private": [...], "note": "..."}``;
* the ``attrs["tabsynth"]`` block of an oversampled DataFrame: ``{"ledgers": [...],
  "privacy": {...}}``.

A release that holds real rows (``real_rows_in_output``) or is flagged ``"dp": false`` is not a
DP release whatever ε its model spent: the summary then carries ``dp: False`` and
``dp_reason``, and the report's ``dp_epsilon`` check cannot pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def jsonable(x: Any) -> Any:
    """Plain JSON types; non-finite floats become None."""
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float) or hasattr(x, "__float__"):
        try:
            f = float(x)
        except (TypeError, ValueError):
            return str(x)
        return f if math.isfinite(f) else None
    return str(x)


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _str_or_none(v: Any) -> str | None:
    return None if v is None else str(v)


def _pair(v: Any) -> dict[str, float | None] | None:
    if isinstance(v, Mapping):
        return {"epsilon": _num(v.get("epsilon", v.get("eps"))), "delta": _num(v.get("delta"))}
    if _num(v) is not None:
        return {"epsilon": _num(v), "delta": None}
    return None


def dp_flag(*sources: Any) -> tuple[bool | None, str | None]:
    """``(dp, reason)`` read from the first mappings that state it; ``(None, None)`` if none do.

    ``real_rows_in_output: true`` makes ``dp`` False whatever else is said.
    """
    dp: bool | None = None
    reason: str | None = None
    for src in sources:
        if not isinstance(src, Mapping):
            continue
        if src.get("real_rows_in_output") is True:
            return False, _str_or_none(src.get("reason") or src.get("dp_reason")) or (
                "the release contains the real rows passed in (keep_real=True), so it is not "
                "a differentially private release as a whole")
        if dp is None and isinstance(src.get("dp"), bool):
            dp = src["dp"]
            if not dp:
                non_private = src.get("non_private")
                reason = _str_or_none(src.get("reason") or src.get("dp_reason")) or (
                    " ".join(map(str, non_private)) if isinstance(non_private, list)
                    and non_private else _str_or_none(src.get("note"))
                ) or "the release is marked as not differentially private"
    return dp, reason


def _unwrap(ledger: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any] | None]:
    """(ledger-like mapping, privacy summary or None) for the ``attrs["tabsynth"]`` shape."""
    privacy = ledger.get("privacy")
    privacy = privacy if isinstance(privacy, Mapping) else None
    ledgers = ledger.get("ledgers")
    if isinstance(ledgers, list) and all(isinstance(x, Mapping) for x in ledgers):
        if len(ledgers) == 1:
            return ledgers[0], privacy
        entries = [e for x in ledgers for e in (x.get("entries") or [])]
        eps = _num((privacy or {}).get("epsilon"))
        merged: dict[str, Any] = {"entries": entries}
        if eps is not None:
            merged["spent"] = {"epsilon": eps, "delta": _num((privacy or {}).get("delta"))}
        return merged, privacy
    return ledger, privacy


def _mechanisms(entries: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not isinstance(entries, list):
        return out
    for e in entries:
        if not isinstance(e, Mapping):
            out.append({"mechanism": str(e), "epsilon": None, "delta": None,
                        "description": None})
            continue
        name = e.get("mechanism", e.get("name", e.get("kind", e.get("type"))))
        desc = e.get("description", e.get("purpose", e.get("column", e.get("target"))))
        out.append({
            "mechanism": None if name is None else str(name),
            "epsilon": _num(e.get("epsilon", e.get("eps"))),
            "delta": _num(e.get("delta")),
            "noise_multiplier": _num(e.get("noise_multiplier", e.get("sigma"))),
            "description": None if desc is None else str(desc),
        })
    return out


def summarize_ledger(ledger: Any) -> dict[str, Any] | None:
    """A robust summary of a privacy ledger given as opaque JSON (or an object with to_dict).

    Reads what is there: ``budget`` / ``spent`` (mappings with ``epsilon``/``delta`` or bare
    numbers), ``entries`` (one per mechanism), ``declared_public``, and the DP flag
    (``dp`` / ``reason`` / ``real_rows_in_output``; see the module docstring). Unknown layouts
    still keep the raw ledger in the report.
    """
    if ledger is None:
        return None
    if hasattr(ledger, "to_dict") and not isinstance(ledger, Mapping):
        ledger = ledger.to_dict()
    if not isinstance(ledger, Mapping):
        return {"epsilon": None, "delta": None, "source": None, "budget": None, "spent": None,
                "mechanisms": [], "declared_public": None, "dp": None, "dp_reason": None,
                "ledger": jsonable(ledger)}
    raw = ledger
    ledger, privacy = _unwrap(ledger)
    budget = _pair(ledger.get("budget"))
    spent = _pair(ledger.get("spent", ledger.get("privacy_spent")))
    if spent is None and _num(ledger.get("epsilon")) is not None:
        spent = {"epsilon": _num(ledger.get("epsilon")), "delta": _num(ledger.get("delta"))}
    eps, delta, source = None, None, None
    if spent is not None and spent["epsilon"] is not None:
        eps, delta, source = spent["epsilon"], spent["delta"], "spent"
    elif budget is not None and budget["epsilon"] is not None:
        eps, delta, source = budget["epsilon"], budget["delta"], "budget"
    dp, dp_reason = dp_flag(privacy, ledger)
    public = ledger.get("declared_public", ledger.get("public"))
    if public is None:  # a tabsynth ledger records each declaration as a 'public' entry
        entries = ledger.get("entries")
        public = [str(e.get("target")) for e in entries if isinstance(e, Mapping)
                  and e.get("public") is True and e.get("target")] if isinstance(
            entries, list) else None
        public = public or None
    return {
        "epsilon": eps,
        "delta": delta,
        "source": source,
        "budget": budget,
        "spent": spent,
        "accountant": _str_or_none(ledger.get("accountant")),
        "unit": _str_or_none(ledger.get("unit", ledger.get("privacy_unit"))),
        "mechanisms": _mechanisms(ledger.get("entries", ledger.get("mechanisms", []))),
        "declared_public": jsonable(public),
        "dp": dp,
        "dp_reason": dp_reason,
        "ledger": jsonable(raw),
    }
