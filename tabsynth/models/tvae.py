"""TVAE: variational autoencoder for tabular data (Xu et al., 2019)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._progress import format_losses, progress_bar
from ..sampling.conditions import Condition
from .base import BaseSynthesizer, _is_dims, _is_float, _is_int
from .rows import RowStore

__all__ = ["TVAE"]


class TVAE(BaseSynthesizer):
    """Tabular variational autoencoder (TVAE) of Xu et al. (2019).

    An MLP encoder maps a transformed row to a Gaussian posterior over ``embedding_dim``
    latents; an MLP decoder maps latents back. The reconstruction loss is the cross-entropy
    on every softmax span (categories, modes, missing flags) plus a Gaussian negative
    log-likelihood on each ``tanh`` value with a learned scale ``sigma`` (clamped to
    ``[0.01, 1]``), weighted by ``loss_factor``, plus the KL divergence to ``N(0, I)``.

    TVAE is unconditional: ``sample(conditions=...)`` meets conditions by bounded rejection
    sampling, generating ``1 / expected acceptance rate`` candidates per wanted row.

    Parameters
    ----------
    embedding_dim : int, default=128
        Size of the latent space.
    compress_dims : tuple of int, default=(128, 128)
        Hidden layer widths of the encoder (ReLU).
    decompress_dims : tuple of int, default=(128, 128)
        Hidden layer widths of the decoder (ReLU).
    l2scale : float, default=1e-5
        Adam weight decay.
    learning_rate : float, default=1e-3
        Adam learning rate.
    loss_factor : float, default=2.0
        Weight of the reconstruction loss against the KL term.
    batch_size : int, default=500
        Rows per training step (each epoch is one shuffled pass over the rows).
    epochs : int, default=300
        Passes over the data.
    epsilon : float or None, default=None
        Differential-privacy budget of the whole fit (statistics + training). ``None``:
        non-private training. With a float, training uses DP-SGD (Opacus: Poisson sampling,
        per-sample clipping, calibrated Gaussian noise) or ``route="marginals"``.
        When ``epochs``/``batch_size`` are left at their class defaults, a DP-SGD fit uses
        the DP schedule instead (20 epochs; expected Poisson batch ``max(1000, 4%)`` of the
        DP row count, at most 20%; see ``dp_schedule_``): few epochs with large batches
        spend the budget best.
        Encoder and decoder are trained privately; under DP ``sigma`` is a public constant
        (not learnt) and the KL term has weight 0.1, which keeps the latent from collapsing
        under clipping; see :mod:`tabsynth.models.dp_training`.
    delta : float or None, default=None
        DP delta, must be < 1/n; ``None``: ``default_delta`` of a DP row count.
    max_grad_norm : float, default=1.0
        Per-sample gradient clipping norm (DP-SGD sensitivity).
    preprocessing_share : float, default=0.5
        Share of epsilon spent on the DP statistics (bounds, categories, modes). At epsilon
        1, 0.5 against the earlier 0.1 released the fraud table's months (all ``"__other__"``
        at 0.1) and raised pair trends on adult and fraud by 0.06-0.23 (README, "DP-SGD
        route").
    accountant : {"prv", "rdp"}, default="prv"
        Accountant that composes every mechanism of the fit.
    secure_mode : bool, default=False
        Cryptographically secure noise (``os.urandom``, no extra package); for production
        releases.
    grad_sample_mode : {"auto", "ghost", "hooks", "functorch", "ew"}, default="auto"
        How Opacus computes per-sample gradients; ``"auto"`` picks the fastest measured
        (ghost clipping).
    route : {"dpsgd", "marginals"}, default="dpsgd"
        Private route: DP-SGD on rows, or fitting the generator to DP-measured marginals
        (``"marginals"`` needs ``epsilon``).
    device : str or torch.device, default="auto"
        ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``.
    random_state : int or None, default=None
        Seed of every random draw in ``fit`` (identical models for the same seed on CPU).
    verbose : bool, default=True
        Show a progress bar with the losses.

    Attributes
    ----------
    metadata_, stats_, transformer_ : Metadata, TableStats, DataTransformer
        What the model knows about the table.
    device_ : torch.device
    loss_history_ : pandas.DataFrame
        Columns ``epoch``, ``loss``, ``reconstruction_loss``, ``kl_loss`` (epoch means).
    n_features_in_ : int
        Columns of the training table; ``columns_`` the columns ``sample`` returns.
    privacy_spent_ : dict or None
        ``{"epsilon", "delta", "accountant"}`` spent by a DP fit (``None`` otherwise).
    ledger_ : tabsynth.privacy.Ledger or None
        Every mechanism of a DP fit (statistics and DP-SGD), composed in one accountant.

    References
    ----------
    L. Xu, M. Skoularidou, A. Cuesta-Infante, K. Veeramachaneni. "Modeling Tabular Data
    using Conditional GAN". NeurIPS 2019. arXiv:1907.00503.
    """

    _tuple_params = ("compress_dims", "decompress_dims")

    def __init__(
        self,
        *,
        embedding_dim: int = 128,
        compress_dims: tuple[int, ...] = (128, 128),
        decompress_dims: tuple[int, ...] = (128, 128),
        l2scale: float = 1e-5,
        learning_rate: float = 1e-3,
        loss_factor: float = 2.0,
        batch_size: int = 500,
        epochs: int = 300,
        epsilon: float | None = None,
        delta: float | None = None,
        max_grad_norm: float = 1.0,
        preprocessing_share: float = 0.5,
        accountant: str = "prv",
        secure_mode: bool = False,
        grad_sample_mode: str = "auto",
        route: str = "dpsgd",
        device: Any = "auto",
        random_state: int | None = None,
        verbose: bool = True,
    ) -> None:
        self.embedding_dim = embedding_dim
        self.compress_dims = compress_dims
        self.decompress_dims = decompress_dims
        self.l2scale = l2scale
        self.learning_rate = learning_rate
        self.loss_factor = loss_factor
        self.batch_size = batch_size
        self.epochs = epochs
        self.epsilon = epsilon
        self.delta = delta
        self.max_grad_norm = max_grad_norm
        self.preprocessing_share = preprocessing_share
        self.accountant = accountant
        self.secure_mode = secure_mode
        self.grad_sample_mode = grad_sample_mode
        self.route = route
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ params
    def _check_model_params(self) -> None:
        c = self._check
        c("embedding_dim", _is_int(self.embedding_dim) and self.embedding_dim >= 1, "an int >= 1")
        for name in ("compress_dims", "decompress_dims"):
            c(name, _is_dims(getattr(self, name)), "a tuple of ints >= 1")
        c("l2scale", _is_float(self.l2scale) and self.l2scale >= 0, "a float >= 0")
        c("learning_rate", _is_float(self.learning_rate) and self.learning_rate > 0, "a float > 0")
        c("loss_factor", _is_float(self.loss_factor) and self.loss_factor > 0, "a float > 0")

    # ------------------------------------------------------------------ networks
    def _build_networks(self, init_generator: Any) -> None:
        from .networks import OutputLayout, init_weights
        from .tvae_networks import Decoder

        t = self.transformer_
        self._layout = OutputLayout.from_output_info(t.output_info, t.output_dim)
        self._decoder = Decoder(self.embedding_dim, tuple(self.decompress_dims), t.output_dim)
        init_weights(self._decoder, init_generator)
        self._decoder.to(self.device_)

    def _sampling_networks(self) -> dict[str, Any]:
        return {"decoder": self._decoder}

    # ------------------------------------------------------------------ training
    def _new_encoder(self, rng: np.random.Generator) -> Any:
        """A freshly initialised encoder on the model's device (training only: not saved)."""
        from .networks import init_weights
        from .tvae_networks import Encoder

        t = self.transformer_
        encoder = Encoder(t.output_dim, tuple(self.compress_dims), self.embedding_dim)
        init_weights(encoder, self._torch_generator(rng, "cpu"))
        return encoder.to(self.device_)

    def _train(self, X: np.ndarray, codes: np.ndarray, *, rng: np.random.Generator,
               generator: Any) -> list[dict[str, float]]:
        if self.epsilon is not None:  # DP-SGD (models/tvae_dp.py; plan: models/dp_training.py)
            from . import tvae_dp

            return tvae_dp.train_tvae_dp(self, X, codes, rng=rng, generator=generator)
        import torch

        from .distributed import (
            all_reduce_sum,
            batch_share,
            broadcast_parameters,
            current,
            share_weight,
        )
        from .networks import adam

        dev = self.device_
        n = X.shape[0]
        ctx = current()  # a process group: the same global batches, each process its share
        data = RowStore(X, dev, dtype=np.float32)  # a streamed fit's X stays on disk
        encoder = self._new_encoder(rng)
        self._encoder = encoder
        self._params = list(encoder.parameters()) + list(self._decoder.parameters())
        broadcast_parameters(encoder, ctx)  # equal already (same seed); rank 0's, to be sure
        broadcast_parameters(self._decoder, ctx)
        self._optim = adam(self._params, lr=self.learning_rate, weight_decay=self.l2scale)
        self._tanh_idx = self._layout.tanh_index.to(dev)
        encoder.train()
        self._decoder.train()
        steps = max(math.ceil(n / self.batch_size), 1)
        history: list[dict[str, float]] = []
        bar = progress_bar(self.epochs, desc=type(self).__name__,
                           verbose=self.verbose and (ctx is None or ctx.rank == 0))
        try:
            for epoch in bar:
                totals = torch.zeros(2, device=dev)
                perm = rng.permutation(n)
                for i in range(steps):
                    rows = perm[i * self.batch_size:(i + 1) * self.batch_size]
                    mine = batch_share(rows, ctx)
                    weight = share_weight(len(mine), len(rows), ctx)
                    totals += self._vae_step(data.take(mine), generator, weight, ctx)
                rec, kl = (totals / steps).tolist()
                if ctx is not None:  # the processes' mean
                    rec, kl = (v / ctx.world for v in all_reduce_sum([rec, kl], ctx, dev))
                losses = {"loss": rec + kl, "reconstruction_loss": rec, "kl_loss": kl}
                history.append({"epoch": epoch + 1, **losses})
                bar.set_postfix(format_losses({"loss": rec + kl}))
        finally:
            bar.close()
            self._decoder.eval()
            data.close()
            for name in ("_encoder", "_optim", "_tanh_idx", "_params"):
                self.__dict__.pop(name, None)
        return history

    def _vae_step(self, real: Any, generator: Any, weight: float = 1.0,
                  ctx: Any = None) -> Any:
        """One VAE update on a real batch; returns detached (reconstruction, KL) losses. In a
        process group, ``real`` is this process's share, its loss is weighted by ``weight``
        (:func:`~tabsynth.models.distributed.share_weight`) and the gradients are averaged
        over the processes before the step (an empty share adds zeros)."""
        import torch

        from .distributed import average_gradients

        self._optim.zero_grad(set_to_none=True)
        if len(real):
            mu, logvar = self._encoder(real)
            std = torch.exp(0.5 * logvar)
            eps = torch.randn(std.shape, generator=generator, device=std.device,
                              dtype=std.dtype)
            recon = self._decoder(eps * std + mu)
            rec_loss = self._reconstruction_loss(recon, real)
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / real.shape[0]
            ((rec_loss + kl) * weight).backward()
            out = torch.stack([rec_loss.detach(), kl.detach()])
        else:
            out = torch.zeros(2, device=real.device)
        average_gradients(self._params, ctx)
        self._optim.step()
        with torch.no_grad():
            self._decoder.sigma.clamp_(0.01, 1.0)
        return out

    def _reconstruction_loss(self, recon: Any, real: Any) -> Any:
        import torch

        b = real.shape[0]
        total = torch.zeros((), device=real.device)
        idx = self._tanh_idx
        if idx.numel():
            sigma = self._decoder.sigma[idx]
            diff = real[:, idx] - torch.tanh(recon[:, idx])
            total = total + (diff.pow(2) / (2 * sigma.pow(2))).sum() + torch.log(sigma).sum() * b
        # Cross-entropy of every softmax span at once (spans gathered into padded blocks).
        total = total + self._layout.softmax_cross_entropy(recon, real)
        return total * self.loss_factor / b

    # ------------------------------------------------------------------ sampling
    def _generate(self, n: int, *, exact: Condition | None, rng: np.random.Generator,
                  generator: Any) -> np.ndarray:
        import torch

        dec = self._decoder
        dec.eval()
        with torch.inference_mode():
            z = torch.randn(n, self.embedding_dim, generator=generator, device=self.device_)
            raw = dec(z)
            out = self._layout.sample_one_hot(raw, generator=generator, rng=rng)
            idx = self._layout.tanh_index.to(self.device_)
            if idx.numel():
                noise = torch.randn(n, idx.numel(), generator=generator, device=self.device_)
                values = torch.tanh(raw[:, idx]) + noise * dec.sigma[idx]
                out[:, idx] = values.clamp(-1.0, 1.0)
            return out.cpu().numpy()
