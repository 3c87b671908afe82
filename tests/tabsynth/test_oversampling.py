"""Oversampler (imbalanced-learn sampler API) and exact conditional sampling of rare classes."""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from tabsynth import ConditionError, Oversampler, ParameterError

FAST = {"epochs": 1, "batch_size": 100, "verbose": False}


@pytest.fixture(scope="module")
def stroke() -> tuple[pd.DataFrame, pd.Series]:
    from tabsynth import datasets

    df = datasets.load("stroke").sample(800, random_state=0).reset_index(drop=True)
    return df.drop(columns=["stroke"]), df["stroke"]


@pytest.fixture(scope="module")
def fitted(stroke):
    X, y = stroke
    over = Oversampler(sampling_strategy=0.5, random_state=0, model_params=FAST)
    X_res, y_res = over.fit_resample(X, y)
    return over, X_res, y_res


def test_float_ratio_is_reached_and_real_rows_come_first(stroke, fitted):
    X, y = stroke
    over, X_res, y_res = fitted
    n_min, n_maj = int((y == 1).sum()), int((y == 0).sum())
    assert dict(over.sampling_strategy_) == {1: math.ceil(0.5 * n_maj) - n_min}
    assert int((y_res == 1).sum()) == math.ceil(0.5 * n_maj)
    assert int((y_res == 0).sum()) == n_maj
    pd.testing.assert_frame_equal(X_res.iloc[: len(X)], X)
    assert list(X_res.columns) == list(X.columns)
    assert (X_res.dtypes == X.dtypes).all()
    assert isinstance(y_res, pd.Series) and y_res.name == "stroke" and y_res.dtype == y.dtype
    assert X_res.attrs["tabsynth"]["privacy"]["dp"] is False
    assert over.ledgers_ == [] and over.privacy_spent_ is None


@pytest.mark.parametrize(
    "strategy, expected",
    [("auto", {1: "maj"}), ("minority", {1: "maj"}), ({1: 100}, {1: 100}), (0.25, {1: 0.25})],
)
def test_strategies(stroke, strategy, expected):
    from tabsynth.sampling.oversampler import resolve_sampling_strategy

    X, y = stroke
    counts = y.value_counts().to_dict()
    got = resolve_sampling_strategy(strategy, counts)
    n_maj, n_min = counts[0], counts[1]
    want = {1: n_maj if expected[1] == "maj" else
            (math.ceil(expected[1] * n_maj) if isinstance(expected[1], float) else expected[1])}
    assert dict(got) == {1: want[1] - n_min}


@pytest.mark.parametrize(
    "strategy, match",
    [
        ({"nope": 10}, "Unknown class"),
        ({1: 1}, "fewer than"),
        (0.01, "not above the current"),
        (1.5, "float in \\(0, 1\\]"),
        ("most", "sampling_strategy"),
    ],
)
def test_strategy_errors(stroke, strategy, match):
    X, y = stroke
    with pytest.raises(ParameterError, match=match):
        Oversampler(sampling_strategy=strategy, model_params=FAST).fit_resample(X, y)


def test_input_errors(stroke):
    X, y = stroke
    with pytest.raises(ParameterError, match="X has 800 rows, y has 799"):
        Oversampler(model_params=FAST).fit_resample(X, y.iloc[:-1])
    with pytest.raises(ParameterError, match="single class"):
        Oversampler(model_params=FAST).fit_resample(X, pd.Series(np.zeros(len(X), int)))
    with pytest.raises(ParameterError, match="only for two classes"):
        Oversampler(sampling_strategy=0.5, model_params=FAST).fit_resample(
            X, pd.Series(np.arange(len(X)) % 3))
    with pytest.raises(ParameterError, match="'model' parameter of Oversampler"):
        Oversampler(model="gan").fit_resample(X, y)
    with pytest.raises(ParameterError, match="Unknown model_params \\['nope'\\]"):
        Oversampler(model_params={"nope": 1}).fit_resample(X, y)


