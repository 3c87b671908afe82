"""``tabsynth info`` shows each column's modelled range (numeric, datetime) or its number of
categories, and says when a range is the DP bounds: the place to see a DP range that cut a
column off (the fit's clipping warning names it once; the file keeps the range)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from tabsynth import ARSynthesizer, Metadata


def _table(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "amount": np.where(rng.random(n) < 0.5, 0.0, np.round(rng.lognormal(3.0, 1.0, n), 2)),
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 48, n), "h"),
        "kind": rng.choice(["a", "b", "c"], n),
    })


def test_a_non_private_model_shows_its_ranges(run, tmp_path):
    df = _table()
    path = tmp_path / "m.tsmodel"
    ARSynthesizer(epochs=1, verbose=False).fit(df).save(path)
    out = run("info", path).output
    line = next(x for x in out.splitlines() if x.strip().startswith("amount"))
    assert f"range [0, {df['amount'].max():g}]" in line and "DP" not in line
    line = next(x for x in out.splitlines() if x.strip().startswith("when"))
    assert f"range [{df['when'].min()}, {df['when'].max()}]" in line
    assert re.search(r"kind\s+categorical \(3 categories\)", out)


def test_a_dp_model_says_its_ranges_are_dp_bounds(run, tmp_path):
    meta = Metadata({"amount": {"sdtype": "numerical", "representation": "float"},
                     "when": {"sdtype": "datetime"},
                     "kind": {"sdtype": "categorical", "public_domain": ["a", "b", "c"]}})
    path = tmp_path / "dp.tsmodel"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ARSynthesizer(epochs=1, epsilon=1.0, verbose=False).fit(_table(), metadata=meta)
    model.save(path)
    st = model.stats_.columns["amount"]
    out = run("info", path).output
    line = next(x for x in out.splitlines() if x.strip().startswith("amount"))
    assert f"range [{st.lower:g}, {st.upper:g}], DP bounds" in line
    line = next(x for x in out.splitlines() if x.strip().startswith("kind"))
    assert "public domain" in line and "3 categories" in line
    declared = meta.update_column("amount", public_bounds=[0.0, 500.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ARSynthesizer(epochs=1, epsilon=1.0, verbose=False).fit(
            _table(), metadata=declared).save(path)
    line = next(x for x in run("info", path).output.splitlines()
                if x.strip().startswith("amount"))
    assert "public bounds" in line and "range [0, 500]" in line and "DP bounds" not in line


def _folding(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"code": [f"c{i % 150}" for i in range(n)],  # 150 values, 2 rows each
                         "kind": rng.choice(["x", "y"], n)})


_FOLDING_META = Metadata({"code": {"sdtype": "categorical"}, "kind": {"sdtype": "categorical"}})


def test_info_says_a_dp_column_holds_only_other(run, tmp_path):
    """Before: "categorical (1 category)" for a column whose every value folded into
    "__other__" (tests/tabsynth/test_dp_folded_warning.py has the fit's warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ARSynthesizer(epochs=1, epsilon=1.0, verbose=False).fit(
            _folding(), metadata=_FOLDING_META)
    path = tmp_path / "m.tsmodel"
    model.save(path)
    out = run("info", path).output
    line = next(x for x in out.splitlines() if x.strip().startswith("code"))
    assert "no category released under DP: every value is '__other__'" in line
    line = next(x for x in out.splitlines() if x.strip().startswith("kind"))
    n = len(model.stats_.columns["kind"].categories) - 1
    assert f"{n} categories + '__other__'" in line


def test_a_range_past_the_calendar_is_shown_in_seconds():
    """A DP datetime bound can lie far from the data (up to 1e12 s, year 33658, when the
    bounds histogram passed nothing): `info` stopped with Python's OverflowError ("date value
    out of range"); it now shows such an end in seconds since 1970."""
    from tabsynth.cli.info import _modelled

    (text,) = _modelled({"kind": "datetime", "lower": 0.0, "upper": 1e12, "source": "dp"}, {})
    assert text == "range [1970-01-01 00:00:00, 1e+12 s after 1970-01-01], DP bounds"
    (text,) = _modelled({"kind": "datetime", "lower": -1e12, "upper": 0.0}, {})
    assert text == "range [1e+12 s before 1970-01-01, 1970-01-01 00:00:00]"
