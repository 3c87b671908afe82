"""CTGAN's and TVAE's gradient averaging, in one process or in a 2-process gloo group (run by
tests/tabsynth/test_distributed_ctgan_tvae.py): a global batch is cut into the processes'
shares (``batch_share``: every other row; ``block_share``: whole groups of rows), each process
weights its mean loss (``share_weight``) and the gradients are averaged
(``average_gradients``); with a BatchNorm layer, its statistics are the global batch's
(``synced_batchnorm``). Prints, on rank 0, one JSON line per configuration with the gradient
and the running statistics; the test compares them with the one-process figures of the whole
batch.

Usage: python dist_grad_probe.py RANK WORLD PORT
"""

from __future__ import annotations

import json
import os
import sys

#: (rows in the global batch, rows per group; 0: batch_share). 7 rows and 3 groups of 4
#: split unevenly over 2 processes.
CONFIGS = [(8, 0), (7, 0), (12, 4), (40, 10)]


def main(rank: int, world: int, port: int) -> None:
    import torch
    import torch.distributed as dist
    from torch import nn

    from tabsynth.models.distributed import (
        DistContext,
        average_gradients,
        batch_share,
        block_share,
        share_weight,
        synced_batchnorm,
    )

    torch.set_num_threads(1)
    ctx = None
    if world > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                world_size=world)
        ctx = DistContext(rank, world, "gloo")
    for n, unit in CONFIGS:
        for norm in (False, True):  # with a BatchNorm layer: its statistics synced
            torch.manual_seed(0)  # the same network and global batch everywhere
            layers = [nn.Linear(5, 6), nn.BatchNorm1d(6)] if norm else [nn.Linear(5, 6)]
            net = nn.Sequential(*layers, nn.Tanh(), nn.Linear(6, 3))
            x = torch.randn(n, 5)
            rows = torch.arange(n)
            mine = batch_share(rows, ctx) if unit == 0 else rows[block_share(n, ctx, unit)]
            with synced_batchnorm(net, ctx):
                loss = (net(x[mine]) ** 2).sum(1).mean() * share_weight(len(mine), n, ctx)
                net.zero_grad()
                loss.backward()
            average_gradients(net.parameters(), ctx)
            grad = torch.cat([p.grad.flatten() for p in net.parameters()])
            buffers = [b.tolist() for b in net.buffers() if b.is_floating_point()]
            if rank == 0:
                print(json.dumps({"n": n, "unit": unit, "norm": norm, "grad": grad.tolist(),
                                  "buffers": buffers}), flush=True)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
    sys.stdout.flush()
    os._exit(0)  # gloo's threads at interpreter shutdown (see distributed_launch._main)
