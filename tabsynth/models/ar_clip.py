"""Each row's clipped gradient of :class:`~tabsynth.models.ar_network.ARNetwork`, in closed form.

DP-SGD's ``grad_sample_mode="direct"`` (the default of a private
:class:`~tabsynth.models.ar.ARSynthesizer`). Opacus' ghost clipping gets each row's gradient
norm from per-layer hooks in one backward pass and the clipped sum from a second one; on this
network (two small linear layers per column on a sum of embeddings) the hooks, the two autograd
traversals and one small matrix product per column and layer cost most of a step (adult at
epsilon 1: about 0.13 s a step of 1,000 rows, 500 steps). The network is simple enough to
differentiate by hand, with every column's layer in one batched product:

    s_j  = sum_{k before j} u_k                 (context, (B, C, r))
    z_j  = W1_j s_j + b1_j,  h_j = relu(z_j) * m_j      (m_j: dropout mask / (1 - p))
    l_j  = W2_j h_j + b2_j,  loss = sum_j CE(l_j, x_j)

Backward, per row (``g_l = softmax(l) - onehot(x)``):

    g_h = W2^T g_l,  g_z = g_h * m * [z > 0],  g_s = W1^T g_z,
    g_u_k = sum_{j after k} g_s_j               (a reverse exclusive cumulative sum in rank order)

A row uses each column's layers once, so its gradient of ``W2_j`` is the outer product
``g_l_j h_j^T`` with norm ``|g_l_j| |h_j|`` (likewise ``W1_j``: ``|g_z_j| |s_j|``; biases
``|g_l_j|``, ``|g_z_j|``), and its cells are distinct rows of the embedding table (one per
column, inside the column's range), so the table's gradient norm is ``sqrt(sum_k |g_u_k|^2)``.
The row's norm over every parameter is exact, the clip factor Opacus' own
(``min(1, C / (norm + 1e-6))``), and the clipped sum is one product per layer of the
factor-weighted backprops and the activations. The result is what Opacus' per-sample clipping
computes (``tests/tabsynth/test_ar_clip.py`` checks it against ``torch.func`` per-row
gradients, and the clipped sum against Opacus' ghost clipping), left in each parameter's
``.grad`` for Opacus' optimizer, which adds the noise (:func:`tabsynth.privacy.dpsgd.
make_private` with mode ``"direct"``).

Heads of different widths are padded to a common width within groups of similar widths
(:func:`head_groups`), so one wide column does not pad every narrow one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch.nn import functional as F

__all__ = ["ClipLayout", "clip_layout", "clipped_gradients", "head_groups"]

#: Padded cells of a head group at most this many times its cells (:func:`head_groups`).
PAD_RATIO = 1.5
#: Columns up to which the sums over earlier columns are one product with a mask
#: (:class:`_Order`).
MASK_COLUMNS = 32


def head_groups(domains: Sequence[int]) -> list[list[int]]:
    """Columns grouped so that padding each group's heads to its widest one at most
    :data:`PAD_RATIO` times the group's cells: columns sorted by width, a column joins the
    current group while ``members x widest <= PAD_RATIO x cells``."""
    order = sorted(range(len(domains)), key=lambda j: domains[j])
    groups: list[list[int]] = []
    cells = 0
    for j in order:
        v = int(domains[j])
        if groups and (len(groups[-1]) + 1) * v <= PAD_RATIO * (cells + v):
            groups[-1].append(j)
            cells += v
        else:
            groups.append([j])
            cells = v
    return groups


class _Order:
    """Sums over the columns before (or after) each column in each row's order.

    Up to :data:`MASK_COLUMNS` columns, one batched product with the ``(B, C, C)`` "k before
    j" mask (fast on few columns); beyond, an exclusive cumulative sum in rank order
    (``O(B C r)`` memory and work: a 200-column table's mask would take 160 MB a step of
    1,000 rows)."""

    def __init__(self, ranks: torch.Tensor, dtype: torch.dtype) -> None:
        self.ranks = ranks
        self.mask = self.pos = None
        if ranks.shape[1] <= MASK_COLUMNS:
            self.mask = (ranks.unsqueeze(2) > ranks.unsqueeze(1)).to(dtype)  # [b, j, k]
        else:
            self.pos = ranks.argsort(1)  # the column at each position

    @staticmethod
    def _gather(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return x.gather(1, index.unsqueeze(2).expand(-1, -1, x.shape[2]))

    def before(self, u: torch.Tensor) -> torch.Tensor:
        """``(B, C, r)``: row ``b``'s sum of ``u[b, k]`` over the columns ``k`` before ``j``."""
        if self.mask is not None:
            return torch.bmm(self.mask, u)
        in_order = self._gather(u, self.pos)
        return self._gather(in_order.cumsum(1) - in_order, self.ranks)

    def after(self, g: torch.Tensor) -> torch.Tensor:
        """``(B, C, r)``: row ``b``'s sum of ``g[b, j]`` over the columns ``j`` after ``k``."""
        if self.mask is not None:
            return torch.bmm(self.mask.transpose(1, 2), g)
        in_order = self._gather(g, self.pos)
        return self._gather(in_order.flip(1).cumsum(1).flip(1) - in_order, self.ranks)


