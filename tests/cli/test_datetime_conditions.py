"""``--condition`` on a datetime column: ``"when>=2024-06-01"`` (before, the CLI refused it:
"compares 'when' with '2024-06-01', which is not a number", while the Python API took date
strings), a date that looks like a number (``"when>=2024"``), a tz-aware column, and a
clear error for text against a numeric column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def dated(tmp_path_factory, run):
    rng = np.random.default_rng(0)
    n = 1_500
    df = pd.DataFrame({
        "when": pd.Timestamp("2023-01-01", tz="UTC")
        + pd.to_timedelta(rng.integers(0, 24 * 730, n), "h"),
        "amount": np.round(rng.lognormal(3, 1, n), 2),
        "kind": rng.choice(["a", "b", "c"], n, p=[0.6, 0.35, 0.05]),
    })
    folder = tmp_path_factory.mktemp("dated")
    df.to_parquet(folder / "t.parquet")
    res = run("fit", folder / "t.parquet", "-o", folder / "m.tsmodel", "--epochs", "2",
              "--seed", "0", "--quiet")
    assert res.exit_code == 0, res.output
    return folder


def test_sample_with_a_date_range(run, dated):
    out = dated / "s.csv"
    res = run("sample", dated / "m.tsmodel", "-n", "300", "-o", out, "--seed", "1", "--quiet",
              "--condition", "when>=2024-06-01", "--condition", "when<=2024-06-30 23:59",
              "--condition", "kind=c")
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    when = pd.to_datetime(df["when"], utc=True)
    assert len(df) == 300 and (df["kind"] == "c").all()
    assert when.min() >= pd.Timestamp("2024-06-01", tz="UTC")
    assert when.max() <= pd.Timestamp("2024-06-30 23:59", tz="UTC")


def test_a_year_is_a_date_on_a_datetime_column(run, dated):
    out = dated / "y.csv"
    res = run("sample", dated / "m.tsmodel", "-n", "100", "-o", out, "--seed", "1", "--quiet",
              "--condition", "when>=2024")
    assert res.exit_code == 0, res.output
    assert pd.to_datetime(pd.read_csv(out)["when"], utc=True).min() >= pd.Timestamp(
        "2024-01-01", tz="UTC")


def test_text_against_a_numeric_column_is_a_clear_error(run, dated):
    res = run("sample", dated / "m.tsmodel", "-n", "10", "-o", dated / "x.csv", "--quiet",
              "--condition", "amount>=lots")
    assert res.exit_code == 2
    assert "amount" in res.output and "number" in res.output and "lots" in res.output
    assert not (dated / "x.csv").exists()


def test_evaluate_with_a_date_range(run, dated):
    real = pd.read_parquet(dated / "t.parquet")
    real.to_csv(dated / "real.csv", index=False)
    res = run("sample", dated / "m.tsmodel", "-n", "1500", "-o", dated / "syn.csv", "--seed",
              "2", "--quiet")
    assert res.exit_code == 0, res.output
    # --model: its metadata types 'when' as datetime (a CSV's dates are text to the evaluator)
    res = run("evaluate", dated / "real.csv", dated / "syn.csv", "-o", dated / "rep.html",
              "--json", dated / "rep.json", "--model", dated / "m.tsmodel",
              "--condition", "when>=2024-01-01", "--quiet")
    assert res.exit_code in (0, 1), res.output  # scored (pass or fail), not refused
    assert "2024-01-01" in (dated / "rep.json").read_text()
