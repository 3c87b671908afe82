"""A declared public domain that is exactly the set of observed values warns (issue 11, item 5).

``public_domain=df[col].unique()`` is the usual leak: every rare value it names is released
with certainty, outside the budget. The fit warns (PrivacyWarning) when the declared domain
is exactly the values present and some are rare; a codebook that lists a value absent from
the table, or whose values are all common, does not trigger it. The warning quotes no value.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from tabsynth import Metadata
from tabsynth.privacy import PrivacyBudget, PrivacyWarning, noise_rng
from tabsynth.stats.private import compute_private_stats

N = 400


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    colour = rng.choice(["red", "green", "blue"], N).astype(object)
    colour[5] = "RARE_SECRET"  # one row
    return pd.DataFrame({"colour": pd.Series(colour, dtype="str")})


def _warnings(df: pd.DataFrame, domain: list) -> list[str]:
    md = Metadata({"colour": {"sdtype": "categorical", "public_domain": domain, "dtype": "str"}})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compute_private_stats(df, md, PrivacyBudget(1.0, 1e-6), rng=noise_rng())
    return [str(w.message) for w in caught if issubclass(w.category, PrivacyWarning)
            and "exactly the set of values" in str(w.message)]


def test_domain_read_from_the_rows_warns_without_quoting():
    df = _table()
    found = _warnings(df, sorted(df["colour"].unique()))
    assert len(found) == 1 and "'colour'" in found[0]
    assert "RARE_SECRET" not in found[0]


def test_a_codebook_with_a_value_absent_from_the_table_does_not_warn():
    assert _warnings(_table(), ["red", "green", "blue", "RARE_SECRET", "violet"]) == []


def test_a_domain_of_common_values_only_does_not_warn():
    df = _table()
    df.loc[5, "colour"] = "red"  # no rare value left
    assert _warnings(df, ["red", "green", "blue"]) == []
