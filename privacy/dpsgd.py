"""DP-SGD wiring around Opacus (the only module of tabsynth.privacy that imports torch).

We draw Poisson batches of row indices ourselves (:func:`poisson_batches`) instead of using a
DataLoader, and wrap the module and optimizer with Opacus' ``GradSampleModule`` and
``DPOptimizer`` directly (:func:`make_private`). The accountant must match that sampler: each
step is the Poisson-subsampled Gaussian mechanism with rate ``q = expected_batch_size / n``,
recorded as ``LedgerEntry.dpsgd(noise_multiplier=..., sample_rate=q, steps=...)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from .errors import IncompatibleModuleError, PrivacyParameterError, SecureModeUnavailableError

__all__ = ["GRAD_SAMPLE_MODES", "check_module", "make_private", "poisson_batches",
           "secure_gaussian", "secure_generator"]

GRAD_SAMPLE_MODES = ("hooks", "functorch", "ew", "ghost")


def poisson_batches(n: int, sample_rate: float, steps: int,
                    generator: np.random.Generator | torch.Generator) -> Iterator[np.ndarray]:
    """Yield ``steps`` index batches: each row is in each batch independently with probability
    ``sample_rate`` (Poisson sampling; batches have random size and may be empty).

    This is the sampler the accountants assume (Abadi et al. 2016; Mironov, Talwar & Zhang 2019).
    Shuffling into fixed-size batches would NOT match the accounting.
    """
    if not (isinstance(n, int) and n >= 1):
        raise PrivacyParameterError(
            f"The 'n' parameter of poisson_batches must be an int >= 1. Got {n!r} instead.")
    if not (isinstance(sample_rate, (int, float)) and 0 < sample_rate <= 1):
        raise PrivacyParameterError(
            "The 'sample_rate' parameter of poisson_batches must be a float in (0, 1]. "
            f"Got {sample_rate!r} instead.")
    if not (isinstance(steps, int) and steps >= 0):
        raise PrivacyParameterError(
            f"The 'steps' parameter of poisson_batches must be an int >= 0. Got {steps!r} instead.")
    for _ in range(steps):
        if isinstance(generator, torch.Generator):
            mask = (torch.rand(n, generator=generator) < sample_rate).numpy()
        elif isinstance(generator, np.random.Generator):
            mask = generator.random(n) < sample_rate
        else:
            raise PrivacyParameterError(
                "The 'generator' parameter of poisson_batches must be a numpy.random.Generator "
                f"or a torch.Generator. Got {generator!r} instead.")
        yield np.flatnonzero(mask)


def check_module(module: nn.Module) -> None:
    """Raise :class:`IncompatibleModuleError` listing every reason Opacus cannot train
    ``module`` privately (e.g. BatchNorm mixes rows of a batch; use ``ModuleValidator.fix``,
    GroupNorm or LayerNorm instead)."""
    from opacus.validators import ModuleValidator

    errors = ModuleValidator.validate(module, strict=False)
    if errors:
        problems = "; ".join(str(e) for e in errors)
        raise IncompatibleModuleError(
            f"The module {type(module).__name__} cannot be trained with DP-SGD: {problems}."
        )


def secure_generator() -> torch.Generator:
    """A cryptographically secure torch generator (``torchcsprng`` reading /dev/urandom), as used
    by Opacus' ``secure_mode``. Raises :class:`SecureModeUnavailableError` if not installed."""
    try:
        import torchcsprng  # type: ignore[import-not-found]
    except ImportError as exc:
        raise SecureModeUnavailableError(
            "secure_mode=True needs the 'torchcsprng' package for cryptographically secure noise "
            "(https://github.com/pytorch/csprng); install it or use secure_mode=False "
            "(not suitable for production releases)."
        ) from exc
    return torchcsprng.create_random_device_generator("/dev/urandom")


def secure_gaussian(sigma: float, shape: tuple[int, ...]) -> np.ndarray:
    """``N(0, sigma^2)`` noise of ``shape`` from :func:`secure_generator`, with Opacus'
    floating-point mitigation (sum of 4 draws / 2, Holohan & Braghin 2021)."""
    from opacus.optimizers.optimizer import _generate_noise

    reference = torch.zeros(shape, dtype=torch.float64)
    noise = _generate_noise(float(sigma), reference, generator=secure_generator(),
                            secure_mode=True)
    return noise.numpy().astype(float)


def make_private(
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    noise_multiplier: float,
    max_grad_norm: float,
    expected_batch_size: int,
    grad_sample_mode: str = "hooks",
    secure_mode: bool = False,
    generator: torch.Generator | None = None,
):
    """Wrap ``module`` (per-sample gradients) and ``optimizer`` (clip + noise) for DP-SGD.

    Parameters
    ----------
    noise_multiplier : float
        Noise std / ``max_grad_norm``; from :func:`.calibration.calibrate_dpsgd`. Larger is more
        private.
    max_grad_norm : float
        Per-sample L2 clipping norm (the sensitivity of one step's gradient sum).
    expected_batch_size : int
        ``sample_rate * n``: the denominator of the averaged gradient with Poisson batches
        (the actual batch size is random and must not be used: it would leak it).
    grad_sample_mode : {"hooks", "functorch", "ew", "ghost"}
        How per-sample gradients are computed. With ``"ghost"`` (fast gradient clipping) the
        loss must be wrapped in ``opacus.utils.fast_gradient_clipping_utils
        .DPLossFastGradientClipping``.
    secure_mode : bool
        Draw the noise from :func:`secure_generator` (cryptographically secure).

    Returns ``(GradSampleModule, DPOptimizer)``. Call :func:`check_module` first (done here too).
    """
    if grad_sample_mode not in GRAD_SAMPLE_MODES:
        raise PrivacyParameterError(
            f"The 'grad_sample_mode' parameter of make_private must be one of "
            f"{list(GRAD_SAMPLE_MODES)}. Got {grad_sample_mode!r} instead.")
    for name, value in (("noise_multiplier", noise_multiplier), ("max_grad_norm", max_grad_norm)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise PrivacyParameterError(
                f"The {name!r} parameter of make_private must be a float > 0 and finite. "
                f"Got {value!r} instead.")
    if not (isinstance(expected_batch_size, int) and expected_batch_size >= 1):
        raise PrivacyParameterError(
            "The 'expected_batch_size' parameter of make_private must be an int >= 1. "
            f"Got {expected_batch_size!r} instead.")
    from opacus.grad_sample.utils import prepare_module
    from opacus.optimizers import get_optimizer_class

    check_module(module)
    if secure_mode:
        generator = secure_generator()
    extra = {}
    if grad_sample_mode == "ghost":
        # Ghost clipping clips inside the module (before the optimizer adds noise): it must
        # clip at the same norm the noise is calibrated for (Opacus' default there is 1.0).
        extra = {"max_grad_norm": float(max_grad_norm), "use_ghost_clipping": True}
    gsm = prepare_module(module, grad_sample_mode, batch_first=True, loss_reduction="mean",
                         **extra)
    optim_cls = get_optimizer_class(clipping="flat", distributed=False,
                                    grad_sample_mode=grad_sample_mode)
    dp_optimizer = optim_cls(optimizer, noise_multiplier=float(noise_multiplier),
                             max_grad_norm=float(max_grad_norm),
                             expected_batch_size=expected_batch_size, loss_reduction="mean",
                             generator=generator, secure_mode=secure_mode)
    return gsm, dp_optimizer
