"""The parameter checks every synthesizer shares (the models add theirs in
``_check_model_params``). Each failure is the project's standard
:class:`~tabsynth.errors.ParameterError` (:func:`tabsynth.errors.check_param`):
"The 'epsilon' parameter of CTGAN must be ... Got ... instead."
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping
from typing import Any

from .._device import is_valid_device_spec
from ..errors import MetadataError, check_param

__all__ = ["GRAD_SAMPLE_MODES", "MAX_EPSILON", "check_common_params", "check_privacy_params",
           "resolve_metadata"]

#: Largest epsilon accepted: far beyond any meaningful guarantee; larger values made the
#: accountants divide by zero and the marginal route loop for minutes.
MAX_EPSILON = 1000.0
#: Opacus' per-sample gradient modes (``"auto"``: the fastest measured per model).
GRAD_SAMPLE_MODES = ("auto", "ghost", "hooks", "functorch", "ew")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_float(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_dims(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(_is_int(v) and v >= 1 for v in value)


def _checker(model: Any) -> Any:
    def check(name: str, ok: bool, expected: str) -> None:
        check_param(type(model).__name__, name, getattr(model, name), ok, expected)

    return check


def check_common_params(model: Any) -> None:
    """``epochs``, ``batch_size``, ``random_state``, ``verbose``, ``device``."""
    c = _checker(model)
    c("epochs", _is_int(model.epochs) and model.epochs >= 1, "an int >= 1")
    c("batch_size", _is_int(model.batch_size) and model.batch_size >= 1, "an int >= 1")
    c("random_state",
      model.random_state is None or (_is_int(model.random_state) and model.random_state >= 0),
      "None or an int >= 0")
    c("verbose", isinstance(model.verbose, bool), "a bool")
    c("device", is_valid_device_spec(model.device),
      "'auto', 'cpu', 'cuda', 'cuda:N', 'mps' or a torch.device")


def check_privacy_params(model: Any) -> None:
    """``epsilon``, ``delta``, ``max_grad_norm``, ``preprocessing_share``, ``accountant``,
    ``secure_mode``, ``grad_sample_mode`` and ``route`` (one of the class's ``_ROUTES``)."""
    c = _checker(model)
    eps = model.epsilon
    c("epsilon", eps is None or (_is_float(eps) and math.isfinite(eps) and 0 < eps <= MAX_EPSILON),
      f"None or a float in (0, {MAX_EPSILON:g}] (beyond, the guarantee is void and "
      "the accountants lose precision)")
    delta = model.delta
    c("delta", delta is None or (_is_float(delta) and 0 < delta < 1), "None or a float in (0, 1)")
    mgn = model.max_grad_norm
    c("max_grad_norm", _is_float(mgn) and math.isfinite(mgn) and mgn > 0,
      "a float > 0 and finite")
    share = model.preprocessing_share
    c("preprocessing_share", _is_float(share) and 0 < share < 1, "a float in (0, 1)")
    c("accountant", model.accountant in ("prv", "rdp"), "'prv' or 'rdp'")
    c("secure_mode", isinstance(model.secure_mode, bool), "a bool")
    modes = model._GRAD_SAMPLE_MODES
    c("grad_sample_mode", model.grad_sample_mode in modes, f"one of {list(modes)}")
    c("route", model.route in model._ROUTES, f"one of {list(model._ROUTES)}")
    if model.route == "marginals" and eps is None:
        c("route", False, "'dpsgd' when epsilon is None ('marginals' is a private route: give "
          "epsilon)")


def resolve_metadata(metadata: Any, df: Any, *, private: bool = False) -> Any:
    """The ``metadata`` argument of ``fit`` as a :class:`~tabsynth.Metadata` (a copy): a
    Metadata, a dict, a path to a metadata JSON file, or ``None`` (detected; under DP from the
    dtypes and names only: nothing is inferred from the values)."""
    from ..metadata import Metadata

    if metadata is None and private:
        return Metadata.from_dtypes(df, announce=True)
    if metadata is None:
        return Metadata.detect(df)
    if isinstance(metadata, Metadata):
        return metadata.copy()
    if isinstance(metadata, Mapping):
        return Metadata.from_dict(metadata)
    if isinstance(metadata, (str, os.PathLike)):
        return Metadata.load(metadata)
    raise MetadataError(
        "metadata must be a Metadata, a dict, a path to a metadata JSON file or None, "
        f"got {type(metadata).__name__}."
    )
