"""What the networks of CTGAN and TVAE (Xu et al., 2019) share: seeded initialisation and dropout,
the optimiser, the CPU bf16 sampling plan, and the output activations (:class:`OutputLayout`).
The networks themselves: :mod:`tabsynth.models.ctgan_networks` (generator, critic) and
:mod:`tabsynth.models.tvae_networks` (encoder, decoder); the autoregressive model's:
:mod:`tabsynth.models.ar_network`.

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
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "GeneratorDropout",
    "OutputLayout",
    "adam",
    "cast_plan",
    "fast_bf16_cpu",
    "init_weights",
    "set_dropout_generator",
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


def adam(params, **kwargs) -> torch.optim.Adam:
    """``torch.optim.Adam`` with the fused kernel (one pass over all parameters instead of a
    dozen small operations per tensor), falling back to the default implementation where the
    fused one is not available."""
    params = list(params)
    try:
        return torch.optim.Adam(params, fused=True, **kwargs)
    except (RuntimeError, ValueError, TypeError):  # pragma: no cover - old torch / device
        return torch.optim.Adam(params, **kwargs)


def fast_bf16_cpu() -> bool:
    """Whether this CPU multiplies bfloat16 matrices natively (AVX512-BF16 / AMX): there a
    bfloat16 matrix product is several times faster than a float32 one."""
    try:
        return bool(torch.backends.mkldnn.is_available()
                    and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - torch without the probe
        return False


def cast_plan(plan: tuple, dtype: torch.dtype) -> tuple:
    """A :meth:`Generator.onehot_plan` with its tensors cast to ``dtype``."""
    w_z, bias, w_c, hidden = plan
    return (w_z.to(dtype), bias.to(dtype), None if w_c is None else w_c.to(dtype),
            [(o, None if w is None else w.to(dtype), r) for o, w, r in hidden])


def set_dropout_generator(module: nn.Module, generator: torch.Generator | None) -> None:
    """Point every :class:`GeneratorDropout` inside ``module`` at ``generator``."""
    for m in module.modules():
        if isinstance(m, GeneratorDropout):
            m.generator = generator


# --------------------------------------------------------------------------- CTGAN
_NEG = -1e9  # logit of padded slots (exp underflows to 0; finite, so no NaN in 0 * x)


@dataclass(frozen=True)
class _SpanGroup:
    """Softmax spans of similar width, gathered as one padded ``(B, n_spans, width)`` block."""

    index: torch.Tensor  # (n_spans * width,) column of each slot (padded slots: their span's start)
    mask: torch.Tensor | None  # (n_spans, width) True on padded slots; None when no padding
    n_spans: int
    width: int


@dataclass(frozen=True)
class _Tables:
    groups: tuple[_SpanGroup, ...]
    tanh_index: torch.Tensor
    back_index: torch.Tensor  # (dim,) position of each output column in cat([groups..., tanh])


def _span_groups(spans: Sequence[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Spans bucketed by width (powers of two) so that padding stays small."""
    buckets: dict[int, list[tuple[int, int]]] = {}
    for st, ed in spans:
        buckets.setdefault(max(ed - st - 1, 0).bit_length(), []).append((st, ed))
    return [buckets[k] for k in sorted(buckets)]


