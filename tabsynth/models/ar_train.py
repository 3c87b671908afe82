"""The autoregressive model's non-private training loop: early stopping on a validation split.

The private loop (no validation split: it would read real rows outside the accountant) is
:func:`tabsynth.models.ar_dp.train_ar_dp`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._progress import format_losses, progress_bar
from .rows import RowStore

__all__ = ["train_ar"]


def train_ar(model: Any, codes: np.ndarray, *, rng: np.random.Generator,
             generator: Any) -> tuple[list[dict[str, float]], int]:
    """Train ``model``'s network on the rows' cells; ``(history, best epoch)``. A plateau
    halves the step size; ``patience`` epochs without a better validation loss stop the fit;
    the final weights are the best epoch's.

    In a process group (:mod:`tabsynth.models.distributed`) every process draws the same
    split and global batches (``rng`` is seeded alike) and trains on its share of each batch
    in ``DistributedDataParallel``; validation losses are summed over the processes."""
    import torch

    from .._device import mixed_precision
    from .distributed import all_reduce_sum, batch_share, current, ddp
    from .networks import adam

    dev = model.device_
    net = model._net
    ctx = current()
    fwd = ddp(net, ctx)  # net itself in one process
    n = len(codes)
    # row indices in 32 bits where they fit (the same permutations: 4 bytes a row, not 8)
    index = np.int32 if n < 2**31 else np.int64
    perm = rng.permutation(np.arange(n, dtype=index))
    n_val = int(round(model.validation_share * n)) if n >= 20 else 0
    store = RowStore(codes, dev)  # minibatches gathered by index (a memmap stays on disk)
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    m = len(train_idx)
    # validation orders fixed once, so epochs compare on the same orders: replayed from the
    # generator's saved state every epoch, not held (columns x 8 bytes per validation row)
    val_gen = model._torch_generator(rng, dev)
    val_state = val_gen.get_state()
    val_chunks = [val_idx[k:k + 4096] for k in range(0, n_val, 4096)]

    def val_before() -> Any:
        val_gen.set_state(val_state)
        return (model._before(len(chunk), val_gen) for chunk in val_chunks)

    optim = adam(net.parameters(), lr=model.learning_rate, weight_decay=model.weight_decay)
    batch = min(int(model.batch_size), max(m, 1))
    steps = max(math.ceil(m / batch), 1)
    best, best_state, best_epoch, waited = math.inf, None, 0, 0
    history: list[dict[str, float]] = []
    bar = progress_bar(model.epochs, desc=type(model).__name__,
                       verbose=model.verbose and (ctx is None or ctx.rank == 0))
    try:
        for epoch in bar:
            net.train()
            order = rng.permutation(np.arange(m, dtype=index))
            total = torch.zeros((), device=dev)
            for i in range(steps):
                rows = store.take(batch_share(train_idx[order[i * batch:(i + 1) * batch]], ctx))
                with mixed_precision(dev):  # bfloat16 on a CUDA GPU, a no-op on the CPU
                    per_row = fwd(rows, model._before(len(rows), generator), generator)
                loss = per_row.mean() if len(rows) else per_row.sum()  # an empty share: 0
                optim.zero_grad(set_to_none=True)
                loss.backward()
                optim.step()
                total += loss.detach()
            row = {"epoch": epoch + 1, "loss": float(total / steps)}
            if ctx is not None:
                row["loss"] = all_reduce_sum([row["loss"]], ctx, dev)[0] / ctx.world
            if n_val:
                net.eval()
                with torch.no_grad():
                    v = sum(float(net(store.take(chunk), b).sum()) for k, (chunk, b) in
                            enumerate(zip(val_chunks, val_before(), strict=True))
                            if ctx is None or k % ctx.world == ctx.rank)
                v = all_reduce_sum([v], ctx, dev)[0] / n_val  # the same in every process
                row["val_loss"] = v
                if v < best - 1e-4:
                    best, best_epoch, waited = v, epoch + 1, 0
                    best_state = {k: t.detach().clone() for k, t in net.state_dict().items()}
                else:  # halve the step size on a plateau; stop after `patience`
                    waited += 1
                    for group in optim.param_groups:
                        group["lr"] *= 0.5
            history.append(row)
            bar.set_postfix(format_losses({k: v for k, v in row.items() if k != "epoch"}))
            if n_val and waited >= model.patience:
                break
    finally:
        bar.close()
        net.eval()
        store.close()  # the cell file's descriptor (a streamed fit)
    if best_state is not None:
        net.load_state_dict(best_state)
    return history, int(best_epoch or len(history))
