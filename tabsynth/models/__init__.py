"""Synthesizers: :class:`CTGAN`, :class:`TVAE` and :class:`ARSynthesizer` (loaded lazily; torch is
imported on use)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tabsynth.models' has no attribute {name!r}")