def _sq(x: torch.Tensor, dim) -> torch.Tensor:
    """Squared L2 norms along ``dim`` (one reduction, no squared copy of ``x``)."""
    return torch.linalg.vector_norm(x, dim=dim).square_()


class ClipLayout(NamedTuple):
    """What :func:`clipped_gradients` needs of a network's shape, built once per fit
    (:func:`clip_layout`): each head group's columns (a list and an index tensor), its padded
    width and its ``(G, 1, width)`` additive mask (``-inf`` on the padding), and every
    column's number of cells."""

    groups: list[tuple[list[int], torch.Tensor, int, torch.Tensor]]
    sizes: torch.Tensor


def clip_layout(net) -> ClipLayout:
    """The :class:`ClipLayout` of ``net`` (:func:`head_groups` of its domains)."""
    dev, dtype = net.offsets.device, net.cells.weight.dtype
    groups = []
    for group in head_groups(net.domains):
        width = max(net.domains[j] for j in group)
        pad = torch.zeros(len(group), 1, width, device=dev, dtype=dtype)
        for g, j in enumerate(group):
            pad[g, 0, net.domains[j]:] = float("-inf")
        groups.append((group, torch.as_tensor(group, device=dev), width, pad))
    return ClipLayout(groups, torch.as_tensor(net.domains, device=dev))


def _stacked_heads(net, group: list[int], width: int):
    """``(G, width, hidden)`` weights and ``(G, width)`` biases of a group's heads (zeros in
    the padding)."""
    dev, dtype = net.offsets.device, net.heads[group[0]].weight.dtype
    w = torch.zeros(len(group), width, net.hidden, device=dev, dtype=dtype)
    b = torch.zeros(len(group), width, device=dev, dtype=dtype)
    for g, j in enumerate(group):
        v = net.domains[j]
        w[g, :v] = net.heads[j].weight
        b[g, :v] = net.heads[j].bias
    return w, b


