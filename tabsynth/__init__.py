"""tabsynth: privacy-preserving synthetic tabular data.

Public API (models load lazily, so ``import tabsynth`` does not import torch)::

    from tabsynth import CTGAN, TVAE, Metadata, load
    model = CTGAN(epochs=50, random_state=0).fit(df)
    synthetic = model.sample(1000, conditions={"income": ">50K"})
    model.save("adult.tsmodel"); model = load("adult.tsmodel")
"""

from __future__ import annotations

import os as _os
from typing import TYPE_CHECKING

# Idle OpenMP threads sleep instead of spinning, unless the user chose otherwise. torch's
# threads spin-wait by default; on a machine whose cores other processes also use (CI, a shared
# server, a notebook beside a browser) the spinning threads starve the working ones: on the
# 2-core machine under load, two threads sampled 6-15x slower than one and fitted 3x slower
# (PASSIVE: level with or faster than one thread). Read when torch starts, so it takes effect
# when tabsynth is imported before torch (the CLI always is).
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from ._lazy import install_moved_modules, lazy_attributes
from ._version import __version__
from .errors import (
    ConditionError,
    DataError,
    DataWarning,
    DistributedError,
    MetadataError,
    ModelFileError,
    NotFittedError,
    ParameterError,
    TabsynthError,
    TabsynthWarning,
    TrainingError,
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
    "fit_distributed": ("tabsynth.models.distributed_launch", "fit_distributed"),
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
    "DistributedError",
    "Metadata",
    "MetadataError",
    "ModelFileError",
    "NotFittedError",
    "Oversampler",
    "ParameterError",
    "TabsynthError",
    "TabsynthWarning",
    "TrainingError",
    "__version__",
    "fit_distributed",
    "load",
    "open_source",
    "rebalance",
    "sample_rare",
    "sql_source",
]

if TYPE_CHECKING:  # pragma: no cover
    from .models.ar import ARSynthesizer
    from .models.ctgan import CTGAN
    from .models.distributed_launch import fit_distributed
    from .models.registry import load
    from .models.tvae import TVAE
    from .sampling.oversampler import Oversampler
    from .sampling.rare import sample_rare
    from .sampling.rebalancing import rebalance
    from .sources import open_source, sql_source


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals(), __all__)
install_moved_modules()  # tabsynth.oversampling, tabsynth.augment, ...: deprecated paths
