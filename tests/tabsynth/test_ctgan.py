"""CTGAN-specific behaviour: exact conditions, training-by-sampling, parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabsynth import CTGAN, ConditionError, ParameterError, datasets
from tabsynth.models.condvec import ConditionSampler

CHEAP = dict(epochs=1, batch_size=100, embedding_dim=8, generator_dim=(16,),
             discriminator_dim=(16,), verbose=False, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return datasets.load("adult").sample(400, random_state=1).reset_index(drop=True)


@pytest.fixture(scope="module")
def model(data) -> CTGAN:
    return CTGAN(**CHEAP).fit(data)


def test_defaults_follow_the_paper():
    p = CTGAN().get_params()
    assert p["embedding_dim"] == 128 and p["generator_dim"] == (256, 256)
    assert p["discriminator_dim"] == (256, 256) and p["pac"] == 10
    assert p["generator_lr"] == p["discriminator_lr"] == 2e-4
    assert p["generator_decay"] == p["discriminator_decay"] == 1e-6
    assert (p["batch_size"], p["epochs"], p["discriminator_steps"]) == (500, 300, 1)
    assert p["log_frequency"] is True and p["epsilon"] is None and p["device"] == "auto"


def test_batch_size_must_be_multiple_of_pac(data):
    with pytest.raises(ParameterError, match="must be a multiple of pac=10. Got 105 instead."):
        CTGAN(**{**CHEAP, "batch_size": 105}).fit(data)


def test_loss_history_columns(model):
    assert list(model.loss_history_.columns) == ["epoch", "generator_loss", "discriminator_loss"]


def test_exact_categorical_condition(model):
    out = model.sample(500, conditions={"income": ">50K"}, random_state=0)
    assert len(out) == 500 and (out["income"] == ">50K").all()
    rare = model.sample(200, conditions={"native-country": "Cuba"}, random_state=0)
    assert (rare["native-country"] == "Cuba").all()


def test_numeric_condition_needs_a_number(model):
    with pytest.raises(ConditionError, match="'education-num' is numerical"):
        model.sample(50, conditions={"education-num": "13"}, random_state=0)
    out = model.sample(20, conditions={"education-num": 13}, random_state=0)
    assert (out["education-num"] == 13).all()


def test_condition_is_deterministic(model):
    a = model.sample(100, conditions={"sex": "Female"}, random_state=4)
    b = model.sample(100, conditions={"sex": "Female"}, random_state=4)
    pd.testing.assert_frame_equal(a, b)


def test_several_columns_and_range(model):
    cond = {"sex": "Female", "income": ">50K", "age": (40, 60)}
    out = model.sample(300, conditions=cond, random_state=0)
    assert len(out) == 300
    assert (out["sex"] == "Female").all() and (out["income"] == ">50K").all()
    assert out["age"].between(40, 60).all()


def test_impossible_condition_raises_naming_it(model):
    with pytest.raises(ConditionError, match="'age' in \\[500, None\\]"):
        model.sample(10, conditions={"age": (500, None)}, random_state=0)


def test_unknown_column_and_value(model):
    with pytest.raises(ConditionError, match="'nope'"):
        model.sample(10, conditions={"nope": 1})
    with pytest.raises(ConditionError, match="'income' has no value 'rich'"):
        model.sample(10, conditions={"income": "rich"})


def test_condition_sampler_training_by_sampling(model, data):
    t = model.transformer_
    codes = t.category_codes(data)
    sampler = ConditionSampler(t, codes, log_frequency=True, n_rows=len(data))
    rng = np.random.default_rng(0)
    col, opt, gidx = sampler.training_condvec(5000, rng)
    assert (opt < sampler.dims[col]).all()
    rows = sampler.sample_rows(gidx, rng)
    assert (codes[rows, col] == opt).all()  # each real row has its condition's category
    # Columns are drawn uniformly.
    share = np.bincount(col, minlength=sampler.n_discrete) / len(col)
    assert np.allclose(share, 1 / sampler.n_discrete, atol=0.03)
    # Log-frequency flattens the category distribution of a skewed column (income).
    j = [s.column for s in t.discrete_spans].index("income")
    rich = (opt[col == j] == t.condition_index("income", ">50K")[1]).mean()
    assert 0.35 < rich < 0.65


def test_numeric_only_table():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=200), "b": rng.gamma(2.0, size=200)})
    model = CTGAN(**CHEAP).fit(df)
    out = model.sample(64, random_state=0)
    assert list(out.columns) == ["a", "b"] and len(out) == 64
    assert (model.sample(20, conditions={"a": (0.0, None)}, random_state=0)["a"] >= 0).all()


def test_sampling_forward_matches_dense_forward(model):
    import torch
    from torch.nn import functional as F

    gen = model._generator
    cd = model.transformer_.cond_dim
    idx = torch.from_numpy(model._cond.original_condvec(256, np.random.default_rng(0)))
    z = torch.randn(256, model.embedding_dim, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        dense = gen(torch.cat([z, F.one_hot(idx, cd).float()], dim=1))
        sparse = gen.forward_onehot(z, idx, cd)
    torch.testing.assert_close(sparse, dense, rtol=1e-4, atol=1e-5)


def test_categorical_draws_follow_the_logits(model):
    import torch

    layout = model._layout
    raw = torch.zeros(4000, layout.dim)
    st, ed = layout.softmax_spans[0]
    raw[:, st] = np.log(3.0)  # first slot: probability 3 / (3 + width - 1)
    out = layout.sample_one_hot(raw, generator=None, rng=np.random.default_rng(0))
    block = out[:, st:ed]
    assert torch.all(block.sum(dim=1) == 1)
    expected = 3 / (3 + (ed - st) - 1)
    assert abs(block[:, 0].float().mean().item() - expected) < 0.03
