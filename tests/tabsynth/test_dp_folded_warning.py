"""A DP fit says when a text column comes out mostly "__other__".

Under DP a text column's categories are discovered with noisy counts and a threshold: a value
below it folds into "__other__". On a small table or a high-cardinality column that can be
every value (300 rows of 150 values: every synthetic value was "__other__") and the fit said
nothing; `tabsynth info` showed "categorical (1 category)". Now a UtilityWarning names the
column and the share of "__other__", one warning for all such columns, and `info` says what
the model holds. The share is the "__other__" frequency the model file keeps (the released
statistics): post-processing, nothing measured or saved for it.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from tabsynth.metadata import Metadata
from tabsynth.privacy import PrivacyBudget, UtilityWarning
from tabsynth.stats.private import compute_private_stats


def _table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    common = rng.choice(["x", "y"], n)
    return pd.DataFrame({
        "code": [f"c{i % 150}" for i in range(n)],  # 150 values, two rows each
        "mixed": np.where(rng.random(n) < 0.35, common, [f"m{i}" for i in range(n)]),
        "kind": common,  # two frequent values
    })


META = Metadata({c: {"sdtype": "categorical"} for c in ("code", "mixed", "kind")})


def _fit(df: pd.DataFrame, meta: Metadata, seed: int):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stats, _ = compute_private_stats(df, meta, PrivacyBudget(1.0, 1e-5), share=0.5,
                                         rng=np.random.default_rng(seed), point_bins=True)
    return stats, [str(w.message) for w in caught
                   if issubclass(w.category, UtilityWarning) and "__other__" in str(w.message)]


def test_columns_that_fold_mostly_into_other_are_named_once():
    for seed in range(3):
        stats, msgs = _fit(_table(), META, seed)
        assert len(msgs) == 1, msgs
        named = set(re.findall(r"'(code|mixed|kind)'", msgs[0]))
        assert named == {"code", "mixed"}
        assert "public_domain" in msgs[0]
        assert stats["code"].categories == ("__other__",)
        assert stats["kind"].categories[:2] == ("x", "y")


def test_the_share_is_the_released_other_frequency():
    meta = Metadata({"mixed": {"sdtype": "categorical"}, "kind": {"sdtype": "categorical"}})
    stats, msgs = _fit(_table(600), meta, 4)  # 600 rows: "x" and "y" clear the threshold
    assert len(msgs) == 1 and msgs[0].startswith("Column 'mixed': about ")
    assert "mostly '__other__'" in msgs[0]
    share = float(msgs[0].split("about ")[1].split("%")[0])
    st = stats["mixed"]
    assert share == pytest.approx(100 * st.frequencies[st.categories.index("__other__")], abs=0.5)
    assert 55 <= share <= 80  # 65% of the rows are unique values


def test_declared_domains_and_large_tables_do_not_warn():
    meta = Metadata({"code": {"sdtype": "categorical",
                              "public_domain": [f"c{i}" for i in range(150)]},
                     "kind": {"sdtype": "categorical"}})
    _, msgs = _fit(_table()[["code", "kind"]], meta, 0)
    assert not msgs
    big = pd.DataFrame({"code": [f"c{i % 150}" for i in range(60_000)]})
    _, msgs = _fit(big, Metadata({"code": {"sdtype": "categorical"}}), 0)
    assert not msgs
