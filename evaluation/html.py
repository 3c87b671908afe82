"""Render a :class:`Report` as one self-contained HTML page, from Jinja2 templates.

The templates live in ``evaluation/templates/`` (package data); the environment escapes every
value by default (``autoescape=True``), so a column name or a reason from the data can never
inject markup. Only the stylesheet (a constant of :mod:`._style`) is marked safe.

Inline CSS, plots as ``data:image/png;base64`` URIs, no scripts, no external resources.
Page one answers a reviewer's first questions (:mod:`._page_one`): what was released, the
privacy guarantee in one sentence, the verdict with the three figures that decided it, the
scenario of a conditioned release and a plot of real vs synthetic for the rare class. The
details follow: checks, fidelity, utility, privacy risk, differential privacy, fairness (when
the report has it), datasets, parameters and the sign-off. No real record is ever printed
(only aggregates and fingerprints).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from . import _page_one
from ._audit import audit_sentence
from ._release import NOTICE
from ._style import CSS as _CSS
from .plots import MIN_RARE_ROWS

if TYPE_CHECKING:  # pragma: no cover
    from jinja2 import Environment

    from .report import Report

TEMPLATES = Path(__file__).resolve().parent / "templates"
_GROUP_TITLES = {"fidelity": "Fidelity", "utility": "Utility", "privacy": "Privacy"}
_ORDER = {"fidelity": 0, "utility": 1, "privacy": 2}


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja2 environment of the report's templates (autoescaping on)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["fmt"] = _page_one.fmt
    env.filters["badge_class"] = lambda s: "NOTRUN" if s == "NOT RUN" else s
    env.filters["thousands"] = lambda n: "—" if n is None else f"{int(n):,}"
    return env


def _checks(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The checks in group order, each with the group title to print before it (or None)."""
    out, last = [], object()
    for c in sorted(checks, key=lambda c: _ORDER.get(c.get("group") or "", 3)):
        group = c.get("group")
        out.append({**c, "group_title": _GROUP_TITLES.get(group) if group != last else None})
        last = group
    return out


def _metric_rows(metrics, checks_by_name: dict[str, dict]) -> list[dict[str, Any]]:
    rows, shown = [], set()
    for m in metrics:
        c = checks_by_name.get(m.name)
        why = m.reason if not m.ran else ("" if m.description in shown else m.description)
        shown.add(m.description)
        rows.append({"title": m.title, "name": m.name, "value": m.value if m.ran else None,
                     "ci": (m.ci if m.ci and m.ran else None),
                     "status": c["status"] if c else (None if m.ran else "NOT RUN"),
                     "notes": why})
    return rows


def _fidelity(report: Report, by_name: dict[str, Any]) -> dict[str, Any]:
    shapes, trends = by_name.get("column_shapes"), by_name.get("column_pair_trends")
    cols = shapes.details.get("columns", []) if shapes is not None else []
    pairs = [p for p in (trends.details.get("pairs", []) if trends is not None else [])
             if p["score"] is not None]
    thresholded = trends.details.get("sdmetrics_thresholded") if trends is not None else None
    return {
        "columns": sorted(cols, key=lambda r: (r["score"] is None, r["score"] or 0)),
        "worst_pairs": sorted(pairs, key=lambda p: p["score"])[:10],
        "binning": trends.details.get("binning") if trends is not None else None,
        "pair_binning": trends.details.get("pair_binning", "own") if trends is not None
        else None,
        "thresholded": thresholded,
    }


def _datasets(report: Report) -> list[dict[str, Any]]:
    out = []
    for role, d in report.datasets.items():
        out.append({"role": role, "d": d, "redacted": d is not None and "sha256" not in d})
    return out


def _parameters(report: Report) -> dict[str, Any]:
    params = dict(report.parameters)
    cols = params.pop("columns", {})
    subs = params.pop("subsampling", [])
    params["columns evaluated"] = ", ".join(f"{c} ({k})" for c, k in cols.items())
    params["subsampling"] = "; ".join(subs)
    read = params.pop("csv_read", None)
    if read:  # how each CSV file was parsed, one line per table
        params["CSV files read with"] = " | ".join(f"{role}: {how}" for role, how in read.items())
    return params


