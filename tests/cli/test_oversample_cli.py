"""``tabsynth sample --oversample / --rare`` end to end (in-process)."""

from __future__ import annotations

import math

import pandas as pd
import pytest


def test_help_documents_rare_events(run):
    res = run("sample", "--help")
    assert res.exit_code == 0
    for word in ("--oversample", "--ratio", "--data", "--rare", "--tail"):
        assert word in res.output


def test_oversample_writes_real_plus_synthetic(run, model_file, small_csv, tmp_path):
    real = pd.read_csv(small_csv)
    out = tmp_path / "aug.csv"
    res = run("sample", model_file, "--oversample", "income=>50K", "--ratio", "0.9",
              "--data", small_csv, "-o", out, "--seed", "0")
    assert res.exit_code == 0, res.output
    aug = pd.read_csv(out)
    n_rich, n_poor = int((real["income"] == ">50K").sum()), int((real["income"] == "<=50K").sum())
    assert (aug["income"] == ">50K").sum() == math.ceil(0.9 * n_poor)
    assert (aug["income"] == "<=50K").sum() == n_poor
    pd.testing.assert_frame_equal(aug.iloc[: len(real)], real)
    assert f"{math.ceil(0.9 * n_poor) - n_rich:,} synthetic rows" in res.output


def test_rare_numeric_tail_and_rare_categories(run, model_file, tmp_path):
    from tabsynth import load
    from tabsynth.sampling.rare import tail_cutoffs

    out = tmp_path / "tail.csv"
    res = run("sample", model_file, "-n", "200", "--rare", "age:0.1", "--tail", "lower",
              "-o", out, "--seed", "0")
    assert res.exit_code == 0, res.output
    lo, _ = tail_cutoffs(load(model_file), "age", quantile=0.1)
    df = pd.read_csv(out)
    assert len(df) == 200 and (df["age"] <= lo + 1e-9).all()

    out2 = tmp_path / "cats.csv"
    res = run("sample", model_file, "-n", "100", "--rare", "workclass:0.1", "-o", out2,
              "--condition", "sex=Female", "--seed", "0")
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out2)
    assert len(df) == 100 and (df["sex"] == "Female").all()
    assert "Private" not in set(df["workclass"])  # the majority category is not rare


@pytest.mark.parametrize(
    "args, words",
    [
        (["--oversample", "income=>50K", "--data", "{csv}"], "--ratio"),
        (["--oversample", "income=>50K", "--ratio", "0.1", "--data", "{csv}"], "not above"),
        (["--oversample", "income=rich", "--ratio", "0.9", "--data", "{csv}"], "rich"),
        (["--oversample", "nope=1", "--ratio", "0.9", "--data", "{csv}"], "nope"),
        (["--ratio", "0.5", "-n", "5"], "--oversample"),
        ([], "-n"),
        (["-n", "5", "--rare", "workclass:0.0001"], "rarest"),
        (["-n", "5", "--rare", "age:x"], "COL:Q"),
    ],
)
def test_bad_input_is_a_usage_error(run, model_file, small_csv, tmp_path, args, words):
    out = tmp_path / "x.csv"
    args = [a.replace("{csv}", small_csv) for a in args]
    res = run("sample", model_file, "-o", out, *args)
    assert res.exit_code == 2, res.output
    assert words in res.output
    assert not out.exists()
