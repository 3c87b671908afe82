"""Model files: a zip archive with ``manifest.json`` and ``weights.safetensors``.

A model file never contains code and is never unpickled:

* ``manifest.json`` — ``format`` (``"tabsynth-model"``), ``format_version``, the class
  name, its parameters, the metadata and statistics (as dicts), a training summary, the
  privacy ledger, package versions, a creation timestamp, the sha256 of the weights and
  ``manifest_sha256`` (sha256 of the manifest's canonical JSON without that field).
* ``weights.safetensors`` — the tensors of the networks sampling needs, keyed
  ``generator.*`` (CTGAN) or ``decoder.*`` (TVAE), saved from the CPU.

:func:`load` rebuilds the model from the manifest (class looked up in a fixed registry, not
imported by name) and loads the tensors with :func:`safetensors.torch.load`, so a file
written on a GPU loads on a CPU.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import zipfile
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import ModelFileError, ParameterError, TabsynthError

__all__ = ["FORMAT", "FORMAT_VERSION", "load", "read_manifest", "save_model", "verify_model_file"]

FORMAT = "tabsynth-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"
_MAX_MANIFEST_BYTES = 64 * 2**20
_KNOWN_CLASSES = ("CTGAN", "TVAE")  # the keys of _registry(), checkable without torch


def _registry() -> dict[str, Callable[[], type]]:
    """Classes a model file may name. Never import a class by a name read from a file."""

    def ctgan() -> type:
        from .models.ctgan import CTGAN

        return CTGAN

    def tvae() -> type:
        from .models.tvae import TVAE

        return TVAE

    classes = {"CTGAN": ctgan, "TVAE": tvae}
    assert tuple(classes) == _KNOWN_CLASSES
    return classes


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True).encode("utf-8")


def _manifest_digest(manifest: Mapping[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(_canonical(body)).hexdigest()


def _jsonable(value: Any) -> Any:
    """Parameters as JSON values (tuples -> lists, numpy scalars -> Python, devices -> str)."""
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    return str(value)


def _versions() -> dict[str, str]:
    import numpy
    import pandas
    import torch

    from . import __version__

    return {
        "tabsynth": __version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "python": platform.python_version(),
    }


def save_model(model: Any, path: str | os.PathLike, *,
               csv_format: Mapping[str, Any] | None = None) -> Path:
    """Write a fitted synthesizer to ``path`` atomically (temp file renamed at the end).

    If the final rename fails, the finished file is kept next to the target and the
    :class:`~tabsynth.errors.OutputError` says where (training is never lost to a rename).

    Parameters
    ----------
    csv_format : mapping, optional
        How the training CSV was written (``na_rep``: the token it used for missing values),
        so releases can write missing values the same way. Stored in the manifest.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    import torch
    from safetensors.torch import save as save_tensors

    from ._atomic import atomic_path

    model._check_is_fitted()
    name = type(model).__name__
    if name not in _registry():
        raise ParameterError(f"Cannot save a {name}: only {sorted(_registry())} can be saved.")
    tensors: dict[str, torch.Tensor] = {}
    for prefix, net in model._sampling_networks().items():
        for key, tensor in net.state_dict().items():
            tensors[f"{prefix}.{key}"] = tensor.detach().to("cpu").contiguous()
    weights = save_tensors(tensors, metadata={"format": FORMAT})
    history = model.loss_history_
    training = {
        "epochs": model.training_summary_.get("epochs"),
        "batch_size": model.training_summary_.get("batch_size"),
        "loss_history": {c: _jsonable(history[c].tolist()) for c in history.columns},
        "columns": list(model.columns_),
        "n_features_in": int(model.n_features_in_),
        "privacy_spent": _jsonable(model.privacy_spent_),
    }
    if model.training_summary_.get("seconds") is not None:  # non-DP only (timing side channel)
        training["seconds"] = model.training_summary_["seconds"]
    if model.training_summary_.get("n_bins") is not None:  # marginal route's bin count
        training["n_bins"] = int(model.training_summary_["n_bins"])
    ledger = model.ledger_
    if ledger is not None and hasattr(ledger, "to_dict"):
        ledger = ledger.to_dict()
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": name,
        "params": _jsonable(model.get_params()),
        "metadata": model.metadata_.to_dict(),
        "stats": model.stats_.to_dict(),
        "training": training,
        "ledger": _jsonable(ledger),
        "versions": _versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
    }
    if csv_format:
        manifest["csv_format"] = _jsonable(dict(csv_format))
    manifest["manifest_sha256"] = _manifest_digest(manifest)
    target = Path(path)
    with atomic_path(target, keep_on_rename_error=True) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr(MANIFEST, json.dumps(manifest, indent=2, allow_nan=True))
            zf.writestr(WEIGHTS, weights)
    return target