def test_imblearn_pipeline_and_clone(stroke):
    from imblearn.pipeline import Pipeline
    from sklearn.base import clone
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = stroke
    Xn = X.select_dtypes("number")
    over = Oversampler(sampling_strategy=0.3, random_state=0, model_params=FAST)
    assert clone(over).get_params() == over.get_params()
    pipe = Pipeline([("over", over), ("clf", HistGradientBoostingClassifier(max_iter=20))])
    pipe.fit(Xn, y)
    assert pipe.predict_proba(Xn).shape == (len(Xn), 2)
    assert dict(pipe.named_steps["over"].sampling_strategy_)


def test_numpy_in_numpy_out(stroke):
    X, y = stroke
    Xn = X[["age", "avg_glucose_level"]].to_numpy()
    X_res, y_res = Oversampler(sampling_strategy="auto", random_state=0,
                               model_params=FAST).fit_resample(Xn, y.to_numpy())
    assert isinstance(X_res, np.ndarray) and isinstance(y_res, np.ndarray)
    assert X_res.shape == (2 * int((y == 0).sum()), 2)
    np.testing.assert_array_equal(X_res[: len(Xn)], Xn)


def test_per_class_and_keep_real_false(stroke):
    X, y = stroke
    over = Oversampler(per_class=True, sampling_strategy=0.5, random_state=0, model_params=FAST)
    X_res, y_res = over.fit_resample(X, y)
    assert set(over.models_) == {0, 1} and over.model_ is None
    assert int((y_res == 1).sum()) == math.ceil(0.5 * int((y == 0).sum()))

    syn = Oversampler(keep_real=False, sampling_strategy=0.5, random_state=0, model_params=FAST)
    X_syn, y_syn = syn.fit_resample(X, y)
    counts = y_syn.value_counts().to_dict()
    # Sizes come from the model's statistics (exact here): majority as in y, minority to ratio.
    assert counts[0] == int((y == 0).sum())
    assert counts[1] == math.ceil(0.5 * counts[0])
    assert syn.privacy_report_["real_rows_in_output"] is False
    assert not X_syn.merge(X, how="inner").shape[0] > len(X_syn) * 0.5  # not the real rows


def test_smote_is_labelled_non_private(stroke):
    from tabsynth.privacy import PrivacyWarning

    X, y = stroke
    Xn = X.select_dtypes("number").fillna(0)
    with pytest.warns(PrivacyWarning, match="NOT differentially private"):
        over = Oversampler("smote", epsilon=1.0, sampling_strategy=0.5, random_state=0)
        X_res, y_res = over.fit_resample(Xn, y)
    assert over.privacy_report_["non_private"]
    assert over.privacy_report_["note"].startswith("NON-PRIVATE")
    assert int((y_res == 1).sum()) == math.ceil(0.5 * int((y == 0).sum()))


# ---------------------------------------------------------------- conditional sampling
@pytest.fixture(scope="module")
def rare_model():
    """A 0.1% class ('rare': 2 of 2,000 rows)."""
    from tabsynth import CTGAN

    rng = np.random.default_rng(0)
    n = 2000
    label = np.array(["common"] * n, dtype=object)
    label[:2] = "rare"
    df = pd.DataFrame({"x": rng.normal(50, 10, n), "color": rng.choice(["r", "g", "b"], n),
                       "label": label})
    return CTGAN(epochs=1, batch_size=200, verbose=False, random_state=0).fit(df)


def test_rare_class_is_exact_and_fast(rare_model):
    start = time.perf_counter()
    rows = rare_model.sample(5000, conditions={"label": "rare"}, random_state=0)
    assert time.perf_counter() - start < 5.0
    assert len(rows) == 5000 and (rows["label"] == "rare").all()


def test_several_conditions_and_ranges_are_all_met(rare_model):
    rows = rare_model.sample(300, conditions={"label": "rare", "color": "g", "x": (40, None)},
                             random_state=1)
    assert len(rows) == 300
    assert (rows["label"] == "rare").all() and (rows["color"] == "g").all()
    assert (rows["x"] >= 40).all()


