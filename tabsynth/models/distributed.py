"""Multi-process training with ``torch.distributed``: what the training loops need.

Two ways in, one way of training:

* ``torchrun --nproc-per-node 2 -m tabsynth fit ...`` (or any script that calls
  ``torch.distributed.init_process_group`` and then ``ARSynthesizer.fit`` in every process):
  :func:`init_from_env` starts the process group from torchrun's variables (``RANK``,
  ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``); every process reads the
  table, rank 0 alone measures the statistics and sends them to the others
  (:func:`share_prepared`).
* ``tabsynth fit --nproc 2`` / :func:`tabsynth.fit_distributed`: the calling process reads
  the table and measures the statistics once, then spawns the workers
  (:mod:`tabsynth.models.distributed_launch`).

Either way the statistics, the ledger and the DP-SGD plan exist once, computed before any
training step by one process, and reach the others as JSON (:class:`Prepared`): privacy noise
is never drawn twice for the same measurement. Backend: gloo on the CPU, NCCL on CUDA (one GPU
per process).

Training (:mod:`tabsynth.models.ar_train`, :mod:`tabsynth.models.ar_dp`; CTGAN and TVAE below)
--------------------------------------------------------------------------------------------
* Non-private: the network in ``DistributedDataParallel``; every process draws the same
  global batches (the same seeded permutation) and trains on its share of each
  (:func:`batch_share`); DDP averages the gradients; validation losses are summed over the
  processes, so every process stops at the same epoch.
* Private (Opacus' distributed DP-SGD): the parameters start equal (broadcast from rank 0, as
  Opacus' ``DifferentiallyPrivateDistributedDataParallel``); process ``r`` holds rows
  ``r, r + w, r + 2w, ...`` (:func:`shard`) and Poisson-samples them with the plan's rate ``q``
  from its own OS-entropy source, so the union of the processes' batches is one Poisson
  sample of rate ``q`` of the whole table; per-sample clipping in each process; Opacus'
  ``DistributedDPOptimizer`` adds the Gaussian noise of std ``noise_multiplier *
  max_grad_norm`` **on rank 0 only**, each process divides by ``expected_batch / w`` and the
  gradients are summed and divided by ``w``: the update is ``(sum of every clipped gradient +
  one N(0, (sigma C)^2) draw) / expected_batch``, exactly the one-process step. The ledger
  therefore records the one-process entry: sample rate ``q = expected_batch / n_noisy``,
  ``steps = epochs * ceil(1/q)``, the same noise multiplier.
* CTGAN and TVAE (:mod:`tabsynth.models.rows_fit`, ``ctgan_train``, ``tvae``, ``ctgan_dp``,
  ``tvae_dp``): every process draws the same global batch and keeps its share
  (:func:`batch_share`; CTGAN: a block of whole ``pac`` groups, :func:`block_share`), weights
  its mean loss by :func:`share_weight` and averages the gradients of each network before its
  step (:func:`average_gradients`: DDP's operation without its wrapper, which CTGAN's critic,
  frozen during the generator's update, does not fit); the generator's BatchNorm normalises
  with the whole global batch's statistics (:func:`synced_batchnorm`). Their DP-SGD is the
  private case above (the DP critic of CTGAN; the generator's gradients averaged, its fixed
  number of fake rows split over the processes).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import mmap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ParameterError

__all__ = ["DistContext", "Prepared", "average_gradients", "batch_share", "block_share",
           "check_same_cells", "current", "init_from_env", "leave_group", "prepared_from_dict",
           "prepared_to_dict", "rank_generator", "share_prepared", "shard", "share_weight",
           "synced_batchnorm"]


@dataclass(frozen=True)
class DistContext:
    """This process's place in the process group."""

    rank: int
    world: int
    backend: str


@dataclass
class Prepared:
    """A fit up to training: the :class:`~tabsynth.models.fit_result.FitResult` before
    training, the rows' cells (the AR's tokens; CTGAN/TVAE: the categories of the discrete
    columns), the DP-SGD plan (``None``: not private), the generator that seeds
    initialisation and orders (``random_state``), the number of processes, and CTGAN/TVAE's
    encoded rows ``X`` (``None`` for the AR)."""

    result: Any
    codes: np.ndarray
    plan: Any = None
    rng: np.random.Generator | None = None
    processes: int = 1
    X: np.ndarray | None = None


