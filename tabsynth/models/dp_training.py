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
3. Statistics from :func:`~tabsynth.private_stats.compute_private_stats` (``preprocessing_share``
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

CTGAN
-----
* The discriminator judges single rows (``pac=1``; the ``pac`` parameter is ignored under DP:
  per-sample clipping needs one real row per critic input) and has no BatchNorm. The generator
  is never shown a real row: it is trained only on the private discriminator's outputs
  (post-processing); its BatchNorm is therefore harmless.
* **Loss: no gradient penalty.** WGAN-GP's penalty needs the gradient of the critic at
  interpolates of real rows; its gradient with respect to the weights is a per-sample quantity
  that Opacus' clipping machinery does not see (it is a double-backward term), so one real row
  could move the weights by an unbounded amount. The DP path therefore uses the standard GAN
  loss with a sigmoid/BCE discriminator (as DP-GAN, Xie et al. 2018, and the DP-CTGAN
  literature): discriminator loss ``softplus(-D(real)) + softplus(D(fake))`` per row, generator
  loss ``softplus(-D(fake))`` (non-saturating) plus CTGAN's conditional cross-entropy. The
  gradient-penalty code is never called in DP mode (tested).
* **Conditional vectors.** Real side: for each real row a discrete column is chosen uniformly
  at random and its one-hot is set from the row's OWN category (no training-by-sampling of
  real rows). Fake side: column uniform, category drawn with the DP class frequencies
  (``DiscreteSpan.frequencies``), so both sides have the same condition distribution in
  expectation (``log_frequency`` is ignored under DP: log-frequency fake conditions would let
  the discriminator tell fake from real by the condition alone, because the real side cannot
  be re-weighted without reading real rows).
* **Fake rows in the discriminator batch.** Each discriminator step sees the Poisson batch of
  real rows plus exactly ``batch_size`` fake rows (a fixed number, independent of the data).
  Opacus clips every row's gradient, fake ones included; the noise ``sigma * max_grad_norm``
  covers the sensitivity of the REAL part (one real row changes the clipped sum by at most
  ``max_grad_norm``). Fake rows are produced by the generator from the previous (already
  private) state and fresh noise: they do not depend on the private rows at this step, so their
  clipped gradients add a data-independent term that does not change the sensitivity. (Were
  the number of fakes equal to the actual real batch size, one row would change the sum by
  ``2 * max_grad_norm``.) The summed gradient is divided by ``expected_batch_size = batch_size``
  (the expected number of real rows): the mean real loss plus the mean fake loss.
* One DP-SGD step = one discriminator update; the generator is updated after every
  ``discriminator_steps`` discriminator updates.

TVAE
----
Encoder and decoder are trained in ONE ``GradSampleModule`` over a wrapper
(:class:`_PrivateVAE`) whose forward returns each row's loss (reconstruction + weighted KL of
that row). Unlike the non-DP loss, the decoder's scale ``sigma`` is not learnt: the continuous
columns use the fixed public scale :data:`DP_TVAE_TRAIN_SCALE` in the loss, ``sigma`` is set
to :data:`DP_TVAE_SAMPLE_SIGMA` for sampling, and the KL term is weighted by
:data:`DP_TVAE_KL_WEIGHT`. With a learnt ``sigma`` the continuous columns' per-row gradients
dominated the clipped norm and the latent collapsed to the prior (the model learnt marginals
only; TSTR AUC ~0.5 at every epsilon, issue 11, 12(d)).
The reparameterisation noise comes from the model's seeded :class:`torch.Generator`.

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
"auto" picks :data:`AUTO_MODE` per model.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

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
from .condvec import ConditionSampler

__all__ = [
    "AUTO_MODE",
    "DPPlan",
    "prepare_private_fit",
    "train_ctgan_dp",
    "train_tvae_dp",
]

