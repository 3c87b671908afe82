"""Render a :class:`Report` as one self-contained HTML page.

Inline CSS, plots as ``data:image/png;base64`` URIs, no scripts, no external resources.
Written for a reader who is not a statistician: the verdict first, then one line per check
saying what it means, then the details. Every string from the report is escaped with
:func:`html.escape`; no real record is ever printed (only aggregates and fingerprints).
"""

from __future__ import annotations

import html as _html
from typing import TYPE_CHECKING, Any

from ._audit import audit_sentence
from ._release import NOTICE
from ._style import CSS as _CSS

if TYPE_CHECKING:  # pragma: no cover
    from .report import Report




def _e(x: Any) -> str:
    return _html.escape("" if x is None else str(x), quote=True)


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        if v != v:
            return "—"
        if v != 0 and (abs(v) < 10 ** -digits or abs(v) >= 10**6):
            return f"{v:.{digits}g}"
        return f"{v:.{digits}f}"
    return str(v)


def _badge(status: str) -> str:
    cls = "NOTRUN" if status == "NOT RUN" else status
    return f'<span class="badge {_e(cls)}">{_e(status)}</span>'


def _img(b64: str | None, alt: str, cls: str = "") -> str:
    if not b64:
        return ""
    c = f' class="{cls}"' if cls else ""
    return f'<img{c} alt="{_e(alt)}" src="data:image/png;base64,{_e(b64)}">'


_GROUP_TITLES = {"fidelity": "Fidelity", "utility": "Utility", "privacy": "Privacy"}


def _checks_table(checks: list[dict[str, Any]]) -> str:
    rows = []
    order = {"fidelity": 0, "utility": 1, "privacy": 2}
    last = object()
    for c in sorted(checks, key=lambda c: order.get(c.get("group") or "", 3)):
        group = c.get("group")
        if group != last and group in _GROUP_TITLES:
            rows.append(f"<tr class='grp'><td colspan='5'>{_e(_GROUP_TITLES[group])}</td></tr>")
        last = group
        rows.append(
            f"<tr><td>{_e(c.get('title') or c['name'])}<br><span class='muted'>{_e(c['name'])}"
            f"</span></td><td>{_badge(c['status'])}</td><td class='num'>{_e(_fmt(c['value']))}"
            f"</td><td class='num'>{_e(c['threshold'])}</td><td>{_e(c.get('explanation'))}"
            + (f"<br><span class='muted'>{_e(c['reason'])}</span>" if c.get("reason") else "")
            + "</td></tr>"
        )
    return ("<table><tr><th>Check</th><th>Result</th><th>Figure</th><th>Threshold</th>"
            "<th>What it means</th></tr>" + "".join(rows) + "</table>")


def _metrics_table(metrics, checks_by_name: dict[str, dict]) -> str:
    if not metrics:
        return "<p class='muted'>No figures.</p>"
    rows = []
    shown: set[str] = set()
    for m in metrics:
        c = checks_by_name.get(m.name)
        status = _badge(c["status"]) if c else ("" if m.ran else _badge("NOT RUN"))
        ci = f"{_fmt(m.ci[0])} – {_fmt(m.ci[1])}" if m.ci and m.ran else ""
        why = m.reason if not m.ran else ("" if m.description in shown else m.description)
        shown.add(m.description)
        rows.append(f"<tr><td>{_e(m.title)}<br><span class='muted'>{_e(m.name)}</span></td>"
                    f"<td class='num'>{_e(_fmt(m.value if m.ran else None))}</td>"
                    f"<td class='num'>{_e(ci)}</td><td>{status}</td>"
                    f"<td class='muted'>{_e(why)}</td></tr>")
    return ("<table><tr><th>Figure</th><th>Value</th><th>95% interval</th><th>Check</th>"
            "<th>Notes</th></tr>" + "".join(rows) + "</table>")


def _column_table(shapes) -> str:
    rows = shapes.details.get("columns", []) if shapes is not None else []
    if not rows:
        return ""
    worst = sorted(rows, key=lambda r: (r["score"] is None, r["score"] if r["score"] is not None
                                        else 0))
    body = "".join(
        f"<tr><td>{_e(r['column'])}</td><td>{_e(r['kind'])}</td><td>{_e(r['metric'])}</td>"
        f"<td class='num'>{_e(_fmt(r['score']))}</td></tr>" for r in worst
    )
    return ("<h3>Per-column scores (worst first)</h3><table><tr><th>Column</th><th>Kind</th>"
            "<th>Measure</th><th>Score</th></tr>" + body + "</table>")


