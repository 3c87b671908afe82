"""The model file format: a zip archive with ``manifest.json`` and ``weights.safetensors``.

This module is the file format only (what is written, hashed and checked); it imports nothing of
the models. Which classes a file may name and how a model is rebuilt from a file live in
:mod:`tabsynth.models.registry` (:func:`tabsynth.load`); how a fitted model becomes a file's
contents in :mod:`tabsynth.models.persistence` (``model.save(path)``).

A model file never contains code and is never unpickled:

* ``manifest.json`` — ``format`` (``"tabsynth-model"``), ``format_version``, the class
  name, its parameters, the metadata and statistics (as dicts), a training summary, the
  privacy ledger, package versions, a creation timestamp, the sha256 of the weights and
  ``manifest_sha256`` (sha256 of the manifest's canonical JSON without that field).
* ``weights.safetensors`` — the tensors of the networks sampling needs, keyed
  ``generator.*`` (CTGAN) or ``decoder.*`` (TVAE), saved from the CPU; read back with
  :func:`safetensors.torch.load`, so a file written on a GPU loads on a CPU.

``tabsynth.artifact.load`` and ``tabsynth.artifact.save_model`` still work but are deprecated
(use :func:`tabsynth.load` and ``model.save(path)``).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import warnings
import zipfile
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._version import __version__
from .errors import ModelFileError, ParameterError

__all__ = ["FORMAT", "FORMAT_VERSION", "MODEL_CLASSES", "jsonable", "read_manifest",
           "read_model_file", "verify_model_file", "write_model_file"]

FORMAT = "tabsynth-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"
_MAX_MANIFEST_BYTES = 64 * 2**20
#: The class names a model file may hold (checkable without torch); the classes themselves are
#: looked up in :data:`tabsynth.models.registry.MODEL_CLASSES`, never imported by a name read
#: from a file.
MODEL_CLASSES = ("CTGAN", "TVAE", "ARSynthesizer")


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True).encode("utf-8")


def _manifest_digest(manifest: Mapping[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(_canonical(body)).hexdigest()


def jsonable(value: Any) -> Any:
    """Parameters as JSON values (tuples -> lists, numpy scalars -> Python, devices -> str)."""
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
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

    return {
        "tabsynth": __version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "python": platform.python_version(),
    }


def write_model_file(path: str | os.PathLike, *, contents: Mapping[str, Any],
                     tensors: Mapping[str, Any],
                     csv_format: Mapping[str, Any] | None = None) -> Path:
    """Write a model file to ``path`` atomically (temp file renamed at the end).

    If the final rename fails, the finished file is kept next to the target and the
    :class:`~tabsynth.errors.OutputError` says where (training is never lost to a rename).

    Parameters
    ----------
    contents : mapping
        The model's part of the manifest, JSON values: ``class`` (one of
        :data:`MODEL_CLASSES`), ``params``, ``metadata``, ``stats``, ``training``, ``ledger``.
        The format fields, versions, timestamp and checksums are added here.
    tensors : mapping of str to torch.Tensor
        The weights (CPU, contiguous), saved as ``weights.safetensors``.
    csv_format : mapping, optional
        How the training CSV was written (``na_rep``: the token it used for missing values),
        so releases can write missing values the same way. Stored in the manifest.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    from safetensors.torch import save as save_tensors

    from ._atomic import atomic_path

    name = contents.get("class")
    if name not in MODEL_CLASSES:
        raise ParameterError(f"Cannot save a {name}: only {sorted(MODEL_CLASSES)} can be saved.")
    weights = save_tensors(dict(tensors), metadata={"format": FORMAT})
    manifest: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION}
    manifest.update(contents)
    manifest["versions"] = _versions()
    manifest["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    manifest["weights_sha256"] = hashlib.sha256(weights).hexdigest()
    if csv_format:
        manifest["csv_format"] = jsonable(dict(csv_format))
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
    """The manifest of a model file, fully verified (same checks as :func:`tabsynth.load`).

    Kept for backward compatibility; identical to :func:`verify_model_file`.
    """
    return verify_model_file(path)


def verify_model_file(path: str | os.PathLike) -> dict[str, Any]:
    """Verify a model file as :func:`tabsynth.load` does, without importing torch or the models.

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
    manifest, _ = read_model_file(path)
    return manifest


def read_model_file(path: str | os.PathLike) -> tuple[dict[str, Any], bytes]:
    """The verified manifest and the raw weights (the one verification path of
    :func:`verify_model_file` and :func:`tabsynth.load`); raises :class:`ModelFileError`."""
    p = Path(path)
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
    if name not in MODEL_CLASSES:
        raise ModelFileError(
            f"{str(p)!r} holds a model of class {name!r}, which this tabsynth does not know "
            f"(known: {sorted(MODEL_CLASSES)})."
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


#: moved names: (module, attribute, deprecated?) -- ``load_with_manifest`` is an internal
#: helper the CLI still imports from here, forwarded without a warning.
_MOVED = {
    "load": ("tabsynth.models.registry", "load", True),
    "load_with_manifest": ("tabsynth.models.registry", "load_with_manifest", False),
    "save_model": ("tabsynth.models.persistence", "save_model", True),
}


def __getattr__(name: str) -> Any:
    """Deprecated paths of names that moved to the models package (lazy: no torch here)."""
    if name in _MOVED:
        from importlib import import_module

        module, attr, deprecated = _MOVED[name]
        if deprecated:
            new = "tabsynth.load" if name == "load" else f"model.save(path) or {module}.{attr}"
            warnings.warn(f"tabsynth.artifact.{name} is deprecated; use {new}.",
                          DeprecationWarning, stacklevel=2)
        return getattr(import_module(module), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