def current() -> DistContext | None:
    """The process group this process belongs to, when it has more than one process."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return None
    world = int(dist.get_world_size())
    if world < 2:
        return None
    return DistContext(rank=int(dist.get_rank()), world=world,
                       backend=str(dist.get_backend()))


def init_from_env(device: str = "auto") -> DistContext | None:
    """Start the process group from torchrun's variables (``WORLD_SIZE`` > 1); ``None``
    when not launched by torchrun. Backend: NCCL when ``device`` is (or, ``"auto"``,
    resolves to) CUDA, gloo otherwise."""
    import os

    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world < 2:
        return None
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        cuda = device in ("cuda", "auto") and torch.cuda.is_available() \
            or str(device).startswith("cuda:")
        backend = "nccl" if cuda else "gloo"
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend=backend, init_method="env://")
    return current()


def leave_group() -> None:
    """End this process's part in the process group (after a torchrun fit)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def shard(n: int, ctx: DistContext | None) -> np.ndarray:
    """The rows this process holds for DP-SGD: ``rank, rank + world, ...`` (all of them
    without a process group)."""
    if ctx is None:
        return np.arange(n)
    return np.arange(ctx.rank, n, ctx.world)


def batch_share(rows: Any, ctx: DistContext | None) -> Any:
    """This process's share of a global batch (every ``world``-th row from ``rank``)."""
    return rows if ctx is None else rows[ctx.rank::ctx.world]


def rank_generator(generator: Any, ctx: DistContext | None) -> Any:
    """``generator`` reseeded per process (rank 0 keeps it): the processes' rows get their
    own column orders and dropout. Post-processing randomness, never privacy noise."""
    if ctx is not None and ctx.rank:
        generator.manual_seed((generator.initial_seed() + 1_000_003 * ctx.rank) % (2**63 - 1))
    return generator


def ddp(net: Any, ctx: DistContext | None) -> Any:
    """``net`` in ``DistributedDataParallel`` (gradients averaged over the processes);
    ``net`` itself without a process group."""
    if ctx is None:
        return net
    from torch.nn.parallel import DistributedDataParallel

    device = next(net.parameters()).device
    ids = [device.index] if device.type == "cuda" and device.index is not None else None
    return DistributedDataParallel(net, device_ids=ids)


def block_share(n: int, ctx: DistContext | None, unit: int = 1) -> slice:
    """This process's contiguous block of a global batch of ``n`` rows, in whole groups of
    ``unit`` rows (CTGAN's ``pac`` groups never straddle two processes); every row without a
    process group."""
    if ctx is None:
        return slice(0, n)
    groups = n // unit
    if groups < ctx.world:
        raise ParameterError(
            f"A batch of {n} rows in groups of {unit} is too small for {ctx.world} processes "
            f"(every process needs at least one group): use batch_size >= {unit * ctx.world} "
            "or fewer processes.")
    lo, hi = groups * ctx.rank // ctx.world, groups * (ctx.rank + 1) // ctx.world
    return slice(lo * unit, hi * unit)


def share_weight(local: int, total: int, ctx: DistContext | None) -> float:
    """The factor on a process's mean loss over its ``local`` rows of a global batch of
    ``total`` such that the processes' averaged gradients are the gradient of the global
    batch's mean loss (``local * world / total``; 1 without a process group)."""
    if ctx is None:
        return 1.0
    return local * ctx.world / max(total, 1)


def average_gradients(params: Any, ctx: DistContext | None) -> None:
    """Average the gradients of ``params`` over the processes (one all-reduce of their
    concatenation; a missing gradient counts as zeros): the operation of
    ``DistributedDataParallel``, for CTGAN and TVAE, whose critic (frozen during the
    generator's update) and kept fakes do not fit DDP's one-backward-per-forward wrapper."""
    if ctx is None:
        return
    import torch
    import torch.distributed as dist

    params = [p for p in params if p.requires_grad]
    if not params:
        return
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.reshape(-1) for p in params])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= ctx.world
    at = 0
    for p in params:
        k = p.numel()
        p.grad.copy_(flat[at:at + k].view_as(p))
        at += k


@contextlib.contextmanager
def synced_batchnorm(net: Any, ctx: DistContext | None) -> Any:
    """Inside: ``net``'s BatchNorm layers, in training mode, normalise each process's share
    with the statistics of the whole global batch (every process's share together, through
    differentiable all-reduces), as one process normalises the whole batch; their running
    statistics are updated from those, so they stay equal in every process. CTGAN's
    generator, whose BatchNorm would otherwise see half a batch per process.
    (``torch.nn.SyncBatchNorm`` does the same on GPUs only.) Every process must run the
    network's forward passes in the same order; without a process group, nothing changes."""
    if ctx is None:
        yield net
        return
    from torch import nn

    layers = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for bn in layers:
        bn.forward = functools.partial(_synced_bn_forward, bn)
    try:
        yield net
    finally:
        for bn in layers:
            del bn.forward  # the class's forward again


