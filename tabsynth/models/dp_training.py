"""DP-SGD training of :class:`~tabsynth.CTGAN` and :class:`~tabsynth.TVAE` (Opacus).

Used by both models when ``epsilon`` is given (``route="dpsgd"``). Follows the rules of
DESIGN.md ("Differential privacy: the rules"); the unit of privacy is one row (add/remove).

Pipeline (:func:`prepare_private_fit`, then :func:`train_ctgan_dp` / :func:`train_tvae_dp`)
--------------------------------------------------------------------------------------------
Steps 4 and 5 (sample rate, steps, noise multiplier: the :class:`DPPlan`) are
:func:`tabsynth.privacy.dpsgd_plan.plan_dpsgd`; this module wires the plan to the networks and
Opacus.

1. Checks that need only the parameters and the table's size, before anything is measured:
   ``delta < 1/n`` and ``batch_size < n`` (the expected Poisson batch must be smaller than the
   table). These errors go to the data curator only; nothing derived from the exact ``n`` is
   stored in the model.
2. ``delta=None``: the default :func:`~tabsynth.privacy.default_delta` needs the row count. It
   is taken from a Gaussian count (noise ``sigma = 50 / epsilon``, i.e. ``mu = epsilon/50``:
   about ``1/2500`` of the run's ``mu^2``), charged to the ledger, and made conservative
   (``n_hi = n_noisy + 3 sigma``: a larger ``n`` gives a smaller, safer ``delta``). The exact
   ``n`` would be readable from ``delta`` in the model file otherwise. Note: the budget's
   ``delta`` is then a (private) function of the data; pass ``delta`` explicitly for a
   guarantee whose ``delta`` is fixed in advance.
3. Statistics from :func:`~tabsynth.stats.private.compute_private_stats` (``preprocessing_share``
   of epsilon), recorded in the same ledger.
4. Sample rate ``q = batch_size / n_noisy`` with the noisy ``TableStats.n_rows``. Poisson
   sampling at rate ``q`` is exactly what the accountant assumes whatever ``n`` is, so using the
   noisy count costs nothing in the guarantee; it only makes the expected batch
   ``q * n`` differ from ``batch_size`` by the (tiny) relative noise of the count. Opacus and
   most DP-SGD code use the exact ``n``, which the ledger's ``sample_rate`` would then reveal.
   One epoch is ``ceil(1/q)`` steps; ``steps = epochs * ceil(1/q)``.
5. Noise from :func:`~tabsynth.privacy.calibrate_dpsgd` with the preprocessing ledger as
   history, so that preprocessing + DP-SGD compose (one accountant) to at most ``epsilon``. The
   DP-SGD entry (``LedgerEntry.dpsgd``) is added to the ledger BEFORE training, with the
   budget enforced: a run that would exceed the budget never starts. If the requested epochs
   cannot fit even with noise multiplier 50, the error says how many epochs would
   (:func:`~tabsynth.privacy.max_steps_for`).
6. Per-sample clipping (``max_grad_norm``), Gaussian noise ``noise_multiplier *
   max_grad_norm`` on the summed gradient, divided by the expected batch ``batch_size``.

The two private loops: :mod:`tabsynth.models.ctgan_dp` (CTGAN: the private discriminator) and
:mod:`tabsynth.models.tvae_dp` (TVAE: encoder and decoder in one module); the autoregressive
model's: :mod:`tabsynth.models.ar_dp`. This module holds what they share: the plan before any
training (:func:`prepare_private_fit`), the Opacus wrappers and the per-step helpers.

Losses and what the model file holds
------------------------------------
Losses computed on real rows (discriminator loss, reconstruction loss) are NOT private: they
are not recorded in ``loss_history_`` (which is saved with the model). DP models record the
epoch, the epsilon spent so far and, for CTGAN, the generator loss (a function of the private
discriminator only).

Per-sample gradient modes (``grad_sample_mode="auto"``)
-------------------------------------------------------
Measured on adult (8,000 rows, batch 500, default network sizes, epsilon=3, CPU,
``OMP_NUM_THREADS=1``, on a shared 2-core machine), seconds per epoch of the training loop:

=============  ========  ========
mode           CTGAN     TVAE
=============  ========  ========
non-DP         2.0       0.55
``ghost``      4.6       1.4
``hooks``      16.0      7.4
``functorch``  19.1      6.0
``ew``         fails     fails
=============  ========  ========

``hooks``/``functorch`` materialise every row's gradient of every weight matrix (batch x out x
in floats per layer); ghost clipping (Li et al. 2022, "Large language models can be strong
differentially private learners"; Opacus' fast gradient clipping) computes each row's gradient
norm from the layer's activations and backprops (``||a_i|| ||g_i||`` for a linear layer) and
then the clipped sum with a second, ordinary backward pass. Expanded weights (``ew``) fails
(measured with the former learnt-``sigma`` layer for TVAE; for CTGAN it refuses a module used
in more than one forward per step: the generator's update reads the critic). ``ghost`` clips
inside the module at ``max_grad_norm`` (the same norm the noise is calibrated for).
"auto" picks :data:`AUTO_MODE` per model. The autoregressive model clips in closed form
(``"direct"``, :mod:`tabsynth.models.ar_clip`: no per-sample hooks, no second backward pass).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from ..privacy.dpsgd_plan import (  # noqa: F401 - DP_*: re-exported (their former home)
    DP_BATCH_FRACTION,
    DP_EPOCHS,
    DP_MAX_BATCH_FRACTION,
    DP_MIN_BATCH,
    DPPlan,
    dp_batch_size,
    epsilon_after,
    plan_dpsgd,
)

__all__ = [
    "AUTO_MODE",
    "DPPlan",
    "finish_private",
    "plan_private_training",
    "prepare_private_fit",
    "private_statistics",
    "resolve_dp_schedule",
]

#: ``grad_sample_mode="auto"``: the fastest mode measured for each model (module docstring).
AUTO_MODE = {"CTGAN": "ghost", "TVAE": "ghost", "ARSynthesizer": "direct"}

#: The DP training schedule used when the user left a parameter at its class default
#: (``DP_EPOCHS``, ``DP_BATCH_FRACTION``, ``DP_MIN_BATCH``, ``DP_MAX_BATCH_FRACTION``) lives in
#: :mod:`tabsynth.privacy.dpsgd_plan` with the plan; see :func:`resolve_dp_schedule`.
#: Learning-rate multiplier for DP models whose learning rate(s) are left at the class default.
DP_LR_SCALE = {"TVAE": 2.0, "CTGAN": 1.0}


def _is_default(model: Any, name: str) -> bool:
    import inspect

    param = inspect.signature(type(model).__init__).parameters.get(name)
    if param is None or param.default is inspect.Parameter.empty:
        return False
    value = getattr(model, name)
    return type(value) is type(param.default) and value == param.default


def resolve_dp_schedule(model: Any, n_noisy: int) -> dict[str, Any]:
    """Effective ``epochs``, ``batch_size`` and learning-rate scale of a DP-SGD fit.

    Parameters set by the user are used as given. Those left at the class default (the
    non-DP defaults: 300 epochs of batch 500 suit non-private training, not DP-SGD, where
    every step costs budget and the noise per step shrinks relative to the signal as the
    batch grows) are replaced, for DP fits only, by:

    * ``batch_size``: ``max(DP_MIN_BATCH, DP_BATCH_FRACTION * n)`` (1,000 rows, or 4% of the
      rows on larger tables), at most ``DP_MAX_BATCH_FRACTION * n`` (sample rate <= 0.2);
      ``n`` is the DP row count (``TableStats.n_rows``), never the exact one;
    * ``epochs``: ``DP_EPOCHS`` (20), or as many as the budget allows when 20 do not fit
      even at the noise multiplier's cap (:func:`plan_private_training`, with a
      ``UtilityWarning``);
    * learning rate(s): times ``DP_LR_SCALE`` (TVAE: 2x; CTGAN unchanged).

    The parameters themselves are not modified (scikit-learn convention): the resolved values
    are in ``dp_schedule_`` after ``fit`` and in the ledger's DP-SGD entry.
    """
    name = type(model).__name__
    batch = int(model.batch_size)
    batch_default = _is_default(model, "batch_size")
    if batch_default:
        batch = dp_batch_size(n_noisy)
    epochs_default = _is_default(model, "epochs")
    epochs = DP_EPOCHS if epochs_default else int(model.epochs)
    lr_names = ("learning_rate",) if name == "TVAE" else ("generator_lr", "discriminator_lr")
    lr_scale = {k: (DP_LR_SCALE.get(name, 1.0) if _is_default(model, k) else 1.0)
                for k in lr_names if hasattr(model, k)}
    return {"epochs": int(epochs), "batch_size": int(batch), "batch_default": batch_default,
            "epochs_default": epochs_default, "lr_scale": lr_scale}


# ------------------------------------------------------------------------------ planning
def _resolve_mode(model: Any) -> str:
    mode = model.grad_sample_mode
    return AUTO_MODE.get(type(model).__name__, "ghost") if mode == "auto" else mode


def private_statistics(model: Any, df: Any, metadata: Any, noise: Any, *, share: float,
                       accountant: str, **stats_kwargs: Any) -> tuple[Any, Any, Any, int]:
    """Budget and DP statistics of a private fit: ``(budget, stats, ledger, n_noisy)``.

    :func:`~tabsynth.privacy.resolve_budget` (``delta=None``: the default delta of a charged
    noisy count, its entry first in the ledger), then
    :func:`~tabsynth.stats.private.compute_private_stats` with ``share`` of epsilon, then the
    check of a given ``delta`` against the noisy row count ``n_noisy``. Shared by every private
    route (DP-SGD of CTGAN/TVAE/ARSynthesizer, the marginal route).
    """
    from ..privacy import check_delta_noisy, resolve_budget
    from ..stats.private import compute_private_stats

    delta = getattr(model, "delta", None)
    resolved = resolve_budget(float(model.epsilon), delta, len(df), noise)
    budget = resolved.budget
    stats, ledger = compute_private_stats(
        df, metadata, budget, share=float(share), accountant=accountant, rng=noise,
        secure_mode=bool(getattr(model, "secure_mode", False)), **stats_kwargs,
    )
    if resolved.entry is not None:
        ledger.entries.insert(0, resolved.entry)
    n_noisy = stats.n_rows if stats.n_rows else max(int(round(resolved.n_noisy or 1)), 1)
    if delta is not None:
        check_delta_noisy(budget.delta, n_noisy)
    return budget, stats, ledger, n_noisy


def plan_private_training(model: Any, budget: Any, ledger: Any, n_noisy: int, *,
                          schedule: dict[str, Any], lr_scale: dict[str, float], target: str,
                          noise: Any) -> DPPlan:
    """The DP-SGD plan of ``model`` (:func:`~tabsynth.privacy.dpsgd_plan.plan_dpsgd`, refused
    before training when over budget); its entry (``target`` names the private networks) is
    added to ``ledger`` before any training step.

    Raises
    ------
    ParameterError
        The table (its noisy row count) is too small for ``batch_size``.
    """
    from ..errors import ParameterError
    from ..privacy import LedgerEntry

    name = type(model).__name__
    batch_size, epochs = int(schedule["batch_size"]), int(schedule["epochs"])
    if batch_size >= n_noisy:
        raise ParameterError(
            f"The table has about {n_noisy} rows (a noisy count): too few for "
            f"{name}(batch_size={batch_size}) under differential privacy. Each row is sampled "
            "with probability batch_size / n (Poisson sampling): use "
            f"batch_size <= {max(n_noisy // 10, 1)} (a small fraction of the rows) or more rows."
        )
    from ..privacy import BudgetError, PreprocessingOverBudget

    mode = _resolve_mode(model)
    settings = {"n_noisy": n_noisy, "batch_size": batch_size, "accountant": model.accountant,
                "grad_sample_mode": mode, "owner": name, "lr_scale": dict(lr_scale),
                "noise": noise}
    try:
        plan = plan_dpsgd(budget, ledger, epochs=epochs, **settings)
    except PreprocessingOverBudget:
        raise
    except BudgetError as error:
        fewer = error.max_epochs
        if not (schedule.get("epochs_default") and 1 <= fewer < epochs):
            raise
        _warn_fewer_epochs(model, budget, n_noisy, batch_size, epochs, fewer)
        epochs = fewer
        plan = plan_dpsgd(budget, ledger, epochs=epochs, **settings)
    ledger.add(LedgerEntry.dpsgd(
        target, noise_multiplier=plan.noise_multiplier, sample_rate=plan.sample_rate,
        steps=plan.steps, max_grad_norm=model.max_grad_norm,
        params={"epochs": epochs, "expected_batch_size": batch_size, "grad_sample_mode": mode},
        note="DP-SGD, Poisson sampling, per-sample clipping",
    ))
    return plan


def _warn_fewer_epochs(model: Any, budget: Any, n_noisy: int, batch_size: int, epochs: int,
                       fewer: int) -> None:
    """The ``UtilityWarning`` of a DP schedule whose default ``epochs`` do not fit the budget
    even at the noise multiplier's cap, so that it runs ``fewer`` (the most that do; a count
    the user set is never shortened). Post-processing of the DP row count and the ledger (no
    row is read)."""
    from ..privacy import UtilityWarning

    warnings.warn(UtilityWarning(
        f"{type(model).__name__}: epsilon={budget.epsilon:g} leaves DP-SGD room for only "
        f"{fewer} of the default {epochs} epochs (about {n_noisy} rows, batch {batch_size}), "
        f"even at the largest noise multiplier; the fit runs {fewer} epochs at a noise "
        "multiplier near that cap, so the model stays close to its DP statistics. More "
        "epsilon, more rows or a larger batch_size train it further."), stacklevel=3)


def prepare_private_fit(model: Any, df: Any, metadata: Any,
                        noise: Any) -> tuple[Any, Any, DPPlan]:
    """Checks, DP statistics, ledger and DP-SGD calibration of a CTGAN/TVAE, before any
    training.

    ``noise`` is the privacy noise source (:func:`tabsynth.privacy.noise_rng`, OS entropy); the
    exact row count is read only by charged mechanisms (the count behind the default delta,
    the statistics' histograms), and every n-dependent setting (delta check, sample rate,
    schedule) uses the noisy count. Returns ``(stats, ledger, plan)``; the ledger already holds
    the DP-SGD entry.

    Raises
    ------
    BudgetError
        ``delta`` not below 1 / (noisy n); a budget that the requested epochs cannot meet
        (names the number of epochs that would); preprocessing alone over budget.
    ParameterError
        The table is too small for ``batch_size``.
    """
    from ..stats.noise_cells import drop_noise_level_cells

    # point bins (lower bound, 0) and geometric detail, as the ARSynthesizer's statistics
    budget, stats, ledger, n_noisy = private_statistics(
        model, df, metadata, noise, share=model.preprocessing_share,
        accountant=model.accountant, point_bins=True)
    # no slot for a missing cell or "other" bucket that only the noise gave mass
    stats = drop_noise_level_cells(stats, ledger)
    schedule = resolve_dp_schedule(model, n_noisy)
    networks = "discriminator" if type(model).__name__ == "CTGAN" else "encoder+decoder"
    plan = plan_private_training(model, budget, ledger, n_noisy, schedule=schedule,
                                 lr_scale=schedule["lr_scale"],
                                 target=f"{type(model).__name__} {networks}", noise=noise)
    return stats, ledger, plan


# ------------------------------------------------------------------------------ helpers
def _check_private(module: Any) -> None:
    """IncompatibleModuleError naming every layer Opacus cannot train privately."""
    from ..privacy.dpsgd import check_module

    check_module(module)


def _spent_so_far(ledger: Any, plan: DPPlan, steps_done: int) -> float:
    """Epsilon of everything before DP-SGD plus the first ``steps_done`` DP-SGD steps."""
    return epsilon_after(plan, ledger, steps_done)


def finish_private(ledger: Any, plan: DPPlan) -> tuple[Any, dict[str, Any]]:
    """``(privacy_spent, dp_schedule)`` of a finished DP-SGD run; refuses (never silently
    exceeds) a ledger over budget. The estimator stores both (its one writer)."""
    from ..privacy import BudgetExceededError
    from ..privacy.spent import spent_of

    spent = spent_of(ledger)
    if spent["epsilon"] > plan.budget.epsilon * (1 + 1e-9):  # pragma: no cover - calibrated
        raise BudgetExceededError(f"The run spent epsilon={spent['epsilon']:.4g} > the budget "
                                  f"epsilon={plan.budget.epsilon:g}.")
    schedule = {"epochs": int(plan.epochs), "batch_size": int(plan.expected_batch_size),
                "sample_rate": float(plan.sample_rate), "steps": int(plan.steps),
                "noise_multiplier": float(plan.noise_multiplier),
                "lr_scale": dict(plan.lr_scale or {})}
    return spent, schedule


def _release(gsm: Any) -> None:
    """Remove Opacus' hooks from the networks (the generator/decoder outlive training)."""
    close = getattr(gsm, "_close", None)
    if close is not None:
        close()