def _worst_pairs(trends, k: int = 10) -> str:
    rows = [p for p in (trends.details.get("pairs", []) if trends is not None else [])
            if p["score"] is not None]
    if not rows:
        return ""
    rows = sorted(rows, key=lambda p: p["score"])[:k]
    body = "".join(
        f"<tr><td>{_e(p['column_1'])} × {_e(p['column_2'])}</td><td>{_e(p['metric'])}</td>"
        f"<td class='num'>{_e(_fmt(p['score']))}</td></tr>" for p in rows
    )
    return (f"<h3>The {len(rows)} least well kept column pairs</h3><table><tr><th>Pair</th>"
            "<th>Measure</th><th>Score</th></tr>" + body + "</table>")


def _audit_block(audit: dict[str, Any] | None, veto: str | None) -> str:
    if not audit:
        return ("<p class='muted'>No empirical privacy audit was supplied (tabsynth evaluate "
                "--audit audit.json).</p>")
    status = _badge("FAIL" if veto and "audit" in veto else "PASS" if audit.get("passed")
                    else "FAIL")
    return (f"<h3>Empirical privacy audit</h3><p>{status} {_e(audit_sentence(audit))}.</p>"
            "<p class='muted'>An audit gives a lower bound: it can show a guarantee is broken, "
            "never prove it holds.</p>")


def _dp_section(privacy: dict[str, Any] | None, audit: dict[str, Any] | None = None,
                veto: str | None = None) -> str:
    audit_html = _audit_block(audit, veto)
    if not privacy:
        return ("<p class='note'>No DP guarantee was supplied. The release is judged only by the "
                "empirical privacy-risk figures above, which measure particular attacks and are "
                "not a formal guarantee.</p>" + audit_html)
    void = ""
    if privacy.get("dp") is False:
        void = ("<div class='dp void'><b>Not a differentially private release.</b> "
                f"{_e(privacy.get('dp_reason'))}. Any ε below applies to the generator only, "
                "not to this release.</div>")
    elif veto:
        void = f"<div class='dp void'><b>The DP claim is contradicted:</b> {_e(veto)}.</div>"
    eps, delta = privacy.get("epsilon"), privacy.get("delta")
    if eps is None:
        text = ("The privacy ledger records no ε: the generator was trained without "
                "differential privacy.")
    else:
        dtxt = f", δ={_fmt(delta, 3) if delta else 0}" if delta is not None else ""
        src = "spent" if privacy.get("source") == "spent" else "budgeted (upper bound)"
        text = (f"<b>(ε={_fmt(eps, 3)}{_e(dtxt)})-differential privacy</b> ({_e(src)}). In plain "
                "words: whether or not any single "
                f"{_e(privacy.get('unit') or 'row')} was in the training data, the probability "
                f"of any output of the generator changes by at most a factor of "
                f"e<sup>ε</sup> ≈ {_fmt(2.718281828 ** float(eps), 2)}"
                + (f", except with probability δ={_fmt(delta, 3)}" if delta else "") + ".")
    parts = [void, f"<div class='dp'>{text}</div>", audit_html]
    if privacy.get("accountant"):
        parts.append(f"<p>Accountant: {_e(privacy['accountant'])}</p>")
    budget = privacy.get("budget")
    if budget:
        parts.append(f"<p>Budget requested: ε={_e(_fmt(budget.get('epsilon')))}, "
                     f"δ={_e(_fmt(budget.get('delta'), 3))}</p>")
    public = privacy.get("declared_public")
    parts.append("<h3>Declared public (costs no privacy budget)</h3>")
    if public:
        if isinstance(public, dict):
            items = "".join(f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in public.items())
        elif isinstance(public, list):
            items = "".join(f"<li>{_e(v)}</li>" for v in public)
        else:
            items = f"<li>{_e(public)}</li>"
        parts.append(f"<ul>{items}</ul>")
    else:
        parts.append("<p class='muted'>Nothing was recorded as declared public.</p>")
    mech = privacy.get("mechanisms") or []
    parts.append("<h3>Budget spent per mechanism</h3>")
    if mech:
        body = "".join(
            f"<tr><td>{_e(m.get('mechanism'))}</td><td>{_e(m.get('description'))}</td>"
            f"<td class='num'>{_e(_fmt(m.get('epsilon')))}</td>"
            f"<td class='num'>{_e(_fmt(m.get('delta'), 3))}</td>"
            f"<td class='num'>{_e(_fmt(m.get('noise_multiplier')))}</td></tr>" for m in mech
        )
        parts.append("<table><tr><th>Mechanism</th><th>Purpose</th><th>ε</th><th>δ</th>"
                     "<th>Noise multiplier</th></tr>" + body + "</table>")
    else:
        parts.append("<p class='muted'>The ledger lists no mechanisms.</p>")
    return "".join(parts)


