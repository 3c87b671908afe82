"""Test-only helper: make the OS-entropy privacy noise repeatable *inside a test*.

The product has deliberately no way to seed privacy noise (``random_state`` never reaches it,
see ``tabsynth/privacy/noise.py``). A statistical test that asserts a figure with a tolerance
must not fail by chance on one CI run in thirty, so such tests replace the entropy source for
the duration of one fit with a counter-based one. Tests that check the noise is fresh (two fits
differ) do not use this.
"""

from __future__ import annotations

import contextlib
from unittest import mock

import numpy as np
import pytest


@contextlib.contextmanager
def _replayable(seed: int = 0):
    from tabsynth.privacy import dpsgd, noise

    seeds = np.random.SeedSequence(seed)

    def randbits(bits: int) -> int:  # each call: the next child of the seed sequence
        state = seeds.spawn(1)[0].generate_state(4, np.uint64)
        return int.from_bytes(state.tobytes(), "little") & ((1 << bits) - 1)

    fake = mock.Mock(randbits=randbits)
    with mock.patch.object(noise, "secrets", fake), \
         mock.patch.object(dpsgd, "os_seed", lambda bits=63: randbits(bits)):
        yield


@pytest.fixture(scope="session")
def replayable_noise():
    """``with replayable_noise(seed): model.fit(df)`` - repeatable privacy noise (tests only)."""
    return _replayable