def _privacy_noise(plan: DPPlan) -> Any:
    """The plan's privacy noise source (OS entropy; never the model's ``random_state``)."""
    if plan.noise is None:
        from ..privacy import noise_rng

        return noise_rng()
    return plan.noise


def _make_private(module: Any, optimizer: Any, model: Any, plan: DPPlan, generator: Any,
                  world_size: int = 1):
    """Opacus wrappers; the DP-SGD noise comes from OS entropy (``secure_mode``: os.urandom),
    never from ``generator`` (seeded by ``random_state``, which only drives post-processing
    randomness such as the latent noise of fake rows). ``world_size`` > 1: Opacus'
    distributed optimizer (noise on rank 0 only; :mod:`tabsynth.models.distributed`)."""
    from ..privacy.dpsgd import make_private, noise_generator

    del generator
    noise_gen = None
    if not model.secure_mode:
        device = next((p.device for p in module.parameters()), "cpu")
        noise_gen = noise_generator(device)
    return make_private(
        module, optimizer, noise_multiplier=plan.noise_multiplier,
        max_grad_norm=float(model.max_grad_norm),
        expected_batch_size=plan.expected_batch_size, grad_sample_mode=plan.grad_sample_mode,
        secure_mode=model.secure_mode, generator=noise_gen, world_size=world_size,
    )