def _synced_bn_forward(bn: Any, x: Any) -> Any:
    """BatchNorm's training forward on the global batch: one differentiable all-reduce of
    the share's row count, sum and sum of squares, taken about the running mean (the same in
    every process, and near the batch mean: no cancellation in the variance)."""
    if not bn.training:
        return type(bn).forward(bn, x)
    import torch

    shift = bn.running_mean.detach()
    d = x - shift
    total = _all_reduce_sum(torch.cat([d.sum(0), (d * d).sum(0),
                                       x.new_tensor([float(x.shape[0])])]))
    c = x.shape[1]
    n = total[-1]
    mean_d = total[:c] / n
    var = (total[c:2 * c] / n - mean_d * mean_d).clamp(min=0)  # biased, as BatchNorm's
    mean = shift + mean_d
    with torch.no_grad():  # running statistics as BatchNorm keeps them (unbiased variance)
        m = bn.momentum if bn.momentum is not None else 0.1
        bn.running_mean.mul_(1 - m).add_(mean.detach() * m)
        bn.running_var.mul_(1 - m).add_(var.detach() * (n / (n - 1).clamp(min=1)) * m)
        bn.num_batches_tracked += 1
    y = (x - mean) / torch.sqrt(var + bn.eps)
    return y * bn.weight + bn.bias if bn.affine else y


def _all_reduce_sum(t: Any) -> Any:
    """The sum of ``t`` over the processes, differentiable (the gradient of each process's
    copy is the sum of the processes' gradients)."""
    return _sum_function().apply(t)


