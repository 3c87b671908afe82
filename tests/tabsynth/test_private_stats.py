"""Tests for tabsynth.private_stats (DP statistics, DESIGN.md rule 2)."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tabsynth.errors import DataError, ParameterError
from tabsynth.metadata import Metadata
from tabsynth.privacy import PrivacyBudget, PrivacyWarning
from tabsynth.stats import CategoricalStats, DatetimeStats, NumericStats, compute_stats
from tabsynth.stats.private import OTHER, compute_private_stats, count_measurements
from tabsynth.transformer import DataTransformer

CANARY_NUM = 123456.789
N = 2000


def _frame(n: int = N, seed: int = 0, canary: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "x": np.round(rng.normal(50, 10, n), 3),
        "age": rng.integers(18, 90, n),
        "c": pd.Series(rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1]), dtype="str"),
        "k": rng.choice([1, 2, 3], n),
        "b": rng.random(n) > 0.3,
        "d": pd.Series(pd.date_range("2020-01-01", periods=n, freq="D")).dt.strftime("%Y-%m-%d"),
    })
    df.loc[np.arange(0, n, 50), "x"] = np.nan
    if canary:
        df.loc[7, "c"] = "CANARY"
        df.loc[9, "x"] = CANARY_NUM
    return df


def _meta(**overrides) -> Metadata:
    cols = {
        "x": {"sdtype": "numerical", "representation": "float", "dtype": "float64"},
        "age": {"sdtype": "numerical", "representation": "int", "dtype": "int64"},
        "c": {"sdtype": "categorical", "dtype": "str"},
        "k": {"sdtype": "categorical", "dtype": "int64"},
        "b": {"sdtype": "boolean", "dtype": "bool"},
        "d": {"sdtype": "datetime", "datetime_format": "%Y-%m-%d", "dtype": "str"},
    }
    for name, extra in overrides.items():
        cols[name] = {**cols[name], **extra}
    return Metadata(cols)


def _dp(df, meta, eps=1.0, seed=0, accountant="rdp", **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyWarning)
        return compute_private_stats(df, meta, PrivacyBudget(eps, 1e-6), accountant=accountant,
                                     rng=np.random.default_rng(seed), **kw)


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return _frame()


# ------------------------------------------------------------------------------------ budget
def test_spent_within_share_and_delta(df):
    meta = _meta()
    budget = PrivacyBudget(1.0, 1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyWarning)  # 'k' is too coarse to release at eps=1
        stats, ledger = compute_private_stats(df, meta, budget, share=0.1, accountant="prv",
                                              rng=np.random.default_rng(0))
    eps, delta = ledger.spent()
    assert eps <= 0.1 * budget.epsilon * 1.01
    assert eps > 0.05  # the share is actually used, not wasted
    assert delta <= budget.delta
    # category discovery gets 10% of delta (columns c and k), the accountant the rest
    assert ledger.extra_delta == pytest.approx(0.1 * budget.delta, rel=1e-6)
    assert ledger.extra_delta < budget.delta
    charged = [e for e in ledger.entries if not e.public]
    assert len(charged) == count_measurements(df, meta) == 9
    targets = " ".join(e.target for e in charged)
    for name in ("x", "age", "d"):
        assert f"column {name!r} bounds" in targets
        assert f"column {name!r} histogram" in targets
    for name in ("c", "k", "b"):
        assert f"column {name!r} categories" in targets
    # every measurement uses the same noise multiplier
    assert len({round(e.noise_multiplier, 9) for e in charged}) == 1
    # the bool domain is public by schema
    assert any(e.public and e.target == "column 'b' domain" for e in ledger.entries)
    assert stats.source == "dp"
    assert all(s.source == "dp" for s in stats.columns.values())
    assert ledger.budget == budget and ledger.accountant == "prv"


def test_public_declarations_cost_nothing(df):
    meta = _meta(x={"public_bounds": [0, 200]}, c={"public_domain": ["a", "b", "c", "CANARY"]},
                 k={"public_domain": [1, 2, 3]})
    stats, ledger = _dp(df, meta)
    public = {e.target for e in ledger.entries if e.public}
    assert {"column 'x' bounds", "column 'c' domain", "column 'k' domain"} <= public
    assert all(e.history_item is None for e in ledger.entries if e.public)
    charged = [e for e in ledger.entries if not e.public]
    assert len(charged) == count_measurements(df, meta) == 8  # one bounds measurement fewer
    assert ledger.extra_delta == 0.0  # no discovery: the accountant has all of delta
    assert not any(e.mechanism == "discover_categories" for e in charged)
    assert (stats["x"].lower, stats["x"].upper) == (0.0, 200.0)
    assert stats["c"].categories == ("a", "b", "c", "CANARY")
    assert stats["c"].other is None
    assert min(stats["c"].frequencies) > 0  # floor: conditioning on any category stays possible
    assert stats["k"].categories == (1, 2, 3)
    eps, _ = ledger.spent()
    assert eps <= 0.1 * 1.01


def test_more_public_means_less_noise(df):
    _, full = _dp(df, _meta())
    _, fewer = _dp(df, _meta(x={"public_bounds": [0, 200]}, age={"public_bounds": [0, 120]},
                             d={"public_bounds": ["2019-01-01", "2026-01-01"]}))
    nm_full = next(e for e in full.entries if not e.public).noise_multiplier
    nm_fewer = next(e for e in fewer.entries if not e.public).noise_multiplier
    assert nm_fewer < nm_full


# ----------------------------------------------------------------------------------- leakage
@pytest.mark.parametrize("eps", [1.0, 1e6])
def test_singleton_category_never_released(df, eps):
    meta = _meta()
    for seed in range(20):
        stats, _ = _dp(df, meta, eps=eps, seed=seed)
        assert "CANARY" not in stats["c"].categories
        assert "CANARY" not in json.dumps(stats.to_dict())
        assert stats["c"].other == OTHER and OTHER in stats["c"].categories
    # rows holding the canary encode as "other"
    t = DataTransformer(meta, stats)
    X = t.transform(df.iloc[[7]], rng=0)
    span = next(s for s in t.discrete_spans if s.column == "c")
    assert span.categories[int(np.argmax(X[0, span.start:span.start + span.dim]))] == OTHER
    back = t.inverse_transform(X)
    assert back["c"].iloc[0] == OTHER  # the sentinel, never the real rare value


@pytest.mark.parametrize("eps", [1.0, 1e6])
def test_exact_extremes_not_in_stats(df, eps):
    stats, _ = _dp(df, _meta(), eps=eps)
    text = json.dumps(stats.to_dict())
    assert "123456.789" not in text
    for name in ("x", "age"):
        exact = compute_stats(df, _meta(), random_state=0)[name]
        dp = stats[name]
        if name == "x":
            assert (dp.lower, dp.upper) != (exact.lower, exact.upper)
            assert repr(exact.lower) not in text and repr(exact.upper) not in text
            assert dp.upper != CANARY_NUM and CANARY_NUM not in dp.quantiles


def test_int_categorical_other_is_most_frequent_released():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"k": rng.choice([1, 2, 3], N, p=[0.5, 0.3, 0.2])})
    df.loc[11, "k"] = 99  # a rare integer: no representable sentinel in int64
    meta = Metadata({"k": {"sdtype": "categorical", "dtype": "int64"}})
    stats, _ = _dp(df, meta, eps=1e6)
    st_k = stats["k"]
    assert 99 not in st_k.categories
    assert st_k.categories == (1, 2, 3) and st_k.other == 1
    t = DataTransformer(meta, stats)
    back = t.inverse_transform(t.transform(df, rng=0))
    assert back["k"].dtype == np.int64
    assert back["k"].iloc[11] == 1


def test_nothing_released_warns_and_uses_sentinel():
    df = pd.DataFrame({"k": np.arange(200) % 7})
    meta = Metadata({"k": {"sdtype": "categorical", "dtype": "int64"}})
    with pytest.warns(PrivacyWarning, match="no value is frequent enough"):
        stats, _ = compute_private_stats(df, meta, PrivacyBudget(0.1, 1e-6), accountant="rdp",
                                         rng=np.random.default_rng(0))
    assert stats["k"].categories == (OTHER,)
    t = DataTransformer(meta, stats)
    assert len(t.inverse_transform(t.transform(df, rng=0))) == 200


def test_n_rows_is_noisy(df):
    values = {_dp(df, _meta(), seed=s)[0].n_rows for s in range(5)}
    assert len(values) > 1 and all(isinstance(v, int) and v >= 1 for v in values)


# --------------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("eps", [1.0, 1e6])
def test_transformer_round_trip(df, eps):
    meta = _meta()
    stats, _ = _dp(df, meta, eps=eps)
    t = DataTransformer(meta, stats)
    X = t.transform(df, rng=np.random.default_rng(0))
    assert X.shape == (len(df), t.output_dim) and np.isfinite(X).all()
    back = t.inverse_transform(X)
    assert list(back.columns) == list(df.columns)
    for name in ("x", "age", "c", "b", "d"):
        assert back[name].dtype == df[name].dtype, name
    if eps > 1e5:
        assert back["k"].dtype == df["k"].dtype
    # conditional-vector frequencies are the DP ones (the noise may give "b" a missing rate:
    # then the span has a missing slot holding it)
    span = next(s for s in t.discrete_spans if s.column == "b")
    freqs, rate = np.asarray(stats["b"].frequencies), stats["b"].missing_rate
    expected = freqs / freqs.sum()
    if rate > 0:
        expected = np.append(expected * (1 - rate), rate)
    assert np.allclose(span.frequencies, expected)


def test_datetime_unit_from_schema(df):
    stats, _ = _dp(df, _meta())
    assert isinstance(stats["d"], DatetimeStats)
    assert stats["d"].unit == "D" and stats["d"].datetime_format == "%Y-%m-%d"
    df2 = pd.DataFrame({"t": pd.Series(pd.date_range("2021-01-01", periods=300, freq="h"))})
    meta2 = Metadata({"t": {"sdtype": "datetime", "dtype": str(df2["t"].dtype)}})
    st2, _ = _dp(df2, meta2, eps=10.0)
    assert st2["t"].unit == "s"
    t = DataTransformer(meta2, st2)
    assert t.inverse_transform(t.transform(df2, rng=0))["t"].dtype == df2["t"].dtype


# ---------------------------------------------------------------------------- reproducibility
def test_same_seed_same_output_different_seed_different_noise(df):
    meta = _meta()
    a, la = _dp(df, meta, seed=5)
    b, lb = _dp(df, meta, seed=5)
    c, _ = _dp(df, meta, seed=6)
    assert a.to_dict() == b.to_dict()
    assert la.to_dict() == lb.to_dict()
    assert a.to_dict() != c.to_dict()


# -------------------------------------------------------------------------------- accuracy
def test_large_epsilon_close_to_exact():
    df = _frame(canary=False)
    meta = _meta()
    stats, ledger = _dp(df, meta, eps=1e6)
    exact = compute_stats(df, meta, random_state=0)
    assert abs(stats.n_rows - len(df)) <= 3
    for name in ("c", "k", "b"):
        dp, ex = stats[name], exact[name]
        got = dict(zip(dp.categories, dp.frequencies, strict=True))
        for cat, f in zip(ex.categories, ex.frequencies, strict=True):
            assert abs(got[cat] - f) < 1e-3, (name, cat)
        assert abs(dp.missing_rate - ex.missing_rate) < 1e-3
    for name in ("x", "age", "d"):
        dp, ex = stats[name], exact[name]
        assert dp.lower <= ex.lower and dp.upper >= ex.upper
        assert abs(dp.missing_rate - ex.missing_rate) < 1e-3
        span = ex.upper - ex.lower
        q = np.asarray(dp.quantiles)
        assert np.all(np.abs(q[5:96] - np.asarray(ex.quantiles)[5:96]) < 0.1 * span)
    assert stats["age"].is_integer and stats["age"].decimals == 0
    assert not stats["x"].is_integer and stats["x"].decimals is None
    assert stats["age"].lower == math.floor(stats["age"].lower)


# -------------------------------------------------------------------------------- errors
def test_parameter_and_data_errors(df):
    meta = _meta()
    budget = PrivacyBudget(1.0, 1e-6)
    rng = np.random.default_rng(0)
    with pytest.raises(ParameterError, match="share"):
        compute_private_stats(df, meta, budget, share=1.5, rng=rng)
    with pytest.raises(ParameterError, match="rng"):
        compute_private_stats(df, meta, budget, rng=None)
    with pytest.raises(ParameterError, match="budget"):
        compute_private_stats(df, meta, 1.0, rng=rng)
    with pytest.raises(DataError, match="public domain"):
        _dp(df, _meta(c={"public_domain": ["a", "b"]}))


# ---------------------------------------------------------------------------- property test
@st.composite
def _frames(draw):
    n = draw(st.integers(1, 40))
    f = st.floats(-1e4, 1e4, allow_nan=False)
    xs = draw(st.lists(st.one_of(f, st.just(float("nan"))), min_size=n, max_size=n))
    ints = draw(st.lists(st.integers(-50, 50), min_size=n, max_size=n))
    cats = draw(st.lists(st.one_of(st.sampled_from(["a", "b", "c"]), st.none()),
                         min_size=n, max_size=n))
    bools = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    df = pd.DataFrame({
        "x": pd.Series(xs, dtype="float64"),
        "i": pd.Series(ints, dtype="int64"),
        "c": pd.Series(cats, dtype="str"),
        "b": pd.Series(bools, dtype="bool"),
    })
    eps = draw(st.sampled_from([0.5, 5.0, 1e4]))
    bounds = draw(st.sampled_from([None, [-1e4, 1e4], [3, 3]]))
    return df, eps, bounds


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_frames(), st.integers(0, 2**31 - 1))
def test_property_valid_output(case, seed):
    df, eps, bounds = case
    meta = Metadata({
        "x": {"sdtype": "numerical", "representation": "float", "dtype": "float64",
              "public_bounds": bounds},
        "i": {"sdtype": "numerical", "representation": "int", "dtype": "int64"},
        "c": {"sdtype": "categorical", "dtype": "str"},
        "b": {"sdtype": "boolean", "dtype": "bool"},
    })
    stats, ledger = _dp(df, meta, eps=eps, seed=seed)
    spent, delta = ledger.spent()
    assert spent <= 0.1 * eps * 1.01 and delta <= 1e-6
    for name, s in stats.columns.items():
        if isinstance(s, CategoricalStats):
            fr = np.asarray(s.frequencies)
            assert np.all(fr > 0) and fr.sum() == pytest.approx(1.0)
            assert len(s.categories) == len(set(s.categories))
        else:
            assert isinstance(s, NumericStats)
            w = np.asarray(s.mode_weights)
            assert np.all(w >= 0) and w.sum() == pytest.approx(1.0)
            assert np.all(np.asarray(s.mode_stds) > 0)
            # lower == upper only for a point: public [3, 3], or an integer column whose
            # tightened DP range is a single integer
            assert s.lower < s.upper or (s.lower == s.upper and (name == "i" or bounds == [3, 3]))
            q = np.asarray(s.quantiles)
            assert len(q) == 101 and np.all(np.diff(q) >= 0)
            assert q[0] >= s.lower and q[-1] <= s.upper
        assert 0.0 <= s.missing_rate <= 1.0
    t = DataTransformer(meta, stats)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = t.inverse_transform(t.transform(df, rng=0))
    assert back.shape == df.shape


def test_spread_out_column_keeps_its_range_on_a_small_table():
    # Regression: on the 5,110-row stroke table at epsilon=1 the bound tightening used to keep
    # only the one histogram bin that cleared the noise threshold: age came out as [10, 12.8].
    from tabsynth import datasets
    from tabsynth.metadata import Metadata
    from tabsynth.privacy import PrivacyBudget
    from tabsynth.stats.private import compute_private_stats

    df = datasets.load("stroke")
    meta = Metadata.detect(df, warn=False)
    for seed in range(3):
        stats, _ = compute_private_stats(df, meta, PrivacyBudget(1.0, 1e-6), accountant="rdp",
                                         rng=np.random.default_rng(seed))
        age = stats.columns["age"]
        # DP bounds may lose a thin tail (children are ~10% of rows, below the noise threshold
        # of the 1-2-5 grid bins), never the bulk
        assert age.lower <= 20 and age.upper >= 60, (age.lower, age.upper)
        median = age.quantiles[len(age.quantiles) // 2]
        assert abs(median - df["age"].median()) < 15, median
