"""The AR network's closed-form per-row clipping (DP-SGD mode "direct", tabsynth/models/ar_clip.py).

Privacy rests on it: each row's contribution to a step's gradient sum is at most
``max_grad_norm`` in L2, so two batches that differ in one row give sums at most that far apart
(the neighbouring-table check, before the optimizer's noise). Checked against per-row autograd
and against Opacus' own ghost clipping.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tabsynth.models.ar_clip import clipped_gradients, head_groups
from tabsynth.models.ar_network import ARNetwork, random_before

#: one wide column (three head groups), binary ones, a single-cell one
DOMAINS = [45, 2, 51, 7, 3, 1, 130, 4]


def _net(domains=DOMAINS, *, dropout=0.25, seed=0, scale=1.0) -> ARNetwork:
    net = ARNetwork(domains, 12, hidden=16, dropout=dropout)
    net.reset_parameters(torch.Generator().manual_seed(seed))
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(scale)
    return net.train()


def _batch(n, domains=DOMAINS, seed=1):
    g = torch.Generator().manual_seed(seed)
    codes = torch.stack([torch.randint(0, v, (n,), generator=g) for v in domains], 1)
    return codes, random_before(n, len(domains), generator=g)


def _grads(net) -> torch.Tensor:
    return torch.cat([p.grad.reshape(-1) for p in net.parameters()])


def _clipped_sum(net, codes, ranks, clip, seed=5) -> torch.Tensor:
    for p in net.parameters():
        p.grad = None
    clipped_gradients(net, codes, ranks, max_grad_norm=clip,
                      generator=torch.Generator().manual_seed(seed))
    return _grads(net)


def _reference(net, codes, ranks, clip, seed=5):
    """Per-row autograd on the network's own layers, with the masks ``clipped_gradients``
    draws (one ``(C, B, hidden)`` uniform draw): ``(clipped sum, norms, losses)``."""
    c, b = codes.shape[1], codes.shape[0]
    keep = torch.ones(c, b, net.hidden)
    if net.dropout > 0:
        draw = torch.rand(c, b, net.hidden, generator=torch.Generator().manual_seed(seed))
        keep = (draw >= net.dropout).float() / (1 - net.dropout)
    total, norms, losses = None, [], []
    for i in range(b):
        for p in net.parameters():
            p.grad = None
        ctx = net.contexts(codes[i:i + 1], ranks[i:i + 1])
        loss = sum(torch.nn.functional.cross_entropy(
            head(torch.relu(layer(ctx[:, j])) * keep[j, i]), codes[i:i + 1, j], reduction="sum")
            for j, (layer, head) in enumerate(zip(net.hidden_layers, net.heads, strict=True)))
        loss.backward()
        g = _grads(net)
        norm = float(g.norm())
        part = g * min(1.0, clip / (norm + 1e-6))
        total = part if total is None else total + part
        norms.append(norm)
        losses.append(float(loss.detach()))
    return total, torch.tensor(norms), torch.tensor(losses)


# ---------------------------------------------------------------- neighbouring batches
@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_one_more_row_moves_the_sum_by_at_most_the_clip(scale):
    """D and D' = D plus one row (the last cell of every column, an order of its own): the
    clipped sums differ by at most ``max_grad_norm`` (the sensitivity the noise is calibrated
    for), and by exactly that row's clipped gradient. Weights scaled 30x: every row's
    gradient far above the clip."""
    net = _net(dropout=0.0, scale=scale)
    codes, ranks = _batch(40)
    extra = torch.tensor([[v - 1 for v in DOMAINS]])
    extra_rank = torch.arange(len(DOMAINS)).flip(0).unsqueeze(0)
    clip = 0.5
    a = _clipped_sum(net, codes, ranks, clip)
    b = _clipped_sum(net, torch.cat([codes, extra]), torch.cat([ranks, extra_rank]), clip)
    alone = _clipped_sum(net, extra, extra_rank, clip)
    assert float((b - a).norm()) <= clip * (1 + 1e-5)
    torch.testing.assert_close(b - a, alone, rtol=1e-4, atol=1e-6)
    if scale > 1:
        assert float(alone.norm()) == pytest.approx(clip, rel=1e-4)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), seed=st.integers(0, 2**16), scale=st.sampled_from([0.1, 1.0, 50.0]),
       clip=st.floats(0.01, 10.0), dropout=st.sampled_from([0.0, 0.5]))
def test_property_each_row_contributes_at_most_the_clip(n, seed, scale, clip, dropout):
    """Any rows, weights and clip: every row's clipped gradient has norm min(norm, clip) and
    the sum of ``n`` rows at most ``n * clip``."""
    domains = [5, 1, 17, 2]
    net = _net(domains, dropout=dropout, seed=seed, scale=scale)
    codes, ranks = _batch(n, domains, seed=seed + 1)
    total = _clipped_sum(net, codes, ranks, clip)
    assert float(total.norm()) <= n * clip * (1 + 1e-5)
    for i in range(n):
        one = _clipped_sum(net, codes[i:i + 1], ranks[i:i + 1], clip)
        assert float(one.norm()) <= clip * (1 + 1e-5)


# ---------------------------------------------------------------- exactness
def test_norms_losses_and_clipped_sum_match_per_row_autograd():
    net = _net()
    codes, ranks = _batch(24)
    clip = 3.7
    total = _clipped_sum(net, codes, ranks, clip)
    loss, norm = clipped_gradients(net, codes, ranks, max_grad_norm=clip,
                                   generator=torch.Generator().manual_seed(5))
    ref_total, ref_norm, ref_loss = _reference(net, codes, ranks, clip)
    assert (ref_norm > clip).any() and (ref_norm < clip).any()  # both kinds of row
    torch.testing.assert_close(norm, ref_norm, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(total, ref_total, rtol=1e-4, atol=1e-6)


def test_losses_match_the_network_forward_without_dropout():
    net = _net(dropout=0.0)
    codes, ranks = _batch(30)
    loss, _ = clipped_gradients(net, codes, ranks, max_grad_norm=1.0)
    torch.testing.assert_close(loss, net(codes, ranks).detach(), rtol=1e-5, atol=1e-5)


@pytest.mark.filterwarnings("ignore:Full backward hook:UserWarning")
def test_clipped_sum_matches_opacus_ghost_clipping():
    """Opacus' ghost clipping of the same network and rows (no dropout, noise multiplier 0):
    the same clipped gradient sum."""
    from opacus.grad_sample.utils import prepare_module
    from opacus.optimizers import DPOptimizerFastGradientClipping
    from opacus.utils.fast_gradient_clipping_utils import DPTensorFastGradientClipping

    from tabsynth.models.ar_dp import register_cell_samplers

    net = _net(dropout=0.0)
    codes, ranks = _batch(32)
    clip = 2.0
    ours = _clipped_sum(net, codes, ranks, clip)
    register_cell_samplers()
    gsm = prepare_module(net, "ghost", batch_first=True, loss_reduction="mean",
                         max_grad_norm=clip, use_ghost_clipping=True)
    opt = DPOptimizerFastGradientClipping(torch.optim.SGD(net.parameters(), lr=0.0),
                                          noise_multiplier=0.0, max_grad_norm=clip,
                                          expected_batch_size=32)
    opt.zero_grad(set_to_none=True)
    DPTensorFastGradientClipping(gsm, opt, gsm(codes, ranks), "mean").backward()
    theirs = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
    gsm._close()
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)


def test_every_parameter_gets_a_gradient_on_an_empty_batch():
    net = _net()
    loss, norm = clipped_gradients(net, torch.zeros(0, len(DOMAINS), dtype=torch.long),
                                   torch.zeros(0, len(DOMAINS), dtype=torch.long),
                                   max_grad_norm=1.0)
    assert loss.shape == norm.shape == (0,)
    assert all(p.grad is not None and p.grad.shape == p.shape and not p.grad.any()
               for p in net.parameters())


def test_head_groups_bound_the_padding():
    domains = [2, 3, 1000, 2, 40, 45, 7, 51]
    groups = head_groups(domains)
    assert sorted(j for g in groups for j in g) == list(range(len(domains)))
    for g in groups:
        widths = [domains[j] for j in g]
        assert len(g) * max(widths) <= 1.5 * sum(widths) or len(g) == 1
    assert [1000] in [[domains[j] for j in g] for g in groups]  # the wide one alone
    assert head_groups([4] * 6) == [list(range(6))]  # one group, no padding


def test_wide_tables_sum_in_rank_order_with_the_same_result():
    """Beyond MASK_COLUMNS columns the sums over earlier columns are cumulative sums in rank
    order, not a (B, C, C) mask: the same norms, losses and clipped sum as per-row autograd."""
    from tabsynth.models import ar_clip

    domains = [3, 5, 2, 9] * 10  # 40 columns
    assert len(domains) > ar_clip.MASK_COLUMNS
    net = _net(domains, dropout=0.25)
    codes, ranks = _batch(10, domains)
    total = _clipped_sum(net, codes, ranks, 2.0)
    loss, norm = clipped_gradients(net, codes, ranks, max_grad_norm=2.0,
                                   generator=torch.Generator().manual_seed(5))
    ref_total, ref_norm, ref_loss = _reference(net, codes, ranks, 2.0)
    torch.testing.assert_close(norm, ref_norm, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(total, ref_total, rtol=1e-4, atol=1e-6)


def test_gradients_do_not_share_storage():
    """Opacus' optimizer deep-copies each .grad; a view into the batched gradient would copy
    the whole batch of layers per parameter (a 200-column table took 1.3 GB more on its first
    step)."""
    net = _net()
    _clipped_sum(net, *_batch(8), 1.0)
    for p in net.parameters():
        assert p.grad.untyped_storage().nbytes() == p.grad.numel() * p.grad.element_size()


@pytest.mark.parametrize("bad", [-1, 2])
def test_a_cell_outside_its_column_is_refused(bad):
    """The norms assume one embedding row per column, each in its column's range: a code
    outside it (column 1 has 2 cells) would alias another column's rows and under-clip."""
    net = _net()
    codes, ranks = _batch(4)
    codes[2, 1] = bad
    with pytest.raises(ValueError, match="outside its column's range"):
        clipped_gradients(net, codes, ranks, max_grad_norm=1.0)
