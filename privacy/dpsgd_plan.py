"""The DP-SGD plan: what a private training run will do, decided from the budget before it starts.

Given the budget, the ledger of what preprocessing already spent and the DP row count, the
plan fixes the Poisson sample rate ``q = batch_size / n_noisy``, the number of steps
(``epochs * ceil(1/q)``) and the smallest noise multiplier for which preprocessing + DP-SGD
compose (one accountant) to at most ``epsilon`` (:func:`~tabsynth.privacy.calibrate_dpsgd`).
Every figure comes from DP or public quantities: the exact row count is never read here
(DESIGN.md rule 10). A run that would exceed the budget never starts: :func:`plan_dpsgd` raises
instead, naming how many epochs would fit.

Pure numpy/scipy through the accountants: no torch, no model. The Opacus wiring that carries
the plan out lives in ``tabsynth.models.dp_training`` (and :mod:`tabsynth.privacy.dpsgd`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .accounting import compose
from .budget import PrivacyBudget
from .calibration import MAX_NOISE_MULTIPLIER, calibrate_dpsgd, max_steps_for
from .errors import BudgetError, PreprocessingOverBudget, PrivacyParameterError

if TYPE_CHECKING:  # pragma: no cover
    from .ledger import Ledger

__all__ = ["DP_BATCH_FRACTION", "DP_EPOCHS", "DP_MAX_BATCH_FRACTION", "DP_MIN_BATCH", "DPPlan",
           "dp_batch_size", "epsilon_after", "max_epochs_for", "plan_dpsgd"]

#: DP training schedule used when the user left a parameter at its class default (DESIGN.md
#: rule 7: spend the budget on few epochs with large Poisson batches).
DP_EPOCHS = 20
DP_BATCH_FRACTION = 0.04
DP_MIN_BATCH = 1000
DP_MAX_BATCH_FRACTION = 0.2


@dataclass(frozen=True)
class DPPlan:
    """What DP-SGD will do; fixed before training, all from DP or public quantities."""

    budget: PrivacyBudget
    n_noisy: int
    sample_rate: float
    steps_per_epoch: int
    steps: int
    noise_multiplier: float
    grad_sample_mode: str
    expected_batch_size: int
    epochs: int = 0
    lr_scale: Any = None
    #: the privacy noise source (OS entropy): Poisson masks and DP-SGD noise
    noise: Any = None


def dp_batch_size(n_noisy: int) -> int:
    """The DP default expected batch: ``max(DP_MIN_BATCH, DP_BATCH_FRACTION * n)`` (1,000 rows,
    or 4% of the rows on larger tables), at most ``DP_MAX_BATCH_FRACTION * n`` (sample rate
    <= 0.2) and at least 2. ``n_noisy`` is the DP row count, never the exact one."""
    batch = max(DP_MIN_BATCH, int(round(DP_BATCH_FRACTION * n_noisy)))
    return max(min(batch, int(DP_MAX_BATCH_FRACTION * n_noisy)), 2)


def plan_dpsgd(budget: PrivacyBudget, ledger: Ledger, *, n_noisy: int, batch_size: int,
               epochs: int, accountant: str, grad_sample_mode: str, owner: str,
               lr_scale: Any = None, noise: Any = None) -> DPPlan:
    """Sample rate, steps and noise multiplier of a DP-SGD run that fits ``budget``.

    Parameters
    ----------
    ledger : Ledger
        What preprocessing spent; the DP-SGD steps are composed with it in one accountant.
        Not modified (the caller records the DP-SGD entry).
    n_noisy : int
        The DP row count; the sample rate is ``batch_size / n_noisy`` (Poisson sampling at
        that rate is what the accountant assumes whatever the exact ``n`` is).
    batch_size, epochs : int
        Expected batch and epochs; more epochs or a larger batch need more noise.
    owner : str
        Who asks (a class name), for the error message.

    Raises
    ------
    BudgetError
        The requested epochs cannot meet the budget even with noise multiplier
        ``MAX_NOISE_MULTIPLIER`` (the message names the number of epochs that would; the
        error's ``max_epochs`` holds it, 0 when not even one would).
    PreprocessingOverBudget
        Preprocessing alone spends the budget.
    PrivacyParameterError
        ``batch_size`` is not below ``n_noisy`` (callers check this first, in their words).
    """
    q = batch_size / n_noisy
    if not 0 < q < 1:
        raise PrivacyParameterError(
            f"The 'batch_size' parameter of plan_dpsgd must be in (0, n_noisy). Got {batch_size!r}"
            " instead.")
    steps_per_epoch = _steps_per_epoch(q)
    steps = int(epochs) * steps_per_epoch
    try:
        nm = calibrate_dpsgd(budget, ledger, sample_rate=q, steps=steps,
                             accountant=accountant, n_rows=n_noisy)
    except PreprocessingOverBudget:
        raise
    except BudgetError:
        max_epochs = max_epochs_for(budget, ledger, n_noisy=n_noisy, batch_size=batch_size,
                                    accountant=accountant)
        head = (f"{owner} cannot meet epsilon={budget.epsilon:g} (delta={budget.delta:.3g}) "
                f"with epochs={epochs} (batch_size={batch_size}, about {n_noisy} "
                f"rows: {steps} DP-SGD steps at sample rate {q:.3g}); even noise multiplier "
                f"{MAX_NOISE_MULTIPLIER:g} would spend more.")
        if max_epochs >= 1:
            error = BudgetError(f"{head} At most {max_epochs} epochs fit this budget: use "
                                f"epochs<={max_epochs}, or a larger epsilon.")
        else:
            error = BudgetError(f"{head} Not even one epoch fits: use a smaller batch_size, "
                                "more rows, or a larger epsilon.")
        error.max_epochs = max_epochs  # for a caller that may shorten a default schedule
        raise error from None
    return DPPlan(budget=budget, n_noisy=int(n_noisy), sample_rate=float(q),
                  steps_per_epoch=steps_per_epoch, steps=steps, noise_multiplier=float(nm),
                  grad_sample_mode=grad_sample_mode, expected_batch_size=int(batch_size),
                  epochs=int(epochs), lr_scale=lr_scale, noise=noise)


def max_epochs_for(budget: PrivacyBudget, ledger: Ledger, *, n_noisy: int, batch_size: int,
                   accountant: str) -> int:
    """The most epochs of batch ``batch_size`` (sample rate ``batch_size / n_noisy``) that fit
    ``budget`` after ``ledger`` with the noise multiplier at its cap
    (``MAX_NOISE_MULTIPLIER``); 0 when not even one does. From DP and public quantities only."""
    q = batch_size / n_noisy
    max_steps = max_steps_for(budget, ledger, sample_rate=q, noise_multiplier=MAX_NOISE_MULTIPLIER,
                              accountant=accountant)
    return int(max_steps // _steps_per_epoch(q))


def _steps_per_epoch(sample_rate: float) -> int:
    """Poisson steps that make one expected pass over the rows at ``sample_rate``."""
    return math.ceil(1.0 / sample_rate)


def epsilon_after(plan: DPPlan, ledger: Ledger, steps_done: int) -> float:
    """Epsilon of everything before DP-SGD plus the first ``steps_done`` DP-SGD steps.

    ``ledger``'s last entry is the run's DP-SGD entry (recorded before training), left out
    and replaced by the steps done so far.
    """
    history = [e.history_item for e in ledger.entries[:-1] if e.history_item is not None]
    if steps_done:
        history.append((plan.noise_multiplier, plan.sample_rate, steps_done))
    accountant = getattr(ledger, "effective_accountant", ledger.accountant)
    return compose(history, plan.budget.delta, extra_delta=ledger.extra_delta,
                   accountant=accountant)[0]
