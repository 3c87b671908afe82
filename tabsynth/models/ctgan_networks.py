"""CTGAN's networks (Xu et al., 2019): the residual generator and the PacGAN critic.

Shared layers and initialisation: :mod:`tabsynth.models.networks`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .networks import GeneratorDropout

__all__ = ["Discriminator", "Generator", "Residual"]


class Residual(nn.Module):
    """Linear -> BatchNorm -> ReLU, concatenated with the block's input (CTGAN generator)."""

    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.fc = nn.Linear(i, o)
        self.bn = nn.BatchNorm1d(o)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.relu(self.bn(self.fc(x))), x], dim=1)


class Generator(nn.Module):
    """CTGAN generator: residual blocks on ``[z, cond]``, then a linear layer to ``data_dim``."""

    def __init__(self, input_dim: int, generator_dim: Sequence[int], data_dim: int) -> None:
        super().__init__()
        dim = input_dim
        seq: list[nn.Module] = []
        for item in generator_dim:
            seq.append(Residual(dim, int(item)))
            dim += int(item)
        seq.append(nn.Linear(dim, data_dim))
        self.seq = nn.Sequential(*seq)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.seq(x)

    def _folded(self) -> list[tuple[torch.Tensor, torch.Tensor, bool]]:
        """(weight, bias, is_residual) per layer; eval-mode BatchNorm folded into the linear."""
        out = []
        for layer in self.seq:
            residual = isinstance(layer, Residual)
            fc = layer.fc if residual else layer
            w, b = fc.weight, fc.bias
            if residual and not self.training:
                bn = layer.bn
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                w = w * scale[:, None]
                b = (b - bn.running_mean) * scale + bn.bias
            out.append((w, b, residual))
        return out

    def forward_onehot(
        self, z: torch.Tensor, cond_index: torch.Tensor, cond_dim: int
    ) -> torch.Tensor:
        """``forward(cat([z, one_hot(cond_index, cond_dim)]))`` with fewer multiply-adds.

        Every layer sees ``[h_{l-1}, ..., h_1, z, cond]`` (residual blocks concatenate their
        input). The ``z`` blocks of all layers are projected in one matrix product, the
        one-hot ``cond`` blocks are gathered (a one-hot row times a matrix is one of its
        rows) instead of multiplied, and each layer only multiplies its hidden inputs. Same
        function and gradients as ``forward``; used for training (BatchNorm on batch
        statistics) and sampling (eval-mode BatchNorm folded into the linear layer).
        """
        return self.apply_onehot(self.onehot_plan(z.shape[1], cond_dim), z, cond_index)

    def onehot_plan(self, zdim: int, cond_dim: int) -> tuple:
        """Weights of :meth:`forward_onehot` arranged for it (``z`` blocks of all layers
        stacked, ``cond`` blocks as lookup tables, hidden blocks per layer). Build it once
        per parameter update (or once per sampling call) and pass it to :meth:`apply_onehot`."""
        layers = self._folded()
        n_hidden = [w.shape[1] - zdim - cond_dim for w, _, _ in layers]
        w_z = torch.cat([w[:, h:h + zdim]
                         for (w, _, _), h in zip(layers, n_hidden, strict=True)], 0).t()
        bias = torch.cat([b for _, b, _ in layers])
        w_c = None
        if cond_dim:
            w_c = torch.cat([w[:, w.shape[1] - cond_dim:].t() for w, _, _ in layers], 1)
        hidden = [(w.shape[0], w[:, :h].t() if h else None, residual)
                  for (w, _, residual), h in zip(layers, n_hidden, strict=True)]
        return w_z, bias, w_c, hidden

    def apply_onehot(self, plan: tuple, z: torch.Tensor, cond_index: torch.Tensor) -> torch.Tensor:
        """:meth:`forward_onehot` with a plan from :meth:`onehot_plan`."""
        w_z, bias, w_c, layers = plan
        proj = torch.addmm(bias, z, w_z)
        if w_c is not None:
            proj = proj + F.embedding(cond_index, w_c)
        hidden: torch.Tensor | None = None  # [h_{l-1}, ..., h_1] after activation
        offset = 0
        for (o, w_h, residual), layer in zip(layers, self.seq, strict=True):
            x = proj[:, offset:offset + o]
            offset += o
            if hidden is not None:
                x = torch.addmm(x, hidden, w_h)
            else:
                x = x.contiguous()  # BatchNorm is much slower on a strided view
            if not residual:
                return x
            if self.training:
                x = layer.bn(x)
            x = F.relu(x)
            hidden = x if hidden is None else torch.cat([x, hidden], dim=1)
        raise AssertionError("the last layer is always Linear")  # pragma: no cover


class Discriminator(nn.Module):
    """CTGAN critic with PacGAN: ``pac`` rows are concatenated into one critic input.

    Linear -> LeakyReLU(0.2) -> Dropout(0.5) per hidden layer, then a linear score.
    """

    def __init__(self, input_dim: int, discriminator_dim: Sequence[int], pac: int) -> None:
        super().__init__()
        self.pac = int(pac)
        self.pacdim = input_dim * self.pac
        dim = self.pacdim
        seq: list[nn.Module] = []
        for item in discriminator_dim:
            seq += [nn.Linear(dim, int(item)), nn.LeakyReLU(0.2), GeneratorDropout(0.5)]
            dim = int(item)
        seq.append(nn.Linear(dim, 1))
        self.seq = nn.Sequential(*seq)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.seq(x.reshape(-1, self.pacdim))

    def gradient_penalty(
        self,
        real: torch.Tensor,
        fake: torch.Tensor,
        *,
        generator: torch.Generator | None,
        lambda_: float = 10.0,
    ) -> torch.Tensor:
        """WGAN-GP penalty (Gulrajani et al., 2017) on pac-grouped interpolates."""
        n, d = real.shape
        alpha = torch.rand(n // self.pac, 1, 1, generator=generator, device=real.device)
        alpha = alpha.expand(-1, self.pac, d).reshape(-1, d)
        interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        scores = self(interpolates)
        grads = torch.autograd.grad(
            outputs=scores,
            inputs=interpolates,
            grad_outputs=torch.ones_like(scores),
            create_graph=True,
            retain_graph=True,
            only_inputs=True,
        )[0]
        norms = grads.reshape(-1, self.pacdim).norm(2, dim=1) - 1
        return (norms**2).mean() * lambda_


# --------------------------------------------------------------------------- TVAE
