"""``tabsynth sample DP_MODEL --oversample COL=VALUE``: only classes the DP model holds.

Issue 11, item 4: under DP the label domain is declared (metadata ``public_domain``, e.g.
``tabsynth fit --metadata meta.json``) or released by the thresholded DP histogram. A label
held by one real row is in neither, so the DP model knows nothing about it; before the fix the
command read the label from ``--data`` and the model was asked for it anyway. Now the command
refuses it up front (usage error, exit 2, nothing written) and names the model's classes and
how to declare them; a declared class is oversampled.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

SECRET = "SECRET_LABEL_7"
FIT = ("--model", "tvae", "--epochs", "1", "--batch-size", "40", "--epsilon", "2",
       "--delta", "1e-6", "--seed", "0", "--quiet")


@pytest.fixture(scope="module")
def tables(tmp_path_factory, small_csv):
    d = tmp_path_factory.mktemp("dp-oversample")
    real = pd.read_csv(small_csv)
    with_secret = pd.concat([real, real.iloc[[0]].assign(income=SECRET)], ignore_index=True)
    path = d / "with_secret.csv"
    with_secret.to_csv(path, index=False)
    # schema_version: a tabsynth metadata file (without it the CLI reads SDV metadata)
    meta = {"schema_version": 1, "columns": {
        "age": {"sdtype": "numerical"}, "workclass": {"sdtype": "categorical"},
        "education-num": {"sdtype": "numerical"}, "sex": {"sdtype": "categorical"},
        "hours-per-week": {"sdtype": "numerical"},
        "income": {"sdtype": "categorical", "public_domain": ["<=50K", ">50K"]}}}
    meta_path = d / "meta.json"
    meta_path.write_text(json.dumps(meta))
    return d, path, meta_path


def test_a_label_of_one_real_row_is_refused(run, tables):
    d, path, _ = tables
    model = d / "dp.tsmodel"
    res = run("fit", path, "-o", model, *FIT)
    assert res.exit_code == 0, res.output
    out = d / "aug.csv"
    res = run("sample", model, "--oversample", f"income={SECRET}", "--ratio", "0.9",
              "--data", path, "-o", out, "--seed", "0")
    assert res.exit_code == 2, res.output
    assert "DP model" in res.output and "public_domain" in res.output
    assert not out.exists()


def test_a_declared_class_is_oversampled(run, tables, small_csv):
    d, _, meta = tables
    model = d / "dp-declared.tsmodel"
    res = run("fit", small_csv, "-o", model, "--metadata", meta, *FIT)
    assert res.exit_code == 0, res.output
    out = d / "aug-declared.csv"
    res = run("sample", model, "--oversample", "income=>50K", "--ratio", "0.9",
              "--data", small_csv, "-o", out, "--seed", "0")
    assert res.exit_code == 0, res.output
    aug = pd.read_csv(out)
    real = pd.read_csv(small_csv)
    assert len(aug) > len(real)
    assert set(aug["income"]) == {"<=50K", ">50K"}
