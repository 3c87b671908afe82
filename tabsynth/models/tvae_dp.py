"""DP-SGD training loop of :class:`~tabsynth.TVAE` (Opacus): encoder and decoder in one module.

The plan, the Opacus wiring and the helpers shared with the other private loops are in
:mod:`tabsynth.models.dp_training`.

Encoder and decoder are trained in ONE ``GradSampleModule`` over a wrapper
(:class:`_PrivateVAE`) whose forward returns each row's loss (reconstruction + weighted KL of
that row). Unlike the non-DP loss, the decoder's scale ``sigma`` is not learnt: the continuous
columns use the fixed public scale :data:`DP_TVAE_TRAIN_SCALE` in the loss, ``sigma`` is set
to :data:`DP_TVAE_SAMPLE_SIGMA` for sampling, and the KL term is weighted by
:data:`DP_TVAE_KL_WEIGHT`. With a learnt ``sigma`` the continuous columns' per-row gradients
dominated the clipped norm and the latent collapsed to the prior (the model learnt marginals
only; TSTR AUC ~0.5 at every epsilon, issue 11, 12(d)).
The reparameterisation noise comes from the model's seeded :class:`torch.Generator`.

"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..privacy.dpsgd_plan import DPPlan
from .dp_training import (
    _backward,
    _check_private,
    _epsilon_column,
    _progress,
    _release,
    start_private_loop,
)
from .rows import RowStore

__all__ = ["DP_TVAE_KL_WEIGHT", "DP_TVAE_SAMPLE_SIGMA", "DP_TVAE_TRAIN_SCALE", "build_private_vae",
           "train_tvae_dp"]


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

    plan: DPPlan = model._dp_plan
    dev = model.device_
    n = X.shape[0]
    data = RowStore(X, dev, dtype=np.float32)  # a streamed fit's X stays on disk
    vae = build_private_vae(model, model._new_encoder(rng))
    _check_private(vae)
    vae.to(dev)
    lr = model.learning_rate * (plan.lr_scale or {}).get("learning_rate", 1.0)
    optim = torch.optim.Adam(vae.parameters(), lr=lr,
                             weight_decay=model.l2scale)
    gsm, optim, batches, bar = start_private_loop(vae, optim, model, plan, generator, n)
    with torch.no_grad():
        model._decoder.sigma.fill_(DP_TVAE_SAMPLE_SIGMA)
    history: list[dict[str, float]] = []
    try:
        for epoch in bar:
            for _ in range(plan.steps_per_epoch):
                idx = next(batches)
                real = data.take(idx)
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
    return history
