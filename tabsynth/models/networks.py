"""Neural networks of CTGAN and TVAE (Xu et al., 2019) and their output activations.

Every source of randomness takes an explicit :class:`torch.Generator` (weight
initialisation, dropout masks, Gumbel noise, reparameterisation noise), so a model trained
with a given ``random_state`` is bit-for-bit reproducible on the CPU without touching the
global torch RNG.

Reference: L. Xu, M. Skoularidou, A. Cuesta-Infante, K. Veeramachaneni. "Modeling Tabular
Data using Conditional GAN". NeurIPS 2019.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "Decoder",
    "Discriminator",
    "Encoder",
    "Generator",
    "GeneratorDropout",
    "OutputLayout",
    "Residual",
    "init_weights",
]


class GeneratorDropout(nn.Module):
    """Dropout whose masks come from ``self.generator`` (a :class:`torch.Generator`).

    :class:`torch.nn.Dropout` draws from the global RNG; this module draws from a generator
    the model owns, so training is reproducible without global seeds. Inactive in eval mode.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = float(p)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x.shape, generator=self.generator, device=x.device, dtype=x.dtype)
        return x * (keep >= self.p).to(x.dtype) * (1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


def init_weights(module: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise every Linear layer of ``module`` like PyTorch's default, from ``generator``."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
            if m.bias is not None:
                bound = 1.0 / math.sqrt(m.weight.shape[1]) if m.weight.shape[1] > 0 else 0.0
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)


def set_dropout_generator(module: nn.Module, generator: torch.Generator | None) -> None:
    """Point every :class:`GeneratorDropout` inside ``module`` at ``generator``."""
    for m in module.modules():
        if isinstance(m, GeneratorDropout):
            m.generator = generator


# --------------------------------------------------------------------------- CTGAN
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

    def forward_onehot(
        self, z: torch.Tensor, cond_index: torch.Tensor, cond_dim: int
    ) -> torch.Tensor:
        """``forward(cat([z, one_hot(cond_index, cond_dim)]))`` without the one-hot block.

        Every layer sees the conditional vector as its last ``cond_dim`` inputs (residual
        blocks concatenate their input); a one-hot input times a weight matrix is a column
        of that matrix, so it is gathered instead of multiplied. For sampling (about a
        quarter fewer multiply-adds at CTGAN's default sizes).
        """
        x = z
        for layer in self.seq:
            residual = isinstance(layer, Residual)
            fc = layer.fc if residual else layer
            w, b = fc.weight, fc.bias
            if residual and not self.training:
                # Fold the eval-mode BatchNorm into the linear layer.
                bn = layer.bn
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                w = w * scale[:, None]
                b = (b - bn.running_mean) * scale + bn.bias
            h = F.linear(x, w[:, :-cond_dim], b)
            h += w[:, -cond_dim:].t().contiguous().index_select(0, cond_index)
            if not residual:
                return h
            if self.training:
                h = layer.bn(h)
            x = torch.cat([F.relu(h), x], dim=1)
        return x  # pragma: no cover - the last layer is always Linear


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
@dataclass(frozen=True)
class OutputLayout:
    """Where the ``tanh`` and ``softmax`` outputs of the transformed table lie.

    Built from ``DataTransformer.output_info``; shared by CTGAN and TVAE.
    """

    tanh_index: torch.Tensor  # (n_tanh,) int64 column positions
    softmax_spans: tuple[tuple[int, int], ...]  # (start, end) of each softmax span
    dim: int

    @classmethod
    def from_output_info(cls, output_info: Sequence[object], dim: int) -> OutputLayout:
        tanh: list[int] = []
        spans: list[tuple[int, int]] = []
        for span in output_info:
            start, width = int(span.start), int(span.dim)  # type: ignore[attr-defined]
            if span.activation == "tanh":  # type: ignore[attr-defined]
                tanh.extend(range(start, start + width))
            elif span.activation == "softmax":  # type: ignore[attr-defined]
                spans.append((start, start + width))
            else:  # pragma: no cover - the transformer only emits these two
                raise ValueError(f"Unknown activation {span.activation!r}")  # type: ignore[attr-defined]
        return cls(torch.tensor(tanh, dtype=torch.long), tuple(spans), int(dim))

    def gumbel_softmax(
        self, raw: torch.Tensor, *, tau: float, generator: torch.Generator | None
    ) -> torch.Tensor:
        """Training-time activation: ``tanh`` on values, Gumbel-softmax on discrete spans."""
        out = torch.empty_like(raw)
        if self.tanh_index.numel():
            idx = self.tanh_index.to(raw.device)
            out[:, idx] = torch.tanh(raw[:, idx])
        for st, ed in self.softmax_spans:
            logits = raw[:, st:ed]
            gumbels = -torch.empty_like(logits).exponential_(generator=generator).log()
            out[:, st:ed] = F.softmax((logits + gumbels) / tau, dim=1)
        return out

    def sample_one_hot(
        self,
        raw: torch.Tensor,
        *,
        generator: torch.Generator | None,
        rng: np.random.Generator | None = None,
    ) -> torch.Tensor:
        """Sampling-time activation: ``tanh`` on values, one-hot categorical draw per span.

        The draw is the Gumbel-max trick (``argmax(logits + Gumbel noise)``), an exact sample
        from ``softmax(logits)``, i.e. the distribution the network was trained to output.
        On the CPU the exponential noise comes from ``rng`` (numpy's ziggurat sampler is
        several times faster than torch's); elsewhere from ``generator``.
        """
        out = torch.zeros_like(raw)
        if self.tanh_index.numel():
            idx = self.tanh_index.to(raw.device)
            out[:, idx] = torch.tanh(raw[:, idx])
        if self.softmax_spans:
            # One noise draw for the whole matrix; then an argmax per span.
            if rng is not None and raw.device.type == "cpu":
                noise = torch.from_numpy(rng.standard_exponential(raw.shape, dtype=np.float32))
            else:
                noise = torch.empty_like(raw).exponential_(generator=generator)
            noisy = raw - noise.log_()
            for st, ed in self.softmax_spans:
                pick = torch.argmax(noisy[:, st:ed], dim=1, keepdim=True)
                out[:, st:ed].scatter_(1, pick, 1.0)
        return out
