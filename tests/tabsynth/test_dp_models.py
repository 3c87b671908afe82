"""DP-SGD training of CTGAN and TVAE: budget, leakage, reproducibility, errors, clipping."""

from __future__ import annotations

import json
import math
import zipfile

import numpy as np
import pandas as pd
import pytest

from tabsynth import CTGAN, TVAE, ParameterError, datasets, load
from tabsynth.privacy import (
    BudgetError,
    IncompatibleModuleError,
    Ledger,
    compose,
)

TINY = {
    CTGAN: dict(embedding_dim=8, generator_dim=(16,), discriminator_dim=(16,)),
    TVAE: dict(embedding_dim=8, compress_dims=(16,), decompress_dims=(16,)),
}
COLUMNS = ["age", "workclass", "fnlwgt", "education", "sex", "hours-per-week", "income"]
RARE = "Zeppelin-Pilot-7781"  # occurs once
LOW, HIGH = 3.14159, 1234567.891  # the exact real min / max of fnlwgt


def make(cls, **kw):
    params = dict(epochs=1, batch_size=50, epsilon=3.0, accountant="rdp", verbose=False,
                  device="cpu", random_state=0, **TINY[cls])
    params.update(kw)
    return cls(**params)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    df = datasets.load("adult").sample(600, random_state=1).reset_index(drop=True)[COLUMNS]
    df["fnlwgt"] = df["fnlwgt"].astype(float)
    df.loc[0, "workclass"] = RARE
    df.loc[1, "fnlwgt"] = LOW
    df.loc[2, "fnlwgt"] = HIGH
    return df


@pytest.fixture(scope="module", params=[CTGAN, TVAE], ids=lambda c: c.__name__)
def cls(request):
    return request.param


@pytest.fixture(scope="module")
def fitted(cls, data):
    return make(cls).fit(data)


# ------------------------------------------------------------------------------ budget
@pytest.mark.parametrize("epsilon, epochs, batch_size, n", [
    (0.5, 1, 40, 400), (2.0, 2, 60, 600), (8.0, 3, 25, 300),
])
def test_composed_epsilon_within_budget(cls, data, epsilon, epochs, batch_size, n):
    model = make(cls, epsilon=epsilon, epochs=epochs, batch_size=batch_size)
    model.fit(data.iloc[:n])
    spent = model.privacy_spent_
    assert spent["epsilon"] <= epsilon and spent["accountant"] == "rdp"
    assert spent["delta"] < 1 / n
    ledger = model.ledger_
    eps, delta = ledger.spent()
    assert eps <= epsilon and delta == spent["delta"]
    # recompute from the raw history: the same accountant, nothing hidden
    again, _ = compose(ledger.history(), delta, extra_delta=ledger.extra_delta, accountant="rdp")
    assert again <= epsilon
    dpsgd = [e for e in ledger.entries if e.mechanism == "dpsgd"]
    assert len(dpsgd) == 1
    q = dpsgd[0].sample_rate
    assert dpsgd[0].steps == epochs * math.ceil(1 / q)
    # the exact n is never used: the rate comes from the noisy count of the statistics
    assert q == pytest.approx(batch_size / model.stats_.n_rows)
    assert 0 < q < 1
    assert model.loss_history_["epsilon"].is_monotonic_increasing
    assert model.loss_history_["epsilon"].iloc[-1] == pytest.approx(spent["epsilon"])


def test_prv_accountant_and_default_delta(data):
    model = make(TVAE, accountant="prv", epsilon=1.0).fit(data)
    assert model.privacy_spent_["accountant"] == "prv"
    assert model.privacy_spent_["epsilon"] <= 1.0
    entries = model.ledger_.entries
    assert entries[0].mechanism == "gaussian_count"  # default delta from a DP row count
    assert model.ledger_.budget.delta <= 1e-5


def test_no_real_data_losses_recorded(fitted, cls):
    cols = list(fitted.loss_history_.columns)
    assert cols == (["epoch", "generator_loss", "epsilon"] if cls is CTGAN else
                    ["epoch", "epsilon"])


# ------------------------------------------------------------------------------ leakage
def test_rare_category_and_exact_extremes_not_in_model(fitted, tmp_path):
    path = fitted.save(tmp_path / "m.tsmodel")
    with zipfile.ZipFile(path) as zf:
        manifest = zf.read("manifest.json").decode("utf-8")
        weights = zf.read("weights.safetensors")
    assert RARE not in manifest and RARE.encode() not in weights
    for value in (LOW, HIGH):
        for text in (repr(value), str(value), f"{value:g}", json.dumps(value)):
            assert text not in manifest
    from safetensors import safe_open

    with safe_open(_dump(weights, tmp_path), "pt") as f:
        keys = list(f.keys())
        meta = f.metadata() or {}
    assert not any(RARE in k for k in keys) and RARE not in json.dumps(meta)
    syn = fitted.sample(5000, random_state=0)
    assert RARE not in set(syn["workclass"].astype(str))


