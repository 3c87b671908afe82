"""One estimator base (tabsynth/_estimator.py): scikit-learn's get_params / set_params / clone on
every synthesizer and on the Oversampler."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from tabsynth import CTGAN, TVAE, ARSynthesizer, Oversampler, ParameterError
from tabsynth._estimator import Estimator

ESTIMATORS = [
    CTGAN(epochs=3, batch_size=40, random_state=1, generator_dim=(16,)),
    TVAE(epochs=2, compress_dims=(8, 8), epsilon=2.0),
    ARSynthesizer(n_bins=5, column_order=["b", "a"]),
    Oversampler(TVAE(epochs=2), sampling_strategy=0.5, model_params={"verbose": False}),
    Oversampler("smote", random_state=3),
]


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_clone_gives_an_unfitted_copy_with_equal_parameters(est):
    assert isinstance(est, Estimator)
    copy = clone(est)
    assert type(copy) is type(est) and copy is not est
    for name, value in est.get_params(deep=False).items():
        other = copy.get_params(deep=False)[name]
        if isinstance(value, Estimator):  # a nested estimator is cloned too
            assert other is not value and other.get_params() == value.get_params()
        else:
            assert other == value
    assert not [k for k in vars(copy) if k.endswith("_")]


def test_nested_parameters_and_unknown_names():
    over = Oversampler(CTGAN(epochs=2))
    assert over.get_params()["model__epochs"] == 2
    assert over.set_params(model__epochs=7) is over and over.model.epochs == 7
    for est in (CTGAN(), Oversampler()):
        with pytest.raises(ParameterError, match="Invalid parameter 'nope'.*Valid parameters"):
            est.set_params(nope=1)


def test_clone_of_a_fitted_synthesizer_is_unfitted():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=120), "b": rng.choice(["x", "y"], size=120)})
    model = TVAE(epochs=1, batch_size=60, compress_dims=(8,), decompress_dims=(8,),
                 random_state=0, verbose=False).fit(df)
    copy = clone(model)
    assert hasattr(model, "transformer_") and not hasattr(copy, "transformer_")
    assert copy.get_params() == model.get_params()


# ------------------------------------------------------------------ one writer of fitted state
def _record_fitted_writes(monkeypatch, cls):
    """Every write of a fitted attribute (``name_``) on ``cls``, with the function that made it."""
    import sys

    writes = []
    original = cls.__setattr__

    def spy(self, name, value):
        if name.endswith("_") and not name.startswith("_"):
            writes.append((name, sys._getframe(1).f_code.co_name))
        original(self, name, value)

    monkeypatch.setattr(cls, "__setattr__", spy)
    return writes


def _table(n=150, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["x", "y", "z"], size=n)})


FITS = [
    lambda: TVAE(epochs=1, batch_size=50, compress_dims=(8,), decompress_dims=(8,),
                 random_state=0, verbose=False),
    lambda: CTGAN(epochs=1, batch_size=50, generator_dim=(8,), discriminator_dim=(8,),
                  random_state=0, verbose=False),
    lambda: ARSynthesizer(epochs=2, hidden_dim=8, n_bins=4, random_state=0, verbose=False),
    lambda: TVAE(epochs=1, compress_dims=(8,), decompress_dims=(8,), epsilon=3.0,
                 random_state=0, verbose=False),  # DP-SGD: ledger, spent, correction
]


@pytest.mark.parametrize("make", FITS, ids=["TVAE", "CTGAN", "AR", "TVAE-DP"])
def test_fitted_attributes_are_written_by_the_one_writer_and_replaced_by_a_refit(make,
                                                                                 monkeypatch):
    import warnings

    from tabsynth.models.base import BaseSynthesizer

    model = make()
    writes = _record_fitted_writes(monkeypatch, BaseSynthesizer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(_table(seed=0))
    assert writes and {where for _, where in writes} == {"_store_fit"}, writes
    first = {k: v for k, v in vars(model).items() if k.endswith("_") and not k.startswith("_")}
    expected = {"metadata_", "stats_", "transformer_", "device_", "columns_", "n_features_in_",
                "ledger_", "privacy_spent_", "loss_history_", "training_summary_",
                "correction_"}
    assert expected <= set(first)
    private = model.epsilon is not None
    assert (first["privacy_spent_"] is not None) is private
    if private:  # one type across models and the Oversampler (tabsynth.privacy.spent)
        assert set(first["privacy_spent_"]) == {"epsilon", "delta", "accountant", "composition"}
        assert first["correction_"] is not None and "dp_schedule_" in first
    writes.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(_table(n=120, seed=1)[["b", "a"]])
    assert {where for _, where in writes} == {"_store_fit"}
    again = {k: v for k, v in vars(model).items() if k.endswith("_") and not k.startswith("_")}
    assert set(again) == set(first)
    for name, value in first.items():  # every fitted attribute comes from the refit
        if value is not None and not isinstance(value, (str, int)) and name != "device_":
            assert again[name] is not value, name
    assert model.columns_ == ["b", "a"]