@torch.no_grad()
def clipped_gradients(net, codes: torch.Tensor, ranks: torch.Tensor, *, max_grad_norm: float,
                      generator: torch.Generator | None = None,
                      layout: ClipLayout | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Set every parameter's ``.grad`` of ``net`` to the sum over the rows of each row's
    gradient of its negative log-likelihood, clipped to L2 norm ``max_grad_norm``.

    ``codes``: ``(B, C)`` cells; ``ranks``: ``(B, C)`` order ranks (:func:`~tabsynth.models.
    ar_network.random_before`); dropout masks (when ``net`` is in training mode with dropout)
    from ``generator`` (data-independent). ``layout``: :func:`clip_layout` of ``net``
    (computed when not given; a training loop builds it once). Returns ``(per-row loss,
    per-row gradient norm)``, both ``(B,)``, for tests and diagnostics (never recorded in a
    private model).
    """
    bsz, c = codes.shape
    r, hidden = net.context, net.hidden
    weight = net.cells.weight
    if layout is None:
        layout = clip_layout(net)
    if bool(((codes < 0) | (codes >= layout.sizes)).any()):  # the norms below assume distinct cells
        raise ValueError("clipped_gradients: a cell code lies outside its column's range, so "
                         "two columns' embeddings could share a row and the per-row norms "
                         "(and the clipping that rests on them) would be wrong.")
    index = codes + net.offsets                           # (B, C): distinct within a row
    u = weight[index]                                     # (B, C, r)
    order = _Order(ranks, u.dtype)
    ctx = order.before(u).transpose(0, 1)                  # (C, B, r): columns before j

    w1 = torch.stack([layer.weight for layer in net.hidden_layers])  # (C, hidden, r)
    b1 = torch.stack([layer.bias for layer in net.hidden_layers])    # (C, hidden)
    z = torch.baddbmm(b1.unsqueeze(1), ctx, w1.transpose(1, 2))      # (C, B, hidden)
    active = z > 0
    h = F.relu(z)
    scale = None
    if net.training and net.dropout > 0:
        keep = torch.rand(c, bsz, hidden, generator=generator, device=h.device) >= net.dropout
        scale = keep.to(h.dtype) / (1.0 - net.dropout)
        h = h * scale

    loss = torch.zeros(bsz, device=h.device, dtype=h.dtype)
    sq = torch.zeros(bsz, device=h.device, dtype=h.dtype)   # squared per-row norm
    g_h = torch.empty_like(h)
    head_grads = []
    h_sq = _sq(h, 2)                                  # (C, B)
    for group, cols, width, pad in layout.groups:
        w2, b2 = _stacked_heads(net, group, width)
        hg = h.index_select(0, cols)                        # (G, B, hidden)
        logits = torch.baddbmm(b2.unsqueeze(1), hg, w2.transpose(1, 2)) + pad
        logp = torch.log_softmax(logits, dim=2)
        target = codes.T.index_select(0, cols).unsqueeze(2)  # (G, B, 1)
        loss -= logp.gather(2, target).squeeze(2).sum(0)
        g_l = logp.exp_()
        g_l.scatter_add_(2, target, torch.full_like(target, -1.0, dtype=g_l.dtype))
        gl_sq = _sq(g_l, 2)                           # (G, B)
        sq += (gl_sq * (h_sq.index_select(0, cols) + 1.0)).sum(0)   # W2 and b2
        g_h.index_copy_(0, cols, torch.bmm(g_l, w2))
        head_grads.append((group, g_l, hg))
    g_z = g_h * active
    if scale is not None:
        g_z *= scale
    ctx_sq = _sq(ctx, 2)
    sq += (_sq(g_z, 2) * (ctx_sq + 1.0)).sum(0)       # W1 and b1
    g_s = torch.bmm(g_z, w1).transpose(0, 1)                # (B, C, r)
    g_u = order.after(g_s)                                  # (B, C, r): columns after k
    sq += _sq(g_u, (1, 2))                            # the embedding table
    norm = sq.sqrt()
    factor = (float(max_grad_norm) / (norm + 1e-6)).clamp(max=1.0)

    f3 = factor.view(1, bsz, 1)
    for group, g_l, hg in head_grads:
        g_l *= f3
        dw = torch.bmm(g_l.transpose(1, 2), hg)             # (G, width, hidden)
        db = g_l.sum(1)
        for g, j in enumerate(group):  # own storage, not views (below)
            v = net.domains[j]
            net.heads[j].weight.grad = dw[g, :v].clone()
            net.heads[j].bias.grad = db[g, :v].clone()
    g_z *= f3
    dw1 = torch.bmm(g_z.transpose(1, 2), ctx)               # (C, hidden, r)
    db1 = g_z.sum(1)
    # each gradient in its own storage: Opacus' optimizer deep-copies every .grad, and a view's
    # deep copy copies the whole batched tensor (200 columns: 1.3 GB on the first step)
    for j, layer in enumerate(net.hidden_layers):
        layer.weight.grad = dw1[j].clone()
        layer.bias.grad = db1[j].clone()
    g_u *= factor.view(bsz, 1, 1)
    grad = torch.zeros_like(weight)
    grad.index_add_(0, index.reshape(-1), g_u.reshape(-1, r))
    weight.grad = grad
    return loss, norm
