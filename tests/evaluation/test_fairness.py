"""The fairness section: metrics on hand-made tables with known answers, schema, release form."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabsynth.evaluation import evaluate
from tabsynth.evaluation.errors import EvaluationParameterError
from tabsynth.evaluation.fairness import (
    check_protected,
    demographic_parity_difference,
    equalized_odds_gap,
    fairness_section,
    group_shares,
    release_section,
)
from tabsynth.evaluation.report import Report

KINDS = {"g": "categorical", "h": "categorical", "x": "numerical", "y": "categorical"}


def test_demographic_parity_difference_known_answer() -> None:
    # a: 2 of 4 predicted positive (0.5); b: 1 of 4 (0.25); c: 3 of 4 (0.75) -> 0.75 - 0.25
    groups = ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    pred = [1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0]
    assert demographic_parity_difference(pred, groups) == pytest.approx(0.5)
    # with min_rows=5 no group counts: nan
    assert math.isnan(demographic_parity_difference(pred, groups, min_rows=5))


def test_demographic_parity_difference_min_rows_drops_small_groups() -> None:
    groups = ["a"] * 4 + ["b"] * 4 + ["tiny"]
    pred = [1, 1, 0, 0, 1, 0, 0, 0, 1]
    assert demographic_parity_difference(pred, groups) == pytest.approx(0.75)  # 1.0 - 0.25
    assert demographic_parity_difference(pred, groups, min_rows=2) == pytest.approx(0.25)


def test_equalized_odds_gap_known_answer() -> None:
    # group a: positives predicted [1, 0] -> TPR 0.5; negatives [0, 0, 0, 0] -> FPR 0
    # group b: positives [1, 1] -> TPR 1.0; negatives [1, 0, 0, 0] -> FPR 0.25
    y = [1, 1, 0, 0, 0, 0] + [1, 1, 0, 0, 0, 0]
    pred = [1, 0, 0, 0, 0, 0] + [1, 1, 1, 0, 0, 0]
    groups = ["a"] * 6 + ["b"] * 6
    assert equalized_odds_gap(y, pred, groups) == pytest.approx(0.5)  # max(0.5, 0.25)
    # FPR gap alone when the positives are too few for the TPR gap
    assert equalized_odds_gap(y, pred, groups, min_rows=3) == pytest.approx(0.25)
    assert math.isnan(equalized_odds_gap(y, pred, groups, min_rows=5))


def test_equalized_odds_gap_zero_for_identical_rates() -> None:
    y = [1, 0] * 4
    pred = [1, 0] * 4
    assert equalized_odds_gap(y, pred, ["a"] * 4 + ["b"] * 4) == 0.0
    assert demographic_parity_difference(pred, ["a"] * 4 + ["b"] * 4) == 0.0


def test_group_shares_known_answer_and_missing_values() -> None:
    real = pd.DataFrame({"g": ["a", "a", "b", None], "h": ["u", "v", "u", "u"]})
    rel = pd.DataFrame({"g": ["a", "b", "b", "b", "c"], "h": ["u", "u", "u", "v", "u"]})
    rows = group_shares(real, rel, ["g", "h"])
    got = {r["label"]: (r["real_share"], r["release_share"]) for r in rows}
    assert got == {"a × u": (0.25, 0.2), "a × v": (0.25, 0.0), "b × u": (0.25, 0.4),
                   "b × v": (0.0, 0.2), "c × u": (0.0, 0.2), "(missing) × u": (0.25, 0.0)}
    assert rows[0]["group"] == {"g": "a", "h": "u"}
    assert [r["label"] for r in rows][-1] == "(missing) × u"  # missing sorts last


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from("xy")), min_size=1,
                max_size=60),
       st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from("xy")), min_size=1,
                max_size=60))
def test_group_shares_sum_to_one(real_rows, rel_rows) -> None:
    real = pd.DataFrame(real_rows, columns=["g", "h"])
    rel = pd.DataFrame(rel_rows, columns=["g", "h"])
    rows = group_shares(real, rel, ["g", "h"])
    assert sum(r["real_share"] for r in rows) == pytest.approx(1.0)
    assert sum(r["release_share"] for r in rows) == pytest.approx(1.0)
    assert len({r["label"] for r in rows}) == len(rows)


def _biased(n: int, seed: int, *, label_follows_group: bool) -> pd.DataFrame:
    """y depends on the group g (with 10% label noise) or only on x."""
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b"], size=n)
    x = rng.normal(size=n)
    if label_follows_group:
        y = (g == "a") ^ (rng.random(n) < 0.1)
    else:
        y = (x > 0.5) ^ (rng.random(n) < 0.1)
    return pd.DataFrame({"g": g, "h": rng.choice(["u", "v"], size=n), "x": x,
                         "y": np.where(y, "yes", "no")})


def test_downstream_measures_the_bias_the_data_carries() -> None:
    real = _biased(3000, 0, label_follows_group=True)
    fair = _biased(3000, 1, label_follows_group=False)
    holdout = _biased(2000, 2, label_follows_group=True)
    sec = fairness_section(real, fair, holdout, KINDS, protected=["g"], target="y",
                           positive="yes", random_state=0)
    m_real, m_fair = sec["downstream"]["models"]["real"], sec["downstream"]["models"]["release"]
    # trained on real: predicts "yes" for a, "no" for b -> DP difference 1, accuracy ~0.9
    assert m_real["demographic_parity_difference"] == pytest.approx(1.0, abs=0.02)
    assert m_real["accuracy"] == pytest.approx(0.9, abs=0.03)
    # trained on data where y ignores g: positive rates about equal across groups
    assert m_fair["demographic_parity_difference"] < 0.1
    assert m_fair["accuracy"] < 0.7
    assert sec["positive"] == "yes"
    assert set(m_real) == {"accuracy", "roc_auc", "demographic_parity_difference",
                           "equalized_odds_gap"}


def test_section_schema_and_default_positive_is_rarest() -> None:
    real = _biased(600, 0, label_follows_group=False)
    sec = fairness_section(real, real, real, KINDS, protected="g", target="y", random_state=0)
    assert list(sec) == ["protected", "target", "positive", "groups", "downstream", "notes"]
    assert sec["protected"] == ["g"] and sec["target"] == "y"
    assert sec["positive"] == real["y"].value_counts().idxmin()
    assert list(sec["groups"][0]) == ["group", "label", "real_share", "release_share"]
    assert list(sec["downstream"]) == ["models"] and list(sec["downstream"]["models"]) == [
        "real", "release"]
    assert all(isinstance(n, str) for n in sec["notes"])


def test_no_target_or_no_holdout_gives_shares_only() -> None:
    real = _biased(200, 0, label_follows_group=False)
    for kw in ({"target": None, "holdout": None}, {"target": "y", "holdout": None}):
        sec = fairness_section(real, real, kw["holdout"], KINDS, protected=["g", "h"],
                               target=kw["target"])
        assert sec["downstream"] is None and sec["groups"]
        assert any("holdout" in n or "target" in n for n in sec["notes"])


@pytest.mark.parametrize("protected, words", [
    (["nope"], "not an evaluated column"),
    (["x"], "numeric"),
    (["y"], "cannot also be a protected column"),
    ([], "at least one"),
    (3, "column name"),
])
def test_bad_protected_is_refused(protected, words) -> None:
    with pytest.raises(EvaluationParameterError, match=words):
        check_protected(protected, KINDS, "y")


def test_unknown_positive_is_refused() -> None:
    real = _biased(200, 0, label_follows_group=False)
    with pytest.raises(EvaluationParameterError, match="positive class"):
        fairness_section(real, real, real, KINDS, protected=["g"], target="y", positive="maybe")


def test_release_section_drops_small_groups_and_rounds() -> None:
    sec = {"protected": ["g"], "target": None, "positive": None, "downstream": None,
           "groups": [{"group": {"g": "a"}, "label": "a", "real_share": 0.123456,
                       "release_share": 0.5},
                      {"group": {"g": "b"}, "label": "b", "real_share": 0.004,
                       "release_share": 0.5}],
           "notes": ["Demographic-parity difference: groups with fewer than 20 holdout rows "
                     "are left out: b."]}
    out = release_section(sec, 1000)  # b: 4 real rows < 10 -> dropped
    assert [g["label"] for g in out["groups"]] == ["a"]
    assert out["groups"][0]["real_share"] == 0.123
    assert "b." not in out["notes"][0] and "(1 group(s))" in out["notes"][0]
    assert "fewer than 10 real rows" in out["notes"][-1]
    assert sec["groups"][1]["label"] == "b"  # the internal section is unchanged


def test_evaluate_report_carries_the_section_and_round_trips(tmp_path) -> None:
    real = _biased(800, 0, label_follows_group=True)
    syn = _biased(800, 1, label_follows_group=False)
    hold = _biased(400, 2, label_follows_group=True)
    rep = evaluate(real, syn, holdout=hold, target="y", protected=["g", "h"], random_state=0,
                   progress=False)
    assert rep.fairness is not None and rep.fairness["protected"] == ["g", "h"]
    d = rep.to_dict()
    assert d["fairness"] == rep.fairness
    back = Report.from_dict(d)
    assert back.fairness == rep.fairness
    rel = rep.to_dict("release")["fairness"]
    assert all(len(str(g["real_share"]).split(".")[-1]) <= 3 for g in rel["groups"])
    assert rel["downstream"] == rep.fairness["downstream"]
    rep.save(json=tmp_path / "r.json", html=tmp_path / "r.html")
    assert Report.from_json(tmp_path / "r.json").fairness == rep.fairness
    # without protected: no section
    plain = evaluate(real, syn, progress=False)
    assert plain.fairness is None and plain.to_dict()["fairness"] is None


def test_evaluate_refuses_a_bad_protected_column_before_any_work() -> None:
    real = _biased(200, 0, label_follows_group=False)
    with pytest.raises(EvaluationParameterError, match="not an evaluated column"):
        evaluate(real, real, protected=["zzz"], progress=False)