def test_unreachable_condition_names_it(rare_model):
    with pytest.raises(ConditionError, match="'x' in \\[1000000.0, None\\]"):
        rare_model.sample(10, conditions={"label": "rare", "x": (1e6, None)}, random_state=0)


def test_unknown_class_in_conditions(rare_model):
    with pytest.raises(ConditionError, match="'label' has no value 'nope'"):
        rare_model.sample(10, conditions={"label": "nope"})


# ---------------------------------------------------------------- DP
@pytest.fixture(scope="module")
def small(stroke):
    """240 rows (200 + 40): DP-SGD needs batch_size << rows of each part."""
    X, y = stroke
    idx = np.r_[np.flatnonzero(y == 0)[:200], np.flatnonzero(y == 1)[:40]]
    return X.iloc[idx].reset_index(drop=True), y.iloc[idx].reset_index(drop=True)


DP_FAST = {"epochs": 1, "batch_size": 8, "verbose": False, "accountant": "rdp"}


def test_dp_oversampling_carries_the_ledger(small):
    X, y = small
    over = Oversampler(epsilon=1.0, sampling_strategy=0.5, random_state=0, model_params=DP_FAST,
                       classes=[0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X_res, y_res = over.fit_resample(X, y)
    assert int((y_res == 1).sum()) == 100
    assert len(over.ledgers_) == 1 and over.ledgers_[0].partition is None
    assert over.privacy_spent_["epsilon"] <= 1.0 + 1e-9
    # keep_real=True: the real rows are in the output, so the release is not DP
    assert over.privacy_report_["dp"] is False
    assert "keep_real" in over.privacy_report_["reason"]
    assert X_res.attrs["tabsynth"]["ledgers"][0]["entries"]


def test_dp_per_class_is_parallel_composition(small):
    X, y = small
    with pytest.raises(ParameterError, match="classes="):  # label set never read from y
        Oversampler(epsilon=1.0, per_class=True, model_params=DP_FAST).fit_resample(X, y)
    over = Oversampler(epsilon=1.0, per_class=True, sampling_strategy=0.5, random_state=0,
                       model_params=DP_FAST, classes=[0, 1], keep_real=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        over.fit_resample(X, y)
    assert [lg.partition["value"] for lg in over.ledgers_] == [0, 1]
    assert all(lg.partition["column"] == "stroke" for lg in over.ledgers_)
    assert all(m.privacy_spent_ is not None for m in over.models_.values())
    spents = [m.privacy_spent_ for m in over.models_.values()]
    # parallel composition: (max epsilon, max delta), each taken separately
    assert over.privacy_spent_["epsilon"] == max(s["epsilon"] for s in spents)
    assert over.privacy_spent_["delta"] == max(s["delta"] for s in spents)
    assert over.privacy_spent_["epsilon"] <= 1.0 + 1e-9
    assert "parallel" in over.privacy_report_["composition"]
    assert over.privacy_report_["dp"] is True


# ---------------------------------------------------------------- cleaning / weights
def test_filter_synthetic_keeps_sizes_and_is_labelled_non_private(stroke):
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = stroke
    over = Oversampler("tvae", per_class=True, filter_synthetic=0.5, sampling_strategy=0.2,
                       random_state=0, model_params={"epochs": 2, "verbose": False})
    X_res, y_res = over.fit_resample(X, y)
    n_maj = int((y == 0).sum())
    assert int((y_res == 1).sum()) == math.ceil(0.2 * n_maj)  # sizes always met
    rep = over.filter_report_[1]
    assert rep["asked"] == over.sampling_strategy_[1] == rep["kept"] + rep["filled"]
    assert rep["drawn"] >= rep["asked"]
    assert over.privacy_report_["dp"] is False
    assert "filter_synthetic" in over.privacy_report_["note"]
    # the kept rows clear the threshold of the real-data classifier
    clf, priors, ref = over._fit_filter(Oversampler._check_xy(X, y)[0], y.to_numpy())
    syn = X_res[over.synthetic_mask_].reset_index(drop=True)
    p = clf.predict_proba(Oversampler._filter_encode(syn, ref))[:, 1]
    assert isinstance(clf, HistGradientBoostingClassifier)
    assert (p[: rep["kept"]] >= 0.5 * priors[1] - 1e-12).all()


def test_synthetic_mask_marks_added_rows(stroke, fitted):
    X, y = stroke
    over, X_res, y_res = fitted
    assert over.synthetic_mask_.dtype == bool and len(over.synthetic_mask_) == len(X_res)
    assert not over.synthetic_mask_[: len(X)].any() and over.synthetic_mask_[len(X):].all()
    # recipe: down-weight the synthetic rows
    w = np.where(over.synthetic_mask_, 0.5, 1.0)
    assert w.sum() == len(X) + 0.5 * (len(X_res) - len(X))


@pytest.mark.parametrize("bad", [0, -1.0, True, "high", float("nan")])
def test_filter_synthetic_errors(stroke, bad):
    X, y = stroke
    with pytest.raises(ParameterError, match="filter_synthetic"):
        Oversampler(filter_synthetic=bad, model_params=FAST).fit_resample(X, y)
    with pytest.raises(ParameterError, match="filter_synthetic"):
        Oversampler("smote", filter_synthetic=0.5).fit_resample(X, y)


def test_filter_synthetic_warns_under_dp(small):
    from tabsynth.privacy import PrivacyWarning

    X, y = small
    with pytest.warns(PrivacyWarning, match="NOT differentially private"):
        over = Oversampler(epsilon=1.0, filter_synthetic=1.0, sampling_strategy=0.5,
                           random_state=0, model_params=DP_FAST, classes=[0, 1])
        X_res, y_res = over.fit_resample(X, y)
    assert over.privacy_report_["dp"] is False and over.ledgers_
    assert int((y_res == 1).sum()) == math.ceil(0.5 * int((y == 0).sum()))


def test_dp_label_set_is_not_read_from_y(small):
    # a label held by one row is never released under DP unless declared
    X, y = small
    y = y.copy()
    y.iloc[0] = 7
    over = Oversampler(epsilon=1.0, sampling_strategy="auto", keep_real=False, random_state=0,
                       model_params=DP_FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            over.fit_resample(X, y)
        except ParameterError as exc:  # too few labels released: asks for classes=
            assert "classes=" in str(exc)
            return
    assert 7 not in list(over.classes_)
    with pytest.raises(ParameterError, match="outside the declared classes"):
        Oversampler(epsilon=1.0, classes=[0, 1], model_params=DP_FAST).fit_resample(X, y)


def test_ar_model_by_name_non_dp_and_dp(stroke, small):
    """``Oversampler("ar")``: the autoregressive family; every added row is of the class
    asked for (masked logits), the sizes are exact, and under DP the ledger comes along."""
    X, y = stroke
    over = Oversampler("ar", sampling_strategy=0.5, random_state=0,
                       model_params={"epochs": 2, "verbose": False})
    X_res, y_res = over.fit_resample(X, y)
    from tabsynth import ARSynthesizer

    assert isinstance(over.model_, ARSynthesizer)
    n_maj = int((y == 0).sum())
    assert int((y_res == 1).sum()) == math.ceil(0.5 * n_maj)
    assert int((y_res == 0).sum()) == n_maj
    assert (X_res.dtypes == X.dtypes).all()
    Xs, ys = small
    dp = Oversampler("ar", epsilon=1.0, sampling_strategy=0.5, random_state=0, classes=[0, 1],
                     model_params={"epochs": 1, "batch_size": 8, "verbose": False,
                                   "accountant": "rdp"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, yd = dp.fit_resample(Xs, ys)
    assert int((yd == 1).sum()) == 100
    assert len(dp.ledgers_) == 1 and dp.privacy_spent_["epsilon"] <= 1.0 + 1e-9
