"""One DP-SGD step on zero gradients, in one process or in a 2-process gloo group (run by
tests/tabsynth/test_distributed.py): the update is then the privacy noise alone, divided by
the expected batch. Prints, on rank 0, one JSON line per configuration: the update's standard
deviation and mean, and the largest difference between rank 0's update and this rank's.

Usage: python dist_noise_probe.py RANK WORLD PORT
"""

from __future__ import annotations

import json
import os
import sys

SIGMA, CLIP, BATCH = 1.3, 0.7, 64
#: (grad_sample_mode, secure); "direct": the caller sets the clipped sum (here by hand)
CONFIGS = [("ghost", False), ("hooks", False), ("ghost", True), ("direct", False),
           ("direct", True)]
#: then one step with real gradients and almost no noise, rows split over the processes
SIGNAL_MODES = ("ghost", "hooks", "direct")


def _direct_grads(net, x, clip):
    """Each row's gradient of ``sum((W x + b)^2)``, clipped to L2 norm ``clip``, summed into
    ``.grad`` (what a model in mode "direct" computes; here by hand for one linear layer)."""
    import torch

    with torch.no_grad():
        g = 2 * (x @ net.weight.T + net.bias)                      # (B, out)
        norm = (g.pow(2).sum(1) * (x.pow(2).sum(1) + 1.0)).sqrt()  # |g| sqrt(|x|^2 + 1)
        g = g * (clip / (norm + 1e-6)).clamp(max=1.0).unsqueeze(1)
        net.weight.grad = g.T @ x
        net.bias.grad = g.sum(0)


def main(rank: int, world: int, port: int) -> None:
    import torch
    import torch.distributed as dist
    from torch import nn

    from tabsynth.models.dp_training import _backward
    from tabsynth.privacy.dpsgd import make_private

    torch.set_num_threads(1)
    if world > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                world_size=world)
    for mode, secure in CONFIGS:
        torch.manual_seed(0)  # the same starting weights everywhere (not privacy noise)
        net = nn.Linear(100, 100)
        start = torch.cat([net.weight.detach().flatten(), net.bias.detach().flatten()])
        opt = torch.optim.SGD(net.parameters(), lr=1.0)
        gsm, opt = make_private(net, opt, noise_multiplier=SIGMA, max_grad_norm=CLIP,
                                expected_batch_size=BATCH, grad_sample_mode=mode,
                                secure_mode=secure, world_size=world)
        x = torch.randn(BATCH // world, 100)
        opt.zero_grad(set_to_none=True)
        if mode == "direct":
            for p in net.parameters():
                p.grad = torch.zeros_like(p)
        else:
            per_row = (gsm(x) * 0.0).sum(1)  # zero loss: every clipped gradient is 0
            _backward(gsm, opt, per_row, mode)
        opt.step()
        update = torch.cat([net.weight.detach().flatten(), net.bias.detach().flatten()]) - start
        spread = 0.0
        if world > 1:
            ref = update.clone()
            dist.broadcast(ref, 0)
            spread = float((ref - update).abs().max())
            t = torch.tensor([spread])
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
            spread = float(t)
        if rank == 0:
            print(json.dumps({"mode": mode, "secure": secure, "std": float(update.std()),
                              "mean": float(update.mean()), "spread": spread,
                              "expected": SIGMA * CLIP / BATCH}), flush=True)
        if hasattr(gsm, "_close"):
            gsm._close()
    for mode in SIGNAL_MODES:
        torch.manual_seed(0)
        net = nn.Linear(100, 100)
        start = torch.cat([net.weight.detach().flatten(), net.bias.detach().flatten()])
        opt = torch.optim.SGD(net.parameters(), lr=1.0)
        gsm, opt = make_private(net, opt, noise_multiplier=1e-12, max_grad_norm=CLIP,
                                expected_batch_size=BATCH, grad_sample_mode=mode,
                                world_size=world)
        x = torch.randn(BATCH, 100, generator=torch.Generator().manual_seed(1))[rank::world]
        opt.zero_grad(set_to_none=True)
        if mode == "direct":
            _direct_grads(net, x, CLIP)
        else:
            per_row = (gsm(x) ** 2).sum(1)  # some rows' gradients are clipped, some not
            _backward(gsm, opt, per_row, mode)
        opt.step()
        update = torch.cat([net.weight.detach().flatten(), net.bias.detach().flatten()]) - start
        if rank == 0:
            print(json.dumps({"signal": mode, "update": update[::97].tolist()}), flush=True)
        if hasattr(gsm, "_close"):
            gsm._close()
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
