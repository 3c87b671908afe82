"""The evaluation :class:`Report`: figures, checks, verdict, fingerprints; JSON and HTML.

Two forms (see :mod:`._release`): ``"internal"`` (the default; the full record with the real
tables' fingerprints and sizes, marked internal) and ``"release"`` (aggregate figures only, to
publish beside the synthetic table). Choose with ``form=`` in :meth:`Report.to_dict`,
:meth:`Report.to_json`, :meth:`Report.to_html` and :meth:`Report.save`.

JSON (``schema: "tabsynth-evaluation-report"``, ``schema_version: 1``) is deterministic for a
fixed input and seed apart from ``created``; keys keep a fixed order. Plots are not stored in
the JSON (they are rendered into the HTML only), so ``Report.from_json(p).to_html(q)`` gives a
report without plots. Files are written atomically (temporary file in the same folder, then
rename): on error no partial file is left.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ._ledger import jsonable as _jsonable
from ._ledger import summarize_ledger  # noqa: F401  (re-exported for callers)
from ._outputs import check_outputs, write_all
from ._release import NOTICE, check_form, release_copy
from ._types import MetricResult

SCHEMA = "tabsynth-evaluation-report"
SCHEMA_VERSION = 1
_PACKAGES = {
    "tabsynth": "tabsynth-dp",
    "numpy": "numpy",
    "pandas": "pandas",
    "sklearn": "scikit-learn",
    "scipy": "scipy",
    "matplotlib": "matplotlib",
}


def environment() -> dict[str, str | None]:
    """Versions of the packages that produce the figures."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for key, dist in _PACKAGES.items():
        try:
            out[key] = version(dist)
        except PackageNotFoundError:
            out[key] = None
    out["python"] = platform.python_version()
    return out


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename."""
    return write_all({path: text})[0]


@dataclass
class Report:
    """Result of :func:`tabsynth.evaluation.evaluate`.

    ``metrics`` lists every :class:`MetricResult`; ``checks`` the policy's verdict per check;
    ``passed`` / ``verdict`` the overall outcome. ``plots`` (base64 PNGs) feed the HTML only.
    """

    metrics: list[MetricResult]
    checks: list[dict[str, Any]]
    passed: bool
    verdict: str
    datasets: dict[str, Any]
    privacy: dict[str, Any] | None
    parameters: dict[str, Any]
    environment: dict[str, Any]
    created: str
    warnings: list[str] = field(default_factory=list)
    policy: dict[str, Any] | None = None
    signoff: dict[str, Any] = field(
        default_factory=lambda: {"name": None, "role": None, "date": None, "decision": None}
    )
    plots: dict[str, Any] = field(default_factory=dict, repr=False)
    audit: dict[str, Any] | None = None
    form: str = "internal"
    fairness: dict[str, Any] | None = None  # evaluation/fairness.py; None: no protected column

    # ------------------------------------------------------------------ access

    def metric(self, name: str) -> MetricResult:
        """The metric called ``name`` (KeyError listing the names if absent)."""
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(f"No metric {name!r}; available: {[m.name for m in self.metrics]}")

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: group, name, title, value, ci_low, ci_high, threshold, status."""
        checks = {c["name"]: c for c in self.checks}
        rows = []
        for m in self.metrics:
            c = checks.get(m.name)
            rows.append({
                "group": m.group,
                "name": m.name,
                "title": m.title,
                "value": float(m.value) if m.ran else float("nan"),
                "ci_low": float(m.ci[0]) if m.ci else float("nan"),
                "ci_high": float(m.ci[1]) if m.ci else float("nan"),
                "threshold": c["threshold"] if c else None,
                "status": c["status"] if c else ("computed" if m.ran else "NOT RUN"),
            })
        return pd.DataFrame(rows, columns=["group", "name", "title", "value", "ci_low",
                                           "ci_high", "threshold", "status"])

    # ------------------------------------------------------------------ JSON

    def release(self) -> Report:
        """This report in the release form (no real-table hashes, sizes or exact counts)."""
        rep = release_copy(self)
        if rep is not self and self.fairness is not None:
            from .fairness import release_section

            rows = (self.datasets.get("real") or {}).get("rows")
            rep = dataclasses.replace(rep, fairness=release_section(self.fairness, rows))
        return rep

    def _in_form(self, form: str, owner: str) -> Report:
        return self.release() if check_form(form, owner) == "release" else self

    def to_dict(self, form: str = "internal") -> dict[str, Any]:
        """The report as plain JSON types; ``form="release"`` for the form to publish."""
        rep = self._in_form(form, "Report.to_dict")
        return _jsonable({
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "form": rep.form,
            "notice": NOTICE[rep.form],
            "verdict": rep.verdict,
            "passed": rep.passed,
            "checks": rep.checks,
            "metrics": [m.to_dict() for m in rep.metrics],
            "datasets": rep.datasets,
            "privacy": rep.privacy,
            "audit": rep.audit,
            "fairness": rep.fairness,
            "parameters": rep.parameters,
            "policy": rep.policy,
            "environment": rep.environment,
            "created": rep.created,
            "warnings": rep.warnings,
            "signoff": rep.signoff,
        })

    def to_json(self, path: str | os.PathLike | None = None, *, form: str = "internal") -> str:
        """The JSON text; also written atomically to ``path`` when given."""
        text = json.dumps(self.to_dict(form), indent=2, ensure_ascii=False,
                          allow_nan=False) + "\n"
        if path is not None:
            atomic_write_text(path, text)
        return text

    def save(self, html: str | os.PathLike | None = None, json: str | os.PathLike | None = None,
             *, form: str = "internal") -> list[Path]:
        """Write the HTML and/or JSON report together: both land, or neither changes.

        Raises
        ------
        EvaluationParameterError
            No path given, or a bad ``form``.
        EvaluationOutputError
            A path cannot be written (checked before anything is rendered); nothing is written.
        """
        check_form(form, "Report.save")
        paths = {k: v for k, v in (("html", html), ("json", json)) if v is not None}
        if not paths:
            from .errors import EvaluationParameterError

            raise EvaluationParameterError("Report.save needs an 'html' or a 'json' path.")
        check_outputs(list(paths.values()))
        texts: dict[str | os.PathLike, str] = {}
        if "json" in paths:
            texts[paths["json"]] = self.to_json(form=form)
        if "html" in paths:
            texts[paths["html"]] = self.to_html(form=form)
        return write_all(texts)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Report:
        from .errors import EvaluationError

        if d.get("schema") != SCHEMA:
            raise EvaluationError(f"Not a tabsynth evaluation report (schema={d.get('schema')!r}).")
        if d.get("schema_version") != SCHEMA_VERSION:
            raise EvaluationError(
                f"Report schema_version {d.get('schema_version')!r} is not supported "
                f"(this tabsynth reads {SCHEMA_VERSION})."
            )
        metrics = []
        for m in d.get("metrics", []):
            m = dict(m)
            m["value"] = float("nan") if m.get("value") is None else float(m["value"])
            m["ci"] = None if m.get("ci") is None else tuple(m["ci"])
            metrics.append(MetricResult(**m))
        return cls(
            metrics=metrics,
            checks=list(d.get("checks", [])),
            passed=bool(d.get("passed", str(d.get("verdict", "")).startswith("PASS"))),
            verdict=str(d.get("verdict")),
            datasets=dict(d.get("datasets", {})),
            privacy=d.get("privacy"),
            parameters=dict(d.get("parameters", {})),
            environment=dict(d.get("environment", {})),
            created=str(d.get("created")),
            warnings=list(d.get("warnings", [])),
            policy=d.get("policy"),
            signoff=dict(d.get("signoff") or {}),
            audit=d.get("audit"),
            form=str(d.get("form", "internal")),
            fairness=d.get("fairness"),
        )

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> Report:
        """Read a report written by :meth:`to_json` (plots are not restored)."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    # ------------------------------------------------------------------ HTML

    def to_html(self, path: str | os.PathLike | None = None, *, form: str = "internal") -> str:
        """One self-contained HTML page; also written atomically to ``path`` when given."""
        from .html import render

        text = render(self._in_form(form, "Report.to_html"))
        if path is not None:
            atomic_write_text(path, text)
        return text

    def _repr_html_(self) -> str:
        """The notebook form: styles scoped to the report's container, no images (< 60 KB)."""
        from .html import render

        return render(self, fragment=True)

    def show_plots(self) -> PlotsView:
        """The plots on demand in a notebook (``report.show_plots()``)."""
        return PlotsView(self)

    def __repr__(self) -> str:
        return f"<Report {self.verdict}: {len(self.checks)} checks, {len(self.metrics)} metrics>"


class PlotsView:
    """The plots of a report for a notebook cell (scoped styles, images inline)."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def _repr_html_(self) -> str:
        from .html import render_plots

        return render_plots(self.report)
