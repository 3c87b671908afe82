"""Our fidelity figures agree with SDMetrics' QualityReport on the same pair (to 1e-6).

Runs in the interop environment (``pytest -m interop tests/interop``), where SDMetrics is
installed with pandas < 3. The headline Column Pair Trends is the classic all-pairs definition
(SDMetrics' QualityReport with both thresholds 0); the figure SDMetrics >= 0.2x gives with its
default thresholds is in ``details["sdmetrics_thresholded"]`` and is checked too. SDMetrics'
QualityReport bins numeric columns of mixed pairs on each table's own range, which our default
(``pair_binning="own"``) reproduces; releases whose numeric ranges differ from the real table's
(a perturbed copy, an SDV GaussianCopula release) tell the two binnings apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.interop

sdmetrics = pytest.importorskip("sdmetrics")


def _pair() -> tuple[pd.DataFrame, pd.DataFrame]:
    from tabsynth import datasets

    real = datasets.load("adult").dropna().sample(3000, random_state=0).reset_index(drop=True)
    rng = np.random.default_rng(1)
    synth = pd.DataFrame({c: rng.choice(real[c].to_numpy(), size=2500) for c in real.columns})
    # keep some dependency so pair trends are not trivial
    synth["education-num"] = np.where(
        rng.random(2500) < 0.5, synth["education-num"], synth["age"] // 5
    )
    return real, synth


def _sdv_metadata(real: pd.DataFrame, kinds: dict[str, str]) -> dict:
    return {"columns": {c: {"sdtype": k} for c, k in kinds.items()}}


def test_column_shapes_and_pair_trends_match_quality_report() -> None:
    from sdmetrics.reports.single_table import QualityReport

    from tabsynth.evaluation._schema import infer_kinds
    from tabsynth.evaluation.fidelity import column_pair_trends, column_shapes

    real, synth = _pair()
    kinds = infer_kinds(real)
    report = QualityReport()
    # SDMetrics >= 0.2x scores only pairs whose real association exceeds a threshold by
    # default; the classic definition (and published figures) average over every pair.
    report.real_correlation_threshold = 0
    report.real_association_threshold = 0
    report.generate(real, synth, _sdv_metadata(real, kinds), verbose=False)
    props = report.get_properties().set_index("Property")["Score"]

    ours_shapes = column_shapes(real, synth, kinds)
    ours_trends = column_pair_trends(real, synth, kinds)  # default binning = SDMetrics'
    assert ours_shapes.value == pytest.approx(props["Column Shapes"], abs=1e-6)
    assert ours_trends.value == pytest.approx(props["Column Pair Trends"], abs=1e-6)

    theirs = report.get_details("Column Shapes").set_index("Column")["Score"]
    for row in ours_shapes.details["columns"]:
        assert row["score"] == pytest.approx(theirs[row["column"]], abs=1e-6), row["column"]


def _quality(
    real: pd.DataFrame, synth: pd.DataFrame, kinds: dict[str, str], thresholds: bool
) -> tuple[pd.Series, pd.DataFrame]:
    from sdmetrics.reports.single_table import QualityReport

    report = QualityReport()
    if not thresholds:
        report.real_correlation_threshold = 0
        report.real_association_threshold = 0
    report.generate(real, synth, _sdv_metadata(real, kinds), verbose=False)
    return (
        report.get_properties().set_index("Property")["Score"],
        report.get_details("Column Shapes").set_index("Column")["Score"],
    )


def _perturbed(real: pd.DataFrame) -> pd.DataFrame:
    """A release whose numeric ranges differ from the real table's (shifted, stretched,
    clipped, a few values missing), so per-table and real-range binning disagree."""
    rng = np.random.default_rng(7)
    synth = real.sample(2800, replace=True, random_state=3).reset_index(drop=True)
    synth["age"] = (synth["age"] * 1.3 + 8).clip(upper=120)
    synth["hours-per-week"] = synth["hours-per-week"].clip(20, 60)
    synth["fnlwgt"] = synth["fnlwgt"] * rng.uniform(0.5, 2.0, len(synth))
    synth["capital-gain"] = synth["capital-gain"].where(rng.random(len(synth)) > 0.05)
    synth["workclass"] = synth["workclass"].where(
        rng.random(len(synth)) > 0.1, synth["workclass"].iloc[::-1].to_numpy()
    )
    return synth


def _gaussian_copula(real: pd.DataFrame) -> pd.DataFrame:
    sdv = pytest.importorskip("sdv")
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    meta = Metadata.detect_from_dataframes({"table": real})
    synth = GaussianCopulaSynthesizer(meta)
    synth.fit({"table": real} if sdv.__version__.startswith("2") else real)
    out = synth.sample(3000)
    return out["table"] if isinstance(out, dict) else out


@pytest.mark.parametrize("release", ["perturbed", "gaussian_copula"])
def test_report_default_figures_equal_quality_report_on_shifted_ranges(release: str) -> None:
    """The report's own figures (evaluate's defaults) equal SDMetrics' on a release whose
    numeric ranges differ from the real table's, both the classic all-pairs definition
    (the headline) and SDMetrics >= 0.2x's default thresholded figure (in the details)."""
    from tabsynth.evaluation import evaluate

    real, _ = _pair()
    synth = _perturbed(real) if release == "perturbed" else _gaussian_copula(real)
    rep = evaluate(real, synth, random_state=0, progress=False)
    kinds = rep.parameters["columns"]
    ranges_differ = [
        c
        for c, k in kinds.items()
        if k == "numerical" and (synth[c].min(), synth[c].max()) != (real[c].min(), real[c].max())
    ]
    assert len(ranges_differ) >= 3
    shapes, trends = rep.metric("column_shapes"), rep.metric("column_pair_trends")
    assert trends.details["pair_binning"] == "own"

    props, per_column = _quality(real, synth, kinds, thresholds=False)
    assert shapes.value == pytest.approx(props["Column Shapes"], abs=1e-6)
    assert trends.value == pytest.approx(props["Column Pair Trends"], abs=1e-6)
    for row in shapes.details["columns"]:
        assert row["score"] == pytest.approx(per_column[row["column"]], abs=1e-6), row["column"]

    props_default, _ = _quality(real, synth, kinds, thresholds=True)
    thresholded = trends.details["sdmetrics_thresholded"]
    assert thresholded["value"] == pytest.approx(props_default["Column Pair Trends"], abs=1e-6)
    assert 0 < thresholded["pairs_counted"] < thresholded["pairs_total"]

    # the other binning is a different figure on such a release (and labelled as such)
    other = evaluate(real, synth, random_state=0, progress=False, pair_binning="real")
    other_trends = other.metric("column_pair_trends")
    assert abs(other_trends.value - trends.value) > 1e-4
    assert "real table's range" in other_trends.details["binning"]
