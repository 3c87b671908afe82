"""Synthesizers: :class:`CTGAN`, :class:`TVAE` and :class:`ARSynthesizer` (loaded lazily; torch is
imported on use)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

__all__ = ["CTGAN", "TVAE", "ARSynthesizer", "BaseSynthesizer"]

_LAZY = {
    "CTGAN": ("tabsynth.models.ctgan", "CTGAN"),
    "TVAE": ("tabsynth.models.tvae", "TVAE"),
    "ARSynthesizer": ("tabsynth.models.ar", "ARSynthesizer"),
    "BaseSynthesizer": ("tabsynth.models.base", "BaseSynthesizer"),
}

if TYPE_CHECKING:  # pragma: no cover
    from .ar import ARSynthesizer
    from .base import BaseSynthesizer
    from .ctgan import CTGAN
    from .tvae import TVAE


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals(), __all__)