#: ``grad_sample_mode="auto"``: the fastest mode measured for each model (module docstring).
AUTO_MODE = {"CTGAN": "ghost", "TVAE": "ghost"}

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
    * ``epochs``: ``DP_EPOCHS`` (20);
    * learning rate(s): times ``DP_LR_SCALE`` (TVAE: 2x; CTGAN unchanged).

    The parameters themselves are not modified (scikit-learn convention): the resolved values
    are in ``dp_schedule_`` after ``fit`` and in the ledger's DP-SGD entry.
    """
    name = type(model).__name__
    batch = int(model.batch_size)
    batch_default = _is_default(model, "batch_size")
    if batch_default:
        batch = dp_batch_size(n_noisy)
    epochs = DP_EPOCHS if _is_default(model, "epochs") else int(model.epochs)
    lr_names = ("learning_rate",) if name == "TVAE" else ("generator_lr", "discriminator_lr")
    lr_scale = {k: (DP_LR_SCALE.get(name, 1.0) if _is_default(model, k) else 1.0)
                for k in lr_names if hasattr(model, k)}
    return {"epochs": int(epochs), "batch_size": int(batch), "batch_default": batch_default,
            "lr_scale": lr_scale}


# ------------------------------------------------------------------------------ planning
def _resolve_mode(model: Any) -> str:
    mode = model.grad_sample_mode
    return AUTO_MODE.get(type(model).__name__, "ghost") if mode == "auto" else mode


def prepare_private_fit(model: Any, df: Any, metadata: Any,
                        noise: Any) -> tuple[Any, Any, DPPlan]:
    """Checks, DP statistics, ledger and DP-SGD calibration, before any training.

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
    from ..errors import ParameterError
    from ..privacy import LedgerEntry, check_delta_noisy, resolve_budget
    from ..stats.private import compute_private_stats

    name = type(model).__name__
    resolved = resolve_budget(float(model.epsilon), model.delta, len(df), noise)
    budget = resolved.budget
    stats, ledger = compute_private_stats(
        df, metadata, budget, share=float(model.preprocessing_share),
        accountant=model.accountant, rng=noise, secure_mode=model.secure_mode,
    )
    if resolved.entry is not None:
        ledger.entries.insert(0, resolved.entry)
    n_noisy = stats.n_rows if stats.n_rows else max(int(round(resolved.n_noisy or 1)), 1)
    if model.delta is not None:
        check_delta_noisy(budget.delta, n_noisy)
    schedule = resolve_dp_schedule(model, n_noisy)
    batch_size, epochs = schedule["batch_size"], schedule["epochs"]
    q = batch_size / n_noisy
    if q >= 1:
        raise ParameterError(
            f"The table has about {n_noisy} rows (a noisy count): too few for "
            f"{name}(batch_size={batch_size}) under differential privacy. Each row is sampled "
            "with probability batch_size / n (Poisson sampling): use "
            f"batch_size <= {max(n_noisy // 10, 1)} (a small fraction of the rows) or more rows."
        )
    mode = _resolve_mode(model)
    plan = plan_dpsgd(budget, ledger, n_noisy=n_noisy, batch_size=batch_size,
                      epochs=int(epochs), accountant=model.accountant, grad_sample_mode=mode,
                      owner=name, lr_scale=dict(schedule["lr_scale"]), noise=noise)
    ledger.add(LedgerEntry.dpsgd(
        f"{name} {'discriminator' if name == 'CTGAN' else 'encoder+decoder'}",
        noise_multiplier=plan.noise_multiplier, sample_rate=q, steps=plan.steps,
        max_grad_norm=model.max_grad_norm,
        params={"epochs": int(epochs), "expected_batch_size": int(batch_size),
                "grad_sample_mode": mode},
        note="DP-SGD, Poisson sampling, per-sample clipping",
    ))
    return stats, ledger, plan


# ------------------------------------------------------------------------------ helpers
def _check_private(module: Any) -> None:
    """IncompatibleModuleError naming every layer Opacus cannot train privately."""
    from ..privacy.dpsgd import check_module

    check_module(module)


def _spent_so_far(ledger: Any, plan: DPPlan, steps_done: int) -> float:
    """Epsilon of everything before DP-SGD plus the first ``steps_done`` DP-SGD steps."""
    return epsilon_after(plan, ledger, steps_done)


