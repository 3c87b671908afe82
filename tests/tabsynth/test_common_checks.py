"""Common checks run against every synthesizer, with cheap settings from a per-class fixture."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tabsynth import CTGAN, TVAE, NotFittedError, ParameterError, datasets, load

CHEAP = {
    CTGAN: dict(epochs=1, batch_size=100, embedding_dim=8, generator_dim=(16,),
                discriminator_dim=(16,), verbose=False, device="cpu"),
    TVAE: dict(epochs=1, batch_size=100, embedding_dim=8, compress_dims=(16,),
               decompress_dims=(16,), verbose=False, device="cpu"),
}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return datasets.load("adult").sample(300, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module", params=[CTGAN, TVAE], ids=lambda c: c.__name__)
def make(request):
    """Factory of a synthesizer with cheap settings (overridable)."""
    cls = request.param

    def factory(**overrides):
        return cls(**{**CHEAP[cls], "random_state": 0, **overrides})

    factory.cls = cls
    return factory


@pytest.fixture(scope="module")
def fitted(make, data):
    return make().fit(data)


def test_fit_returns_self(make, data):
    model = make()
    assert model.fit(data) is model


def test_fitted_attributes(fitted, data):
    assert fitted.n_features_in_ == data.shape[1]
    assert fitted.columns_ == list(data.columns)
    assert str(fitted.device_) == "cpu"
    assert fitted.privacy_spent_ is None and fitted.ledger_ is None
    assert list(fitted.loss_history_["epoch"]) == [1]
    assert fitted.loss_history_.shape[1] >= 2
    assert np.isfinite(fitted.loss_history_.drop(columns="epoch").to_numpy()).all()


def test_same_seed_identical_models_and_samples(make, data, fitted):
    other = make().fit(data)
    a = fitted.sample(200, random_state=7)
    pd.testing.assert_frame_equal(a, other.sample(200, random_state=7))
    pd.testing.assert_frame_equal(a, fitted.sample(200, random_state=7))
    assert not a.equals(fitted.sample(200, random_state=8))


def test_refit_starts_from_scratch(make, data, fitted):
    model = make()
    model.fit(data.iloc[:150])
    model.fit(data)
    pd.testing.assert_frame_equal(
        model.sample(100, random_state=1), fitted.sample(100, random_state=1)
    )


def test_sample_shape_and_dtypes(fitted, data):
    out = fitted.sample(123, random_state=0)
    assert len(out) == 123
    assert list(out.columns) == list(data.columns)
    assert out.dtypes.to_dict() == data.dtypes.to_dict()
    assert len(fitted.sample(50, random_state=0, batch_size=7)) == 50


def test_save_load_round_trip(fitted, tmp_path):
    path = fitted.save(tmp_path / "model.tsmodel")
    loaded = load(path, device="cpu")
    assert type(loaded) is type(fitted)
    assert loaded.get_params() == fitted.get_params()
    pd.testing.assert_frame_equal(
        loaded.sample(150, random_state=3), fitted.sample(150, random_state=3)
    )
    pd.testing.assert_frame_equal(loaded.loss_history_, fitted.loss_history_)
    assert loaded.columns_ == fitted.columns_


def test_not_fitted_error(make, tmp_path):
    model = make()
    name = type(model).__name__
    msg = f"This {name} instance is not fitted yet. Call 'fit' first."
    for call in (lambda: model.sample(10), lambda: model.save(tmp_path / "m.tsmodel"),
                 lambda: model.sample_to(tmp_path / "x.csv", 10)):
        with pytest.raises(NotFittedError) as info:
            call()
        assert str(info.value) == msg
    assert isinstance(info.value, AttributeError)


def test_params_unchanged_by_fit(make, data):
    model = make()
    before = copy.deepcopy(model.get_params())
    ids = {k: id(v) for k, v in model.get_params().items()}
    model.fit(data)
    assert model.get_params() == before
    assert {k: id(v) for k, v in model.get_params().items()} == ids


def test_get_set_params(make):
    model = make()
    params = model.get_params()
    assert params["random_state"] == 0 and "epochs" in params and "epsilon" in params
    assert model.set_params(epochs=3, random_state=5) is model
    assert model.get_params()["epochs"] == 3 and model.random_state == 5
    with pytest.raises(ParameterError, match="Invalid parameter 'nope'"):
        model.set_params(nope=1)
    clone = make.cls(**model.get_params())
    assert clone.get_params() == model.get_params()


def test_init_stores_only(make):
    model = make(epochs=-1, device="gpu-typo")  # no validation in __init__
    assert model.epochs == -1
    assert not [k for k in vars(model) if k.endswith("_")]


@pytest.mark.parametrize(
    "param, value, expected",
    [
        ("epochs", 0, "an int >= 1"),
        ("batch_size", 2.5, "an int >= 1"),
        ("random_state", -1, "None or an int >= 0"),
        ("device", "gpu", "'auto', 'cpu'"),
        ("verbose", "yes", "a bool"),
        ("embedding_dim", 0, "an int >= 1"),
    ],
)
def test_invalid_params(make, data, param, value, expected):
    name = make.cls.__name__
    with pytest.raises(ParameterError) as info:
        make(**{param: value}).fit(data)
    msg = str(info.value)
    assert msg.startswith(f"The {param!r} parameter of {name} must be {expected}")
    assert msg.endswith(f"Got {value!r} instead.")


def test_invalid_epsilon(make, data):
    # DP training itself: tests/tabsynth/test_dp_models.py
    with pytest.raises(ParameterError, match="'epsilon' parameter"):
        make(epsilon=-1).fit(data)


def test_fit_from_path_and_metadata_dict(make, data, tmp_path, fitted):
    path = tmp_path / "train.csv"
    data.to_csv(path, index=False)
    md = fitted.metadata_.to_dict()
    model = make().fit(path, md)
    assert model.metadata_.to_dict() == md


def test_sample_argument_errors(fitted):
    with pytest.raises(ParameterError, match="'n' parameter"):
        fitted.sample(0)
    with pytest.raises(ParameterError, match="'random_state' parameter"):
        fitted.sample(10, random_state="x")
    with pytest.raises(ParameterError, match="'batch_size' parameter"):
        fitted.sample(10, batch_size=0)


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_sample_to_streams_chunks(fitted, tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    returned = fitted.sample_to(path, 1050, chunk_size=400, random_state=0, batch_size=300)
    assert returned == path and path.exists()
    if suffix == ".parquet":
        meta = pq.ParquetFile(path).metadata
        assert meta.num_rows == 1050 and meta.num_row_groups == 3
        back = pd.read_parquet(path)
    else:
        back = pd.read_csv(path)
        assert list(back.columns) == fitted.columns_  # header written once
    assert len(back) == 1050
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_sample_to_bad_extension_leaves_nothing(fitted, tmp_path):
    with pytest.raises(ParameterError, match="'path' parameter"):
        fitted.sample_to(tmp_path / "out.txt", 10)
    assert list(tmp_path.iterdir()) == []


def test_sample_to_conditions(fitted, tmp_path):
    path = fitted.sample_to(tmp_path / "c.csv", 300, chunk_size=128, random_state=0,
                            conditions={"sex": "Female"})
    back = pd.read_csv(path)
    assert len(back) == 300 and (back["sex"] == "Female").all()
