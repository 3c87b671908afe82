"""CTGAN's non-private training loop: WGAN-GP with training-by-sampling (Xu et al., 2019).

A mixin of :class:`~tabsynth.models.ctgan.CTGAN` (its ``_train`` without ``epsilon``); the
private loop is :mod:`tabsynth.models.ctgan_dp`. Training state (the data on the device, the
critic, the optimisers) lives on the model for the duration of the loop and is dropped at its
end; the generator stays.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from .._progress import format_losses, progress_bar
from .condvec import ConditionSampler
from .distributed import average_gradients
from .rows import RowStore

__all__ = ["WGANTraining"]


class WGANTraining:
    """``_train_wgan`` and its steps (mixed into :class:`~tabsynth.models.ctgan.CTGAN`)."""

    def _train_wgan(self, X: np.ndarray, codes: np.ndarray, *, rng: np.random.Generator,
                    generator: Any) -> list[dict[str, float]]:
        """Non-private training: one dict of mean losses per epoch."""
        import torch

        from .ctgan_networks import Discriminator
        from .distributed import (
            all_reduce_sum,
            block_share,
            broadcast_parameters,
            current,
            share_weight,
            synced_batchnorm,
        )
        from .networks import adam, init_weights, set_dropout_generator

        ctx = current()  # a process group: the same global batches, each process its block
        # of pac groups; gradients averaged before every step (distributed.average_gradients)
        self._ctx = ctx
        self._share = block_share(int(self.batch_size), ctx, int(self.pac))
        self._weight = share_weight(self._share.stop - self._share.start,
                                    int(self.batch_size), ctx)
        dev = self.device_
        t = self.transformer_
        n = X.shape[0]
        self._data = RowStore(X, dev, dtype=np.float32)  # a streamed fit's X stays on disk
        self._cond = ConditionSampler(
            t, codes, log_frequency=self.log_frequency, n_rows=self._n_rows_hint(n)
        )
        disc = Discriminator(t.output_dim + t.cond_dim, tuple(self.discriminator_dim), self.pac)
        init_weights(disc, self._torch_generator(rng, "cpu"))
        disc.to(dev)
        broadcast_parameters(disc, ctx)  # equal already (same seed); rank 0's, to be sure
        broadcast_parameters(self._generator, ctx)
        set_dropout_generator(disc, generator)
        self._discriminator = disc
        self._optim_g = adam(
            self._generator.parameters(), lr=self.generator_lr, betas=(0.5, 0.9),
            weight_decay=self.generator_decay,
        )
        self._optim_d = adam(
            disc.parameters(), lr=self.discriminator_lr, betas=(0.5, 0.9),
            weight_decay=self.discriminator_decay,
        )
        self._disc_tables = self._cond_loss_tables()
        self._generator.train()
        disc.train()
        steps = max(n // self.batch_size, 1)
        history: list[dict[str, float]] = []
        bar = progress_bar(self.epochs, desc=type(self).__name__,
                           verbose=self.verbose and (ctx is None or ctx.rank == 0))
        synced = contextlib.ExitStack()  # a process group: BatchNorm on the global batch
        synced.enter_context(synced_batchnorm(self._generator, ctx))
        try:
            for epoch in bar:
                g_total = torch.zeros((), device=dev)
                d_total = torch.zeros((), device=dev)
                for _ in range(steps):
                    for k in range(self.discriminator_steps):
                        real, real_cond, fake_cond = self._real_batch(rng)
                        self._reuse_fakes = (self._reuse_generator_fakes
                                             and k == self.discriminator_steps - 1)
                        d_total += self._discriminator_step(real, real_cond, fake_cond, generator)
                    g_total += self._generator_step(rng, generator)
                g, d = float(g_total), float(d_total)
                if ctx is not None:  # the processes' mean
                    g, d = (v / ctx.world for v in all_reduce_sum([g, d], ctx, dev))
                losses = {
                    "generator_loss": g / steps,
                    "discriminator_loss": d / (steps * self.discriminator_steps),
                }
                history.append({"epoch": epoch + 1, **losses})
                bar.set_postfix(format_losses({"g": losses["generator_loss"],
                                               "d": losses["discriminator_loss"]}))
        finally:
            synced.close()
            bar.close()
            self._generator.eval()
            self._data.close()
            for name in ("_data", "_discriminator", "_optim_g", "_optim_d", "_disc_tables",
                         "_reuse_fakes", "_kept_fakes", "_fake_condition", "_ctx", "_share",
                         "_weight"):
                self.__dict__.pop(name, None)
            self._cond = ConditionSampler(
                t, None, log_frequency=self.log_frequency, n_rows=self._n_rows_hint(n)
            )
        return history

    def _real_batch(self, rng: np.random.Generator) -> tuple[Any, Any, Any]:
        """Real rows for one critic step, their conditional vectors and the fake side's.

        Training-by-sampling: the fake side's conditions are drawn, and the real rows are
        drawn among rows having those categories (in shuffled order). In a process group the
        global batch is drawn alike in every process and each keeps its block (``_share``).
        """
        import torch

        b, mine = self.batch_size, self._share
        if self._cond.n_discrete == 0:
            rows = rng.integers(len(self._data), size=b)[mine]
            empty = torch.zeros(len(rows), 0, device=self.device_)
            return self._data.take(rows), empty, empty
        col, opt, gidx = self._cond.training_condvec(b, rng)
        # for a generator step that reuses these fakes
        self._fake_condition = (col[mine], opt[mine])
        perm = rng.permutation(b)
        rows = self._cond.sample_rows(gidx[perm], rng)
        real = self._data.take(rows[mine])
        return real, self._cond_tensor(gidx[perm][mine]), self._cond_tensor(gidx[mine])

    def _discriminator_step(self, real: Any, real_cond: Any, fake_cond: Any,
                            generator: Any) -> Any:
        """One WGAN-GP critic update on a real batch; returns the detached critic loss.

        When ``self._reuse_fakes`` is set (the last critic step before a generator step), the
        fake batch is generated with its graph and kept for :meth:`_generator_step`: the
        generator has not changed in between, so its update can score these same fakes
        with the updated critic (as PyTorch's DCGAN reference does) instead of generating
        a second batch.
        """
        import torch

        keep = bool(self.__dict__.pop("_reuse_fakes", False))
        with torch.set_grad_enabled(keep):
            raw = self._generate_raw(self._noise(len(fake_cond), generator), fake_cond)
            fake = self._layout.gumbel_softmax(raw, tau=self._gumbel_tau, generator=generator)
        if keep:
            col, opt = self.__dict__.pop("_fake_condition", (None, None))
            self._kept_fakes = (raw, fake, fake_cond, col, opt)
            fake = fake.detach()
        disc = self._discriminator
        fake_cat = torch.cat([fake, fake_cond], dim=1)
        real_cat = torch.cat([real, real_cond], dim=1)
        # One critic pass over real and fake rows (pac groups never mix: len % pac == 0).
        y = disc(torch.cat([real_cat, fake_cat], dim=0))
        y_real, y_fake = y[: len(real_cat) // disc.pac], y[len(real_cat) // disc.pac:]
        penalty = disc.gradient_penalty(real_cat, fake_cat, generator=generator,
                                        lambda_=self._gp_lambda)
        loss = -(y_real.mean() - y_fake.mean())
        self._optim_d.zero_grad(set_to_none=True)
        ((loss + penalty) * self._weight).backward()
        average_gradients(disc.parameters(), self._ctx)
        self._optim_d.step()
        return loss.detach()

    def _generator_step(self, rng: np.random.Generator, generator: Any) -> Any:
        """One generator update (critic score + cross-entropy on the conditioned column)."""
        import torch

        b, mine = self.batch_size, self._share
        disc = self._discriminator
        kept = self.__dict__.pop("_kept_fakes", None)
        if kept is not None:
            raw, fake, cond, col, opt = kept
        else:
            if self._cond.n_discrete:
                col, opt, gidx = self._cond.training_condvec(b, rng)
                col, opt = col[mine], opt[mine]
                cond = self._cond_tensor(gidx[mine])
            else:
                col = opt = None
                cond = torch.zeros(mine.stop - mine.start, 0, device=self.device_)
            raw = self._generate_raw(self._noise(len(cond), generator), cond)
            fake = self._layout.gumbel_softmax(raw, tau=self._gumbel_tau, generator=generator)
        disc.requires_grad_(False)
        try:
            y_fake = disc(torch.cat([fake, cond], dim=1))
        finally:
            disc.requires_grad_(True)
        loss = -y_fake.mean()
        if col is not None:
            loss = loss + self._cond_loss(raw, col, opt)
        self._optim_g.zero_grad(set_to_none=True)
        (loss * self._weight).backward()
        average_gradients(self._generator.parameters(), self._ctx)
        self._optim_g.step()
        return loss.detach()
