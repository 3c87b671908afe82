"""The network of :class:`~tabsynth.models.ar.ARSynthesizer`: per-column heads on a shared context.

Every column ``k`` is a sequence of cells (categories, or numeric bins; see
:meth:`tabsynth.transformer.DataTransformer.column_codes`) with an embedding ``u_k`` of one
shared width ``r`` (the context width). For a column order, column ``j`` is predicted from the
sum of the embeddings of the columns before it, through its own small MLP:

    s_j = sum_{k before j} u_k(x_k)
    p(x_j | x_<j) = softmax(W2_j relu(W1_j s_j + b1_j) + b2_j)

A head on the concatenation of every column's embedding (the previous layout, as TabularARGN's
regressors) costs ``C (sum of widths + C) hidden`` per row, which grows with the square of
the number of columns; the sum costs ``C r hidden`` with ``r`` bounded on wide tables
(:func:`context_width`). With ``r`` at least the sum of the per-column widths the sum can
place every column in its own block of the context, so it represents every head the
concatenation did (its per-(head, column) constants included: they are rows of ``u_k``).

Because the order enters only through which embeddings are summed, one forward pass trains a
batch whose rows each have their own random order: the rows' ranks (:func:`random_before`)
give each head's sum as an exclusive cumulative sum in rank order, ``O(C r)`` per row; a
``(B, C, C)`` or ``(C, C)`` boolean "k before j" mask is accepted too (a batched matmul).
The same weights serve any order at sampling time, so any subset of columns can be generated
first and fixed (exact conditioning).

Sampling (:meth:`ARNetwork.sample`) keeps, per head, a lookup table ``U W1_j^T`` (a column's
first-layer contribution per cell: one ``embedding_bag`` per column drawn) when those tables
are small, and otherwise a running sum of the drawn cells' embeddings (one ``(n, r) x (r,
hidden)`` product per column; wide tables).

Only standard layers (one ``nn.Embedding`` for every cell of every column, ``nn.Linear``;
no BatchNorm), each used once per forward pass, so Opacus computes per-sample gradients (ghost
clipping included), and the forward pass returns each row's negative log-likelihood for
DP-SGD.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ARNetwork", "CellEmbedding", "context_width", "fixed_before", "fixed_ranks",
           "flexible_before", "random_before"]

#: Context width of wide tables: at least this, and at most :data:`CONTEXT_BUDGET` / columns.
MIN_CONTEXT = 64
#: ``columns x context width`` above which the context narrows (the heads' first layers cost
#: ``columns x width x hidden`` per row).
CONTEXT_BUDGET = 4096
#: Floats of the per-head lookup tables above which sampling sums embeddings instead.
MAX_TABLE_FLOATS = 32 * 2**20
#: Initial standard deviation of the embeddings times sqrt(columns). Small: a DP fit starts
#: every head at its column's DP marginal, and its few noisy steps move a head's output in
#: proportion to its hidden activations (on a 3-column DP test table, 2 epochs at epsilon 1:
#: 30% missing values came back as 33-35% with 0.5, 46-50% with 2).
EMBED_STD = 0.5


def context_width(domains: Sequence[int], *, max_dim: int = 16) -> int:
    """The shared context width ``r``: the sum over columns of about ``2 sqrt(cells)`` (at
    least 2, at most ``max_dim``) -- the concatenation's width, so narrow tables lose nothing
    -- capped at ``max(MIN_CONTEXT, CONTEXT_BUDGET / columns)`` on wide tables."""
    total = sum(int(min(max_dim, max(2, math.ceil(2 * math.sqrt(v))))) for v in domains)
    cap = max(MIN_CONTEXT, CONTEXT_BUDGET // max(len(domains), 1))
    return int(max(2, min(total, cap)))


def _ranks_to_mask(rank: torch.Tensor) -> torch.Tensor:
    return rank.unsqueeze(-1) > rank.unsqueeze(-2)


def random_before(batch: int, n_columns: int, *, generator: torch.Generator,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """``(batch, C)`` ranks of a uniformly random column order per row (rank 0 first);
    column ``k`` precedes column ``j`` in row ``b`` when ``rank[b, k] < rank[b, j]``."""
    return torch.rand(batch, n_columns, generator=generator, device=device).argsort(1).argsort(1)


def flexible_before(batch: int, order: Sequence[int], *, generator: torch.Generator,
                    fixed_share: float = 0.5,
                    device: torch.device | str = "cpu") -> torch.Tensor:
    """Orders as conditional sampling uses them: a random subset of the columns first (in a
    random order), then the others in ``order``. A row keeps ``order`` itself (an empty
    subset) with probability ``fixed_share``; otherwise each column joins the subset with a
    probability drawn uniformly per row. ``(batch, C)`` ranks as :func:`random_before`."""
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
    return key.argsort(1).argsort(1)


def fixed_ranks(batch: int, order: Sequence[int], *,
                device: torch.device | str = "cpu") -> torch.Tensor:
    """``(batch, C)`` ranks of one column order (``order[0]`` first) for every row."""
    rank = torch.empty(len(order), dtype=torch.long)
    rank[torch.as_tensor(list(order), dtype=torch.long)] = torch.arange(len(order))
    return rank.to(device).unsqueeze(0).expand(batch, -1)


def fixed_before(order: Sequence[int], *, device: torch.device | str = "cpu") -> torch.Tensor:
    """``before[j, k]`` (bool): column ``k`` precedes column ``j`` in ``order`` (``order[0]``
    first)."""
    rank = torch.empty(len(order), dtype=torch.long)
    rank[torch.as_tensor(list(order), dtype=torch.long)] = torch.arange(len(order))
    return _ranks_to_mask(rank.to(device))


class CellEmbedding(nn.Embedding):
    """Every column's cells in one table. A row's indices are ``codes + offsets``: one per
    column, each inside its own column's range ``[starts[j], ends[j])``, so no index repeats
    within a row. The per-row gradient norm of the table is then the root of the sum of the
    squared norms of the row's backprops (``tabsynth.models.ar_dp.cell_norm_sample``, DP-SGD's
    clipping), with no search for repeated indices. The ranges are plain lists (Opacus
    refuses trainable layers with buffers): model files hold ``cells.weight`` as before."""

    def __init__(self, domains: Sequence[int], dim: int) -> None:
        sizes = [int(v) for v in domains]
        super().__init__(sum(sizes), int(dim))
        self.ends = [int(v) for v in np.cumsum(sizes)] if sizes else []
        self.starts = [e - v for e, v in zip(self.ends, sizes, strict=True)]


class ARNetwork(nn.Module):
    """One embedding table for every column's cells and per-column heads (module docstring).

    Parameters
    ----------
    domains : sequence of int
        Cells of each column.
    context : int
        The shared context width ``r`` (:func:`context_width`).
    hidden : int
        Width of each head's hidden layer.
    dropout : float
        Dropout on the heads' hidden layers (training only).
    """

    def __init__(self, domains: Sequence[int], context: int, *, hidden: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.domains = [int(v) for v in domains]
        self.context = int(context)
        self.hidden = int(hidden)
        c = len(self.domains)
        self.cells = CellEmbedding(self.domains, self.context)
        self.hidden_layers = nn.ModuleList(nn.Linear(self.context, hidden) for _ in range(c))
        self.heads = nn.ModuleList(nn.Linear(hidden, v) for v in self.domains)
        self.dropout = float(dropout)
        offsets = torch.zeros(c, dtype=torch.long)
        offsets[1:] = torch.cumsum(torch.as_tensor(self.domains[:-1]), 0)
        self.register_buffer("offsets", offsets, persistent=False)

    def reset_parameters(self, generator: torch.Generator) -> None:
        """Initialise every weight from ``generator``: embeddings ``N(0, EMBED_STD^2 / C)`` (a
        sum of up to ``C`` of them stays below one), linear layers PyTorch's default scheme."""
        nn.init.normal_(self.cells.weight, std=EMBED_STD / math.sqrt(max(len(self.domains), 1)),
                        generator=generator)
        for layer in [*self.hidden_layers, *self.heads]:
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            bound = 1.0 / math.sqrt(layer.weight.shape[1])
            nn.init.uniform_(layer.bias, -bound, bound, generator=generator)

    # ------------------------------------------------------------------ training
    def contexts(self, codes: torch.Tensor, before: torch.Tensor) -> torch.Tensor:
        """``(B, C, r)``: row ``b``'s sum of the embeddings of the columns before ``j``.

        ``before``: ``(B, C)`` integer ranks (exclusive cumulative sum in rank order), or a
        ``(B, C, C)`` / ``(C, C)`` boolean mask ``before[.., j, k]``.
        """
        u = self.cells(codes + self.offsets)
        if before.dtype == torch.bool:
            return torch.matmul(before.to(u.dtype), u)
        index = before.argsort(1).unsqueeze(2).expand(-1, -1, self.context)
        in_order = u.gather(1, index)
        prefix = in_order.cumsum(1) - in_order  # exclusive: the columns strictly before
        return prefix.gather(1, before.unsqueeze(2).expand(-1, -1, self.context))

    def forward(self, codes: torch.Tensor, before: torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Each row's negative log-likelihood (nats), shape ``(B,)``.

        ``codes``: ``(B, C)`` cells; ``before``: order ranks or masks (:meth:`contexts`).
        """
        ctx = self.contexts(codes, before)
        total = torch.zeros(codes.shape[0], device=codes.device, dtype=ctx.dtype)
        # unbind, not ctx[:, j]: each slice's backward would fill a whole (B, C, r) gradient
        for j, (layer, head, s) in enumerate(zip(self.hidden_layers, self.heads, ctx.unbind(1),
                                                 strict=True)):
            h = F.relu(layer(s))
            if self.training and self.dropout > 0:
                keep = torch.rand(h.shape, generator=generator, device=h.device) >= self.dropout
                h = h * keep / (1 - self.dropout)
            total = total + F.cross_entropy(head(h), codes[:, j], reduction="none")
        return total

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def lookup_tables(self) -> list[torch.Tensor] | None:
        """Per head ``j``: ``(sum cells, hidden)``, row ``offsets[k] + x`` is ``W1_j u_k(x)``
        (the head's first layer on one column's cell); ``None`` where they would hold more
        than :data:`MAX_TABLE_FLOATS` floats (sampling then sums embeddings)."""
        if len(self.domains) * sum(self.domains) * self.hidden > MAX_TABLE_FLOATS:
            return None
        return [self.cells.weight @ layer.weight.T for layer in self.hidden_layers]

    @torch.no_grad()
    def sample(self, n: int, order: Sequence[int], *, generator: torch.Generator,
               allowed: dict[int, torch.Tensor] | None = None,
               tables: list[torch.Tensor] | None | str = "auto",
               chunk: int = 8192) -> torch.Tensor:
        """``(n, C)`` cells drawn column by column in ``order``.

        ``allowed[j]`` (bool, one per cell of column ``j``) restricts column ``j`` to those
        cells: their logits are kept, the others' set to ``-inf`` (exact, no rejection).
        ``tables``: :meth:`lookup_tables` (``"auto"``: computed here; ``None``: running sums
        of embeddings). Rows go through in chunks of ``chunk`` (the activations stay in the
        CPU's cache).
        """
        c = len(self.domains)
        device = self.offsets.device
        if isinstance(tables, str):
            tables = self.lookup_tables()
        allowed = {j: a.to(device) for j, a in (allowed or {}).items()}
        order = [int(j) for j in order]
        last = {j: int(torch.nonzero(allowed[j]).max()) if j in allowed
                else self.domains[j] - 1 for j in order}
        codes = torch.zeros(n, c, dtype=torch.long, device=device)
        if tables is not None:  # per head: its table plus a last row holding the bias
            bias_row = sum(self.domains)
            heads = [torch.cat([tables[j], self.hidden_layers[j].bias.unsqueeze(0)])
                     for j in range(c)]
        for s in range(0, n, chunk):
            part = codes[s:s + chunk]
            m = part.shape[0]
            if tables is not None:
                const_idx = torch.full((m, 1), bias_row, dtype=torch.long, device=device)
            else:
                ctx = torch.zeros(m, self.context, device=device)
            for step, j in enumerate(order):
                if tables is not None:
                    done = order[:step]
                    idx = torch.cat([part[:, done] + self.offsets[done], const_idx], dim=1) \
                        if done else const_idx
                    z = F.embedding_bag(idx, heads[j], mode="sum")
                else:
                    z = self.hidden_layers[j](ctx)
                logits = self.heads[j](F.relu_(z))
                if j in allowed:
                    logits.masked_fill_(~allowed[j], float("-inf"))
                cdf = torch.softmax(logits, dim=1).cumsum_(1)
                u = torch.rand(m, 1, generator=generator, device=device) * cdf[:, -1:]
                # right: the first cell whose cdf exceeds u, never a masked (zero-mass) cell;
                # the clamp covers u rounding up to the total
                part[:, j] = torch.searchsorted(cdf, u, right=True).squeeze(1).clamp_(max=last[j])
                if tables is None:
                    ctx += self.cells.weight[part[:, j] + self.offsets[j]]
        return codes
