"""DP-SGD clips each row's gradient at ``max_grad_norm``: the clipping is only as good as the
per-row gradient norms. The cells' embedding of the AR network takes one index per column, each
in its own column's range, so its per-row norm is computed without Opacus' search for repeated
indices (tabsynth.models.ar_dp.cell_norm_sample); checked here against per-row gradients
computed one row at a time, and against Opacus' general embedding norm."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tabsynth.models.ar_network import ARNetwork, CellEmbedding, flexible_before

DOMAINS = [3, 7, 2, 12, 5]


def _net(seed: int = 0) -> ARNetwork:
    net = ARNetwork(DOMAINS, 8, hidden=6)
    net.reset_parameters(torch.Generator().manual_seed(seed))
    return net


def _codes(b: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.as_tensor(np.stack([rng.integers(0, d, b) for d in DOMAINS], 1))


def _row_norms_one_by_one(net: ARNetwork, codes: torch.Tensor, before: torch.Tensor) -> np.ndarray:
    out = []
    for i in range(len(codes)):
        net.zero_grad()
        net(codes[i:i + 1], before[i:i + 1]).sum().backward()
        out.append(float(net.cells.weight.grad.norm()))
    return np.array(out)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cell_norms_equal_per_row_gradients(seed):
    from tabsynth.models.ar_dp import cell_norm_sample, register_cell_samplers

    register_cell_samplers()
    net = _net(seed)
    assert isinstance(net.cells, CellEmbedding)
    codes = _codes(16, seed)
    before = flexible_before(16, list(range(len(DOMAINS))), generator=torch.Generator()
                             .manual_seed(seed))
    exact = _row_norms_one_by_one(net, codes, before)
    # the backprops Opacus hands a norm sampler: d(sum of row losses) / d(embedding output)
    captured: dict[str, torch.Tensor] = {}
    handle = net.cells.register_forward_hook(
        lambda m, inp, out: captured.update(idx=inp[0], out=out) or out.retain_grad())
    net.zero_grad()
    net(codes, before).sum().backward()
    handle.remove()
    backprops = captured["out"].grad
    fast = cell_norm_sample(net.cells, [captured["idx"]], backprops)[net.cells.weight]
    np.testing.assert_allclose(fast.detach().numpy(), exact, rtol=1e-5, atol=1e-7)
    from opacus.grad_sample.embedding_norm_sample import compute_embedding_norm_sample

    general = compute_embedding_norm_sample(net.cells, [captured["idx"]], backprops)
    np.testing.assert_allclose(fast.detach().numpy(),
                               general[net.cells.weight].detach().numpy(), rtol=1e-5)


def test_indices_outside_their_columns_fall_back_to_the_general_norm():
    """Repeated indices in a row (not what the network feeds it): the general computation."""
    from tabsynth.models.ar_dp import cell_norm_sample

    net = _net()
    idx = torch.tensor([[0, 0, 3, 10, 22], [1, 4, 10, 12, 24]])  # row 0 repeats index 0
    backprops = torch.randn(2, 5, 8, generator=torch.Generator().manual_seed(0))
    got = cell_norm_sample(net.cells, [idx], backprops)[net.cells.weight]
    summed = backprops[0, 0] + backprops[0, 1]  # the two positions share one table row
    want0 = float(torch.sqrt(summed.pow(2).sum() + backprops[0, 2:].pow(2).sum()))
    assert float(got[0]) == pytest.approx(want0, rel=1e-5)
    assert float(got[1]) == pytest.approx(float(backprops[1].pow(2).sum().sqrt()), rel=1e-5)
