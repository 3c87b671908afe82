"""``tabsynth rebalance`` and ``tabsynth evaluate --protected`` end to end (in-process)."""

from __future__ import annotations

import json

import pandas as pd
import pytest


def test_augment_the_real_table_to_equal_shares(run, model_file, small_csv, tmp_path) -> None:
    out, summary = tmp_path / "bal.csv", tmp_path / "bal.json"
    res = run("rebalance", model_file, "--protected", "sex", "--data", small_csv, "-o", out,
              "--summary", summary, "--seed", "0")
    assert res.exit_code == 0, res.output
    real, table = pd.read_csv(small_csv), pd.read_csv(out)
    pd.testing.assert_frame_equal(table.iloc[: len(real)], real)
    counts = table["sex"].value_counts()
    assert counts["Female"] == counts["Male"] == real["sex"].value_counts().max()
    info = json.loads(summary.read_text())
    assert info["privacy"]["dp"] is False and info["protected"] == ["sex"]
    assert {g["label"] for g in info["groups"]} == {"Female", "Male"}
    assert "Not a DP release" in res.output and "Female" in res.output


def test_synthetic_release_with_shares_json(run, model_file, tmp_path) -> None:
    out = tmp_path / "rel.parquet"
    res = run("rebalance", model_file, "--protected", "sex", "-n", "200", "-o", out,
              "--shares", '{"Female": 0.25, "Male": 0.75}', "--seed", "1")
    assert res.exit_code == 0, res.output
    assert pd.read_parquet(out)["sex"].value_counts().to_dict() == {"Male": 150, "Female": 50}


def test_shares_from_a_file(run, model_file, tmp_path) -> None:
    shares = tmp_path / "shares.json"
    shares.write_text('{"Female": 0.5, "Male": 0.5}')
    out = tmp_path / "r.csv"
    res = run("rebalance", model_file, "--protected", "sex", "-n", "10", "-o", out,
              "--shares", shares)
    assert res.exit_code == 0, res.output
    assert pd.read_csv(out)["sex"].value_counts().to_dict() == {"Female": 5, "Male": 5}


@pytest.mark.parametrize("args, code, words", [
    (["--protected", "age", "-n", "10"], 2, "numerical"),
    (["--protected", "nope", "-n", "10"], 2, "not a modelled column"),
    (["--protected", "sex", "-n", "10", "--shares", '{"Female": 0.9}'], 2, "sum to 1"),
    (["--protected", "sex", "-n", "10", "--shares", "{nope"], 2, "not valid JSON"),
    (["--protected", "sex", "-n", "10", "--shares", "missing.json"], 2, "JSON file"),
    (["--protected", " , ", "-n", "10"], 2, "at least one column"),
    (["--protected", "sex", "-n", "10", "--data", "DATA"], 2, "-n goes without --data"),
    (["--protected", "sex", "--data", "DATA", "-o", "DATA"], 2, "also the input"),
    (["--protected", "sex", "-n", "10", "-o", "no/such/dir/x.csv"], 5, ""),
    (["--protected", "sex", "-n", "10", "-o", "out.txt"], 2, "output format"),
])
def test_bad_arguments(run, model_file, small_csv, tmp_path, args, code, words) -> None:
    args = [small_csv if a == "DATA" else a for a in args]
    if "-o" not in args:
        args += ["-o", str(tmp_path / "x.csv")]
    elif "no/such/dir/x.csv" in args:
        args[args.index("no/such/dir/x.csv")] = str(tmp_path / "no/such/dir/x.csv")
    res = run("rebalance", model_file, *args)
    assert res.exit_code == code, res.output
    assert words in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "x.csv").exists()


def test_bad_model_and_bad_data(run, model_file, tmp_path) -> None:
    res = run("rebalance", tmp_path / "missing.tsmodel", "--protected", "sex", "-n", "5",
              "-o", tmp_path / "x.csv")
    assert res.exit_code == 4, res.output
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    res = run("rebalance", model_file, "--protected", "sex", "--data", empty,
              "-o", tmp_path / "x.csv")
    assert res.exit_code == 3, res.output
    assert not (tmp_path / "x.csv").exists()


def test_evaluate_protected_writes_the_fairness_section(run, small_csv, tmp_path) -> None:
    df = pd.read_csv(small_csv)
    train, hold = df.iloc[:300], df.iloc[300:]
    train.to_csv(tmp_path / "train.csv", index=False)
    hold.to_csv(tmp_path / "hold.csv", index=False)
    syn = train.sample(frac=1.0, random_state=1)
    syn.to_csv(tmp_path / "syn.csv", index=False)
    res = run("evaluate", tmp_path / "train.csv", tmp_path / "syn.csv", "--holdout",
              tmp_path / "hold.csv", "--target", "income", "--protected", "sex",
              "-o", tmp_path / "r.html", "--json", tmp_path / "r.json", "--no-progress")
    assert res.exit_code in (0, 1), res.output
    fair = json.loads((tmp_path / "r.json").read_text())["fairness"]
    assert fair["protected"] == ["sex"] and fair["target"] == "income"
    assert {g["label"] for g in fair["groups"]} == {"Female", "Male"}
    assert set(fair["downstream"]["models"]) == {"real", "release"}
    assert "demographic-parity difference" in res.output
    bad = run("evaluate", tmp_path / "train.csv", tmp_path / "syn.csv", "--protected", "age",
              "-o", tmp_path / "b.html", "--no-progress")
    assert bad.exit_code == 2 and "numeric" in bad.output
    assert not (tmp_path / "b.html").exists()
