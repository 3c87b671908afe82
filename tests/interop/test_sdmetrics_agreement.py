"""Our fidelity figures agree with SDMetrics' QualityReport on the same pair (to 1e-6).

Runs in the interop environment (``pytest -m interop tests/interop``), where SDMetrics is
installed with pandas < 3. We compare with the classic all-pairs definition (thresholds 0).
SDMetrics' QualityReport bins numeric columns of mixed pairs on each
table's own range, which our default (``pair_binning="own"``) reproduces.
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
    synth["education-num"] = np.where(rng.random(2500) < 0.5, synth["education-num"],
                                      synth["age"] // 5)
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
