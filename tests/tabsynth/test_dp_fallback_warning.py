"""The PRV -> RDP accountant fallback is logged once per fit, not once per composition.

At a very large epsilon the PRV accountant's mesh is too large (a MemoryError it raises
itself) and every composition of the fit (calibration, each epoch's epsilon, the final figure)
falls back to RDP. Before the fix each of them logged the same warning (one per epoch and
more). Issue 11, follow-up (d).
"""

from __future__ import annotations

import logging
import warnings

import pytest
import torch

from tabsynth import TVAE, ARSynthesizer
from tabsynth.privacy.accounting import compose_epsilon, fallback_warned_once

HUGE_MESH = [(0.05, 0.05, 600)]  # PRV refuses it (mesh too large): RDP figure instead


def _fallbacks(caplog, level=logging.WARNING) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.levelno == level and "PRV accountant failed" in r.getMessage()]


def test_outside_a_fit_every_fallback_warns(caplog):
    with caplog.at_level(logging.DEBUG):
        compose_epsilon(HUGE_MESH, 1e-5)
        compose_epsilon(HUGE_MESH, 1e-5)
    assert len(_fallbacks(caplog)) == 2


def test_inside_one_scope_the_fallback_warns_once(caplog):
    with caplog.at_level(logging.DEBUG):
        with fallback_warned_once():
            a = compose_epsilon(HUGE_MESH, 1e-5)
            b = compose_epsilon(HUGE_MESH, 2e-5)
            compose_epsilon(HUGE_MESH, 1e-5)
        with fallback_warned_once():  # a second fit warns again
            compose_epsilon(HUGE_MESH, 1e-5)
    assert len(_fallbacks(caplog)) == 2
    assert len(_fallbacks(caplog, logging.DEBUG)) == 2  # the rest are still recorded
    assert a == compose_epsilon(HUGE_MESH, 1e-5, accountant="rdp") and b < a


@pytest.fixture
def prv_always_fails(monkeypatch):
    """Every PRV composition falls back (a mesh limit of one point), as at a huge epsilon,
    without the cost of calibrating a fit at epsilon 1000."""
    from tabsynth.privacy import accounting

    accounting._compose_cached.cache_clear()
    monkeypatch.setattr(accounting, "PRV_MAX_DOMAIN", 1)
    yield
    accounting._compose_cached.cache_clear()


@pytest.mark.parametrize("make", [
    lambda: TVAE(epochs=4, batch_size=30, embedding_dim=8, compress_dims=(16,),
                 decompress_dims=(16,), epsilon=2.0, delta=1e-5, verbose=False),
    lambda: ARSynthesizer(epochs=4, batch_size=30, hidden_dim=8, epsilon=2.0, delta=1e-5,
                          verbose=False, device="cpu"),
], ids=["tvae", "ar"])
def test_a_dp_fit_whose_prv_fails_warns_once(caplog, prv_always_fails, make):
    from tabsynth import datasets

    torch.set_num_threads(1)
    df = datasets.load("adult")[["age", "workclass", "income"]].head(300)
    with caplog.at_level(logging.DEBUG), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make().fit(df)
    # calibration, the 4 per-epoch figures and the final one all fell back; one warning
    assert len(_fallbacks(caplog)) + len(_fallbacks(caplog, logging.DEBUG)) >= 5
    assert len(_fallbacks(caplog)) == 1
    assert model.privacy_spent_["epsilon"] <= 2.0