def _dump(weights: bytes, folder) -> str:
    path = folder / "weights.safetensors"
    path.write_bytes(weights)
    return str(path)


def test_same_seed_gives_different_noise_but_reproducible_sampling(cls, data, fitted):
    # privacy noise comes from OS entropy: the same random_state must NOT give the same model
    other = make(cls).fit(data)
    a = _state(fitted)
    b = _state(other)
    assert a.keys() == b.keys()
    assert any(not np.array_equal(a[key], b[key]) for key in a)
    # random_state still seeds post-processing: one model samples reproducibly
    pd.testing.assert_frame_equal(fitted.sample(300, random_state=3),
                                  fitted.sample(300, random_state=3))


def _state(model) -> dict[str, np.ndarray]:
    out = {}
    for name, net in model._sampling_networks().items():
        for k, v in net.state_dict().items():
            out[f"{name}.{k}"] = v.detach().cpu().numpy()
    return out


def test_save_load_keeps_ledger_and_spent(fitted, tmp_path):
    path = fitted.save(tmp_path / "m.tsmodel")
    back = load(path, device="cpu")
    assert isinstance(back.ledger_, Ledger)
    assert back.ledger_.to_dict() == fitted.ledger_.to_dict()
    assert back.privacy_spent_ == fitted.privacy_spent_
    assert back.epsilon == fitted.epsilon and back.route == "dpsgd"
    pd.testing.assert_frame_equal(back.sample(100, random_state=1),
                                  fitted.sample(100, random_state=1))


def test_empty_poisson_batches(cls, data):
    # q = 1/100: about a third of the batches are empty; every step still adds noise and is
    # accounted
    model = make(cls, batch_size=1, epsilon=8.0).fit(data.iloc[:100])
    assert model.privacy_spent_["epsilon"] <= 8.0
    assert len(model.sample(20, random_state=0)) == 20


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), "1", True])
def test_bad_epsilon(cls, data, value):
    with pytest.raises(ParameterError, match=r"The 'epsilon' parameter of \w+ must be None or "
                                             r"a float in \(0, 1000\]"):
        make(cls, epsilon=value).fit(data)


@pytest.mark.parametrize("param, value, expected", [
    ("delta", 0.0, "None or a float in (0, 1)"),
    ("delta", 1.5, "None or a float in (0, 1)"),
    ("max_grad_norm", 0, "a float > 0 and finite"),
    ("preprocessing_share", 1.0, "a float in (0, 1)"),
    ("accountant", "gdp", "'prv' or 'rdp'"),
    ("secure_mode", "yes", "a bool"),
    ("grad_sample_mode", "fast", "one of"),
    ("route", "pgm", "one of"),
])
def test_bad_privacy_params(data, param, value, expected):
    with pytest.raises(ParameterError) as info:
        make(TVAE, **{param: value}).fit(data)
    assert str(info.value).startswith(f"The {param!r} parameter of TVAE must be {expected}")


def test_marginals_route_needs_epsilon(data):
    with pytest.raises(ParameterError, match="'route' parameter"):
        make(CTGAN, epsilon=None, route="marginals").fit(data)


def test_delta_not_below_one_over_n(data):
    # compared with a noisy count of the 600 rows (never the exact n): 1/100 is far above
    # 1/n for any plausible draw, 1/600 would raise only when the noise is positive
    with pytest.raises(BudgetError, match="not below 1/n"):
        make(TVAE, delta=1 / 100).fit(data)


def test_dataset_too_small_for_batch(cls, data):
    with pytest.raises(ParameterError, match="too few for"):
        make(cls, batch_size=100_000).fit(data)


def test_unmeetable_budget_names_epochs(cls, data, monkeypatch, replayable_noise):
    from tabsynth.models import ctgan_dp, tvae_dp

    def no_training(*a, **k):  # pragma: no cover - must not be reached
        raise AssertionError("training started")

    monkeypatch.setattr(ctgan_dp, "train_ctgan_dp", no_training)
    monkeypatch.setattr(tvae_dp, "train_tvae_dp", no_training)
    match = r"At most \d+ epochs fit this budget|Not even one"
    # a replayed noise draw: at epsilon 0.3 the noisy row count of 600 rows can come out
    # below batch_size, and then the (correct) batch-size refusal comes first
    with pytest.raises(BudgetError, match=match) as info, replayable_noise(0):
        make(cls, epsilon=0.3, epochs=3000, batch_size=200).fit(data)
    assert "epochs=3000" in str(info.value)


def test_incompatible_module_rejected_before_training(data, monkeypatch):
    import torch
    from torch import nn

    from tabsynth.models import ctgan_dp

    def with_batchnorm(model):
        t = model.transformer_
        d = t.output_dim + t.cond_dim
        return nn.Sequential(nn.Linear(d, 8), nn.BatchNorm1d(8), nn.Linear(8, 1))

    monkeypatch.setattr(ctgan_dp, "build_dp_discriminator", with_batchnorm)
    steps = []
    monkeypatch.setattr(torch.optim.Adam, "step", lambda *a, **k: steps.append(1))
    with pytest.raises(IncompatibleModuleError, match="BatchNorm"):
        make(CTGAN).fit(data)
    assert not steps


