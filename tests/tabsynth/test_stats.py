"""Tests for tabsynth.stats."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tabsynth.errors import DataError, MetadataError, ParameterError
from tabsynth.metadata import Metadata
from tabsynth.stats import (
    CategoricalStats,
    DatetimeStats,
    NumericStats,
    TableStats,
    compute_stats,
)


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 400
    x = np.concatenate([rng.normal(-5, 1, n // 2), rng.normal(10, 0.5, n // 2)])
    return pd.DataFrame({
        "x": np.round(x, 2),
        "n": rng.integers(0, 1000, n),
        "c": pd.Series(rng.choice(["b", "a", "c"], n), dtype="str"),
        "k": rng.choice([3, 1, 2], n),
        "b": rng.random(n) > 0.3,
        "d": pd.Series(pd.date_range("2020-01-01", periods=n, freq="D")),
        "const": 7.0,
    })


@pytest.fixture
def meta() -> Metadata:
    return Metadata({
        "x": {"sdtype": "numerical"},
        "n": {"sdtype": "numerical", "representation": "int"},
        "c": {"sdtype": "categorical"},
        "k": {"sdtype": "categorical"},
        "b": {"sdtype": "boolean"},
        "d": {"sdtype": "datetime"},
        "const": {"sdtype": "numerical"},
    })


def test_compute_stats(table, meta):
    table.loc[::10, "x"] = np.nan
    st = compute_stats(table, meta, random_state=0)
    assert list(st.columns) == meta.modelled_columns
    assert st.n_rows == len(table) and st.source == "exact"
    x = st["x"]
    assert isinstance(x, NumericStats)
    assert x.lower == table["x"].min() and x.upper == table["x"].max()
    assert x.missing_rate == pytest.approx(0.1)
    assert x.decimals == 2 and not x.is_integer
    assert sum(x.mode_weights) == pytest.approx(1.0)
    assert 2 <= len(x.mode_means) <= 10
    assert min(x.mode_means) < -3 and max(x.mode_means) > 8
    assert st["n"].is_integer and st["n"].decimals == 0
    c = st["c"]
    assert isinstance(c, CategoricalStats)
    assert c.categories == ("a", "b", "c")
    assert sum(c.frequencies) == pytest.approx(1.0)
    assert c.frequencies[0] == pytest.approx((table["c"] == "a").mean())
    assert st["k"].categories == (1, 2, 3) and all(type(v) is int for v in st["k"].categories)
    assert st["b"].categories == (False, True)
    d = st["d"]
    assert isinstance(d, DatetimeStats) and d.unit == "D"
    assert d.lower == pytest.approx(pd.Timestamp("2020-01-01").timestamp())


def test_constant_column(table, meta):
    st = compute_stats(table, meta, random_state=0)["const"]
    assert st.mode_means == (7.0,) and st.mode_weights == (1.0,)
    assert st.mode_stds[0] > 0 and st.lower == st.upper == 7.0


def test_deterministic_with_seed(table, meta):
    a = compute_stats(table, meta, random_state=3, max_fit_rows=50)
    b = compute_stats(table, meta, random_state=3, max_fit_rows=50)
    assert a == b


def test_public_bounds_and_domain(table, meta):
    meta.update_column("x", public_bounds=[-100, 100])
    meta.update_column("c", public_domain=["c", "b", "a", "z"])
    st = compute_stats(table, meta, random_state=0)
    assert (st["x"].lower, st["x"].upper) == (-100.0, 100.0)
    assert st["c"].categories == ("c", "b", "a", "z")
    assert st["c"].frequencies[3] == 0.0
    meta.update_column("c", public_domain=["a", "b"])
    with pytest.raises(DataError, match=r"'c' has \d+ value\(s\) outside its public_domain"):
        compute_stats(table, meta)


def test_missing_column(table, meta):
    with pytest.raises(MetadataError, match="'x'"):
        compute_stats(table.drop(columns="x"), meta)


def test_parameters(table, meta):
    with pytest.raises(ParameterError, match="'max_modes' parameter of compute_stats"):
        compute_stats(table, meta, max_modes=0)


def test_json_round_trip_keeps_types(table, meta):
    table["f"] = np.where(np.arange(len(table)) % 2, 1.5, 2.0)
    meta.columns["f"] = meta.columns["x"].__class__("categorical")
    st = compute_stats(table, meta, random_state=0)
    d = json.loads(json.dumps(st.to_dict(), allow_nan=False))
    back = TableStats.from_dict(d)
    assert back == st
    assert [type(v) for v in back["k"].categories] == [int] * 3
    assert [type(v) for v in back["b"].categories] == [bool] * 2
    assert [type(v) for v in back["f"].categories] == [float] * 2


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(MetadataError, match="Valid keys"):
        TableStats.from_dict({"n_rows": 1, "columns": {}, "extra": 1})
    with pytest.raises(MetadataError, match=r"'a'.*\['bogus'\]"):
        TableStats.from_dict({"columns": {"a": {"kind": "categorical", "categories": ["x"],
                                                "frequencies": [1.0], "missing_rate": 0.0,
                                                "bogus": 1}}})


def test_stats_validation():
    with pytest.raises(ParameterError):
        NumericStats(0, 1, False, None, 0.0, (1.0,), (0.5,), (0.0,))
    with pytest.raises(ParameterError):
        CategoricalStats(("a",), (0.5, 0.5), 0.0)
    with pytest.raises(ParameterError):
        CategoricalStats(("a",), (1.0,), 0.0, other="b")


@pytest.mark.parametrize(
    "values, expected",
    [([1.0, 2.0], 0), ([0.5, 4000.516], 3), ([0.1, 0.25], 2), ([123456.123, 1.0], 3),
     ([1 / 3, 1.0], None)],
)
def test_decimals(values, expected):
    m = Metadata({"x": {"sdtype": "numerical"}})
    assert compute_stats(pd.DataFrame({"x": values}), m)["x"].decimals == expected


def test_datetime_strings(meta):
    df = pd.DataFrame({"d": pd.Series(["2020-01-01 10:30:00", "2020-03-01 11:00:00", None],
                                      dtype="str")})
    m = Metadata({"d": {"sdtype": "datetime", "datetime_format": "%Y-%m-%d %H:%M:%S"}})
    st = compute_stats(df, m)["d"]
    assert st.unit == "min" and st.missing_rate == pytest.approx(1 / 3)
    assert st.datetime_format == "%Y-%m-%d %H:%M:%S"


def test_mixtures_false_changes_only_the_modes(table, meta):
    """The AR family's statistics (``mixtures=False``): a column that needs a mixture gets
    one mode at its mean and standard deviation; every other figure is the same."""
    full = compute_stats(table, meta, random_state=3).to_dict()
    light = compute_stats(table, meta, random_state=3, mixtures=False).to_dict()
    assert len(full["columns"]["x"]["mode_weights"]) == 2  # the bimodal column's mixture
    for name, col in full["columns"].items():
        other = light["columns"][name]
        if name in ("x", "n", "d"):  # many distinct values: a mixture (True) or one mode
            assert other["mode_weights"] == [1.0]
            keys = set(col) - {"mode_weights", "mode_means", "mode_stds"}
            assert {k: col[k] for k in keys} == {k: other[k] for k in keys}
        else:  # exact modes (few values), categories: untouched
            assert other == col
    x = table["x"].to_numpy()
    assert light["columns"]["x"]["mode_means"][0] == pytest.approx(x.mean())
    assert light["columns"]["x"]["mode_stds"][0] == pytest.approx(x.std())


def test_ar_statistics_skip_the_mixtures(table):
    from tabsynth import TVAE, ARSynthesizer

    assert ARSynthesizer._uses_modes is False and TVAE._uses_modes is True
    m = ARSynthesizer(epochs=1, random_state=0, verbose=False, device="cpu")
    m.fit(table[["x", "n", "c", "b"]])
    assert len(m.stats_["x"].mode_weights) == 1
