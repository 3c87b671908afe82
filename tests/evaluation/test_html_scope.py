"""The report's HTML keeps to its own container, and the notebook form stays small."""

from __future__ import annotations

import re

import pytest
from eval_tables import adult_split

from tabsynth.evaluation import evaluate
from tabsynth.evaluation._style import CSS

NOTEBOOK_LIMIT = 60_000


@pytest.fixture(scope="module")
def report():
    # a realistic report: 8 columns, holdout, target, ledger -> every section and all plots
    train, holdout, syn = adult_split(1200, 400)
    return evaluate(train, syn, holdout=holdout, target="income", random_state=0,
                    progress=False, ledger={"spent": {"epsilon": 1.0, "delta": 1e-6}})


def _selectors(html: str) -> list[str]:
    css = "".join(re.findall(r"<style>(.*?)</style>", html, re.S))
    return [sel.strip() for block in re.findall(r"([^{}]+)\{[^{}]*\}", css)
            for sel in block.split(",")]


def test_every_style_rule_is_scoped(report) -> None:
    for html in (report._repr_html_(), report.to_html(), report.show_plots()._repr_html_()):
        sels = _selectors(html)
        assert sels, "no CSS found"
        bad = [s for s in sels if not s.startswith(".tabsynth-report")]
        assert bad == []
        assert not any(re.match(r"^(:root|body|html|\*|main)\b", s) for s in sels)
    assert ":root" not in CSS and "\nbody" not in CSS and "\n*" not in CSS


def test_notebook_form_is_small_and_has_plots_on_demand(report) -> None:
    frag = report._repr_html_()
    assert len(frag.encode("utf-8")) < NOTEBOOK_LIMIT
    assert "data:image/png" not in frag and "report.show_plots()" in frag
    assert frag.startswith("<div class='tabsynth-report'>")
    plots = report.show_plots()._repr_html_()
    # the pair heatmap, the rare-class plot and one marginal per column
    assert plots.count("data:image/png;base64,") == 2 + len(report.plots["marginals"])
    assert "data:image/png" in report.to_html()  # the full page keeps its plots inline
