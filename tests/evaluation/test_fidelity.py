"""Fidelity figures against hand-computed values and SDMetrics' definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from eval_tables import adult_split
from scipy.stats import ks_2samp

from tabsynth.evaluation._schema import infer_kinds
from tabsynth.evaluation.fidelity import (
    category_codes,
    column_pair_trends,
    column_shapes,
    contingency_similarity,
    correlation_similarity,
    detection,
    ks_complement,
    tv_complement,
)
from tabsynth.evaluation.scenario import minority_fidelity


def test_ks_complement_known_samples() -> None:
    # ECDFs of {1,2,3,4} and {3,4,5,6} differ by at most 0.5 (at x = 2).
    assert ks_complement(np.array([1.0, 2, 3, 4]), np.array([3.0, 4, 5, 6])) == pytest.approx(0.5)
    assert ks_complement(np.array([1.0, 2, 3]), np.array([1.0, 2, 3])) == 1.0
    # missing values are dropped first
    assert ks_complement(np.array([1.0, np.nan]), np.array([1.0, 1.0])) == 1.0


def test_ks_complement_equals_scipy() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=300).round(1), rng.normal(0.3, 1.2, size=250).round(1)
    assert ks_complement(a, b) == pytest.approx(1 - ks_2samp(a, b).statistic, abs=1e-12)


def test_tv_complement_known_frequencies_ignores_missing() -> None:
    real = pd.Series(["a", "a", "b", "b"], dtype="str")
    syn = pd.Series(["a", "b", "b", "b", None], dtype="str")
    (cr, cs), k = category_codes(real, syn)
    # real a .5 b .5, synthetic (non-null) a .25 b .75 -> TVD .25
    assert tv_complement(cr, cs, k) == pytest.approx(0.75)
    # a category only in the synthetic table counts fully against it
    (cr, cs), k = category_codes(pd.Series(["a", "a"]), pd.Series(["a", "z"]))
    assert tv_complement(cr, cs, k) == pytest.approx(0.5)


def test_correlation_similarity_known_pairs() -> None:
    x = np.array([1.0, 2, 3, 4])
    score, rr, rs = correlation_similarity(x, x, x, x[::-1])
    assert (rr, rs) == (pytest.approx(1.0), pytest.approx(-1.0))
    assert score == pytest.approx(0.0)
    score, *_ = correlation_similarity(x, x, x, 2 * x + 1)
    assert score == pytest.approx(1.0)
    # pairwise-complete rows only; constant column -> nan (left out of the mean)
    score, rr, _ = correlation_similarity(np.array([1.0, 2, np.nan, 4]),
                                          np.array([1.0, 2, 9, 4]), x, x)
    assert rr == pytest.approx(1.0) and score == pytest.approx(1.0)
    assert np.isnan(correlation_similarity(x, np.ones(4), x, x)[0])


def test_contingency_similarity_hand_made_table() -> None:
    # real joint: (0,0) .5, (1,1) .5 ; synthetic: (0,0) .25 (0,1) .25 (1,1) .5
    ra, rb = np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1])
    sa, sb = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    assert contingency_similarity(ra, rb, sa, sb, 2, 2) == pytest.approx(1 - 0.5 * 0.5)


def test_pair_trends_mixed_pair_bins_on_real_range_and_counts_missing() -> None:
    real = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5, 6, 7, 8, 10], "c": list("aaaaabbbbb")})
    syn = real.copy()
    kinds = {"x": "numerical", "c": "categorical"}
    res = column_pair_trends(real, syn, kinds, pair_binning="real")
    assert res.value == pytest.approx(1.0)
    assert res.details["pairs"][0]["metric"] == "ContingencySimilarity"
    # values beyond the real range fall in the edge bins: shifting the max up changes nothing
    syn2 = syn.assign(x=syn["x"].where(syn["x"] < 10, 99.0))
    assert column_pair_trends(real, syn2, kinds, pair_binning="real").value == pytest.approx(1.0)
    # a missing category is its own cell of the joint table (frequencies over all rows)
    syn3 = syn.assign(c=pd.Series(list("aaaaabbbb") + [None], dtype="str"))
    assert column_pair_trends(real, syn3, kinds, pair_binning="real").value == pytest.approx(0.9)


def test_default_pair_binning_is_sdmetrics_own_range_rule() -> None:
    """The default bins each table on its OWN range, 10 equal-width bins via np.digitize on
    np.histogram_bin_edges, so the maximum lands in an 11th bin (SDMetrics' QualityReport)."""
    kinds = {"x": "numerical", "c": "categorical"}
    real = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "c": list("xxxxxyyyyy")})
    # the same shape on another range: identical under own-range bins ...
    shifted = real.assign(x=real["x"] * 10 + 100)
    own = column_pair_trends(real, shifted, kinds)
    assert own.details["pair_binning"] == "own" and own.value == pytest.approx(1.0)
    assert "own range" in own.details["binning"]
    # ... while on the real range every synthetic value falls in the top edge bin:
    # real cells (bin 0..4, x) .1 each, (5..8, y) .1 each, (9, y) .1; synthetic (9, x) .5,
    # (9, y) .5 -> TVD = (.5 + .5 + .4 + .4) / 2 = .9
    on_real = column_pair_trends(real, shifted, kinds, pair_binning="real")
    assert on_real.value == pytest.approx(0.1)
    assert "real table's range" in on_real.details["binning"]
    # the maximum is a bin of its own: edges 0..10, so 9.5 -> bin 10 and 10 -> bin 11;
    # real (1,x) (10,y) (11,y) a third each, synthetic (1,x) 1/3, (11,y) 2/3 -> 1 - 1/3
    real2 = pd.DataFrame({"x": [0.0, 9.5, 10.0], "c": ["x", "y", "y"]})
    syn2 = pd.DataFrame({"x": [0.0, 10.0, 10.0], "c": ["x", "y", "y"]})
    assert column_pair_trends(real2, syn2, kinds).value == pytest.approx(2 / 3)
    # on the real range 9.5 and 10 share the last bin (floor, clipped): identical tables
    assert column_pair_trends(real2, syn2, kinds, pair_binning="real").value == pytest.approx(1.0)