# ------------------------------------------------------------------------------ clipping
@pytest.mark.parametrize("mode", ["ghost", "hooks"])
def test_every_per_sample_gradient_is_clipped(cls, data, monkeypatch, mode):
    """No gradient penalty in DP mode, and every row's gradient entering an update is clipped."""
    from tabsynth.models.ctgan_networks import Discriminator

    def no_gp(*a, **k):  # pragma: no cover - must not be reached
        raise AssertionError("gradient penalty called in DP mode")

    monkeypatch.setattr(Discriminator, "gradient_penalty", no_gp)
    seen = _watch_clipping(monkeypatch, mode)
    model = make(cls, grad_sample_mode=mode, max_grad_norm=0.5).fit(data)
    assert seen["calls"] >= 1
    assert seen["max_clipped_norm"] <= 0.5 * (1 + 1e-4)
    assert seen["unclipped_max"] > 0.5  # clipping actually did something
    assert model.privacy_spent_["epsilon"] <= model.epsilon


def _watch_clipping(monkeypatch, mode):
    import torch
    from opacus.grad_sample import GradSampleModuleFastGradientClipping
    from opacus.optimizers.optimizer import DPOptimizer

    seen = {"calls": 0, "max_clipped_norm": 0.0, "unclipped_max": 0.0}
    if mode == "ghost":
        original = GradSampleModuleFastGradientClipping.get_clipping_coef

        def coef(self):
            c = original(self)
            norms = self.per_sample_gradient_norms
            seen["calls"] += 1
            if len(norms):
                seen["unclipped_max"] = max(seen["unclipped_max"], float(norms.max()))
                seen["max_clipped_norm"] = max(seen["max_clipped_norm"],
                                               float((c * norms).max()))
            # every trainable parameter of the private module has its norm counted
            assert all(p.requires_grad for p in self._module.parameters())
            return c

        monkeypatch.setattr(GradSampleModuleFastGradientClipping, "get_clipping_coef", coef)
        return seen
    original = DPOptimizer.clip_and_accumulate

    def clip(self):
        samples = [p.grad_sample for p in self.params]
        assert all(s is not None for s in samples)  # no parameter bypasses clipping
        sizes = {len(s) for s in samples}
        assert len(sizes) == 1
        if sizes != {0}:
            norms = torch.stack([s.reshape(len(s), -1).norm(2, dim=1) for s in samples],
                                dim=1).norm(2, dim=1)
            factor = (self.max_grad_norm / (norms + 1e-6)).clamp(max=1.0)
            seen["unclipped_max"] = max(seen["unclipped_max"], float(norms.max()))
            seen["max_clipped_norm"] = max(seen["max_clipped_norm"], float((factor * norms).max()))
        seen["calls"] += 1
        return original(self)

    monkeypatch.setattr(DPOptimizer, "clip_and_accumulate", clip)
    return seen


def test_tvae_sigma_is_trained_privately(data):
    model = make(TVAE, grad_sample_mode="hooks")
    from opacus.optimizers.optimizer import DPOptimizer

    names = []
    original = DPOptimizer.clip_and_accumulate

    def clip(self):
        names.append(sorted(tuple(p.shape) for p in self.params))
        return original(self)

    pytest.MonkeyPatch().setattr(DPOptimizer, "clip_and_accumulate", clip)
    try:
        model.fit(data)
    finally:
        DPOptimizer.clip_and_accumulate = original
    sigma_shape = tuple(model._decoder.sigma.shape)
    assert names and sigma_shape in names[0]


def test_default_epochs_shrink_to_the_budget(cls, data, monkeypatch):
    """As for ARSynthesizer (tests/tabsynth/test_ar_dp.py): left at the class default, the DP
    schedule's 20 epochs shrink to what the budget allows, with a UtilityWarning; one replayed
    noise draw (tests only) keeps the DP row count, and so the count of epochs, fixed."""
    from tabsynth import privacy
    from tabsynth.privacy import UtilityWarning

    monkeypatch.setattr(privacy, "noise_rng",
                        lambda secure_mode=False: np.random.default_rng(20261207))
    default_epochs = 300  # CTGAN's and TVAE's class default
    model = make(cls, epsilon=0.07, accountant="prv", epochs=default_epochs)
    with pytest.warns(UtilityWarning, match="of the default 20 epochs"):
        model.fit(data)
    assert 1 <= model.dp_schedule_["epochs"] < 20
    assert model.ledger_.entries[-1].params["epochs"] == model.dp_schedule_["epochs"]
    assert model.privacy_spent_["epsilon"] <= 0.07 * (1 + 1e-9)
