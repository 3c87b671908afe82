"""tabsynth: privacy-preserving synthetic tabular data.

Public API (models load lazily, so ``import tabsynth`` does not import torch)::

    from tabsynth import CTGAN, TVAE, Metadata, load
    model = CTGAN(epochs=50, random_state=0).fit(df)
    synthetic = model.sample(1000, conditions={"income": ">50K"})
    model.save("adult.tsmodel"); model = load("adult.tsmodel")
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    ConditionError,
    DataError,
    DataWarning,
    MetadataError,
    ModelFileError,
    NotFittedError,
    ParameterError,
    TabsynthError,
    TabsynthWarning,
)
from .metadata import Metadata

_LAZY = {
    "CTGAN": ("tabsynth.models.ctgan", "CTGAN"),
    "TVAE": ("tabsynth.models.tvae", "TVAE"),
    "ARSynthesizer": ("tabsynth.models.ar", "ARSynthesizer"),
    "load": ("tabsynth.models.registry", "load"),
    "Oversampler": ("tabsynth.oversampling", "Oversampler"),
    "sample_rare": ("tabsynth.rare", "sample_rare"),
    "rebalance": ("tabsynth.rebalancing", "rebalance"),
}

__all__ = [
    "ARSynthesizer",
    "CTGAN",
    "TVAE",
    "ConditionError",
    "DataError",
    "DataWarning",
    "Metadata",
    "MetadataError",
    "ModelFileError",
    "NotFittedError",
    "Oversampler",
    "ParameterError",
    "TabsynthError",
    "TabsynthWarning",
    "__version__",
    "load",
    "rebalance",
    "sample_rare",
]

if TYPE_CHECKING:  # pragma: no cover
    from .models.ar import ARSynthesizer
    from .models.ctgan import CTGAN
    from .models.registry import load
    from .models.tvae import TVAE
    from .rebalancing import rebalance


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tabsynth' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
