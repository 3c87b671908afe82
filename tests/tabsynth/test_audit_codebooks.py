"""The demo's public codebooks are documentation constants, not values read from rows."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

from tabsynth import datasets
from tabsynth.datasets import codebooks
from tabsynth.demo import _public_codebook


def test_codebook_module_reads_no_data():
    tree = ast.parse(Path(codebooks.__file__).read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom)}
    assert imported <= {"__future__", "typing"}
    assert "read_csv" not in Path(codebooks.__file__).read_text()


@pytest.mark.parametrize("name", ["adult", "fraud", "stroke"])
def test_bundled_rows_fit_their_documented_codebook(name):
    df = datasets.load(name)
    for column, domain in codebooks.PUBLIC_DOMAINS[name].items():
        assert set(df[column].dropna().unique().tolist()) <= set(domain), column
    for column, (lo, hi) in codebooks.PUBLIC_BOUNDS[name].items():
        assert df[column].min() >= lo and df[column].max() <= hi, column
    meta = _public_codebook(name, df)
    meta.validate(df)
    for column, domain in codebooks.PUBLIC_DOMAINS[name].items():
        assert list(meta[column].public_domain) == domain


def test_documented_values_absent_from_the_rows_are_kept():
    # adult.names lists 'Never-worked'; the bundled 10,000-row sample has no such row.
    df = datasets.load("adult")
    assert "Never-worked" not in set(df["workclass"])
    assert "Never-worked" in _public_codebook("adult", df)["workclass"].public_domain


def test_declared_public_part_is_identical_on_neighbouring_tables():
    df = datasets.load("fraud").sample(500, random_state=0).reset_index(drop=True)
    row = df.iloc[[0]].copy()
    row["Make"] = "Tesla"                 # unseen category of an undocumented column
    row["Age"] = 999                      # an extreme value
    neighbour = pd.concat([df, row], ignore_index=True)
    a, b = _public_codebook("fraud", df), _public_codebook("fraud", neighbour)
    for column in a.modelled_columns:
        assert a[column].public_domain == b[column].public_domain, column
        assert a[column].public_bounds == b[column].public_bounds, column
    assert a["Make"].public_domain is None  # not documented: measured with DP


def test_unknown_codebook():
    with pytest.raises(ValueError, match="No codebook"):
        codebooks.declare_public(None, "nope")
