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
from .noise import SecureRandom, is_noise_rng, os_seed

__all__ = ["GRAD_SAMPLE_MODES", "check_module", "make_private", "noise_generator",
           "poisson_batches", "secure_gaussian", "secure_generator"]

GRAD_SAMPLE_MODES = ("hooks", "functorch", "ew", "ghost", "direct")


#: Largest sample rate drawn as a Binomial size and a uniform subset (:func:`poisson_batches`);
#: above it, one uniform per row is as fast.
SUBSET_RATE = 0.02


def poisson_batches(n: int, sample_rate: float, steps: int,
                    generator: np.random.Generator | torch.Generator) -> Iterator[np.ndarray]:
    """Yield ``steps`` index batches: each row is in each batch independently with probability
    ``sample_rate`` (Poisson sampling; batches have random size and may be empty).

    This is the sampler the accountants assume (Abadi et al. 2016; Mironov, Talwar & Zhang 2019).
    Shuffling into fixed-size batches would NOT match the accounting. With a
    :class:`numpy.random.Generator` a batch is drawn as its size ``k ~ Binomial(n, q)`` and a
    uniformly random ``k``-subset of the rows, which is the same distribution (independent
    inclusions given their count are a uniform subset) in O(k) work instead of n draws per
    step (10M rows: 0.01 ms against 30 ms a step), at rates up to :data:`SUBSET_RATE`.
    Higher rates and other sources draw a uniform per row.
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
    if not (isinstance(generator, torch.Generator) or is_noise_rng(generator)):
        raise PrivacyParameterError(
            "The 'generator' parameter of poisson_batches must be a privacy noise source "
            "(tabsynth.privacy.noise_rng()) or a torch.Generator. "
            f"Got {generator!r} instead.")
    # numpy draws a subset without replacement in O(k) for k up to ~n/50, in O(n) beyond
    subset = isinstance(generator, np.random.Generator) and sample_rate <= SUBSET_RATE
    for _ in range(steps):
        if subset:  # the same distribution: a Binomial(n, q) size, then a uniform subset
            k = int(generator.binomial(n, sample_rate))  # of that size
            yield np.sort(generator.choice(n, size=k, replace=False, shuffle=False))
            continue
        if isinstance(generator, torch.Generator):
            mask = (torch.rand(n, generator=generator) < sample_rate).numpy()
        else:
            mask = generator.random(n) < sample_rate
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
    """A cryptographically secure torch generator (``torchcsprng`` reading /dev/urandom).

    Not needed by tabsynth any more (``secure_mode=True`` draws DP-SGD noise from
    :class:`~.noise.SecureRandom`); kept for callers of Opacus' own ``secure_mode``. Raises
    :class:`SecureModeUnavailableError` if ``torchcsprng`` is not installed."""
    try:
        import torchcsprng  # type: ignore[import-not-found]
    except ImportError as exc:
        raise SecureModeUnavailableError(
            "Opacus' secure_mode needs the 'torchcsprng' package "
            "(https://github.com/pytorch/csprng); tabsynth's secure_mode=True does not."
        ) from exc
    return torchcsprng.create_random_device_generator("/dev/urandom")


def secure_gaussian(sigma: float, shape: tuple[int, ...]) -> np.ndarray:
    """``N(0, sigma^2)`` noise of ``shape`` from :class:`~.noise.SecureRandom` (os.urandom,
    with the Holohan & Braghin 2021 floating-point mitigation)."""
    return np.asarray(SecureRandom().normal(0.0, float(sigma), size=tuple(shape)), dtype=float)


def noise_generator(device: object = "cpu") -> torch.Generator:
    """A torch generator for DP-SGD noise, seeded from OS entropy (never ``random_state``)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(os_seed())
    return gen


def _secure_add_noise(optimizer: object, rng: SecureRandom) -> None:
    """Make a DPOptimizer draw its Gaussian noise from ``rng`` (os.urandom) instead of torch.

    The same computation as Opacus' ``add_noise`` (noise of std ``noise_multiplier *
    max_grad_norm`` added to each parameter's clipped gradient sum); only the source of the
    noise differs."""
    from opacus.optimizers.optimizer import _check_processed_flag, _mark_as_processed

    def add_noise() -> None:
        nm = getattr(optimizer, "_adjusted_noise_multiplier", optimizer.noise_multiplier)
        std = float(nm) * float(optimizer.max_grad_norm)
        for p in optimizer.params:
            _check_processed_flag(p.summed_grad)
            ref = p.summed_grad
            draw = rng.normal(0.0, std, size=tuple(ref.shape)) if std > 0 else np.zeros(ref.shape)
            noise = torch.from_numpy(np.asarray(draw)).to(device=ref.device, dtype=ref.dtype)
            p.grad = (ref + noise).view_as(p)
            _mark_as_processed(p.summed_grad)

    optimizer.add_noise = add_noise


