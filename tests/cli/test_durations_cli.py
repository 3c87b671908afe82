"""Durations through the CLI: a Parquet table with a ``timedelta64`` column is fitted,
``info`` shows the column's range as durations, ``sample --condition "stay>=1h"`` takes a
duration, the CSV release holds durations as text, and ``evaluate`` scores that CSV against
the Parquet real table as numbers (before: the column was left out of the model, and the
evaluator scored it as categories)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    kind = rng.choice(["short", "long"], n, p=[0.7, 0.3])
    minutes = np.where(kind == "short", rng.integers(1, 30, n), rng.integers(120, 600, n))
    return pd.DataFrame({"kind": kind, "stay": pd.to_timedelta(minutes * 60, unit="s"),
                         "x": rng.normal(size=n)})


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, run):
    folder = tmp_path_factory.mktemp("durations")
    _table(1_000, 0).to_parquet(folder / "real.parquet")
    _table(400, 1).to_parquet(folder / "holdout.parquet")
    res = run("fit", folder / "real.parquet", "-o", folder / "m.tsmodel", "--epochs", "30",
              "--seed", "0", "--quiet")
    assert res.exit_code == 0, res.output
    return folder


def test_info_shows_a_duration_range(run, fitted):
    out = run("info", fitted / "m.tsmodel").output
    line = next(x for x in out.splitlines() if x.strip().startswith("stay"))
    real = pd.read_parquet(fitted / "real.parquet")["stay"]
    lo, hi = (str(v.to_pytimedelta()) for v in (real.min(), real.max()))
    assert f"numerical (duration, range [{lo}, {hi}])" in line


def test_sample_with_a_duration_condition_and_evaluate_the_csv(run, fitted):
    out = fitted / "long.csv"
    res = run("sample", fitted / "m.tsmodel", "-n", "200", "-o", out, "--seed", "1",
              "--quiet", "--condition", "stay>=2h")
    assert res.exit_code == 0, res.output
    stay = pd.to_timedelta(pd.read_csv(out)["stay"])  # "0 days 03:41:00" text
    assert len(stay) == 200 and (stay >= pd.Timedelta(hours=2)).all()
    release = fitted / "all.csv"
    assert run("sample", fitted / "m.tsmodel", "-n", "1000", "-o", release, "--seed", "2",
               "--quiet").exit_code == 0
    res = run("evaluate", fitted / "real.parquet", release, "--holdout",
              fitted / "holdout.parquet", "-o", fitted / "report.html",
              "--json", fitted / "report.json", "--quiet")
    assert res.exit_code in (0, 1), res.output
    report = json.loads((fitted / "report.json").read_text())
    shapes = next(m for m in report["metrics"] if m["name"] == "column_shapes")
    stay_row = next(c for c in shapes["details"]["columns"] if c["column"] == "stay")
    assert stay_row["kind"] == "numerical" and stay_row["score"] > 0.85


def test_metadata_lists_what_each_column_was_typed_as(run, tmp_path):
    """``tabsynth metadata`` names each column's type with what is worth reviewing before a
    DP fit: int or float, a duration, a date format, a column left out (before: the bare
    sdtype, "numerical" for a duration and for an integer count alike)."""
    rng = np.random.default_rng(0)
    n = 200
    df = _table(n, 0).assign(
        visits=rng.integers(0, 40, n),
        day=pd.Series(pd.date_range("2024-01-01", periods=n, freq="D").strftime("%d/%m/%Y")),
        customer_id=np.arange(n))
    df.to_parquet(tmp_path / "t.parquet")
    res = run("metadata", tmp_path / "t.parquet", "-o", tmp_path / "m.json")
    assert res.exit_code == 0, res.output
    lines = {x.split()[0]: " ".join(x.split()[1:]) for x in res.output.splitlines()
             if x.startswith("  ")}
    assert lines["stay"] == "numerical (duration, in seconds)"
    assert lines["x"] == "numerical (float)" and lines["visits"] == "numerical (int)"
    assert lines["day"] == "datetime (%d/%m/%Y)"
    assert lines["kind"] == "categorical"
    assert lines["customer_id"] == "id (not modelled)"


def test_a_csv_release_of_durations_fits_again(run, fitted, tmp_path):
    """A CSV holds durations as pandas writes them (``0 days 03:41:00``): ``fit`` on that CSV
    detects the column as a duration (before: one category per duration), and a Parquet
    release of the new model holds durations again."""
    release = tmp_path / "release.csv"
    assert run("sample", fitted / "m.tsmodel", "-n", "600", "-o", release, "--seed", "3",
               "--quiet").exit_code == 0
    res = run("fit", release, "-o", tmp_path / "again.tsmodel", "--epochs", "2", "--seed", "0",
              "--quiet")
    assert res.exit_code == 0, res.output
    line = next(x for x in run("info", tmp_path / "again.tsmodel").output.splitlines()
                if x.strip().startswith("stay"))
    assert "numerical (duration, range" in line
    out = tmp_path / "again.parquet"
    assert run("sample", tmp_path / "again.tsmodel", "-n", "50", "-o", out, "--seed", "1",
               "--quiet").exit_code == 0
    assert str(pd.read_parquet(out)["stay"].dtype) == "timedelta64[us]"
