"""DP-SGD training loop of :class:`~tabsynth.CTGAN` (Opacus): the private discriminator.

The plan, the Opacus wiring and the helpers shared with the other private loops are in
:mod:`tabsynth.models.dp_training`.

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

"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..privacy.dpsgd_plan import DPPlan
from .condvec import ConditionSampler
from .dp_training import (
    _backward,
    _check_private,
    _epsilon_column,
    _progress,
    _release,
    start_private_loop,
)
from .rows import RowStore

__all__ = ["build_dp_discriminator", "train_ctgan_dp"]


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
    from .ctgan_networks import Discriminator

    t = model.transformer_
    return Discriminator(t.output_dim + t.cond_dim, tuple(model.discriminator_dim), 1)


def train_ctgan_dp(model: Any, X: np.ndarray, real_cond_codes: np.ndarray, *,
                   rng: np.random.Generator, generator: Any) -> list[dict[str, float]]:
    """DP-SGD training of a CTGAN's discriminator; the generator learns from it only."""
    import torch
    from torch.nn import functional as F

    from .distributed import (
        average_gradients,
        batch_share,
        broadcast_parameters,
        current,
        synced_batchnorm,
    )
    from .networks import init_weights, set_dropout_generator

    plan: DPPlan = model._dp_plan
    dev = model.device_
    t = model.transformer_
    n = X.shape[0]
    ctx = current()
    # fake rows per step: a fixed number (BatchNorm needs 2); in a process group each
    # process makes its share of them (a fixed number too) and the generator's gradients
    # are averaged over the processes before its step
    B_all = max(int(plan.expected_batch_size), 2)
    B = max(len(batch_share(range(B_all), ctx)), 2)
    g_weight = 1.0 if ctx is None else B * ctx.world / B_all
    data = RowStore(X, dev, dtype=np.float32)  # a streamed fit's X stays on disk
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
    gsm, optim_d, batches, bar = start_private_loop(disc, optim_d, model, plan, generator, n)
    gen_net = model._generator
    broadcast_parameters(gen_net, ctx)  # equal already (same seed); rank 0's, to be sure
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
        real = data.take(idx)
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
            (loss * g_weight).backward()
        average_gradients(gen_net.parameters(), ctx)
        optim_g.step()
        return float(loss.detach())

    gen_net.train()
    history: list[dict[str, float]] = []
    done = 0
    synced = contextlib.ExitStack()  # a process group: BatchNorm on all the processes' fakes
    synced.enter_context(synced_batchnorm(gen_net, ctx))
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
        synced.close()
        bar.close()
        gen_net.eval()
        data.close()
        _release(gsm)
    _epsilon_column(model, plan, history)
    return history