def _kv_table(d: dict[str, Any], head: tuple[str, str] = ("Item", "Value")) -> str:
    body = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in d.items())
    return f"<table><tr><th>{_e(head[0])}</th><th>{_e(head[1])}</th></tr>{body}</table>"


def _form_banner(report: Report) -> str:
    form = report.form if report.form in NOTICE else "internal"
    return f"<div class='form {_e(form)}'><b>{_e(NOTICE[form])}</b></div>"


def _verdict_banner(report: Report) -> str:
    ok = report.passed
    n = {s: sum(c["status"] == s for c in report.checks) for s in ("PASS", "FAIL", "NOT RUN")}
    summary_line = (f"{n['PASS']} passed, {n['FAIL']} failed, {n['NOT RUN']} not run — against "
                    f"the policy '{report.parameters.get('policy_source', 'default')}'.")
    headline = ("This synthetic release meets the policy." if ok
                else "This synthetic release does not meet the policy.")
    return (f"<div class='banner {'pass' if ok else 'fail'}'><div class='big'>"
            f"{'PASS' if ok else 'FAIL'}</div><div class='txt'><b>{_e(headline)}</b><br>"
            f"{_e(summary_line)}</div></div>")


def _plots(report: Report) -> str:
    plots = report.plots or {}
    out = []
    if plots.get("pair_heatmap"):
        out.append("<h3>Pair trends heatmap</h3>"
                   + _img(plots["pair_heatmap"], "heatmap of column pair differences", "wide"))
    if plots.get("marginals"):
        out.append("<h3>Real vs synthetic distributions</h3><p class='muted'>Aggregate shares "
                   "only; numeric axes span the real data's 1st–99th percentiles and rare "
                   "categories are pooled, so no individual record is shown.</p><div class='grid'>"
                   + "".join(_img(b, f"distribution of {c}") for c, b in
                             plots["marginals"].items()) + "</div>")
    elif report.form == "release":
        out.append("<p class='muted'>The release form leaves out the real-vs-synthetic "
                   "distribution plots (their axes and labels are read off the real data).</p>")
    return "".join(out)


def _fidelity(report: Report, checks_by_name: dict[str, dict], fragment: bool) -> str:
    by_name = {m.name: m for m in report.metrics}
    out = ["<h2>Fidelity: does the synthetic data look like the real data?</h2>",
           "<p class='lead'>Column shapes compare each column's distribution; pair trends "
           "compare relationships between two columns; detection asks whether a classifier "
           "can tell the tables apart.</p>",
           _metrics_table([m for m in report.metrics if m.group == "fidelity"], checks_by_name),
           _column_table(by_name.get("column_shapes")),
           _worst_pairs(by_name.get("column_pair_trends"))]
    if fragment:
        if report.plots:
            out.append("<p class='muted'>Plots: run <code>report.show_plots()</code> in a cell, "
                       "or write the full page with <code>report.to_html('report.html')</code>."
                       "</p>")
    elif report.plots:
        out.append(_plots(report))
    else:
        out.append("<p class='muted'>Plots are not stored in the JSON report.</p>")
    return "".join(out)


def _datasets(report: Report) -> str:
    rows = []
    for role, d in report.datasets.items():
        if d is None:
            rows.append(f"<tr><td>{_e(role)}</td><td colspan='4' class='muted'>not given"
                        "</td></tr>")
            continue
        if "sha256" not in d:
            rows.append(f"<tr><td>{_e(role)}</td><td class='muted'>—</td>"
                        f"<td class='num'>{_e(d.get('columns'))}</td><td colspan='2' "
                        "class='muted'>row count and fingerprint left out of the release form"
                        "</td></tr>")
            continue
        n_rows = f"{d.get('rows') or 0:,}"
        rows.append(
            f"<tr><td>{_e(role)}</td><td class='num'>{_e(n_rows)}</td>"
            f"<td class='num'>{_e(d.get('columns'))}</td><td>{_e(d.get('source') or '')}"
            f"</td><td><code>{_e(d.get('sha256'))}</code><br><span class='muted'>sha256 of "
            f"{'the file bytes' if d.get('fingerprint') == 'file' else 'canonical CSV'}"
            "</span></td></tr>")
    return ("<h2>Datasets</h2><table><tr><th>Table</th><th>Rows</th><th>Columns</th>"
            "<th>File</th><th>Fingerprint</th></tr>" + "".join(rows) + "</table>")


