"""The network of :class:`~tabsynth.models.ar.ARSynthesizer`: a chain of per-column heads.

Every column ``k`` is a sequence of cells (categories, or numeric bins; see
:meth:`tabsynth.transformer.DataTransformer.column_codes`) with an embedding ``e_k``. For a
column order, column ``j`` is predicted from the columns before it: its head is a small MLP
on the concatenation of every column's embedding, multiplied by 0/1 ("is this column before
``j``"), and of those 0/1 indicators themselves:

    p(x_j | x_<j) = softmax(W2_j relu(W1_j [e_1(x_1) m_j1, ..., e_C(x_C) m_jC, m_j] + b1_j) + b2_j)

as TabularARGN's regressors (Tiwald et al., 2025) do. Because the order enters only through
the masks ``m``, one forward pass trains a batch whose rows each have their own random order
(:func:`random_before`): the same weights then serve any order at sampling time, so any
subset of columns can be generated first and fixed (exact conditioning).

Sampling never forms the masked concatenation: ``W1_j [..., e_k(x_k) m_jk, ...]`` is a sum over
the columns already generated of ``(E_k W1_j[:, block k]^T)[x_k]``, a lookup in a small table
per (head, column) pair, so one column of ``n`` rows costs one ``embedding_bag`` and one
``(n, hidden) x (hidden, cells)`` product (:meth:`ARNetwork.sample`).

Only standard layers (``nn.Embedding``, ``nn.Linear``; no BatchNorm), each used once per
forward pass, so Opacus computes per-sample gradients (ghost clipping included), and the
forward pass returns each row's negative log-likelihood for DP-SGD.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ARNetwork", "embedding_dims", "fixed_before", "flexible_before", "random_before"]

#: Upper bound on the concatenated embeddings' width (wide tables get narrower embeddings).
MAX_CONTEXT = 1024


def embedding_dims(domains: Sequence[int], *, max_dim: int = 16) -> list[int]:
    """Embedding width per column: about ``2 sqrt(cells)`` (at least 2, at most ``max_dim``),
    narrowed so that the concatenation stays within :data:`MAX_CONTEXT` on wide tables."""
    cap = max(2, min(int(max_dim), MAX_CONTEXT // max(len(domains), 1)))
    return [int(min(cap, max(2, math.ceil(2 * math.sqrt(v))))) for v in domains]


def random_before(batch: int, n_columns: int, *, generator: torch.Generator,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """``before[b, j, k]``: column ``k`` precedes column ``j`` in row ``b``'s random order."""
    rank = torch.rand(batch, n_columns, generator=generator, device=device).argsort(1).argsort(1)
    return rank.unsqueeze(2) > rank.unsqueeze(1)


def flexible_before(batch: int, order: Sequence[int], *, generator: torch.Generator,
                    fixed_share: float = 0.5,
                    device: torch.device | str = "cpu") -> torch.Tensor:
    """Orders as conditional sampling uses them: a random subset of the columns first (in a
    random order), then the others in ``order``. A row keeps ``order`` itself (an empty
    subset) with probability ``fixed_share``; otherwise each column joins the subset with a
    probability drawn uniformly per row. ``before[b, j, k]`` as :func:`random_before`."""
    c = len(order)
    rank_fixed = torch.empty(c, dtype=torch.float32)
    rank_fixed[torch.as_tensor(list(order), dtype=torch.long)] = torch.arange(c,
                                                                               dtype=torch.float32)
    rank_fixed = rank_fixed.to(device)
    share = torch.rand(batch, 1, generator=generator, device=device)
    keep = torch.rand(batch, 1, generator=generator, device=device) < fixed_share
    share = share.masked_fill(keep, 0.0)
    first = torch.rand(batch, c, generator=generator, device=device) < share
    key = torch.where(first, torch.rand(batch, c, generator=generator, device=device),
                      1.0 + rank_fixed)
    rank = key.argsort(1).argsort(1)
    return rank.unsqueeze(2) > rank.unsqueeze(1)


def fixed_before(order: Sequence[int], *, device: torch.device | str = "cpu") -> torch.Tensor:
    """``before[j, k]`` for one column order (``order[0]`` first)."""
    rank = torch.empty(len(order), dtype=torch.long)
    rank[torch.as_tensor(list(order), dtype=torch.long)] = torch.arange(len(order))
    rank = rank.to(device)
    return rank.unsqueeze(1) > rank.unsqueeze(0)