def _open(path: Path) -> zipfile.ZipFile:
    if not path.exists():
        raise ModelFileError(f"The model file {str(path)!r} does not exist.")
    if path.is_dir():
        raise ModelFileError(f"{str(path)!r} is a directory, not a tabsynth model file.")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head[:1] == b"\x80":
        raise ModelFileError(
            f"{str(path)!r} looks like a pickle/torch.save file; tabsynth model files never "
            "contain code and are not unpickled."
        )
    if head != b"PK\x03\x04":
        raise ModelFileError(
            f"{str(path)!r} is not a tabsynth model file (not a zip archive)."
        )
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelFileError(f"The model file {str(path)!r} is corrupt: {exc}.") from None
    names = zf.namelist()
    if any(n.endswith("data.pkl") for n in names):
        zf.close()
        raise ModelFileError(
            f"{str(path)!r} looks like a pickle/torch.save file; tabsynth model files never "
            "contain code and are not unpickled."
        )
    return zf


def _read_member(zf: zipfile.ZipFile, name: str, path: Path, limit: int | None = None) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise ModelFileError(
            f"{str(path)!r} is not a tabsynth model file (no {name} inside)."
        ) from None
    if limit is not None and info.file_size > limit:
        raise ModelFileError(f"{name} in {str(path)!r} is too large ({info.file_size} bytes).")
    try:
        return zf.read(name)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ModelFileError(
            f"The model file {str(path)!r} was tampered with or is corrupt ({name}: {exc})."
        ) from None


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """The manifest of a model file, fully verified (same checks as :func:`load`).

    Kept for backward compatibility; identical to :func:`verify_model_file`.
    """
    return verify_model_file(path)


def verify_model_file(path: str | os.PathLike) -> dict[str, Any]:
    """Verify a model file exactly as :func:`load` does, without importing torch or the models.

    Checks: the file exists and is a zip (not a pickle/torch file), it holds exactly
    ``manifest.json`` and ``weights.safetensors`` (once each), the manifest is valid JSON of
    the ``tabsynth-model`` format at a version this tabsynth reads, the manifest matches its
    own sha256, the weights match the manifest's sha256 and the class is one tabsynth knows.

    Checksums catch corruption and careless edits, not a deliberate forger who recomputes
    them: use :mod:`tabsynth.signing` for that.

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    ModelFileError
        With a message naming the file and what is wrong with it.
    """
    manifest, _ = _verified(Path(path))
    return manifest


def _verified(p: Path) -> tuple[dict[str, Any], bytes]:
    """The one verification path of :func:`load` and :func:`verify_model_file`."""
    with _open(p) as zf:
        names = zf.namelist()
        if len(names) != len(set(names)) or set(names) != {MANIFEST, WEIGHTS}:
            missing = sorted({MANIFEST, WEIGHTS} - set(names))
            if missing:
                raise ModelFileError(
                    f"{str(p)!r} is not a tabsynth model file (no {missing[0]} inside)."
                )
            raise ModelFileError(
                f"{str(p)!r} holds unexpected members {sorted(set(names))} (a model file holds "
                f"exactly {MANIFEST} and {WEIGHTS}): the file was tampered with or is corrupt."
            )
        manifest = _check_manifest(_read_member(zf, MANIFEST, p, _MAX_MANIFEST_BYTES), p)
        weights = _read_member(zf, WEIGHTS, p)
    if hashlib.sha256(weights).hexdigest() != manifest.get("weights_sha256"):
        raise ModelFileError(
            f"The weights in {str(p)!r} do not match the manifest's sha256: the file was "
            "tampered with or is corrupt."
        )
    name = manifest.get("class")
    if name not in _KNOWN_CLASSES:
        raise ModelFileError(
            f"{str(p)!r} holds a model of class {name!r}, which this tabsynth does not know "
            f"(known: {sorted(_KNOWN_CLASSES)})."
        )
    return manifest, weights


def _check_manifest(raw: bytes, path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(
            f"The manifest of {str(path)!r} is not valid JSON ({exc}); the file was tampered "
            "with or is corrupt."
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        got = manifest.get("format") if isinstance(manifest, dict) else None
        raise ModelFileError(
            f"{str(path)!r} is not a tabsynth model file (format {got!r}, expected {FORMAT!r})."
        )
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{str(path)!r} has an invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{str(path)!r} uses model file format version {version}, but this tabsynth "
            f"reads versions up to {FORMAT_VERSION}. Upgrade tabsynth to load it."
        )
    if manifest.get("manifest_sha256") != _manifest_digest(manifest):
        raise ModelFileError(
            f"The manifest of {str(path)!r} does not match its checksum: the file was "
            "tampered with or is corrupt."
        )
    return manifest


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
    CTGAN or TVAE
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

    from ._device import resolve_device
    from .metadata import Metadata
    from .stats import TableStats

    target_device = resolve_device(device, owner="load")  # ParameterError: the caller's fault
    manifest, weights = _verified(Path(path))
    registry = _registry()
    name = manifest["class"]
    cls = registry[name]()
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