def _flat_reduce_gradients(optimizer: object) -> None:
    """Make a distributed DPOptimizer all-reduce its gradients in one flat buffer (one
    collective per step instead of one per parameter): the same sum over the processes,
    divided by the number of processes, as Opacus' ``reduce_gradients``."""

    def reduce_gradients() -> None:
        grads = [p.grad for p in optimizer.params if p.requires_grad]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        torch.distributed.all_reduce(flat, op=torch.distributed.ReduceOp.SUM)
        flat /= optimizer.world_size  # loss_reduction="mean", as Opacus
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    optimizer.reduce_gradients = reduce_gradients


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
    world_size: int = 1,
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
    grad_sample_mode : {"hooks", "functorch", "ew", "ghost", "direct"}
        How per-sample gradients are computed. With ``"ghost"`` (fast gradient clipping) the
        loss must be wrapped in ``opacus.utils.fast_gradient_clipping_utils
        .DPLossFastGradientClipping``. With ``"direct"`` the module is not wrapped: before
        each ``step`` the caller sets every trainable parameter's ``.grad`` to the sum over
        the batch of each row's gradient clipped to L2 norm ``max_grad_norm`` (over all
        parameters together), as a model that computes its rows' gradients in closed form
        does (``tabsynth.models.ar_clip``); the optimizer is Opacus' fast-gradient-clipping
        one, which adds the noise and divides by ``expected_batch_size``, as for
        ``"ghost"``. The privacy guarantee then rests on the caller's clipping: every
        trainable parameter must get a ``.grad`` (zeros for an empty batch).
    secure_mode : bool
        Draw the noise from :class:`~.noise.SecureRandom` (os.urandom, cryptographically
        secure) instead of a torch generator.
    generator : torch.Generator, optional
        The noise generator when not ``secure_mode``; default :func:`noise_generator` (OS
        entropy). Never pass a generator seeded by ``random_state``.
    world_size : int
        Processes of a ``torch.distributed`` group training together (1: none). Above 1,
        Opacus' distributed optimizer: every process clips its own rows, rank 0 alone adds
        the noise (std ``noise_multiplier * max_grad_norm``) to its clipped sum, each process
        divides by ``expected_batch_size / world_size`` and the gradients are summed over the
        processes and divided by ``world_size``: one noise draw per step on the sum of every
        process's clipped gradients, divided by ``expected_batch_size`` (the global expected
        batch), as in one process.

    Returns ``(GradSampleModule, DPOptimizer)`` (``"direct"``: ``(module, DPOptimizer)``). Call
    :func:`check_module` first (done here too).
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
    if not (isinstance(world_size, int) and world_size >= 1):
        raise PrivacyParameterError(
            f"The 'world_size' parameter of make_private must be an int >= 1. Got "
            f"{world_size!r} instead.")
    distributed = world_size > 1
    from opacus.grad_sample.utils import prepare_module
    from opacus.optimizers import get_optimizer_class

    check_module(module)
    if generator is None and not secure_mode:
        generator = noise_generator(next((p.device for p in module.parameters()), "cpu"))
    extra = {}
    if grad_sample_mode == "ghost":
        # Ghost clipping clips inside the module (before the optimizer adds noise): it must
        # clip at the same norm the noise is calibrated for (Opacus' default there is 1.0).
        extra = {"max_grad_norm": float(max_grad_norm), "use_ghost_clipping": True}
    if grad_sample_mode == "direct":  # the caller clips (docstring); Opacus adds the noise
        gsm = module
    else:
        gsm = prepare_module(module, grad_sample_mode, batch_first=True,
                             loss_reduction="mean", **extra)
    optim_cls = get_optimizer_class(
        clipping="flat", distributed=distributed,
        grad_sample_mode="ghost" if grad_sample_mode == "direct" else grad_sample_mode)
    # distributed: the per-process expected batch (Opacus' PrivacyEngine does the same)
    local_batch = expected_batch_size / world_size if distributed else expected_batch_size
    dp_optimizer = optim_cls(optimizer, noise_multiplier=float(noise_multiplier),
                             max_grad_norm=float(max_grad_norm),
                             expected_batch_size=local_batch, loss_reduction="mean",
                             generator=None if secure_mode else generator, secure_mode=False)
    if distributed:
        _flat_reduce_gradients(dp_optimizer)
    if secure_mode and (not distributed or torch.distributed.get_rank() == 0):
        # distributed: the other ranks add no noise (DistributedDPOptimizer.add_noise)
        _secure_add_noise(dp_optimizer, SecureRandom())
    return gsm, dp_optimizer