def _fairness(report: Report) -> dict[str, Any] | None:
    fair = getattr(report, "fairness", None)
    if not fair:
        return None
    groups = []
    for g in fair.get("groups") or []:
        label = g.get("label") or " × ".join(f"{k}={v}" for k, v in (g.get("group") or {}).items())
        rs, ss = g.get("real_share"), g.get("release_share")
        diff = ss - rs if _page_one.finite(rs) and _page_one.finite(ss) else None
        groups.append({"label": label, "real_share": rs, "release_share": ss, "diff": diff})
    down = fair.get("downstream") or {}
    models = down.get("models") if isinstance(down, dict) else None
    keys = ("accuracy", "roc_auc", "demographic_parity_difference", "equalized_odds_gap")
    downstream = None
    if models:
        downstream = [{"key": k, "real": (models.get("real") or {}).get(k),
                       "release": (models.get("release") or {}).get(k)} for k in keys]
    return {"protected": fair.get("protected") or [], "target": fair.get("target"),
            "positive": fair.get("positive"), "groups": groups, "downstream": downstream,
            "notes": fair.get("notes") or []}


def context(report: Report, *, fragment: bool) -> dict[str, Any]:
    """Everything the templates print, computed from the report (no table is read)."""
    checks_by_name = {c["name"]: c for c in report.checks}
    by_name = {m.name: m for m in report.metrics}
    dp = by_name.get("dp_epsilon")
    veto = None if dp is None else dp.details.get("veto")
    sentence, dp_holds = _page_one.privacy_sentence(report.privacy, veto,
                                                    report.parameters.get("generator"))
    how, deciders = _page_one.deciding_checks(report.checks)
    n = {s: sum(c["status"] == s for c in report.checks) for s in ("PASS", "FAIL", "NOT RUN")}
    minority = by_name.get("minority_column_shapes")
    plots = report.plots or {}
    form = report.form if report.form in NOTICE else "internal"
    return {
        "r": report, "fragment": fragment, "css": Markup(_CSS), "form": form,
        "notice": NOTICE[form], "n": n,
        "policy_source": report.parameters.get("policy_source", "default"),
        "deciders": deciders, "deciders_how": how,
        "privacy_sentence": sentence, "dp_holds": dp_holds, "veto": veto,
        "released": _page_one.released(report), "scenario": _page_one.scenario(report),
        "minority": minority if minority is not None and minority.ran else None,
        "rare_plot": plots.get("rare_class"),
        "checks": _checks(report.checks),
        "fidelity_rows": _metric_rows([m for m in report.metrics if m.group == "fidelity"],
                                      checks_by_name),
        "fidelity": _fidelity(report, by_name),
        "utility_rows": _metric_rows([m for m in report.metrics if m.group == "utility"
                                      and (m.ran or m.name in checks_by_name)], checks_by_name),
        "privacy_rows": _metric_rows([m for m in report.metrics if m.group == "privacy"
                                      and m.name != "dp_epsilon"], checks_by_name),
        "audit_text": audit_sentence(report.audit) if report.audit else None,
        "audit_failed": bool(report.audit) and (bool(veto and "audit" in veto)
                                                or not report.audit.get("passed")),
        "fairness": _fairness(report),
        "datasets": _datasets(report),
        "parameters": _parameters(report),
        "plots": plots,
        "standalone": False,
        "min_rare_rows": MIN_RARE_ROWS,
        "e_eps": (2.718281828 ** float(report.privacy["epsilon"])
                  if report.privacy and report.privacy.get("epsilon") is not None else None),
    }


def render(report: Report, *, fragment: bool = False) -> str:
    """The report as HTML: a full page, or (``fragment``) a scoped ``<div>`` for notebooks.

    The fragment holds no images (plots on demand through ``report.show_plots()``), so it stays
    small; both forms scope every style rule to ``.tabsynth-report``.
    """
    name = "fragment.html.j2" if fragment else "page.html.j2"
    return environment().get_template(name).render(context(report, fragment=fragment))


def render_plots(report: Report) -> str:
    """The plots alone, as a scoped ``<div>`` (for ``report.show_plots()`` in a notebook)."""
    return environment().get_template("plots_only.html.j2").render(
        {**context(report, fragment=False), "standalone": True})
