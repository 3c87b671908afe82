"""Where privacy noise comes from: the operating system's entropy, never ``random_state``.

DESIGN.md rule: the noise of a DP mechanism must be unpredictable to whoever holds the model
file. If it were drawn from a generator seeded by ``random_state`` (which a model file records,
and which users pick from a handful of values like 0 or 42), the noise could be regenerated and
subtracted, and the exact statistics would come back. So every privacy-relevant draw (the
Gaussian noise of every measurement, the Gumbel noise of the exponential mechanism, the
Poisson sampling masks and the Gaussian noise of DP-SGD) comes from :func:`noise_rng`:

``secure_mode=False`` (default)
    a :class:`numpy.random.Generator` (PCG64) seeded from 128 bits of OS entropy
    (:func:`secrets.randbits`); fast, unpredictable from the model file, but PCG64 is not a
    cryptographic generator and numpy's samplers are open to floating-point attacks
    (Mironov 2012) by an adversary who observes many raw outputs.
``secure_mode=True``
    :class:`SecureRandom`: every uniform comes from :func:`os.urandom` (the OS CSPRNG) and each
    Gaussian is the sum of four Box-Muller draws divided by 2 (the floating-point mitigation of
    Holohan & Braghin 2021, the one Opacus' ``secure_mode`` uses). Slower; for production
    releases. No extra package is needed.

``random_state`` keeps seeding what is post-processing (network initialisation, latent noise,
synthetic sampling). A DP fit is therefore not bit-reproducible: two fits with the same
``random_state`` differ by their noise, which is the point.
"""

from __future__ import annotations

import math
import os
import secrets
from typing import Any

import numpy as np

__all__ = ["NoiseRNG", "SecureRandom", "is_noise_rng", "noise_rng", "os_seed"]

_U53 = 2.0 ** -53


def os_seed(bits: int = 63) -> int:
    """A seed of ``bits`` bits from OS entropy (for the torch generator of DP-SGD noise)."""
    return secrets.randbits(bits)


class SecureRandom:
    """The subset of :class:`numpy.random.Generator` the mechanisms use, drawn from
    :func:`os.urandom` (cryptographically secure).

    ``random`` gives 53-bit uniforms in ``[0, 1)``; ``normal`` the Holohan & Braghin (2021)
    mitigated Gaussian (sum of 4 standard normals / 2); ``gumbel`` the inverse-CDF of
    uniforms in ``(0, 1)``; ``integers`` rejection-free via 64-bit modulo with a bias below
    ``2**-40`` for ranges up to ``2**24``. It holds no state to seed, so it cannot be
    replayed.
    """

    def __repr__(self) -> str:
        return "SecureRandom(os.urandom)"

    @staticmethod
    def _count(size: Any) -> tuple[int, tuple[int, ...] | None]:
        if size is None:
            return 1, None
        shape = (int(size),) if np.isscalar(size) else tuple(int(s) for s in size)
        return int(np.prod(shape, dtype=np.int64)) if shape else 1, shape

    @staticmethod
    def _uniform53(k: int) -> np.ndarray:
        raw = np.frombuffer(os.urandom(8 * k), dtype=np.uint64) if k else np.zeros(0, np.uint64)
        return (raw >> np.uint64(11)).astype(np.float64) * _U53

    @staticmethod
    def _shape(values: np.ndarray, shape: tuple[int, ...] | None) -> Any:
        return float(values[0]) if shape is None else values.reshape(shape)

    def random(self, size: Any = None) -> Any:
        k, shape = self._count(size)
        return self._shape(self._uniform53(k), shape)

    def _std_normal(self, k: int) -> np.ndarray:
        u1 = 1.0 - self._uniform53(k)  # (0, 1]: log is finite
        u2 = self._uniform53(k)
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * math.pi * u2)

    def normal(self, loc: float = 0.0, scale: float = 1.0, size: Any = None) -> Any:
        k, shape = self._count(size)
        z = (self._std_normal(k) + self._std_normal(k) + self._std_normal(k)
             + self._std_normal(k)) / 2.0
        return self._shape(loc + scale * z, shape)

    def gumbel(self, loc: float = 0.0, scale: float = 1.0, size: Any = None) -> Any:
        k, shape = self._count(size)
        u = (self._uniform53(k) + _U53 / 2)  # (0, 1)
        return self._shape(loc - scale * np.log(-np.log(u)), shape)

    def integers(self, low: int, high: int | None = None, size: Any = None) -> Any:
        if high is None:
            low, high = 0, low
        span = int(high) - int(low)
        if span <= 0:
            raise ValueError("high must be > low")
        k, shape = self._count(size)
        raw = np.frombuffer(os.urandom(8 * k), dtype=np.uint64) if k else np.zeros(0, np.uint64)
        values = (raw % np.uint64(span)).astype(np.int64) + int(low)
        return int(values[0]) if shape is None else values.reshape(shape)


#: What a mechanism accepts as its noise source.
NoiseRNG = np.random.Generator | SecureRandom


def noise_rng(secure_mode: bool = False) -> NoiseRNG:
    """A fresh source of privacy noise from OS entropy (see the module docstring).

    Never seeded by the caller: there is deliberately no way to make privacy noise repeatable.
    """
    if secure_mode:
        return SecureRandom()
    return np.random.default_rng(secrets.randbits(128))


def is_noise_rng(rng: object) -> bool:
    """``True`` for the generators a mechanism accepts (numpy Generator or SecureRandom)."""
    return isinstance(rng, (np.random.Generator, SecureRandom))
