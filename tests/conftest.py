"""Session-wide test settings and fixtures.

Under pytest-xdist (the README's test command runs ``-n 2``), each worker process is one of
as many processes as the machine has cores: one math thread each, or the workers' thread
pools oversubscribe the cores (two torch threads per worker on a 2-core machine ran several
times slower than one). Set before torch is imported; subprocesses (the CLI tests) inherit it.

``replayable_noise``: make the OS-entropy privacy noise repeatable *inside a test*.

The product has deliberately no way to seed privacy noise (``random_state`` never reaches it,
see ``tabsynth/privacy/noise.py``). A statistical test that asserts a figure with a tolerance
must not fail by chance on one CI run in thirty, so such tests replace the entropy source for
the duration of one fit with a counter-based one. Tests that check the noise is fresh (two fits
differ) do not use this.
"""

from __future__ import annotations

import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[_var] = "1"

# after the thread settings: numpy's BLAS reads them when it loads
import contextlib  # noqa: E402
from unittest import mock  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402


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
