"""The evaluation :class:`Report`: figures, checks, verdict, fingerprints; JSON and HTML.

JSON (``schema: "tabsynth-evaluation-report"``, ``schema_version: 1``) is deterministic for a
fixed input and seed apart from ``created``; keys keep a fixed order. Plots are not stored in
the JSON (they are rendered into the HTML only), so ``Report.from_json(p).to_html(q)`` gives a
report without plots. Files are written atomically (temporary file in the same folder, then
rename): on error no partial file is left.
"""

from __future__ import annotations

import json
import math
import os
import platform
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

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


def _jsonable(x: Any) -> Any:
    """Plain JSON types; non-finite floats become None."""
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
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


def summarize_ledger(ledger: Any) -> dict[str, Any] | None:
    """A robust summary of a privacy ledger given as opaque JSON (or an object with to_dict).

    Reads what is there: ``budget`` / ``spent`` (mappings with ``epsilon``/``delta`` or bare
    numbers), ``entries`` (one per mechanism), ``declared_public``. Unknown layouts still keep
    the raw ledger in the report.
    """
    if ledger is None:
        return None
    if hasattr(ledger, "to_dict"):
        ledger = ledger.to_dict()
    if not isinstance(ledger, Mapping):
        return {"epsilon": None, "delta": None, "source": None, "budget": None, "spent": None,
                "mechanisms": [], "declared_public": None, "ledger": _jsonable(ledger)}

    def pair(v: Any) -> dict[str, float | None] | None:
        if isinstance(v, Mapping):
            return {"epsilon": _num(v.get("epsilon", v.get("eps"))),
                    "delta": _num(v.get("delta"))}
        if _num(v) is not None:
            return {"epsilon": _num(v), "delta": None}
        return None

    budget = pair(ledger.get("budget"))
    spent = pair(ledger.get("spent", ledger.get("privacy_spent")))
    if spent is None and _num(ledger.get("epsilon")) is not None:
        spent = {"epsilon": _num(ledger.get("epsilon")), "delta": _num(ledger.get("delta"))}
    eps, delta, source = None, None, None
    if spent is not None and spent["epsilon"] is not None:
        eps, delta, source = spent["epsilon"], spent["delta"], "spent"
    elif budget is not None and budget["epsilon"] is not None:
        eps, delta, source = budget["epsilon"], budget["delta"], "budget"
    entries = ledger.get("entries", ledger.get("mechanisms", []))
    mechanisms = []
    if isinstance(entries, list):
        for e in entries:
            if not isinstance(e, Mapping):
                mechanisms.append({"mechanism": str(e), "epsilon": None, "delta": None,
                                   "description": None})
                continue
            name = e.get("mechanism", e.get("name", e.get("kind", e.get("type"))))
            desc = e.get("description", e.get("purpose", e.get("column", e.get("target"))))
            mechanisms.append({
                "mechanism": None if name is None else str(name),
                "epsilon": _num(e.get("epsilon", e.get("eps"))),
                "delta": _num(e.get("delta")),
                "noise_multiplier": _num(e.get("noise_multiplier", e.get("sigma"))),
                "description": None if desc is None else str(desc),
            })
    public = ledger.get("declared_public", ledger.get("public"))
    return {
        "epsilon": eps,
        "delta": delta,
        "source": source,
        "budget": budget,
        "spent": spent,
        "accountant": _str_or_none(ledger.get("accountant")),
        "unit": _str_or_none(ledger.get("unit", ledger.get("privacy_unit"))),
        "mechanisms": mechanisms,
        "declared_public": _jsonable(public),
        "ledger": _jsonable(ledger),
    }


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


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


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

    def to_dict(self) -> dict[str, Any]:
        return _jsonable({
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "verdict": self.verdict,
            "passed": self.passed,
            "checks": self.checks,
            "metrics": [m.to_dict() for m in self.metrics],
            "datasets": self.datasets,
            "privacy": self.privacy,
            "parameters": self.parameters,
            "policy": self.policy,
            "environment": self.environment,
            "created": self.created,
            "warnings": self.warnings,
            "signoff": self.signoff,
        })

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """The JSON text; also written atomically to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        if path is not None:
            atomic_write_text(path, text)
        return text

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
        )

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> Report:
        """Read a report written by :meth:`to_json` (plots are not restored)."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    # ------------------------------------------------------------------ HTML

    def to_html(self, path: str | os.PathLike | None = None) -> str:
        """One self-contained HTML page; also written atomically to ``path`` when given."""
        from .html import render

        text = render(self)
        if path is not None:
            atomic_write_text(path, text)
        return text

    def _repr_html_(self) -> str:
        from .html import render

        return render(self, fragment=True)

    def __repr__(self) -> str:
        return f"<Report {self.verdict}: {len(self.checks)} checks, {len(self.metrics)} metrics>"
