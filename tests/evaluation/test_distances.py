"""Gower distances: the chunked fast path equals the definition, memory stays bounded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tabsynth.evaluation.distances import (
    GowerEncoder,
    _block_distances,
    canonical_rows,
    gower_matrix,
    nearest_neighbors,
)

KINDS = {
    "x": "numerical",
    "y": "numerical",
    "c": "categorical",
    "t": "datetime",
    "h": "categorical",
}


@st.composite
def mixed_frame(draw, n_min=1, n_max=12):
    n = draw(st.integers(n_min, n_max))
    num = st.one_of(st.none(), st.floats(-5, 5, allow_nan=False).map(lambda v: round(v, 2)))
    cat = st.one_of(st.none(), st.sampled_from(["a", "b", "c"]))
    xs = draw(st.lists(num, min_size=n, max_size=n))
    ys = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    cs = draw(st.lists(cat, min_size=n, max_size=n))
    ts = draw(st.lists(st.one_of(st.none(), st.integers(0, 1000)), min_size=n, max_size=n))
    hs = draw(st.lists(st.integers(0, 9), min_size=n, max_size=n))
    return pd.DataFrame(
        {
            "x": pd.array(xs, dtype="Float64").astype("float64"),
            "y": ys,
            "c": pd.Series(cs, dtype="str"),
            "t": pd.to_datetime(
                pd.Series([None if v is None else v * 3600 for v in ts], dtype="float64"), unit="s"
            ),
            "h": [f"v{v}" for v in hs],
        }
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    a=mixed_frame(),
    b=mixed_frame(),
    k=st.integers(1, 6),
    chunk=st.integers(1, 5),
    max_onehot=st.sampled_from([2, 64]),
)
def test_chunked_knn_equals_brute_force(a, b, k, chunk, max_onehot):
    enc = GowerEncoder(KINDS, max_onehot=max_onehot).fit(b, a)
    dist, idx = nearest_neighbors(
        enc.transform(a), enc.transform(b), k=k, chunk_size=chunk, n_jobs=2
    )
    full = gower_matrix(a, b, kinds=KINDS)
    kk = min(k, len(b))
    assert dist.shape == idx.shape == (len(a), kk)
    np.testing.assert_allclose(dist, np.sort(full, axis=1)[:, :kk], atol=1e-5)
    # the returned indices point at records at the returned distances
    np.testing.assert_allclose(np.take_along_axis(full, idx, axis=1), dist, atol=1e-5)
    assert np.all((full >= -1e-12) & (full <= 1 + 1e-12))


def test_gower_definition_by_hand():
    a = pd.DataFrame({"n": [0.0, np.nan, 5.0], "c": ["a", None, "b"]})
    b = pd.DataFrame({"n": [10.0, np.nan, 0.0], "c": ["a", None, "a"]})
    kinds = {"n": "numerical", "c": "categorical"}
    m = gower_matrix(a, b, kinds=kinds)  # range of n in b is 10
    assert m[0, 0] == pytest.approx((1.0 + 0) / 2)
    assert m[1, 1] == pytest.approx(0.0)  # missing vs missing
    assert m[1, 0] == pytest.approx(1.0)  # missing vs value
    assert m[2, 2] == pytest.approx((0.5 + 1) / 2)


def test_values_outside_training_range_are_clipped():
    train = pd.DataFrame({"n": [0.0, 10.0]})
    far = pd.DataFrame({"n": [1000.0]})
    enc = GowerEncoder({"n": "numerical"}).fit(train, far)
    d, i = nearest_neighbors(enc.transform(far), enc.transform(train), k=2)
    assert d.tolist() == [[0.0, 1.0]] and i.tolist() == [[1, 0]]


def test_chunk_size_bounds_the_blocks():
    rng = np.random.default_rng(0)
    q = pd.DataFrame({"x": rng.random(1000), "c": rng.choice(list("abc"), 1000)})
    r = pd.DataFrame({"x": rng.random(300), "c": rng.choice(list("abc"), 300)})
    kinds = {"x": "numerical", "c": "categorical"}
    enc = GowerEncoder(kinds).fit(r, q)
    shapes = []

    def spy(qb, ref, ref_t):
        out = _block_distances(qb, ref, ref_t)
        shapes.append(out.shape)
        return out

    d_spy, _ = nearest_neighbors(
        enc.transform(q), enc.transform(r), k=2, chunk_size=64, block_fn=spy
    )
    assert shapes and max(s[0] for s in shapes) <= 64 and sum(s[0] for s in shapes) == 1000
    assert all(s[1] == 300 for s in shapes)
    d, _ = nearest_neighbors(enc.transform(q), enc.transform(r), k=2, chunk_size=1000, n_jobs=1)
    np.testing.assert_allclose(d, d_spy)


def test_canonical_rows_compare_by_value():
    a = pd.DataFrame({"n": [39, 40], "c": ["x", None]})
    b = pd.DataFrame({"n": [39.0, 40.0], "c": ["x", np.nan]})
    kinds = {"n": "numerical", "c": "categorical"}
    assert (canonical_rows(a, kinds) == canonical_rows(b, kinds)).all()
    assert canonical_rows(a, kinds)[0] != canonical_rows(a, kinds)[1]


def test_invalid_arguments():
    enc = GowerEncoder({"x": "numerical"}).fit(pd.DataFrame({"x": [1.0]}))
    e = enc.transform(pd.DataFrame({"x": [1.0]}))
    with pytest.raises(ValueError, match="k must be"):
        nearest_neighbors(e, e, k=0)
    with pytest.raises(ValueError, match="empty"):
        nearest_neighbors(e, enc.transform(pd.DataFrame({"x": []})))
