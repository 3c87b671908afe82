"""The two forms of a report: ``internal`` (for sign-off) and ``release`` (to publish).

The internal form is the full record: the sha256 and exact shape of the real and holdout
tables, exact counts behind each figure (rows per side, attacks, copies), the raw ledger and
plots whose axes come from the real data. It is marked ``"form": "internal"`` and its HTML
carries a banner saying not to publish it.

The release form keeps only what may travel with the synthetic table: every figure, interval,
check and verdict; the schema (column names and kinds); the synthetic table's own fingerprint;
the privacy summary (ε, δ, mechanisms, what was declared public); parameters, policy,
versions. It drops the real and holdout tables' hashes, row counts and file names, every
exact count in the figures' details (an allow-list keeps only per-column / per-pair scores and
method descriptions), the raw ledger, class labels and the marginal and rare-class plots
(their axes and labels are read off the real data). Nothing is computed anew: the release
form is a redaction.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from ._types import MetricResult
from .errors import EvaluationParameterError

if TYPE_CHECKING:  # pragma: no cover
    from .report import Report

FORMS = ("internal", "release")

# keys of MetricResult.details kept in the release form (no counts, no real values)
_SAFE_DETAILS = frozenset({
    "columns", "pairs", "binning", "classifier", "model", "method", "distance", "note",
    "confidence_level", "mode", "regression", "secret", "aux_cols", "k", "n_neighbors",
    "from", "delta", "veto", "summary", "attack_rate", "baseline_rate", "control_rate",
    # audit (counts of canaries and guesses, not of real rows)
    "epsilon_lower", "confidence", "claimed_epsilon", "n_canaries", "n_guesses", "n_correct",
    "positive_control_epsilon_lower", "passed",
    # pair-trend binning and SDMetrics' thresholded figure; a scenario release's conformance
    # (counts of release rows, never of real ones)
    "pair_binning", "sdmetrics_thresholded", "scenario", "rows_checked", "rows_not_meeting",
    "per_condition",
})
_SAFE_ROW_KEYS = frozenset({"column", "kind", "metric", "score", "column_1", "column_2"})
_REAL_ROLES = ("real", "holdout")
_COUNT_PHRASE = re.compile(r"\b\d[\d,]*(\.\d+)?\s+(row|record)")
_SUBSAMPLED = re.compile(r"^(\w+): [\d,]+ rows subsampled")

NOTICE = {
    "internal": ("INTERNAL: this report holds the sha256 fingerprints and exact sizes of the "
                 "real tables and exact counts behind each figure. Keep it with the sign-off "
                 "records; publish the release form instead (form='release', "
                 "tabsynth evaluate --form release)."),
    "release": ("RELEASE FORM: aggregate figures only. The real and holdout tables' "
                "fingerprints, row counts, exact counts and plots drawn from real data are "
                "left out; the internal form holds them."),
}


def check_form(form: Any, owner: str) -> str:
    if form not in FORMS:
        raise EvaluationParameterError(
            f"The 'form' parameter of {owner} must be one of {list(FORMS)}. Got {form!r} instead."
        )
    return str(form)


def _rows(rows: Any) -> Any:
    if not isinstance(rows, list):
        return None
    return [{k: v for k, v in r.items() if k in _SAFE_ROW_KEYS} if isinstance(r, dict) else r
            for r in rows]


def _metric(m: MetricResult) -> MetricResult:
    details = {}
    for k, v in m.details.items():
        if k not in _SAFE_DETAILS:
            continue
        details[k] = _rows(v) if k in ("columns", "pairs") else v
    reason = _redact(m.reason) if isinstance(m.reason, str) else m.reason
    return dataclasses.replace(m, details=details, reason=reason)


def _datasets(datasets: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for role, d in datasets.items():
        if d is None or role not in _REAL_ROLES:
            out[role] = d
        else:
            out[role] = {"given": True, "columns": d.get("columns")}
    return out


def _redact(text: str) -> str:
    return _COUNT_PHRASE.sub(lambda mt: f"some {mt.group(2)}", text)


def _parameters(params: dict[str, Any]) -> dict[str, Any]:
    out = dict(params)
    subs = out.get("subsampling")
    if isinstance(subs, list):
        out["subsampling"] = [_SUBSAMPLED.sub(r"\1: subsampled", s) if isinstance(s, str) else s
                              for s in subs]
    return out


def _privacy(privacy: dict[str, Any] | None) -> dict[str, Any] | None:
    if privacy is None:
        return None
    return {k: v for k, v in privacy.items() if k != "ledger"}


def _checks(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**c, "reason": _redact(c["reason"]) if isinstance(c.get("reason"), str)
             else c.get("reason")} for c in checks]


def release_copy(report: Report) -> Report:
    """A copy of ``report`` in the release form (the report itself is left unchanged)."""
    if report.form == "release":
        return report
    plots = {k: v for k, v in (report.plots or {}).items()
             if k not in ("marginals", "rare_class")}  # axes read off the real data
    return dataclasses.replace(
        report,
        metrics=[_metric(m) for m in report.metrics],
        checks=_checks(report.checks),
        datasets=_datasets(report.datasets),
        privacy=_privacy(report.privacy),
        parameters=_parameters(report.parameters),
        warnings=[_redact(w) for w in report.warnings],
        plots=plots,
        form="release",
    )
