"""tabsynth: privacy-preserving synthetic tabular data.

Public API (models load lazily, so ``import tabsynth`` does not import torch)::

    from tabsynth import CTGAN, TVAE, Metadata, load
    model = CTGAN(epochs=50, random_state=0).fit(df)
    synthetic = model.sample(1000, conditions={"income": ">50K"})
    model.save("adult.tsmodel"); model = load("adult.tsmodel")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import install_moved_modules, lazy_attributes
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
    "Oversampler": ("tabsynth.sampling.oversampler", "Oversampler"),
    "sample_rare": ("tabsynth.sampling.rare", "sample_rare"),
    "rebalance": ("tabsynth.sampling.rebalancing", "rebalance"),
    "open_source": ("tabsynth.sources", "open_source"),
    "sql_source": ("tabsynth.sources", "sql_source"),
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
    "open_source",
    "rebalance",
    "sample_rare",
    "sql_source",
]

if TYPE_CHECKING:  # pragma: no cover
    from .models.ar import ARSynthesizer
    from .models.ctgan import CTGAN
    from .models.registry import load
    from .models.tvae import TVAE
    from .sampling.oversampler import Oversampler
    from .sampling.rare import sample_rare
    from .sampling.rebalancing import rebalance
    from .sources import open_source, sql_source


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals(), __all__)
install_moved_modules()  # tabsynth.oversampling, tabsynth.augment, ...: deprecated paths