def start_private_loop(module: Any, optimizer: Any, model: Any, plan: DPPlan, generator: Any,
                       n_rows: int) -> tuple[Any, Any, Any, Any]:
    """``(gsm, optimizer, batches, bar)`` of a DP-SGD loop: the Opacus wrappers
    (:func:`_make_private`), the Poisson batches of row indices (masks from the plan's OS
    entropy noise), the module in train mode and the progress bar over ``plan.epochs``.

    In a process group (:mod:`tabsynth.models.distributed`): the parameters are rank 0's,
    each process Poisson-samples its shard of the rows at the plan's rate (the union is one
    Poisson sample of the table) and the optimizer is Opacus' distributed one (the noise
    added once per step, by rank 0)."""
    from .._progress import progress_bar
    from ..privacy.dpsgd import poisson_batches
    from .distributed import broadcast_parameters, current, shard

    ctx = current()
    broadcast_parameters(module, ctx)
    gsm, optimizer = _make_private(module, optimizer, model, plan, generator,
                                   world_size=1 if ctx is None else ctx.world)
    rows = shard(n_rows, ctx)
    batches = (rows[b] for b in poisson_batches(len(rows), plan.sample_rate, plan.steps,
                                                _privacy_noise(plan)))
    gsm.train()
    bar = progress_bar(plan.epochs, desc=f"DP-{type(model).__name__}",
                       verbose=model.verbose and (ctx is None or ctx.rank == 0))
    return gsm, optimizer, batches, bar


