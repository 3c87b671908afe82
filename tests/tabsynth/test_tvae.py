"""TVAE-specific behaviour: loss parts, learned scales, conditions by rejection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabsynth import TVAE, ConditionError, datasets

CHEAP = dict(epochs=2, batch_size=100, embedding_dim=8, compress_dims=(16,),
             decompress_dims=(16,), verbose=False, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return datasets.load("adult").sample(400, random_state=2).reset_index(drop=True)


@pytest.fixture(scope="module")
def model(data) -> TVAE:
    return TVAE(**CHEAP).fit(data)


def test_defaults_follow_the_paper():
    p = TVAE().get_params()
    assert p["embedding_dim"] == 128
    assert p["compress_dims"] == p["decompress_dims"] == (128, 128)
    assert (p["l2scale"], p["learning_rate"], p["loss_factor"]) == (1e-5, 1e-3, 2.0)
    assert (p["batch_size"], p["epochs"]) == (500, 300)


def test_loss_history(model):
    h = model.loss_history_
    assert list(h.columns) == ["epoch", "loss", "reconstruction_loss", "kl_loss"]
    assert np.allclose(h["loss"], h["reconstruction_loss"] + h["kl_loss"])
    assert (h["kl_loss"] >= 0).all()


def test_sigma_is_clamped(model):
    sigma = model._decoder.sigma.detach().numpy()
    assert ((sigma >= 0.01) & (sigma <= 1.0)).all()


def test_categorical_condition_by_rejection(model):
    out = model.sample(300, conditions={"income": ">50K"}, random_state=0)
    assert len(out) == 300 and (out["income"] == ">50K").all()


def test_list_of_values_and_range(model):
    out = model.sample(200, conditions={"race": ["Black", "Asian-Pac-Islander"], "age": (None, 40)},
                       random_state=0)
    assert len(out) == 200
    assert out["race"].isin(["Black", "Asian-Pac-Islander"]).all() and (out["age"] <= 40).all()


def test_impossible_condition_raises(model):
    with pytest.raises(ConditionError, match="Could not generate 5 rows"):
        model.sample(5, conditions={"age": (None, -10)}, random_state=0)


def test_unknown_value(model):
    with pytest.raises(ConditionError, match="has no value"):
        model.sample(5, conditions={"sex": "Other"})
