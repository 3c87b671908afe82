"""The demo's DP metadata reads no values (issue 11, items 2 and 5).

``tabsynth demo`` (and notebook 02) fit DP models with metadata built from the pandas dtypes,
the column names and the published codebook only: never :meth:`Metadata.detect`, which looks
at the values (uniqueness, integer vs float, date formats). One added row that keeps the
dtypes (a duplicated policy number, an unseen category, an extreme value, a date-like text)
leaves the metadata identical.
"""

from __future__ import annotations

from unittest import mock

import pandas as pd
import pytest

from tabsynth import Metadata, datasets
from tabsynth.demo import _public_codebook


def _neighbour(df: pd.DataFrame, **values) -> pd.DataFrame:
    row = df.iloc[[0]].copy()
    for k, v in values.items():
        row[k] = v
    return pd.concat([df, row], ignore_index=True)


CASES = {
    "fraud": {"PolicyNumber": 1, "Make": "Never-seen-make", "Age": 10**6,
              "AgeOfVehicle": "2020-01-01"},
    "stroke": {"id": 9046, "work_type": "Astronaut", "avg_glucose_level": 1e9},
    "adult": {"workclass": "Never-seen", "age": 10**6, "native-country": "1999-12-31"},
}


@pytest.mark.parametrize("name", list(CASES))
def test_demo_metadata_is_the_same_on_neighbouring_tables(name):
    df = datasets.load(name).head(500).reset_index(drop=True)
    other = _neighbour(df, **{k: v for k, v in CASES[name].items() if k in df.columns})
    assert list(other.dtypes) == list(df.dtypes)
    with mock.patch.object(Metadata, "detect", side_effect=AssertionError("reads values")):
        a = _public_codebook(name, df).to_dict()
        b = _public_codebook(name, other).to_dict()
    assert a == b
