"""``tabsynth evaluate`` reads CSV inputs as ``tabsynth fit`` does: a semicolon / decimal-comma
export that fit accepts evaluates too, and ``--model`` brings the missing tokens fit used."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def eu_export(tmp_path_factory):
    """A stroke-like table written as a European spreadsheet exports it, 'N/A' for missing."""
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({
        "age": np.round(rng.uniform(1, 90, n), 1),
        "bmi": np.round(rng.normal(28, 6, n), 1),
        "smoking": rng.choice(["never", "formerly", "None"], n),  # "None" is a category
        "stroke": rng.choice([0, 1], n, p=[0.9, 0.1]),
    })
    df.loc[df.index[:40], "bmi"] = np.nan
    d = tmp_path_factory.mktemp("eu")
    df.to_csv(d / "train.csv", sep=";", decimal=",", na_rep="N/A", index=False)
    return d


@pytest.fixture(scope="module")
def fitted(run, eu_export):
    d = eu_export
    res = run("fit", d / "train.csv", "-o", d / "m.tsmodel", "--na-values", "N/A",
              "--epochs", "1", "--seed", "0", "--quiet")
    assert res.exit_code == 0, res.output
    res = run("sample", d / "m.tsmodel", "-n", "400", "-o", d / "syn.csv", "--seed", "0",
              "--quiet")
    assert res.exit_code == 0, res.output
    assert "N/A" in (d / "syn.csv").read_text()  # written with the token fit read
    return d


def test_a_semicolon_export_fit_accepts_evaluates_with_the_models_tokens(run, fitted):
    d = fitted
    res = run("evaluate", d / "train.csv", d / "syn.csv", "--model", d / "m.tsmodel",
              "--target", "stroke", "-o", d / "r.html", "--json", d / "r.json", "--quiet")
    assert res.exit_code in (0, 1), res.output  # a verdict, not an input error
    rep = json.loads((d / "r.json").read_text())
    read = rep["parameters"]["csv_read"]
    assert read["real"] == "separator ';', decimal mark ','; missing: the empty field, 'N/A'"
    # sample wrote the release as the training CSV was written
    assert read["synthetic"] == "separator ';', decimal mark ','; missing: the empty field, 'N/A'"
    assert rep["parameters"]["columns"]["bmi"] == "numerical"
    shapes = next(m for m in rep["metrics"] if m["name"] == "column_shapes")
    smoking = next(c for c in shapes["details"]["columns"] if c["column"] == "smoking")
    assert smoking["score"] > 0.8  # "None" compared as the category it is on both sides


def test_na_values_on_the_command_line_win_over_the_model(run, fitted):
    d = fitted
    res = run("evaluate", d / "train.csv", d / "syn.csv", "--model", d / "m.tsmodel",
              "--na-values", "None", "--na-values", "N/A", "-o", d / "r2.html",
              "--json", d / "r2.json", "--quiet")
    assert res.exit_code in (0, 1), res.output
    read = json.loads((d / "r2.json").read_text())["parameters"]["csv_read"]
    assert read["real"].endswith("missing: the empty field, 'None', 'N/A'")


def test_without_a_model_pandas_tokens_apply_and_the_report_says_so(run, fitted):
    d = fitted
    res = run("evaluate", d / "train.csv", d / "syn.csv", "-o", d / "r3.html",
              "--json", d / "r3.json", "--quiet")
    assert res.exit_code in (0, 1), res.output
    rep = json.loads((d / "r3.json").read_text())
    assert rep["parameters"]["csv_read"]["real"].endswith("missing: pandas' default tokens")
    assert rep["parameters"]["columns"]["bmi"] == "numerical"


@pytest.mark.parametrize("args,code,text", [
    (("--sep", "xx"), 2, "The sep must be one character, got 'xx'."),
    (("--decimal", ".."), 2, "The decimal must be one character"),
    (("--sep", ","), 3, "not a well-formed CSV with the separator ','"),
    (("--sep", "|"), 3, "contains ';'"),
])
def test_bad_dialect_options_get_clear_errors_and_write_nothing(run, fitted, args, code, text):
    d = fitted
    from click.testing import CliRunner

    from tabsynth.cli._app import cli

    res = CliRunner().invoke(cli, ["evaluate", str(d / "train.csv"), str(d / "syn.csv"),
                                   "-o", str(d / "bad.html"), "--quiet", *args])
    assert res.exit_code == code, res.output
    assert text in res.output
    assert not (d / "bad.html").exists()


def test_a_separator_given_applies_to_every_csv_input(run, fitted):
    d = fitted
    res = run("evaluate", d / "train.csv", d / "syn.csv", "--sep", "semicolon",
              "-o", d / "r4.html", "--json", d / "r4.json", "--quiet")
    assert res.exit_code in (0, 1), res.output  # both files are ';'-separated
    read = json.loads((d / "r4.json").read_text())["parameters"]["csv_read"]
    assert read["real"].startswith("separator ';'") and read["synthetic"].startswith(
        "separator ';'")
    pd.DataFrame({"age": [1.5] * 200, "bmi": [20.0] * 200}).to_csv(d / "plain.csv", index=False)
    res = run("evaluate", d / "train.csv", d / "plain.csv", "--sep", "semicolon",
              "-o", d / "r7.html", "--quiet")
    assert res.exit_code == 3  # a comma-separated file read with ';': refused, named
    assert "synthetic table plain.csv" in res.output


def test_the_metadata_files_tokens_apply_and_a_broken_one_is_a_data_error(run, fitted):
    d = fitted
    meta = {"columns": {"age": {"sdtype": "numerical"}, "bmi": {"sdtype": "numerical"},
                        "smoking": {"sdtype": "categorical"}, "stroke": {"sdtype": "categorical"}},
            "na_values": ["N/A"]}
    (d / "meta.json").write_text(json.dumps(meta))
    res = run("evaluate", d / "train.csv", d / "syn.csv", "--metadata", d / "meta.json",
              "-o", d / "r5.html", "--json", d / "r5.json", "--quiet")
    assert res.exit_code in (0, 1), res.output
    read = json.loads((d / "r5.json").read_text())["parameters"]["csv_read"]
    assert read["real"].endswith("missing: the empty field, 'N/A'")
    (d / "broken.json").write_text("{not json")
    res = run("evaluate", d / "train.csv", d / "syn.csv", "--metadata", d / "broken.json",
              "-o", d / "r6.html", "--quiet")
    assert res.exit_code == 3, res.output
    assert not (d / "r6.html").exists()