class ARNetwork(nn.Module):
    """Per-column embeddings and heads (module docstring).

    Parameters
    ----------
    domains : sequence of int
        Cells of each column.
    embedding_dims : sequence of int
        Embedding width of each column.
    hidden : int
        Width of each head's hidden layer.
    dropout : float
        Dropout on the heads' hidden layers (training only).
    """

    def __init__(self, domains: Sequence[int], embedding_dims: Sequence[int], *, hidden: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.domains = [int(v) for v in domains]
        self.dims = [int(d) for d in embedding_dims]
        c = len(self.domains)
        self.embeddings = nn.ModuleList(nn.Embedding(v, d) for v, d in zip(self.domains,
                                                                           self.dims, strict=True))
        width = sum(self.dims)
        self.hidden_layers = nn.ModuleList(nn.Linear(width + c, hidden) for _ in range(c))
        self.heads = nn.ModuleList(nn.Linear(hidden, v) for v in self.domains)
        self.dropout = float(dropout)
        block = torch.repeat_interleave(torch.arange(c), torch.as_tensor(self.dims))
        self.register_buffer("block", block, persistent=False)
        offsets = torch.zeros(c, dtype=torch.long)
        offsets[1:] = torch.cumsum(torch.as_tensor(self.domains[:-1]), 0)
        self.register_buffer("offsets", offsets, persistent=False)

    def reset_parameters(self, generator: torch.Generator) -> None:
        """Initialise every weight from ``generator`` (PyTorch's default schemes)."""
        for emb in self.embeddings:
            nn.init.normal_(emb.weight, generator=generator)
        for layer in [*self.hidden_layers, *self.heads]:
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            bound = 1.0 / math.sqrt(layer.weight.shape[1])
            nn.init.uniform_(layer.bias, -bound, bound, generator=generator)

    # ------------------------------------------------------------------ training
    def forward(self, codes: torch.Tensor, before: torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Each row's negative log-likelihood (nats), shape ``(B,)``.

        ``codes``: ``(B, C)`` cells; ``before``: ``(B, C, C)`` or ``(C, C)`` order masks.
        """
        emb = torch.cat([e(codes[:, k]) for k, e in enumerate(self.embeddings)], dim=1)
        mask = before.to(emb.dtype)
        if mask.dim() == 2:
            mask = mask.unsqueeze(0).expand(codes.shape[0], -1, -1)
        context = torch.cat([emb.unsqueeze(1) * mask[:, :, self.block], mask], dim=2)
        total = torch.zeros(codes.shape[0], device=codes.device, dtype=emb.dtype)
        for j, (layer, head) in enumerate(zip(self.hidden_layers, self.heads, strict=True)):
            h = F.relu(layer(context[:, j]))
            if self.training and self.dropout > 0:
                keep = torch.rand(h.shape, generator=generator, device=h.device) >= self.dropout
                h = h * keep / (1 - self.dropout)
            total = total + F.cross_entropy(head(h), codes[:, j], reduction="none")
        return total

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def lookup_tables(self) -> list[torch.Tensor]:
        """Per head ``j``: ``(sum cells, hidden)``, row ``offsets[k] + x`` is
        ``W1_j[:, block k] e_k(x)`` (the head's first layer on one column's embedding)."""
        width = sum(self.dims)
        starts = [0]
        for d in self.dims:
            starts.append(starts[-1] + d)
        tables = []
        for layer in self.hidden_layers:
            w = layer.weight[:, :width]
            tables.append(torch.cat([e.weight @ w[:, starts[k]:starts[k + 1]].T
                                     for k, e in enumerate(self.embeddings)], dim=0))
        return tables

    @torch.no_grad()
    def sample(self, n: int, order: Sequence[int], *, generator: torch.Generator,
               allowed: dict[int, torch.Tensor] | None = None,
               tables: list[torch.Tensor] | None = None, chunk: int = 8192) -> torch.Tensor:
        """``(n, C)`` cells drawn column by column in ``order``.

        ``allowed[j]`` (bool, one per cell of column ``j``) restricts column ``j`` to those
        cells: their logits are kept, the others' set to ``-inf`` (exact, no rejection).
        Rows go through in chunks of ``chunk`` (the activations stay in the CPU's cache).
        """
        c = len(self.domains)
        width = sum(self.dims)
        device = self.offsets.device
        tables = tables if tables is not None else self.lookup_tables()
        allowed = {j: a.to(device) for j, a in (allowed or {}).items()}
        order = [int(j) for j in order]
        # per head: its lookup table plus one last row holding the bias and the order's mask
        # term, so that one embedding_bag gives the whole first layer
        heads: list[tuple[torch.Tensor, list[int], int]] = []
        present = torch.zeros(c, device=device)
        for step, j in enumerate(order):
            layer = self.hidden_layers[j]
            const = layer.bias + layer.weight[:, width:] @ present
            heads.append((torch.cat([tables[j], const.unsqueeze(0)]), order[:step],
                          int(torch.nonzero(allowed[j]).max()) if j in allowed
                          else self.domains[j] - 1))
            present[j] = 1.0
        codes = torch.zeros(n, c, dtype=torch.long, device=device)
        const_row = int(self.offsets[-1]) + self.domains[-1]
        for s in range(0, n, chunk):
            part = codes[s:s + chunk]
            m = part.shape[0]
            const_idx = torch.full((m, 1), const_row, dtype=torch.long, device=device)
            for j, (table, done, last) in zip(order, heads, strict=True):
                idx = torch.cat([part[:, done] + self.offsets[done], const_idx], dim=1) \
                    if done else const_idx
                z = F.embedding_bag(idx, table, mode="sum")
                logits = self.heads[j](F.relu_(z))
                if j in allowed:
                    logits.masked_fill_(~allowed[j], float("-inf"))
                cdf = torch.softmax(logits, dim=1).cumsum_(1)
                u = torch.rand(m, 1, generator=generator, device=device) * cdf[:, -1:]
                # right: the first cell whose cdf exceeds u, never a masked (zero-mass) cell;
                # the clamp covers u rounding up to the total
                part[:, j] = torch.searchsorted(cdf, u, right=True).squeeze(1).clamp_(max=last)
        return codes