def _finish(model: Any, plan: DPPlan) -> None:
    """Set ``privacy_spent_``; refuse (never silently exceed) a ledger over budget."""
    from ..privacy import BudgetExceededError

    eps, delta = model.ledger_.spent()
    if eps > plan.budget.epsilon * (1 + 1e-9):  # pragma: no cover - calibration prevents it
        raise BudgetExceededError(
            f"The run spent epsilon={eps:.4g} > the budget epsilon={plan.budget.epsilon:g}.")
    accountant = getattr(model.ledger_, "effective_accountant", model.ledger_.accountant)
    model.privacy_spent_ = {"epsilon": float(eps), "delta": float(delta),
                            "accountant": accountant}
    model.dp_schedule_ = {"epochs": int(plan.epochs), "batch_size": int(plan.expected_batch_size),
                          "sample_rate": float(plan.sample_rate), "steps": int(plan.steps),
                          "noise_multiplier": float(plan.noise_multiplier),
                          "lr_scale": dict(plan.lr_scale or {})}


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


def _make_private(module: Any, optimizer: Any, model: Any, plan: DPPlan, generator: Any):
    """Opacus wrappers; the DP-SGD noise comes from OS entropy (``secure_mode``: os.urandom),
    never from ``generator`` (seeded by ``random_state``, which only drives post-processing
    randomness such as the latent noise of fake rows)."""
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
        secure_mode=model.secure_mode, generator=noise_gen,
    )


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


# ------------------------------------------------------------------------------ CTGAN
@contextlib.contextmanager
def _frozen(gsm: Any) -> Iterator[Any]:
    """Inside: the GradSampleModule's wrapped network, frozen, without per-sample gradient
    hooks (forward AND backward: for the generator's update, which is post-processing)."""
    gsm.requires_grad_(False)
    has_hooks = hasattr(gsm, "disable_hooks")
    if has_hooks:
        gsm.disable_hooks()
    try:
        yield gsm._module
    finally:
        if has_hooks:
            gsm.enable_hooks()
        gsm.requires_grad_(True)


def build_dp_discriminator(model: Any) -> Any:
    """The DP critic: CTGAN's discriminator with ``pac=1`` (no BatchNorm)."""
    from .networks import Discriminator

    t = model.transformer_
    return Discriminator(t.output_dim + t.cond_dim, tuple(model.discriminator_dim), 1)


