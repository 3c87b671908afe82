"""TVAE's networks (Xu et al., 2019): the encoder and the decoder with its learnt scale.

Shared layers and initialisation: :mod:`tabsynth.models.networks`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["Decoder", "Encoder"]


class Encoder(nn.Module):
    """TVAE encoder: ReLU MLP, then the mean and log-variance of ``q(z | x)``."""

    def __init__(self, data_dim: int, compress_dims: Sequence[int], embedding_dim: int) -> None:
        super().__init__()
        dim = data_dim
        seq: list[nn.Module] = []
        for item in compress_dims:
            seq += [nn.Linear(dim, int(item)), nn.ReLU()]
            dim = int(item)
        self.seq = nn.Sequential(*seq)
        self.fc_mu = nn.Linear(dim, embedding_dim)
        self.fc_logvar = nn.Linear(dim, embedding_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.seq(x)
        return self.fc_mu(h), self.fc_logvar(h)


class Decoder(nn.Module):
    """TVAE decoder: ReLU MLP to ``data_dim`` outputs, plus a learned scale ``sigma`` per output."""

    def __init__(self, embedding_dim: int, decompress_dims: Sequence[int], data_dim: int) -> None:
        super().__init__()
        dim = embedding_dim
        seq: list[nn.Module] = []
        for item in decompress_dims:
            seq += [nn.Linear(dim, int(item)), nn.ReLU()]
            dim = int(item)
        seq.append(nn.Linear(dim, data_dim))
        self.seq = nn.Sequential(*seq)
        self.sigma = nn.Parameter(torch.ones(data_dim) * 0.1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.seq(z)


# --------------------------------------------------------------------------- outputs
