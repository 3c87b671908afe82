"""The model classes a model file may name, and :func:`load` (``tabsynth.load``).

A class is looked up in the fixed :data:`MODEL_CLASSES`, never imported by a name read from
a file. The file itself is read and verified by :func:`tabsynth.artifact.read_model_file`
(the format: members, manifest and weights checksums, format version); this module only
rebuilds the model from the verified parts. The way there is
:mod:`tabsynth.models.persistence` (``model.save(path)``).
"""

from __future__ import annotations

import os
from typing import Any

from ..artifact import MODEL_CLASSES as _FORMAT_CLASSES
from ..artifact import read_model_file
from ..errors import ModelFileError, TabsynthError
from .ar import ARSynthesizer
from .ctgan import CTGAN
from .tvae import TVAE

__all__ = ["MODEL_CLASSES", "load", "load_with_manifest"]

#: The classes a model file may name (the names are :data:`tabsynth.artifact.MODEL_CLASSES`).
MODEL_CLASSES: dict[str, type] = {"CTGAN": CTGAN, "TVAE": TVAE,
                                  "ARSynthesizer": ARSynthesizer}
if tuple(MODEL_CLASSES) != _FORMAT_CLASSES:  # pragma: no cover - a class added on one side
    raise ImportError(f"tabsynth.models.registry knows {sorted(MODEL_CLASSES)} but the model "
                      f"file format names {sorted(_FORMAT_CLASSES)}.")


def load(path: str | os.PathLike, *, device: Any = "auto") -> Any:
    """Load a model saved with ``model.save(path)``.

    Parameters
    ----------
    path : str or path-like
    device : str or torch.device, default="auto"
        Where the networks go (``"auto"``: CUDA, then MPS, then CPU). Files written on a GPU
        load on a CPU.

    Returns
    -------
    CTGAN, TVAE or ARSynthesizer
        A fitted synthesizer.

    Raises
    ------
    ModelFileError
        The file is missing, a pickle/torch file, not a tabsynth model, of a newer format,
        tampered with or corrupt, or names a class tabsynth does not know.
    """
    return load_with_manifest(path, device=device)[0]


def load_with_manifest(path: str | os.PathLike, *, device: Any = "auto") -> tuple[Any, dict]:
    """:func:`load`, also returning the verified manifest (one read, one verification)."""
    from safetensors import SafetensorError
    from safetensors.torch import load as load_tensors

    from .._device import resolve_device
    from ..metadata import Metadata
    from ..stats import TableStats

    target_device = resolve_device(device, owner="load")  # ParameterError: the caller's fault
    manifest, weights = read_model_file(path)
    cls = MODEL_CLASSES[manifest["class"]]
    try:
        params = dict(manifest["params"])
        for key in cls._tuple_params:
            if isinstance(params.get(key), list):
                params[key] = tuple(params[key])
        model = cls(**params)
        metadata = Metadata.from_dict(manifest["metadata"])
        stats = TableStats.from_dict(manifest["stats"])
        state = load_tensors(weights)
        model._restore(
            metadata=metadata,
            stats=stats,
            training=manifest.get("training") or {},
            ledger=manifest.get("ledger"),
            state=state,
            device=target_device,
        )
    except (TabsynthError, KeyError, TypeError, ValueError, RuntimeError, SafetensorError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"The model file {str(path)!r} is invalid: {exc}") from None
    return model, manifest
