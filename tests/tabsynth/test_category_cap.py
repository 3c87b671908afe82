"""The bound on categories per column, and wide tables' statistics in parallel."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabsynth import TVAE, Metadata
from tabsynth.errors import DataWarning
from tabsynth.stats import CategoricalStats, compute_stats
from tabsynth.stats.categories import OTHER, cap_categories


def _stats(cats, counts, other=None):
    c = np.asarray(counts, float)
    return CategoricalStats(tuple(cats), tuple(c / c.sum()), 0.1, other=other)


def test_under_the_cap_unchanged():
    st_ = _stats(["a", "b"], [1, 2])
    assert cap_categories("x", st_, 5) is st_


def test_strings_fold_into_the_sentinel():
    cats = [f"v{i}" for i in range(10)] + [OTHER]
    with pytest.warns(DataWarning, match=r"11 categories.*the 7 least frequent"):
        out = cap_categories("x", _stats(cats, range(1, 12)), 5)
    assert len(out.categories) == 5 and out.other == OTHER + "_"
    kept = dict(zip(out.categories, out.frequencies, strict=True))
    assert set(kept) == {"v9", OTHER, "v8", "v7", OTHER + "_"}  # the 4 most frequent + bucket
    assert kept[OTHER + "_"] == pytest.approx(sum(range(1, 8)) / 66)
    assert out.missing_rate == 0.1


def test_numbers_fold_into_the_most_frequent():
    with pytest.warns(DataWarning):
        out = cap_categories("x", _stats(list(range(8)), [5, 1, 1, 1, 1, 9, 1, 1]), 3)
    assert out.categories == (0, 1, 5)  # the 3 most frequent (ties: first), in order
    assert out.other == 5
    assert dict(zip(out.categories, out.frequencies, strict=True))[5] == pytest.approx(14 / 20)


def test_existing_other_is_kept_and_absorbs():
    cats = ["a", "b", "c", "d", "rare"]
    with pytest.warns(DataWarning):
        out = cap_categories("x", _stats(cats, [9, 8, 7, 6, 1], other="rare"), 3)
    assert "rare" in out.categories and out.other == "rare" and len(out.categories) == 3


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 50), min_size=1, max_size=40), st.integers(2, 12),
       st.booleans())
def test_cap_properties(counts, cap, text):
    cats = [f"c{i}" if text else i for i in range(len(counts))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = cap_categories("x", _stats(cats, counts), cap)
    assert len(out.categories) <= cap
    assert sum(out.frequencies) == pytest.approx(1.0)
    assert len(set(out.categories)) == len(out.categories)
    if len(counts) > cap:
        assert out.other in out.categories


def test_fit_with_many_categories_is_bounded():
    rng = np.random.default_rng(0)
    n = 6000
    df = pd.DataFrame({"code": pd.Series([f"k{v}" for v in rng.integers(0, 4000, n)],
                                         dtype="str"),
                       "x": rng.normal(size=n)})
    meta = Metadata.detect(df, warn=False).update_column("code", sdtype="categorical")
    with pytest.warns(DataWarning, match="more than the 1,000 a column models"):
        model = TVAE(epochs=1, verbose=False, embedding_dim=8, compress_dims=(16,),
                     decompress_dims=(16,)).fit(df, metadata=meta)
    span = next(s for s in model.transformer_.discrete_spans if s.column == "code")
    assert len(span.categories) == 1000 and OTHER in span.categories
    out = model.sample(200, random_state=0)
    assert len(out) == 200 and out["code"].isin(span.categories).all()


def test_wide_table_statistics_same_in_parallel():
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.gamma(2.0, size=(300, 20)), columns=[f"c{i}" for i in range(20)])
    meta = Metadata.detect(df, warn=False)
    one = compute_stats(df, meta, random_state=0, n_jobs=1).to_dict()
    two = compute_stats(df, meta, random_state=0, n_jobs=2).to_dict()
    assert one == two


def test_old_module_path_still_works_with_a_deprecation_warning():
    import importlib
    import sys

    import tabsynth.stats.categories as new

    sys.modules.pop("tabsynth.category_cap", None)
    with pytest.warns(DeprecationWarning, match="tabsynth.stats.categories"):
        old = importlib.import_module("tabsynth.category_cap")
    assert old.cap_categories is new.cap_categories
    assert (old.OTHER, old.MAX_CATEGORIES) == (new.OTHER, new.MAX_CATEGORIES)