def _progress(model: Any, plan: DPPlan, epoch: int, bar: Any, extra: dict[str, float]) -> float:
    """Epsilon spent after ``epoch`` epochs (computed only when the bar is shown)."""
    if not model.verbose:
        return float("nan")
    eps = _spent_so_far(model.ledger_, plan, (epoch + 1) * plan.steps_per_epoch)
    bar.set_postfix({"eps": f"{eps:.3g}/{plan.budget.epsilon:g}",
                     **{k: f"{v:.3f}" for k, v in extra.items()}})
    return eps


def _epsilon_column(model: Any, plan: DPPlan, history: list[dict[str, float]]) -> None:
    """Fill the per-epoch epsilon column when the bar did not (one composition per epoch)."""
    for h in history:
        if not math.isfinite(h.get("epsilon", float("nan"))):
            h["epsilon"] = _spent_so_far(model.ledger_, plan, h["epoch"] * plan.steps_per_epoch)


def _backward(gsm: Any, optimizer: Any, per_row: Any, mode: str) -> None:
    """Backward of the mean per-row loss, with per-sample gradients for the DP optimizer.

    ``"ghost"`` (fast gradient clipping): a first backward computes each row's gradient norm
    from activations and backprops without materialising per-sample gradients, a second one
    the clipped sum (Opacus' ``DPTensorFastGradientClipping``). Other modes: per-sample
    gradients in ``p.grad_sample`` (the mean is over the actual batch, as Opacus expects).
    """
    if mode == "ghost":
        from opacus.utils.fast_gradient_clipping_utils import DPTensorFastGradientClipping

        if per_row.shape[0] == 0:
            per_row = per_row * 0.0  # empty batch: zero sum, noise only
        with warnings.catch_warnings():
            # Opacus' two-pass clipping backprops from module outputs whose inputs need no
            # gradient; torch then warns on every step that full backward hooks still fire.
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            DPTensorFastGradientClipping(gsm, optimizer, per_row, "mean").backward()
    else:
        (per_row.sum() / max(per_row.shape[0], 1)).backward()
