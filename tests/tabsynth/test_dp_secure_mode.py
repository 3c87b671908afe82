"""``secure_mode=True`` draws every privacy draw from os.urandom, on every route (issue 11, 1).

The non-secure sources are the PCG64 generator seeded by ``secrets.randbits``
(:func:`tabsynth.privacy.noise_rng`) and the torch generator of DP-SGD noise seeded by
``os_seed``. Both are made to fail here: a ``secure_mode=True`` fit must not touch them (and
does draw from :class:`SecureRandom`), while the same fit with ``secure_mode=False`` does touch
them (the positive control: the trap works).
"""

from __future__ import annotations

import contextlib
import warnings
from unittest import mock

import pytest
import torch

from tabsynth import TVAE, ARSynthesizer


@pytest.fixture(scope="module")
def table():
    from tabsynth import datasets

    torch.set_num_threads(1)
    return datasets.load("adult")[["age", "workclass", "hours-per-week", "income"]].head(300)


ROUTES = {
    "tvae-dpsgd": lambda **kw: TVAE(epochs=1, batch_size=30, embedding_dim=8,
                                    compress_dims=(16,), decompress_dims=(16,), **kw),
    "tvae-marginals": lambda **kw: TVAE(epochs=1, batch_size=30, embedding_dim=8,
                                        compress_dims=(16,), decompress_dims=(16,),
                                        route="marginals", **kw),
    "ar-dpsgd": lambda **kw: ARSynthesizer(epochs=1, batch_size=30, hidden_dim=8, **kw),
}


class _Trap(Exception):
    pass


@contextlib.contextmanager
def _insecure_sources_fail():
    from tabsynth.privacy import dpsgd, noise

    def boom(*_a, **_k):
        raise _Trap("a non-secure privacy noise source was used")

    uniform = noise.SecureRandom._uniform53
    calls = []

    def counted(k):
        calls.append(k)
        return uniform(k)

    with mock.patch.object(noise, "secrets", mock.Mock(randbits=boom)), \
         mock.patch.object(dpsgd, "os_seed", boom), \
         mock.patch.object(noise.SecureRandom, "_uniform53", staticmethod(counted)):
        yield calls


def _fit(name, table, secure):
    model = ROUTES[name](epsilon=2.0, delta=1e-5, secure_mode=secure, random_state=0,
                         verbose=False, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(table)


@pytest.mark.parametrize("name", list(ROUTES))
def test_secure_mode_uses_only_os_urandom(table, name):
    with _insecure_sources_fail() as secure_draws:
        model = _fit(name, table, secure=True)
    assert sum(secure_draws) > 0
    assert model.privacy_spent_["epsilon"] <= 2.0


@pytest.mark.parametrize("name", ["tvae-dpsgd", "ar-dpsgd"])
def test_the_trap_catches_the_default_sources(table, name):
    with _insecure_sources_fail(), pytest.raises(_Trap):
        _fit(name, table, secure=False)
