"""Resolution of the ``device`` parameter shared by the models.

``"auto"`` picks CUDA when available, then Apple MPS, then the CPU. Explicit names
(``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``) or a :class:`torch.device` are checked
against what this machine has, so a typo or a missing GPU fails before training starts.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import ParameterError, check_param

__all__ = ["is_valid_device_spec", "mixed_precision", "resolve_device"]

_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
_EXPECTED = "'auto', 'cpu', 'cuda', 'cuda:N', 'mps' or a torch.device"


def is_valid_device_spec(device: Any) -> bool:
    """Whether ``device`` has a valid form (availability is checked by :func:`resolve_device`)."""
    if isinstance(device, str):
        return bool(_DEVICE_RE.match(device))
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return isinstance(device, torch.device)


def resolve_device(device: Any, *, owner: str = "the model") -> Any:
    """Return the :class:`torch.device` that ``device`` names on this machine.

    Raises
    ------
    ParameterError
        Malformed value, or a device this machine does not have.
    """
    import torch

    check_param(owner, "device", device, is_valid_device_spec(device), _EXPECTED)
    if isinstance(device, str) and device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ParameterError(
                f"The 'device' parameter of {owner} is {str(device)!r} but CUDA is not "
                "available on this machine. Use device='auto' or 'cpu'."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ParameterError(
                f"The 'device' parameter of {owner} is {str(device)!r} but this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)."
            )
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ParameterError(
                f"The 'device' parameter of {owner} is 'mps' but MPS is not available on this "
                "machine. Use device='auto' or 'cpu'."
            )
    return dev


def mixed_precision(device: Any) -> Any:
    """The autocast context of a non-private training step on ``device``.

    bfloat16 autocast on a CUDA device that supports it (matrix products in bfloat16, the loss
    and its reductions in float32 as autocast keeps them); a no-op elsewhere (CPU, MPS, older
    GPUs). bfloat16 has float32's exponent range, so no loss scaling is needed. Used by the
    autoregressive family's non-DP loop only: DP-SGD's per-sample gradients and clipping stay
    in float32 (a clipping norm computed in bfloat16 would not bound the sensitivity exactly),
    and the GANs' gradient penalty is not run under it either.
    """
    import contextlib

    import torch

    dev = torch.device(device)
    if dev.type == "cuda" and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
