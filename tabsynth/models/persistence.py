"""A fitted synthesizer as the contents of a model file (``model.save(path)``).

What a model file holds about a model (its class name, parameters, metadata, statistics,
training summary, ledger and the tensors of the networks sampling needs) is gathered here and
written by :func:`tabsynth.artifact.write_model_file`, which owns the format (manifest,
safetensors, versions, checksums). The way back is :mod:`tabsynth.models.registry`
(:func:`tabsynth.load`), which rebuilds the model with :func:`restore_fitted`. Imports no model
class and no torch at module level.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .._device import resolve_device
from ..artifact import MODEL_CLASSES, jsonable, write_model_file
from ..errors import ParameterError
from .fit_result import FitResult

__all__ = ["model_file_contents", "restore_fitted", "save_model"]


def model_file_contents(model: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(contents, tensors)`` of a fitted model: the manifest's model fields and the weights.

    ``tensors`` are the sampling networks' state, keyed ``<network>.<parameter>``, detached
    and on the CPU. Nothing is read from the training rows here: everything comes from what
    the fitted model already holds.
    """
    model._check_is_fitted()
    name = type(model).__name__
    if name not in MODEL_CLASSES:
        raise ParameterError(f"Cannot save a {name}: only {sorted(MODEL_CLASSES)} can be saved.")
    tensors: dict[str, Any] = {}
    for prefix, net in model._sampling_networks().items():
        for key, tensor in net.state_dict().items():
            tensors[f"{prefix}.{key}"] = tensor.detach().to("cpu").contiguous()
    history = model.loss_history_
    # the summary's keys are copied one by one: nothing reaches a (DP) model file unless it
    # is listed here (``best_epoch`` is not stored)
    training = {
        "epochs": model.training_summary_.get("epochs"),
        "batch_size": model.training_summary_.get("batch_size"),
        "loss_history": {c: jsonable(history[c].tolist()) for c in history.columns},
        "columns": list(model.columns_),
        "n_features_in": int(model.n_features_in_),
        "privacy_spent": jsonable(model.privacy_spent_),
    }
    if model.training_summary_.get("seconds") is not None:  # non-DP only (timing side channel)
        training["seconds"] = model.training_summary_["seconds"]
    if model.training_summary_.get("n_bins") is not None:  # marginal route's bin count
        training["n_bins"] = int(model.training_summary_["n_bins"])
    if model.training_summary_.get("processes") is not None:  # multi-process fit: nproc /
        training["processes"] = int(model.training_summary_["processes"])  # world size
    ledger = model.ledger_
    if ledger is not None and hasattr(ledger, "to_dict"):
        ledger = ledger.to_dict()
    contents = {
        "class": name,
        "params": jsonable(model.get_params()),
        "metadata": model.metadata_.to_dict(),
        "stats": model.stats_.to_dict(),
        "training": training,
        "ledger": jsonable(ledger),
    }
    return contents, tensors


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
    contents, tensors = model_file_contents(model)
    return write_model_file(path, contents=contents, tensors=tensors, csv_format=csv_format)


def restore_fitted(model: Any, *, metadata: Any, stats: Any, training: Mapping[str, Any],
                   ledger: Any, state: Mapping[str, Any], device: Any) -> None:
    """Make ``model`` the fitted model a file holds: its parts as a
    :class:`~tabsynth.models.fit_result.FitResult` (stored by the model's one writer), the
    sampling networks' weights, and the DP correction (the same pilot as at fit time)."""
    import torch

    from ..privacy.spent import as_privacy_spent

    model._validate_params()
    summary = {"epochs": training.get("epochs"), "batch_size": training.get("batch_size")}
    if training.get("seconds") is not None:
        summary["seconds"] = training["seconds"]
    if training.get("n_bins") is not None:  # marginal route: bins of the numeric columns
        summary["n_bins"] = int(training["n_bins"])
    if training.get("processes") is not None:  # absent: one process, or an older file
        summary["processes"] = int(training["processes"])
    if isinstance(ledger, Mapping):
        from ..privacy import Ledger

        ledger = Ledger.from_dict(ledger)
    columns = list(training.get("columns", metadata.modelled_columns))
    result = FitResult(
        metadata=metadata, stats=stats,
        transformer=model._restore_transformer(metadata, stats, training),
        device=resolve_device(device, owner="load"), columns=columns,
        n_features_in=int(training.get("n_features_in", len(columns))), ledger=ledger,
        privacy_spent=as_privacy_spent(training.get("privacy_spent")),
        loss_history=pd.DataFrame(training.get("loss_history", {})),
        training_summary=summary,
    )
    model._store_fit(result)
    model._build_networks(torch.Generator().manual_seed(0))
    nets = model._sampling_networks()
    grouped: dict[str, dict[str, Any]] = {name: {} for name in nets}
    for key, tensor in state.items():
        prefix, _, rest = key.partition(".")
        if prefix not in grouped:
            raise ValueError(f"unexpected tensor {key!r}")
        grouped[prefix][rest] = tensor
    for name, net in nets.items():
        net.load_state_dict(grouped[name], strict=True)
        net.to(model.device_)
        net.eval()
    model._store_fit(model._with_correction(result))  # the same pilot as at fit time
