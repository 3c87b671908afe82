"""CSV outputs are written as the training CSV was: a semicolon / decimal-comma export comes back
semicolon / decimal-comma (sample, --rare, --oversample, rebalance), with its missing token;
a model fitted from Parquet, or a model file from before, writes plain CSV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabsynth.io import read_table


@pytest.fixture(scope="module")
def eu(run, tmp_path_factory):
    rng = np.random.default_rng(1)
    n = 300
    df = pd.DataFrame({"age": np.round(rng.uniform(1, 90, n), 2),
                       "bmi": np.round(rng.normal(28, 6, n), 1),
                       "sex": rng.choice(["F", "M"], n),
                       "stroke": rng.choice([0, 1], n, p=[0.85, 0.15])})
    df.loc[df.index[:20], "bmi"] = np.nan
    d = tmp_path_factory.mktemp("dialect")
    df.to_csv(d / "train.csv", sep=";", decimal=",", na_rep="N/A", index=False)
    df.to_parquet(d / "train.parquet", index=False)
    for name, data in (("m", "train.csv"), ("p", "train.parquet")):
        res = run("fit", d / data, "-o", d / f"{name}.tsmodel", "--na-values", "N/A",
                  "--epochs", "1", "--seed", "0", "--quiet")
        assert res.exit_code == 0, res.output
    return d


def _dialect(path) -> tuple[str, str]:
    from tabsynth._csvread import sniff

    return sniff(path.read_text())


@pytest.mark.parametrize("args", [
    ("-n", "200"),
    ("-n", "200", "--rare", "age:0.05"),
    ("--oversample", "stroke=1", "--ratio", "0.5", "--data", "{d}/train.csv"),
])
def test_sample_writes_the_training_csvs_dialect(run, eu, args):
    out = eu / "out.csv"
    res = run("sample", eu / "m.tsmodel", "-o", out, "--seed", "0", "--quiet",
              *[a.format(d=eu) for a in args])
    assert res.exit_code == 0, res.output
    assert _dialect(out) == (";", ",")
    back = read_table(out, na_values=["N/A"])  # sniffed back as it was written
    assert str(back["age"].dtype) == "float64" and str(back["bmi"].dtype) == "float64"
    if "--oversample" in args:
        assert back["bmi"].isna().sum() >= 20  # the real rows' N/A kept


def test_rebalance_writes_the_training_csvs_dialect(run, eu):
    out = eu / "balanced.csv"
    res = run("rebalance", eu / "m.tsmodel", "--protected", "sex", "--data", eu / "train.csv",
              "-o", out, "--seed", "0", "--quiet")
    assert res.exit_code == 0, res.output
    assert _dialect(out) == (";", ",")


def test_a_parquet_trained_model_writes_plain_csv(run, eu):
    out = eu / "plain.csv"
    res = run("sample", eu / "p.tsmodel", "-n", "100", "-o", out, "--quiet")
    assert res.exit_code == 0, res.output
    assert _dialect(out) == (",", ".")


def test_sample_to_takes_a_dialect_and_refuses_a_bad_one(eu, tmp_path):
    import tabsynth
    from tabsynth.errors import ParameterError

    model = tabsynth.load(eu / "m.tsmodel")
    model.sample_to(tmp_path / "x.csv", 50, random_state=0, sep="|", decimal=",")
    assert _dialect(tmp_path / "x.csv")[0] == "|"
    assert read_table(tmp_path / "x.csv")["age"].dtype == "float64"
    for bad in ({"sep": ";;"}, {"decimal": "\n"}, {"sep": ",", "decimal": ","}):
        with pytest.raises(ParameterError):
            model.sample_to(tmp_path / "y.csv", 50, **bad)
        assert not (tmp_path / "y.csv").exists()


# -- neighbouring tables: what a DP model file records of the CSV's format ------------------

def test_neighbouring_csvs_record_the_same_format(run, tmp_path):
    """D and D' = D plus one adversarial row (extreme values, a missing cell), both written as
    ';' / decimal-comma with 'N/A'. The format recorded for writing samples back (separator,
    decimal mark, missing token) is the file's, like its column names and dtypes: identical in
    both DP model files. (A user who wants nothing sniffed passes --sep and --decimal.)"""
    import json

    from tabsynth.artifact import read_manifest

    rng = np.random.default_rng(2)
    n = 200
    d = pd.DataFrame({"age": np.round(rng.uniform(1, 90, n), 2),
                      "bmi": np.round(rng.normal(28, 6, n), 1),
                      "sex": rng.choice(["F", "M"], n)})
    d.loc[d.index[:10], "bmi"] = np.nan
    adversarial = pd.DataFrame({"age": [123456.789], "bmi": [np.nan], "sex": ["M"]})
    meta = {"columns": {"age": {"sdtype": "numerical"}, "bmi": {"sdtype": "numerical"},
                        "sex": {"sdtype": "categorical", "public_domain": ["F", "M"]}},
            "na_values": ["N/A"]}
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    formats = []
    for name, df in (("d", d), ("d_prime", pd.concat([d, adversarial], ignore_index=True))):
        df.to_csv(tmp_path / f"{name}.csv", sep=";", decimal=",", na_rep="N/A", index=False)
        res = run("fit", tmp_path / f"{name}.csv", "-o", tmp_path / f"{name}.tsmodel",
                  "--metadata", tmp_path / "meta.json", "--epsilon", "3", "--delta", "1e-5",
                  "--epochs", "1", "--quiet")
        assert res.exit_code == 0, res.output
        formats.append(read_manifest(tmp_path / f"{name}.tsmodel")["csv_format"])
    assert formats[0] == formats[1] == {"na_rep": "N/A", "na_values": ["", "N/A"],
                                        "sep": ";", "decimal": ","}