@functools.lru_cache(maxsize=1)
def _sum_function() -> Any:
    import torch
    import torch.distributed as dist

    class _Sum(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            out = x.clone()
            dist.all_reduce(out, op=dist.ReduceOp.SUM)
            return out

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            out = grad.clone()
            dist.all_reduce(out, op=dist.ReduceOp.SUM)
            return out

    return _Sum


def broadcast_parameters(net: Any, ctx: DistContext | None) -> None:
    """Rank 0's parameters in every process (as Opacus' ``DPDDP`` does on wrapping)."""
    if ctx is None:
        return
    import torch
    import torch.distributed as dist

    with torch.no_grad():
        for p in net.parameters():
            dist.broadcast(p.data, 0)


def all_reduce_sum(values: list[float], ctx: DistContext | None, device: Any = "cpu"
                   ) -> list[float]:
    """Element-wise sum of ``values`` over the processes (``values`` without a group)."""
    if ctx is None:
        return list(values)
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return [float(v) for v in t.cpu()]


# ------------------------------------------------------------------ the prepared fit as JSON
def _plan_to_dict(plan: Any) -> dict[str, Any] | None:
    if plan is None:
        return None
    d = {f.name: getattr(plan, f.name) for f in dataclasses.fields(plan) if f.name != "noise"}
    d["budget"] = plan.budget.to_dict()
    return d


def _plan_from_dict(d: dict[str, Any] | None, secure_mode: bool) -> Any:
    if d is None:
        return None
    from ..privacy import PrivacyBudget, noise_rng
    from ..privacy.dpsgd_plan import DPPlan

    # every process its own OS-entropy source (its Poisson masks; rank 0 also the noise)
    return DPPlan(**{**d, "budget": PrivacyBudget.from_dict(d["budget"]),
                     "noise": noise_rng(secure_mode)})


def prepared_to_dict(prep: Prepared) -> dict[str, Any]:
    """The JSON-able parts of ``prep`` (the cells travel separately)."""
    r = prep.result
    return {
        "metadata": r.metadata.to_dict(), "stats": r.stats.to_dict(),
        "ledger": None if r.ledger is None else r.ledger.to_dict(),
        "plan": _plan_to_dict(prep.plan), "n_features_in": int(r.n_features_in),
        "rng": None if prep.rng is None else prep.rng.bit_generator.state,
        "processes": int(prep.processes),
    }


def prepared_from_dict(model: Any, d: dict[str, Any], codes: np.ndarray | None,
                       device: Any) -> Prepared:
    """:class:`Prepared` from :func:`prepared_to_dict` (transformer rebuilt by the model
    from metadata and statistics, exactly as when a model file is loaded)."""
    from ..metadata import Metadata
    from ..privacy import Ledger
    from ..stats import TableStats
    from .fit_result import FitResult

    md = Metadata.from_dict(d["metadata"])
    stats = TableStats.from_dict(d["stats"])
    transformer = model._restore_transformer(md, stats, {"n_bins": getattr(model, "n_bins",
                                                                           None)})
    ledger = None if d["ledger"] is None else Ledger.from_dict(d["ledger"])
    rng = None
    if d["rng"] is not None:
        rng = np.random.default_rng()
        rng.bit_generator.state = d["rng"]
    result = FitResult(metadata=md, stats=stats, transformer=transformer, device=device,
                       n_features_in=int(d["n_features_in"]), ledger=ledger)
    return Prepared(result=result, codes=codes if codes is not None else np.zeros((0, 0)),
                    plan=_plan_from_dict(d["plan"], bool(getattr(model, "secure_mode", False))),
                    rng=rng, processes=int(d.get("processes", 1)))


def round_trip(model: Any, prep: Prepared, processes: int) -> Prepared:
    """``prep`` through its JSON form, as every worker sees it (so that all processes,
    the one that measured included, hold the same objects)."""
    d = prepared_to_dict(dataclasses.replace(prep, processes=processes))
    out = prepared_from_dict(model, json.loads(json.dumps(d)), prep.codes, prep.result.device)
    out.X = prep.X
    return out


def raise_remote(kind: str, message: str, where: str) -> None:
    """Raise, in this process, the error another process raised: the same tabsynth error
    class when it is one (the message unchanged), else :class:`~tabsynth.errors.
    DistributedError`."""
    from .. import errors
    from ..privacy import errors as privacy_errors

    cls = getattr(errors, kind, None) or getattr(privacy_errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls.__module__.startswith(
            "tabsynth"):
        raise cls(message)
    raise errors.DistributedError(f"{where} failed: {kind}: {message}")


def share_prepared(model: Any, ctx: DistContext, make: Callable[..., Prepared],
                   df: Any, metadata: Any, device: Any, *,
                   stack: contextlib.ExitStack | None = None) -> Prepared:
    """Rank 0 runs ``make(df, metadata, device, encode=False)`` (statistics, ledger, plan:
    their noise drawn once) and sends the result to every process as JSON; each process
    encodes its own copy of the table with the transformer rebuilt from it
    (``model._encode_prepared``; a table read in record batches: into its own temporary
    files, held open by ``stack``). An error on rank 0 is raised in every process."""
    import torch.distributed as dist

    payload: list[Any] = [None]
    error: BaseException | None = None
    if ctx.rank == 0:
        try:
            prep = make(df, metadata, device, encode=False)
            payload[0] = json.dumps({"ok": prepared_to_dict(
                dataclasses.replace(prep, processes=ctx.world))})
        except Exception as exc:  # noqa: BLE001 - re-raised below, after telling the others
            error = exc
            payload[0] = json.dumps({"error": [type(exc).__name__, str(exc)]})
    dist.broadcast_object_list(payload, src=0)
    if error is not None:
        raise error
    d = json.loads(payload[0])
    if "error" in d:
        raise_remote(d["error"][0], d["error"][1], "rank 0")
    prep = prepared_from_dict(model, d["ok"], None, device)
    failed: BaseException | None = None
    compared: Any = None
    try:  # a failure here is told to the others before it is raised (no one waits forever)
        compared = model._encode_prepared(prep, df, stack)
    except Exception as exc:  # noqa: BLE001 - raised below, after telling the others
        failed = exc
    check_same_cells(compared, ctx, failed=failed)
    return prep


def check_same_cells(codes: np.ndarray, ctx: DistContext, *,
                     failed: BaseException | None = None) -> None:
    """Raise a :class:`~tabsynth.errors.DataError` in every process unless all processes
    encoded the same rows in the same order (row count and sha256 of the cells compared):
    each process trains on fixed row positions of its copy (:func:`shard`), so copies in
    another order would sample some rows in two processes and others in none, which
    neither the Poisson sampling the accountant assumes nor the validation split allows.
    ``failed``: this process's encoding raised it; it is raised here, and the first such
    error of another process is raised in the others."""
    import hashlib

    import torch.distributed as dist

    from ..errors import DataError

    if failed is not None:
        mine: list[Any] = ["error", type(failed).__name__, str(failed)]
    else:
        digest = hashlib.sha256()
        name = getattr(codes, "filename", None)
        if isinstance(codes, np.memmap) and isinstance(codes.base, mmap.mmap) and name:
            with open(name, "rb") as f:  # the file, not the map: no page made resident
                f.seek(int(codes.offset))
                while chunk := f.read(1 << 24):
                    digest.update(chunk)
        else:
            digest.update(memoryview(np.ascontiguousarray(codes)).cast("B"))  # no copy
        mine = [int(len(codes)), digest.hexdigest()]
    seen: list[Any] = [None] * ctx.world
    dist.all_gather_object(seen, mine)
    if failed is not None:
        raise failed
    for rank, other in enumerate(seen):
        if other[0] == "error":
            raise_remote(other[1], other[2], f"rank {rank}")
    if any(other != seen[0] for other in seen):
        counts = ", ".join(f"rank {r}: {c:,} rows" for r, (c, _) in enumerate(seen))
        raise DataError(
            f"The processes read different tables ({counts}; the cells differ): under "
            "torchrun every process reads the table itself and must get the same rows in the "
            "same order (a SQL query needs an ORDER BY on a unique key).")