def train_ctgan_dp(model: Any, X: np.ndarray, real_cond_codes: np.ndarray, *,
                   rng: np.random.Generator, generator: Any) -> list[dict[str, float]]:
    """DP-SGD training of a CTGAN's discriminator; the generator learns from it only."""
    import torch
    from torch.nn import functional as F

    from .._progress import progress_bar
    from .networks import init_weights, set_dropout_generator

    plan: DPPlan = model._dp_plan
    dev = model.device_
    t = model.transformer_
    n = X.shape[0]
    B = max(int(plan.expected_batch_size), 2)  # fake rows per step: fixed (BatchNorm needs 2)
    data = torch.from_numpy(X).to(dev)
    codes = np.asarray(real_cond_codes, dtype=np.int64)
    fake_cond = ConditionSampler(t, None, log_frequency=False, n_rows=plan.n_noisy)
    n_disc = fake_cond.n_discrete
    cond_dim = int(t.cond_dim)
    disc_out = [(int(s.start), int(s.start + s.dim)) for s in t.discrete_spans]

    disc = build_dp_discriminator(model)
    _check_private(disc)
    init_weights(disc, model._torch_generator(rng, "cpu"))
    disc.to(dev)
    set_dropout_generator(disc, generator)
    lr_scale = plan.lr_scale or {}
    optim_d = torch.optim.Adam(disc.parameters(),
                               lr=model.discriminator_lr
                               * lr_scale.get("discriminator_lr", 1.0),
                               betas=(0.5, 0.9),
                               weight_decay=model.discriminator_decay)
    gsm, optim_d = _make_private(disc, optim_d, model, plan, generator)
    gen_net = model._generator
    optim_g = torch.optim.Adam(gen_net.parameters(),
                               lr=model.generator_lr * lr_scale.get("generator_lr", 1.0),
                               betas=(0.5, 0.9),
                               weight_decay=model.generator_decay)

    def cond_onehot(gidx: np.ndarray) -> Any:
        out = torch.zeros(len(gidx), cond_dim, device=dev)
        if len(gidx) and cond_dim:
            out[torch.arange(len(gidx), device=dev), torch.from_numpy(gidx).to(dev)] = 1.0
        return out

    def fake_batch() -> tuple[Any, Any, Any, np.ndarray | None, np.ndarray | None]:
        if n_disc:
            col, opt, gidx = fake_cond.training_condvec(B, rng)
            cond = cond_onehot(gidx)
        else:
            col = opt = None
            cond = torch.zeros(B, 0, device=dev)
        z = torch.randn(B, model.embedding_dim, generator=generator, device=dev)
        raw = gen_net(torch.cat([z, cond], dim=1))
        fake = model._layout.gumbel_softmax(raw, tau=model._gumbel_tau, generator=generator)
        return raw, fake, cond, col, opt

    def cond_loss(raw: Any, col: np.ndarray, opt: np.ndarray) -> Any:
        col_t = torch.from_numpy(col).to(dev)
        opt_t = torch.from_numpy(opt).to(dev)
        total = torch.zeros((), device=dev)
        for j, (st, ed) in enumerate(disc_out):
            sel = col_t == j
            target = torch.where(sel, opt_t, torch.zeros_like(opt_t))
            ce = F.cross_entropy(raw[:, st:ed], target, reduction="none")
            total = total + (ce * sel).sum()
        return total / raw.shape[0]

    def disc_step(idx: np.ndarray) -> None:
        b = len(idx)
        real = data[torch.from_numpy(idx).to(dev)]
        if n_disc:
            # the real row's own category, for a uniformly chosen discrete column
            col = rng.integers(n_disc, size=b)
            gidx = fake_cond.cond_starts[col] + codes[idx, col]
            real_cond = cond_onehot(gidx)
        else:
            real_cond = torch.zeros(b, 0, device=dev)
        with torch.no_grad():
            _, fake, f_cond, _, _ = fake_batch()
        x = torch.cat([torch.cat([real, real_cond], dim=1), torch.cat([fake, f_cond], dim=1)])
        logits = gsm(x).reshape(-1)
        target = torch.cat([torch.ones(b, device=dev), torch.zeros(B, device=dev)])
        per_row = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        optim_d.zero_grad(set_to_none=True)
        _backward(gsm, optim_d, per_row, plan.grad_sample_mode)  # per-sample, then clipped
        optim_d.step()

    def gen_step() -> float:
        raw, fake, cond, col, opt = fake_batch()
        with _frozen(gsm) as critic:
            y_fake = critic(torch.cat([fake, cond], dim=1))
            loss = F.softplus(-y_fake).mean()
            if col is not None:
                loss = loss + cond_loss(raw, col, opt)
            optim_g.zero_grad(set_to_none=True)
            loss.backward()
        optim_g.step()
        return float(loss.detach())

    sampler = _privacy_noise(plan)
    from ..privacy.dpsgd import poisson_batches

    batches = poisson_batches(n, plan.sample_rate, plan.steps, sampler)
    gen_net.train()
    gsm.train()
    history: list[dict[str, float]] = []
    bar = progress_bar(plan.epochs, desc=f"DP-{type(model).__name__}", verbose=model.verbose)
    done = 0
    try:
        for epoch in bar:
            g_total, g_count = 0.0, 0
            for _ in range(plan.steps_per_epoch):
                disc_step(next(batches))
                done += 1
                if done % model.discriminator_steps == 0:
                    g_total += gen_step()
                    g_count += 1
            g_mean = g_total / g_count if g_count else float("nan")
            eps = _progress(model, plan, epoch, bar, {"g": g_mean})
            history.append({"epoch": epoch + 1, "generator_loss": g_mean, "epsilon": eps})
    finally:
        bar.close()
        gen_net.eval()
        _release(gsm)
    _epsilon_column(model, plan, history)
    _finish(model, plan)
    return history


# ------------------------------------------------------------------------------ TVAE
#: Under DP the decoder's Gaussian scale is not learnt: the continuous part of the loss uses
#: this fixed scale (``diff**2 / 2``, the same weight per unit as one softmax column's
#: cross-entropy). A learnt ``sigma`` ~ 0.1 made those per-row gradients (in ``1/sigma**2`` and
#: ``1/sigma**3``) ~50x the encoder's, so flat clipping left the encoder ~2% of the norm budget
#: and the model collapsed to its marginals (issue 11, 12(d)).
DP_TVAE_TRAIN_SCALE = 1.0
#: The decoder's ``sigma`` used when sampling a DP-TVAE: a public constant (in the units of the
#: transformer's normalised values), never fitted to the private rows.
DP_TVAE_SAMPLE_SIGMA = 0.05
#: Weight of the KL term under DP (1.0 outside DP). With the full weight the consistent KL pull
#: on the encoder beats its noisy, clipped reconstruction signal and every latent collapses to
#: the prior; 0.1 keeps the latent informative (adult, epsilon 10: TSTR AUC 0.50 -> ~0.8).
DP_TVAE_KL_WEIGHT = 0.1


