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
