"""Synthesizers: :class:`CTGAN` and :class:`TVAE` (loaded lazily; torch is imported on use)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = ["CTGAN", "TVAE", "BaseSynthesizer"]

_LAZY = {
    "CTGAN": ("tabsynth.models.ctgan", "CTGAN"),
    "TVAE": ("tabsynth.models.tvae", "TVAE"),
    "BaseSynthesizer": ("tabsynth.models.base", "BaseSynthesizer"),
}

if TYPE_CHECKING:  # pragma: no cover
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
