"""``fit_distributed``: fit a synthesizer with several training processes on this machine.

The calling process reads the table, measures the statistics (under DP: budget, DP
statistics, ledger and DP-SGD plan, their noise drawn once) and encodes the rows; then it
starts ``nproc`` worker interpreters (``python -m tabsynth.models.distributed_launch``: the
caller's script is not re-run, no ``if __name__ == "__main__"`` guard needed) that join one
``torch.distributed`` group (gloo on the CPU, NCCL with one GPU per worker), read the
prepared fit (JSON) and the cells (a memory-mapped ``.npy``) from a temporary folder and
train one network together (:mod:`tabsynth.models.distributed`). Rank 0 writes the trained
weights (safetensors) and the loss history there; the calling process loads them and ends the
fit as a one-process fit does (privacy spent, schedule): it alone holds the fitted model and
writes the model file, atomically, when asked (``model.save``).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DistributedError, ParameterError, check_param, is_int

__all__ = ["SUPPORTED", "available_cores", "check_nproc", "fit_distributed"]

#: The model classes that train in several processes.
SUPPORTED = ("ARSynthesizer", "CTGAN", "TVAE")


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not on Linux
        return max(os.cpu_count() or 1, 1)


def check_nproc(model: Any, nproc: Any, device: Any) -> None:
    """Refuse a bad ``nproc`` (not an int >= 1; more processes than GPUs; a model that does
    not train in several processes; MPS); warn when it exceeds the CPU cores."""
    check_param("fit_distributed", "nproc", nproc, is_int(nproc) and nproc >= 1,
                "an int >= 1")
    if nproc == 1:
        return
    name = type(model).__name__
    if name not in SUPPORTED:
        raise ParameterError(
            f"{name} does not train in several processes yet (multi-process training: "
            f"{', '.join(SUPPORTED)}). Fit it in one process (nproc=1, or without --nproc).")
    check_processes = getattr(model, "_check_processes", None)
    if check_processes is not None:  # the model's own limits (CTGAN: pac groups per batch)
        check_processes(int(nproc))
    if model.epsilon is not None and getattr(model, "route", "dpsgd") == "marginals":
        raise ParameterError(
            f"{name}(route='marginals') trains in one process (it fits to DP-measured "
            "marginals, not rows): fit it with nproc=1, or use route='dpsgd'.")
    if device.type == "cuda":
        import torch

        if nproc > torch.cuda.device_count():
            raise ParameterError(
                f"The 'nproc' parameter of fit_distributed is {nproc} but this machine has "
                f"{torch.cuda.device_count()} CUDA device(s): NCCL needs one GPU per process.")
    elif device.type != "cpu":
        raise ParameterError(
            f"Multi-process training runs on the CPU (gloo) or CUDA (NCCL), not on "
            f"{device.type!r}: use device='cpu' or 'cuda'.")
    else:
        cores = available_cores()
        if nproc > cores:
            warnings.warn(
                f"nproc={nproc} processes on {cores} CPU core(s): they will compete for the "
                "cores and train slower than fewer processes would.", RuntimeWarning,
                stacklevel=3)


def fit_distributed(model: Any, data: Any, metadata: Any = None, *, nproc: int = 2) -> Any:
    """Fit ``model`` on ``data`` with ``nproc`` training processes; returns ``model``.

    The same fit as ``model.fit(data, metadata)`` (the module docstring of
    :mod:`tabsynth.models.distributed` says what is exact): the statistics, the ledger and the
    DP-SGD plan (sample rate, steps, noise multiplier) are those of a one-process fit; only the
    training steps run in ``nproc`` processes. Each process uses ``max(1, cores // nproc)``
    threads. ``nproc=1`` is ``model.fit``.

    Raises
    ------
    ParameterError
        ``nproc`` not an int >= 1, above the number of GPUs (CUDA), a device other than CPU
        or CUDA, a model class that does not train in several processes (one not in
        :data:`SUPPORTED`), or a private CTGAN/TVAE with ``route="marginals"`` (it fits to
        measured marginals in one process).
    DistributedError
        A worker process failed (the message names it and its error).
    """
    check_param("fit_distributed", "nproc", nproc, is_int(nproc) and nproc >= 1,
                "an int >= 1")
    if nproc == 1:
        return model.fit(data, metadata)
    df, md, device = model._start_fit(data, metadata)
    check_nproc(model, int(nproc), device)
    if len(df) < nproc:
        raise ParameterError(f"The table has fewer rows than processes (nproc={nproc}).")
    from .distributed import round_trip

    with contextlib.ExitStack() as stack, \
            tempfile.TemporaryDirectory(prefix="tabsynth-dist-") as tmp:
        # a streamed table's cells are in a memmap until the stack closes
        prep = round_trip(model, model._prepare(df, md, device, stack=stack), int(nproc))
        del df
        folder = Path(tmp)
        save_codes(prep.codes, folder / "codes.npy")
        if prep.X is not None:  # CTGAN/TVAE's encoded rows
            save_codes(prep.X, folder / "rows.npy")
        from .distributed import prepared_to_dict

        (folder / "prepared.json").write_text(json.dumps(prepared_to_dict(prep)))
        params = model.get_params()

        def run(trained: Any) -> list[dict[str, float]]:
            return _spawn(trained, folder, params, int(nproc), device)

        model._fit_prepared(prep, run=run)
    return model


#: Rows copied at a time into the workers' cell file (bounded memory for a memmap of cells).
COPY_ROWS = 1 << 20


def save_codes(codes: np.ndarray, path: Path) -> None:
    """The rows' cells (or CTGAN/TVAE's encoded rows) as an ``.npy`` file the workers
    memory-map, in their own dtype (a streamed fit's smallest unsigned type), copied
    ``COPY_ROWS`` rows at a time: a memmap is never read whole."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=codes.dtype, shape=codes.shape)
    for start in range(0, len(codes), COPY_ROWS):
        out[start:start + COPY_ROWS] = codes[start:start + COPY_ROWS]
    out.flush()
    del out


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(model: Any, folder: Path, params: dict[str, Any], nproc: int,
           device: Any) -> list[dict[str, float]]:
    """Run the workers (``python -m tabsynth.models.distributed_launch``: fresh interpreters,
    so the caller's script is not re-run); load rank 0's weights into ``model``'s network;
    return the history. A failed worker stops the others."""
    from safetensors.torch import load_file

    backend = "nccl" if device.type == "cuda" else "gloo"
    threads = max(1, available_cores() // nproc)
    (folder / "params.json").write_text(json.dumps(params, default=str))
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    procs = [subprocess.Popen(
        [sys.executable, "-m", __name__, str(folder), type(model).__name__, str(rank),
         str(nproc), str(port), backend, str(threads)], env=env) for rank in range(nproc)]
    failed = _wait(procs)
    if failed is not None:
        path = folder / f"error-{failed}.json"
        if path.exists():
            from .distributed import raise_remote

            kind, message = json.loads(path.read_text())
            raise_remote(kind, message, f"training process {failed}")
        raise DistributedError(f"Training process {failed} of {nproc} failed (exit code "
                               f"{procs[failed].returncode}); the others were stopped.")
    state = load_file(str(folder / "weights.safetensors"))
    for name, net in model._sampling_networks().items():
        prefix = f"{name}."
        net.load_state_dict({k[len(prefix):]: t for k, t in state.items()
                             if k.startswith(prefix)}, strict=True)
    out = json.loads((folder / "history.json").read_text())
    if out.get("best"):
        model._best = out["best"]
    return out["history"]


def _wait(procs: list[subprocess.Popen]) -> int | None:
    """Wait for every worker; the rank of the first that failed (the others terminated),
    or ``None``."""
    failed = None
    try:
        while any(p.poll() is None for p in procs):
            bad = [r for r, p in enumerate(procs) if p.returncode not in (None, 0)]
            if bad:
                failed = bad[0]
                break
            time.sleep(0.05)
        else:
            bad = [r for r, p in enumerate(procs) if p.returncode != 0]
            failed = bad[0] if bad else None
    finally:
        for p in procs:  # a failure, or KeyboardInterrupt: stop what is left
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                p.kill()
                p.wait()
    return failed


def _worker(folder: str, class_name: str, rank: int, world: int, port: int, backend: str,
            threads: int) -> None:
    """One training process (``rank`` of ``world``)."""
    import datetime

    import torch
    import torch.distributed as dist

    path = Path(folder)
    torch.set_num_threads(threads)
    try:
        if backend == "nccl":
            torch.cuda.set_device(rank)
        dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                world_size=world, timeout=datetime.timedelta(minutes=30))
        try:
            params = json.loads((path / "params.json").read_text())
            _train_rank(rank, path, class_name, params, backend)
            dist.barrier()  # nothing in flight when the group goes
        finally:
            dist.destroy_process_group()
    except BaseException as exc:
        (path / f"error-{rank}.json").write_text(json.dumps([type(exc).__name__, str(exc)]))
        raise


def _train_rank(rank: int, path: Path, class_name: str, params: dict[str, Any],
                backend: str) -> None:
    import torch
    from safetensors.torch import save_file

    from .distributed import prepared_from_dict
    from .registry import MODEL_CLASSES

    model = MODEL_CLASSES[class_name](**{**params, "verbose": params.get("verbose") and
                                         rank == 0})
    model._validate_params()
    device = torch.device("cuda", rank) if backend == "nccl" else torch.device("cpu")
    codes = np.load(path / "codes.npy", mmap_mode="r")  # read-only: rows read as needed
    prep = prepared_from_dict(model, json.loads((path / "prepared.json").read_text()), codes,
                              device)
    if (path / "rows.npy").exists():  # CTGAN/TVAE's encoded rows
        prep.X = np.load(path / "rows.npy", mmap_mode="r")
    model._store_fit(prep.result)
    model._dp_plan = prep.plan
    history = model._train_networks(prep)
    if rank == 0:  # the networks a model file holds, "name.key" -> tensor
        state = {f"{name}.{k}": t.detach().cpu().contiguous()
                 for name, net in model._sampling_networks().items()
                 for k, t in net.state_dict().items()}
        save_file(state, str(path / "weights.safetensors"))
        best = model.__dict__.get("_best", {})
        (path / "history.json").write_text(json.dumps({"history": history, "best": best}))


def _main(argv: list[str]) -> None:
    """A worker's entry point. It leaves through ``os._exit``: the interpreter's shutdown
    would destroy gloo's threads in an order that can abort (``terminate called without an
    active exception``) after the work is done."""
    import traceback

    folder, cls, rank, world, port, backend, threads = argv[:7]
    code = 0
    try:
        _worker(folder, cls, int(rank), int(world), int(port), backend, int(threads))
    except BaseException:  # noqa: BLE001 - reported by the parent (error-RANK.json)
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # a worker: python -m tabsynth.models.distributed_launch ...
    _main(sys.argv[1:])