def build_private_vae(model: Any, encoder: Any) -> Any:
    """One module with the encoder and the decoder's layers: forward gives each row's
    (reconstruction, weighted KL) loss, with the fixed public scale
    :data:`DP_TVAE_TRAIN_SCALE` on the continuous columns."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    layout = model._layout
    tanh_idx = layout.tanh_index.to(model.device_)
    spans = layout.softmax_spans
    loss_factor = float(model.loss_factor)
    inv_two_var = 1.0 / (2.0 * DP_TVAE_TRAIN_SCALE ** 2)

    class _PrivateVAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.decoder_seq = model._decoder.seq

        def forward(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
            mu, logvar = self.encoder(x)
            std = torch.exp(0.5 * logvar)
            recon = self.decoder_seq(eps * std + mu)
            rec = torch.zeros(x.shape[0], device=x.device)
            if tanh_idx.numel():
                diff = x[:, tanh_idx] - torch.tanh(recon[:, tanh_idx])
                rec = rec + diff.pow(2).sum(dim=1) * inv_two_var
            for st, ed in spans:
                rec = rec + F.cross_entropy(recon[:, st:ed], x[:, st:ed].argmax(dim=1),
                                            reduction="none")
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)
            return torch.stack([rec * loss_factor, DP_TVAE_KL_WEIGHT * kl], dim=1)

    return _PrivateVAE()


def train_tvae_dp(model: Any, X: np.ndarray, codes: np.ndarray, *, rng: np.random.Generator,
                  generator: Any) -> list[dict[str, float]]:
    """DP-SGD training of a TVAE: encoder and decoder in one GradSampleModule; the decoder's
    ``sigma`` is set to the public :data:`DP_TVAE_SAMPLE_SIGMA` (not trained)."""
    import torch

    from .._progress import progress_bar
    from ..privacy.dpsgd import poisson_batches
    from .networks import Encoder, init_weights

    plan: DPPlan = model._dp_plan
    dev = model.device_
    t = model.transformer_
    n = X.shape[0]
    data = torch.from_numpy(X).to(dev)
    encoder = Encoder(t.output_dim, tuple(model.compress_dims), model.embedding_dim)
    init_weights(encoder, model._torch_generator(rng, "cpu"))
    encoder.to(dev)
    vae = build_private_vae(model, encoder)
    _check_private(vae)
    vae.to(dev)
    lr = model.learning_rate * (plan.lr_scale or {}).get("learning_rate", 1.0)
    optim = torch.optim.Adam(vae.parameters(), lr=lr,
                             weight_decay=model.l2scale)
    gsm, optim = _make_private(vae, optim, model, plan, generator)
    with torch.no_grad():
        model._decoder.sigma.fill_(DP_TVAE_SAMPLE_SIGMA)
    batches = poisson_batches(n, plan.sample_rate, plan.steps, _privacy_noise(plan))
    gsm.train()
    history: list[dict[str, float]] = []
    bar = progress_bar(plan.epochs, desc=f"DP-{type(model).__name__}", verbose=model.verbose)
    try:
        for epoch in bar:
            for _ in range(plan.steps_per_epoch):
                idx = next(batches)
                real = data[torch.from_numpy(idx).to(dev)]
                eps = torch.randn(len(idx), model.embedding_dim, generator=generator, device=dev)
                per_row = gsm(real, eps).sum(dim=1)  # each row's reconstruction + KL
                optim.zero_grad(set_to_none=True)
                _backward(gsm, optim, per_row, plan.grad_sample_mode)
                optim.step()
            eps_spent = _progress(model, plan, epoch, bar, {})
            history.append({"epoch": epoch + 1, "epsilon": eps_spent})
    finally:
        bar.close()
        model._decoder.eval()
        _release(gsm)
    _epsilon_column(model, plan, history)
    _finish(model, plan)
    return history