def test_sdmetrics_thresholded_trends_average_only_strong_real_pairs() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    real = pd.DataFrame({"x": x, "y": x + 0.1 * rng.normal(size=400),
                         "z": rng.normal(size=400)})
    syn = real.assign(y=rng.normal(size=400))  # breaks the one strong pair (x, y)
    res = column_pair_trends(real, syn, {c: "numerical" for c in real})
    pairs = {(p["column_1"], p["column_2"]): p for p in res.details["pairs"]}
    thr = res.details["sdmetrics_thresholded"]
    # only (x, y) has |real Pearson| > 0.5, so SDMetrics' default figure is its score alone
    assert thr["pairs_counted"] == 1 and thr["pairs_total"] == 3
    assert thr["value"] == pytest.approx(pairs[("x", "y")]["score"])
    assert res.value == pytest.approx(np.mean([p["score"] for p in pairs.values()]))
    assert thr["value"] < res.value


def test_column_shapes_is_mean_of_column_scores() -> None:
    real = pd.DataFrame({"x": [1.0, 2, 3, 4], "c": ["a", "a", "b", "b"]})
    syn = pd.DataFrame({"x": [3.0, 4, 5, 6], "c": ["a", "b", "b", "b"]})
    res = column_shapes(real, syn, {"x": "numerical", "c": "categorical"})
    assert res.value == pytest.approx((0.5 + 0.75) / 2)
    assert {r["metric"] for r in res.details["columns"]} == {"KSComplement", "TVComplement"}


def test_datetime_columns_are_compared_as_numbers() -> None:
    t = pd.Series(pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04"]))
    real = pd.DataFrame({"t": t, "x": [1.0, 2, 3, 4]})
    res = column_shapes(real, real.copy(), {"t": "datetime", "x": "numerical"})
    assert res.value == 1.0
    pairs = column_pair_trends(real, real.copy(), {"t": "datetime", "x": "numerical"})
    assert pairs.details["pairs"][0]["metric"] == "CorrelationSimilarity"
    assert pairs.value == pytest.approx(1.0)


def test_detection_near_half_for_same_distribution_and_high_when_separable() -> None:
    rng = np.random.default_rng(1)
    a = pd.DataFrame({"x": rng.normal(size=600), "c": rng.choice(list("abc"), 600)})
    b = pd.DataFrame({"x": rng.normal(size=600), "c": rng.choice(list("abc"), 600)})
    kinds = {"x": "numerical", "c": "categorical"}
    same = detection(a, b, kinds, random_state=0)
    assert 0.4 < same.value < 0.6
    assert same.details["detection_score"] > 0.8
    far = detection(a, b.assign(x=b["x"] + 5), kinds, random_state=0)
    assert far.value > 0.95
    assert detection(a, b, kinds, random_state=0).value == same.value  # seeded


def test_minority_fidelity_on_rarest_class() -> None:
    train, _, syn = adult_split(600, 10)
    kinds = infer_kinds(train)
    shapes, trends = minority_fidelity(train, syn, kinds, "income")
    assert shapes.details["class"] == ">50K"
    assert 0 < shapes.value <= 1 and 0 < trends.value <= 1
    nr = minority_fidelity(train, syn, kinds, None)
    assert all(not m.ran and "target" in m.reason for m in nr)


def test_shapes_and_trends_on_independent_marginals() -> None:
    train, _, syn = adult_split(1000, 10)
    kinds = infer_kinds(train)
    assert column_shapes(train, syn, kinds).value > 0.9
    # independence breaks pair trends a little but keeps them high
    assert 0.7 < column_pair_trends(train, syn, kinds).value < 0.99
