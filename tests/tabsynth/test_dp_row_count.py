"""The DP row count is charged only when something uses it (issue 11, item 3; follow-up c).

``delta=None``: one Gaussian count of the rows ("number of rows", charged, first in the ledger)
gives the default delta. ``delta`` given: no such count is charged (it would spend budget on
nothing); the n-dependent settings (the delta check, the sample rate, the schedule) use the
noisy total of the statistics' histograms, which is post-processing of charged measurements.
Every route is checked.
"""

from __future__ import annotations

import warnings

import pytest
import torch

from tabsynth import TVAE, ARSynthesizer
from tabsynth.privacy.budget import COUNT_NOISE

N = 300


@pytest.fixture(scope="module")
def table():
    from tabsynth import datasets

    torch.set_num_threads(1)
    return datasets.load("adult")[["age", "workclass", "hours-per-week", "income"]].head(N)


MODELS = {
    "tvae-dpsgd": lambda **kw: TVAE(epochs=1, batch_size=30, embedding_dim=8,
                                    compress_dims=(16,), decompress_dims=(16,), verbose=False,
                                    device="cpu", **kw),
    "tvae-marginals": lambda **kw: TVAE(epochs=1, batch_size=30, embedding_dim=8,
                                        compress_dims=(16,), decompress_dims=(16,),
                                        route="marginals", verbose=False, device="cpu", **kw),
    "ar-dpsgd": lambda **kw: ARSynthesizer(epochs=1, batch_size=30, hidden_dim=8,
                                           verbose=False, device="cpu", **kw),
}


def _fit(name, table, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MODELS[name](epsilon=2.0, **kw).fit(table)


def _row_counts(model):
    return [e for e in model.ledger_.entries if e.target == "number of rows"]


@pytest.mark.parametrize("name", list(MODELS))
def test_no_row_count_is_charged_when_delta_is_given(table, name):
    model = _fit(name, table, delta=1e-5)
    assert _row_counts(model) == []
    assert model.privacy_spent_["delta"] == 1e-5
    # the sample rate / checks use the statistics' noisy total (a DP output, not len(df))
    assert model.stats_.n_rows


@pytest.mark.parametrize("name", ["ar-dpsgd", "tvae-marginals"])
def test_the_default_delta_charges_one_row_count_and_uses_it(table, name):
    model = _fit(name, table)
    counts = _row_counts(model)
    assert len(counts) == 1 and model.ledger_.entries[0] is counts[0]
    assert counts[0].mechanism == "gaussian_count" and not counts[0].public
    assert counts[0].params["sigma"] == pytest.approx(COUNT_NOISE / 2.0)
    # the delta it gave: below 1/n for any table of this size (the high estimate n + 3 sd)
    assert model.privacy_spent_["delta"] < 1.0 / N