@dataclass(frozen=True)
class OutputLayout:
    """Where the ``tanh`` and ``softmax`` outputs of the transformed table lie.

    Built from ``DataTransformer.output_info``; shared by CTGAN and TVAE. The activations
    work on all spans at once: spans of similar width are gathered into padded blocks
    (one softmax per block instead of one per span), which removes most of the per-span
    operator overhead of small batches.
    """

    tanh_index: torch.Tensor  # (n_tanh,) int64 column positions
    softmax_spans: tuple[tuple[int, int], ...]  # (start, end) of each softmax span
    dim: int
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

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

    def _tables(self, device: torch.device) -> _Tables:
        key = str(device)
        tables = self._cache.get(key)
        if tables is not None:
            return tables
        back = np.full(self.dim, -1, dtype=np.int64)
        groups = []
        offset = 0
        for group in _span_groups(self.softmax_spans):
            width = max(ed - st for st, ed in group)
            index = np.zeros((len(group), width), dtype=np.int64)
            mask = np.zeros((len(group), width), dtype=bool)
            for i, (st, ed) in enumerate(group):
                w = ed - st
                index[i, :w] = np.arange(st, ed)
                index[i, w:] = st
                mask[i, w:] = True
                back[st:ed] = offset + i * width + np.arange(w)
            offset += index.size
            groups.append(_SpanGroup(
                torch.from_numpy(index.reshape(-1)).to(device),
                torch.from_numpy(mask).to(device) if mask.any() else None,
                len(group), width,
            ))
        tanh = self.tanh_index.cpu().numpy()
        back[tanh] = offset + np.arange(len(tanh))
        if (back < 0).any():  # pragma: no cover - output_info covers every column
            raise ValueError("output_info does not cover every output column")
        tables = _Tables(tuple(groups), self.tanh_index.to(device),
                         torch.from_numpy(back).to(device))
        self._cache[key] = tables
        return tables

    @staticmethod
    def _blocks(x: torch.Tensor, group: _SpanGroup) -> torch.Tensor:
        """``x``'s softmax spans of ``group`` as ``(B, n_spans, width)``; padding at ``_NEG``."""
        block = x.index_select(1, group.index).view(x.shape[0], group.n_spans, group.width)
        if group.mask is not None:
            block = block.masked_fill(group.mask, _NEG)
        return block

    def gumbel_softmax(
        self, raw: torch.Tensor, *, tau: float, generator: torch.Generator | None
    ) -> torch.Tensor:
        """Training-time activation: ``tanh`` on values, Gumbel-softmax on discrete spans."""
        t = self._tables(raw.device)
        b = raw.shape[0]
        parts = []
        if t.groups:
            # Gumbel(0, 1) noise -log(-log(U)): two logs of a uniform draw are several times
            # faster than torch's exponential_ sampler on the CPU. U is kept above 0: a draw of
            # 0 (2^-24 per float32 cell) made the noise -inf and a width-1 span's softmax NaN,
            # which reached every weight (tests/tabsynth/test_gumbel_softmax.py).
            u = torch.rand(raw.shape, generator=generator, device=raw.device, dtype=raw.dtype)
            u.clamp_(min=torch.finfo(raw.dtype).tiny)
            z = (raw - u.log_().neg_().log_()) * (1.0 / tau)
            for group in t.groups:
                parts.append(torch.softmax(self._blocks(z, group), dim=2).reshape(b, -1))
        if t.tanh_index.numel():
            parts.append(torch.tanh(raw.index_select(1, t.tanh_index)))
        out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        return out.index_select(1, t.back_index)

    def softmax_cross_entropy(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Summed cross-entropy of every softmax span of ``logits`` against the one-hot
        spans of ``target`` (the transformed real rows)."""
        t = self._tables(logits.device)
        total = logits.new_zeros(())
        for group in t.groups:
            labels = self._blocks(target, group).argmax(dim=2).reshape(-1)
            block = self._blocks(logits, group).reshape(-1, group.width)
            total = total + F.cross_entropy(block, labels, reduction="sum")
        return total

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
        t = self._tables(raw.device)
        out = torch.zeros_like(raw)
        if t.tanh_index.numel():
            out[:, t.tanh_index] = torch.tanh(raw.index_select(1, t.tanh_index))
        if t.groups:
            # One noise draw for the whole matrix; then one argmax per group of spans.
            if rng is not None and raw.device.type == "cpu":
                noise = torch.from_numpy(rng.standard_exponential(raw.shape, dtype=np.float32))
            else:
                noise = torch.empty_like(raw).exponential_(generator=generator)
            noisy = raw - noise.log_()
            for group in t.groups:
                pick = self._blocks(noisy, group).argmax(dim=2)  # (B, n_spans)
                offsets = torch.arange(group.n_spans, device=raw.device) * group.width
                out.scatter_(1, group.index[pick + offsets], 1.0)
        return out
