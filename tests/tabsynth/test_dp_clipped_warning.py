"""A DP fit says when its DP upper bound cut off much of a column.

Under DP a numeric column's bounds come from a noisy histogram on a fixed grid: bins holding
fewer rows than the noise shows are cut off and their values clipped to the bound. On a small
table that can be most of a column (600 rows of 8 columns at epsilon 1: half zeros, half
amounts around 20 gave the DP range [0, 0.001], so every synthetic amount came out near
0.001) and nothing said so. No row of the accepted grid bins equals a DP upper bound, so the
rows that the column's DP histogram counts in its zero-width bin at the bound (or, one bin
per integer, at the top integer, less the rows the density below predicts there) are rows
clipped to it. The warning is post-processing of that noisy histogram (already charged): it
adds no measurement and writes nothing to the model.

Neighbouring tables first: D and D' = D plus one row above the column's range spend the
same (the same measurements, the same noise scale), and the warning reads only the noisy
counts the mechanism released, never the exact ones.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tabsynth.stats.private_columns as private_columns
from tabsynth.metadata import Metadata
from tabsynth.privacy import PrivacyBudget, UtilityWarning, noise_rng
from tabsynth.stats.dp_histogram import (
    clipped_rows,
    histogram_counts,
    histogram_edges,
)
from tabsynth.stats.private import compute_private_stats

META = Metadata({"amount": {"sdtype": "numerical", "representation": "float"},
                 "visits": {"sdtype": "numerical", "representation": "int"}})


def _small(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """Half exact zeros, half amounts around 20 (a lognormal), and a count column 0-4."""
    rng = np.random.default_rng(seed)
    amount = np.where(rng.random(n) < 0.5, 0.0, rng.lognormal(3.0, 1.0, n))
    return pd.DataFrame({"amount": amount, "visits": rng.integers(0, 5, n)})


def _dp(df: pd.DataFrame, meta: Metadata = META, rng=None, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stats, ledger = compute_private_stats(df, meta, PrivacyBudget(1.0, 1e-5), share=0.5,
                                              rng=rng or noise_rng(),
                                              point_bins=True, **kw)
    return stats, ledger, [w for w in caught if issubclass(w.category, UtilityWarning)]


def _entries(ledger) -> list[dict]:
    return [{k: v for k, v in e.items() if k != "spent"} for e in ledger.to_dict()["entries"]]


# ------------------------------------------------------------------------ neighbouring tables
def test_neighbouring_tables_spend_the_same_and_warn_from_noisy_counts(monkeypatch):
    """D and D' = D + one row far above the ranges: the same ledger (with the same noise
    draws, the same DP bounds too); the clip check is
    handed the noisy counts the histogram mechanism released (captured at the mechanism),
    never the exact ones."""
    released: list[np.ndarray] = []
    exact_seen: list[np.ndarray] = []
    checked: list[np.ndarray] = []
    histogram = private_columns.DPContext.histogram

    def spy_histogram(self, exact, target, params):
        exact_seen.append(np.asarray(exact, dtype=float)[:-1].copy())
        counts = histogram(self, exact, target, params)
        released.append(np.asarray(counts, dtype=float)[:-1].copy())
        return counts

    def spy_clipped(hist, edges, aligned, sigma, is_integer=False):
        checked.append(np.asarray(hist, dtype=float).copy())
        return clipped_rows(hist, edges, aligned, sigma, is_integer)

    monkeypatch.setattr(private_columns.DPContext, "histogram", spy_histogram)
    monkeypatch.setattr(private_columns, "clipped_rows", spy_clipped)
    d = _small()
    d2 = pd.concat([d, pd.DataFrame({"amount": [1e9], "visits": [10**6]})], ignore_index=True)
    _, la, _ = _dp(d, rng=np.random.default_rng(0))  # the same noise draws for D and D'
    _, lb, _ = _dp(d2, rng=np.random.default_rng(0))
    assert _entries(la) == _entries(lb)
    assert len(checked) == len(released) == 4  # two columns, two tables
    for seen, noisy, exact in zip(checked, released, exact_seen, strict=True):
        np.testing.assert_array_equal(seen, noisy)
        assert not np.array_equal(seen, exact)  # continuous noise: never the exact counts


@pytest.mark.parametrize("lo, hi, integer", [(0.0, 1e-3, False), (-50.0, 150.0, False),
                                             (0.0, 5e3, True)])
def test_one_row_above_the_bound_moves_only_the_top_point_bin(lo, hi, integer):
    """The layout (a function of the bounds alone) ends in a zero-width bin at the upper
    bound: a row of D' above it moves that count by one and no other; a row inside the
    range never lands there."""
    edges, aligned = histogram_edges(lo, hi, integer, 100, True)
    assert not aligned and edges[-1] == edges[-2] == hi
    x = np.random.default_rng(0).uniform(lo, hi, 500)
    x = x[x < hi]
    a = histogram_counts(x, edges)
    b = histogram_counts(np.append(x, hi + 10.0 * (hi - lo)), edges)
    assert a[-2] == 0  # the point bin at hi (the last present bin) is empty without clipping
    np.testing.assert_array_equal(np.flatnonzero(b - a), [len(edges) - 2])


def test_the_warning_is_not_written_to_the_model_file(tmp_path):
    """Nothing of the check travels: the model file of a fit that warned holds no trace of
    the warning. (The fit's own noise: about 1 draw in 30 puts the bound at 50, with fewer
    rows above it, and no warning; up to four fits, the first that warns is saved. One CI
    run met such a draw with a single fit.)"""
    from tabsynth import ARSynthesizer

    for _ in range(4):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m = ARSynthesizer(epochs=1, epsilon=1.0).fit(_small(), metadata=META)
        if any("clipped" in str(w.message) for w in caught):
            break
    else:
        pytest.fail("four DP fits of the 200-row table gave no clipping warning")
    path = m.save(tmp_path / "m.tsmodel")
    assert b"clipped" not in path.read_bytes()


# ------------------------------------------------------------------------------- the check
def test_an_integer_bound_keeps_its_own_rows():
    """One bin per integer: the top integer is the bound, whose own rows (as many as its
    neighbours hold) are not clipped; the excess is (fraud's Age at epsilon 0.1: DP bound
    50, a quarter of the rows at 50-80). A 0/1 column whose bound is 1 is not clipped."""
    edges, aligned = histogram_edges(0.0, 5.0, True, 100, True)
    assert aligned
    hist = np.array([100.0, 100, 100, 100, 100, 250])
    assert clipped_rows(hist, edges, aligned, 10.0, True) == pytest.approx(150.0)
    hist[-1] = 140.0  # 4 sd of the difference's noise is 10 * 4 * sqrt(1 + 1/4) = 44.7
    assert clipped_rows(hist, edges, aligned, 10.0, True) == 0.0
    edges, aligned = histogram_edges(0.0, 1.0, True, 100, True)
    assert clipped_rows(np.array([4800.0, 276.0]), edges, aligned, 14.0, True) == 0.0
    edges, aligned = histogram_edges(0.0, 1000.0, True, 100, True)  # wider than the bins
    hist = np.full(len(edges) - 1, 50.0)  # 50 rows per bin of 10 integers: 5 an integer
    hist[-1] = 5.0 + 300.0
    assert clipped_rows(hist, edges, aligned, 10.0, True) == pytest.approx(300.0, rel=0.02)


def test_equal_bins_cannot_tell():
    """Equal bins (CTGAN's and TVAE's non-integer statistics): the top bin mixes rows below
    the bound with those clipped to it, so no estimate (fraud's Year, 1994-1996 under the DP
    range [1000, 2000], sits wholly in the top bin [1990, 2000] unclipped)."""
    edges, aligned = histogram_edges(0.0, 100.0, False, 50, False)
    hist = np.zeros(50)
    hist[-1] = 1000.0
    assert clipped_rows(hist, edges, aligned, 5.0) == 0.0


def test_the_point_bin_at_the_bound_holds_the_clipped_rows():
    """The detail layout (point bins at the bounds, geometric half): the count in the
    zero-width bin at the upper bound, over the rows shown, whatever lies just below it."""
    edges, aligned = histogram_edges(0.0, 1e-3, False, 100, True)
    widths = np.diff(edges)
    hist = 1e5 * widths  # a flat density: 100 rows over the range
    hist[0] = 300.0  # the point bin at 0
    hist[-2] += 500.0  # a pile just below the bound: not clipped
    assert widths[-1] == 0 and clipped_rows(hist, edges, aligned, 0.1) == 0.0
    hist[-1] = 300.0
    assert clipped_rows(hist, edges, aligned, 0.1) == 300.0
    hist[-1] = 0.35  # within 4 noise sd
    assert clipped_rows(hist, edges, aligned, 0.1) == 0.0


def test_noise_alone_rarely_counts():
    """A histogram of pure noise (sd 1) or of a flat density plus noise, nothing at the
    bound: a count is read in at most 2 of 4,000 seeded draws (4 sd: 0.13 expected)."""
    rng = np.random.default_rng(0)
    edges, _ = histogram_edges(0.0, 100.0, False, 50, True)
    flat = 20.0 * np.diff(edges) / np.diff(edges).max()  # 0 in the point bins
    hits = 0
    for _ in range(2000):
        for base in (np.zeros(len(edges) - 1), flat):
            hist = base + rng.normal(0.0, 1.0, len(base))
            hits += clipped_rows(hist, edges, False, 1.0) > 0
    assert hits <= 2, hits


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-50, 1e4, allow_nan=False), min_size=2, max_size=60),
       st.sampled_from([(0.0, 1.0, False), (0.0, 5e3, True), (-10.0, 10.0, True)]),
       st.floats(0.1, 100.0))
def test_the_count_is_the_bounds_own(values, layout, sigma):
    """Either nothing or the noisy count at the bound (never a count read elsewhere), and
    only for a layout with a bin at the bound."""
    lo, hi, detail = layout
    edges, aligned = histogram_edges(lo, hi, False, len(values), detail)
    hist = np.resize(np.asarray(values, dtype=float), len(edges) - 1)
    rows = clipped_rows(hist, edges, aligned, sigma)
    assert rows in (0.0, hist[-1]) and rows >= 0.0
    assert rows == 0.0 or detail


# ---------------------------------------------------------------------------- end to end
def test_a_small_table_warns_about_the_cut_column():
    """200 rows at epsilon 1 (half of it on the statistics): the amounts around 20 are below
    the bounds histogram's noise, the DP range ends at 0.001, and half the rows are clipped
    to it (the column is named, with the bound, the share and the remedy). The count column
    0-4, about 40 rows per value, is not named: its top value is seen, or its rows sit below
    the bound. 20 seeded noise draws: the share is an estimate from two noisy counts (the
    rows at the bound, sd 14, and the table's rows)."""
    shares = []
    for seed in range(20):
        stats, _, caught = _dp(_small(), rng=np.random.default_rng(seed))
        msgs = [str(w.message) for w in caught if "clipped" in str(w.message)]
        assert not [m for m in msgs if "'visits'" in m], msgs
        if stats["amount"].upper < 1.0:
            assert len(msgs) == 1, msgs
            assert "'amount'" in msgs[0] and "0.001" in msgs[0] and "public_bounds" in msgs[0]
            shares.append(float(msgs[0].split("about ")[1].split("%")[0]))
    assert len(shares) >= 15, shares
    assert 40 <= np.median(shares) <= 65 and min(shares) >= 25 and max(shares) <= 95, shares


def test_os_entropy_noise_warns_too():
    """The fit's own noise source (about 1 draw in 30 puts the bound at 50, with fewer rows
    above it: three tries)."""
    found = []
    for _ in range(3):
        _, _, caught = _dp(_small(), rng=None)
        found += [w for w in caught if "'amount'" in str(w.message)]
    assert found


def test_declared_bounds_and_large_tables_do_not_warn():
    meta = Metadata({"amount": {"sdtype": "numerical", "representation": "float",
                                "public_bounds": [0.0, 500.0]},
                     "visits": {"sdtype": "numerical", "representation": "int"}})
    _, _, caught = _dp(_small(), meta)  # (visits, 40 rows a value, keeps its own DP bounds)
    assert not [w for w in caught if "'amount'" in str(w.message)]
    _, _, caught = _dp(_small(20_000))
    assert not [w for w in caught if "clipped" in str(w.message)]