def _appendix(report: Report) -> str:
    params = dict(report.parameters)
    cols = params.pop("columns", {})
    subs = params.pop("subsampling", [])
    params["columns evaluated"] = ", ".join(f"{c} ({k})" for c, k in cols.items())
    params["subsampling"] = "; ".join(subs)
    so = report.signoff or {}
    return (
        "<h2>Parameters</h2>" + _kv_table(params, ("Parameter", "Value"))
        + "<h2>Environment</h2>" + _kv_table(report.environment, ("Package", "Version"))
        + f"<p class='muted'>Report created {_e(report.created)}.</p>"
        + "<h2>Sign-off</h2><p>To be completed by the person accountable for this release.</p>"
        "<table class='signoff'>"
        + "".join(f"<tr><th style='width:30%'>{_e(label)}</th><td class='blank'>"
                  f"{_e(so.get(key) or '')}</td></tr>"
                  for key, label in (("name", "Name"), ("role", "Role"), ("date", "Date"),
                                     ("decision", "Decision (approve / reject)")))
        + "<tr><th>Signature</th><td class='blank'></td></tr></table>"
    )


def render(report: Report, *, fragment: bool = False) -> str:
    """The report as HTML: a full page, or (``fragment``) a scoped ``<div>`` for notebooks.

    The fragment holds no images (plots on demand through ``report.show_plots()``), so it stays
    small; both forms scope every style rule to ``.tabsynth-report``.
    """
    checks_by_name = {c["name"]: c for c in report.checks}
    privacy_metrics = [m for m in report.metrics if m.group == "privacy"]
    dp = next((m for m in privacy_metrics if m.name == "dp_epsilon"), None)
    out = [_form_banner(report), _verdict_banner(report)]
    out += [f"<div class='note'><b>Warning:</b> {_e(w)}</div>" for w in report.warnings]
    out.append("<h2>Summary of checks</h2>" + _checks_table(report.checks))
    out.append(_fidelity(report, checks_by_name, fragment))
    out.append("<h2>Utility: is the synthetic data useful for machine learning?</h2>"
               "<p class='lead'>A model trained on synthetic rows and a model trained on real "
               "rows are both tested on real rows that neither saw.</p>")
    out.append(_metrics_table([m for m in report.metrics if m.group == "utility"
                               and (m.ran or m.name in checks_by_name)], checks_by_name))
    out.append("<h2>Privacy risk: could the synthetic data reveal real people?</h2>"
               "<p class='lead'>Empirical attacks and distances between synthetic and real "
               "rows. They measure specific risks; they are not a formal guarantee.</p>")
    out.append(_metrics_table([m for m in privacy_metrics if m.name != "dp_epsilon"],
                              checks_by_name))
    veto = None if dp is None else dp.details.get("veto")
    out.append("<h2>Differential privacy</h2>" + _dp_section(report.privacy, report.audit, veto))
    if not fragment:
        out += [_datasets(report), _appendix(report)]
    body = "".join(out)
    if fragment:
        return f"<div class='tabsynth-report'><style>{_CSS}</style>{body}</div>"
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>Synthetic data evaluation — {_e(report.verdict)}</title><style>{_CSS}</style>"
        "</head><body style='margin:0;background:#f6f8fb'><main class='tabsynth-report page'>"
        "<h1>Synthetic data evaluation report</h1>"
        f"<p class='lead'>tabsynth {_e(report.environment.get('tabsynth') or '')} · "
        f"{_e(report.created)}</p>{body}<footer>Generated by tabsynth.evaluation. This page "
        "contains aggregate figures and fingerprints only, never real records.</footer>"
        "</main></body></html>\n"
    )


def render_plots(report: Report) -> str:
    """The plots alone, as a scoped ``<div>`` (for ``report.show_plots()`` in a notebook)."""
    body = _plots(report) or "<p class='muted'>This report has no plots.</p>"
    return f"<div class='tabsynth-report'><style>{_CSS}</style>{body}</div>"
