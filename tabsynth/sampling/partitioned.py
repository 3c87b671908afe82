"""Sampling at scale: ``n`` rows as a partitioned Parquet dataset, in parallel worker processes.

:func:`sample_to_dataset` (``tabsynth sample MODEL -n N -o OUT/ --partitions P --workers W``)
writes a folder of ``part-00000.parquet`` ... ``part-{P-1}.parquet`` (readable by
``pyarrow.dataset``, Dask, Spark, DuckDB):

* **Seeds.** Partition ``i`` is generated from the ``i``-th child of
  ``numpy.random.SeedSequence(random_state).spawn(P)`` and holds ``n // P`` rows (the first
  ``n % P`` partitions one more). Its rows are a function of that seed, its row count and the
  model only, and every partition is generated with one torch thread, so the same seed gives
  byte-identical files whatever the number of workers.
* **Memory.** Each worker process loads the model file itself and streams its partition
  chunk by chunk (:func:`tabsynth.sampling.chunks.iter_chunks`, ``chunk_size`` rows) through
  one ``pyarrow.parquet.ParquetWriter`` (one row group per chunk, written in a background
  thread while the next chunk is generated): a worker never holds more than two chunks (plus
  one generation batch) of rows.
* **Atomic.** Everything is written into a hidden temporary sibling folder
  (``.{name}.tmp-{pid}-XXXX``) renamed onto the target at the end. An error in a worker,
  Ctrl-C or SIGTERM stops the workers and removes the temporary folder; an existing output is
  never touched unless ``overwrite=True``, and then only replaced once the new one is complete.

Workers are ``concurrent.futures.ProcessPoolExecutor`` processes (``spawn``); ``workers=1``
generates in the calling process; ``engine="dask"`` (or a started
:class:`~tabsynth.engine.DaskEngine`) runs the partitions on Dask workers
(:mod:`tabsynth.sampling.partitioned_dask`): the same files.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import pid_alive
from ..errors import OutputError, ParameterError

__all__ = ["partition_plan", "sample_to_dataset"]

PART_NAME = "part-{:05d}.parquet"


def partition_plan(n: int, partitions: int, random_state: int | None) -> list[tuple[int, int]]:
    """``[(rows, seed), ...]``, one per partition: the rows split as evenly as possible (the
    first ``n % partitions`` get one more) and each seed from ``SeedSequence.spawn``."""
    children = np.random.SeedSequence(random_state).spawn(partitions)
    base, extra = divmod(n, partitions)
    return [(base + (i < extra), int(child.generate_state(1, np.uint64)[0]))
            for i, child in enumerate(children)]


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _check(n: Any, partitions: Any, workers: Any, chunk_size: Any, random_state: Any,
           engine: Any = None) -> None:
    owner = "sample_to_dataset"
    if not (engine in (None, "local", "dask") or hasattr(engine, "client")):
        raise ParameterError(f"{owner}: engine must be None, 'local', 'dask' or a started "
                             f"tabsynth.engine.DaskEngine; got {engine!r}.")
    if not (_is_int(n) and n >= 1):
        raise ParameterError(f"{owner}: n must be an int >= 1; got {n!r}.")
    if not (_is_int(partitions) and partitions >= 1):
        raise ParameterError(f"{owner}: partitions must be an int >= 1; got {partitions!r}.")
    if partitions > n:
        raise ParameterError(f"{owner}: {partitions:,} partitions for {n:,} rows would leave "
                             "empty files; use at most as many partitions as rows.")
    if not (_is_int(workers) and workers >= 1):
        raise ParameterError(f"{owner}: workers must be an int >= 1; got {workers!r}.")
    if not (_is_int(chunk_size) and chunk_size >= 1):
        raise ParameterError(f"{owner}: chunk_size must be an int >= 1; got {chunk_size!r}.")
    if random_state is not None and not (_is_int(random_state) and random_state >= 0):
        raise ParameterError(f"{owner}: random_state must be None or an int >= 0; "
                             f"got {random_state!r}.")


def check_output_folder(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Fail before any work if ``path`` cannot become the dataset folder (OutputError)."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise OutputError(f"Cannot write the dataset folder {str(target)!r}: it is a file "
                          "(--partitions writes a folder of Parquet files).", str(target))
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise OutputError(f"The output folder {str(target)!r} exists and is not empty; choose "
                          "another folder or pass --overwrite (overwrite=True) to replace it "
                          "once the new dataset is complete.", str(target))
    if not target.parent.is_dir():
        raise OutputError(f"Cannot write {str(target)!r}: the folder {str(target.parent)!r} "
                          "does not exist.", str(target))
    if not os.access(target.parent, os.W_OK):
        raise OutputError(f"Cannot write {str(target)!r}: the folder {str(target.parent)!r} "
                          "is not writable.", str(target))
    return target


# --- the work of one partition (in a worker process or in the caller) -----------------------

_WORKER: dict[str, Any] = {}


def _init_worker(model_path: str, device: str, queue: Any) -> None:
    """Worker start: ignore Ctrl-C (the parent stops the workers), load the model once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from ..models.registry import load

    _WORKER["report"] = queue.put if queue is not None else None
    try:
        _WORKER["model"] = load(model_path, device=device)
    except Exception as exc:  # raised by the first task, so the caller sees this error
        _WORKER["error"] = exc


def _worker_partition(task: tuple) -> int:
    if "error" in _WORKER:
        raise _WORKER["error"]
    return write_partition(_WORKER["model"], *task, report=_WORKER["report"])


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def write_partition(model: Any, folder: str, index: int, rows: int, seed: int,
                    conditions: Mapping[str, Any] | None, chunk_size: int,
                    batch_size: int | None, *, report: Callable[[int], Any] | None = None) -> int:
    """Stream partition ``index`` (``rows`` rows from ``seed``) to ``folder/part-index``.

    Chunk by chunk through one ParquetWriter (later chunks cast to the first one's schema;
    chunk ``k`` written while chunk ``k + 1`` is generated); ``report(k)`` after each chunk of
    ``k`` rows. Returns the rows written.
    """
    from ..io import write_parquet_chunks

    path = Path(folder) / PART_NAME.format(index)
    with _one_thread():
        chunks = model._iter_chunks(rows, chunk_size, conditions, seed, batch_size,
                                    "sample_to_dataset")
        return write_parquet_chunks(chunks, path, report=report)


# --- the dataset: plan, run, commit ---------------------------------------------------------


def sample_to_dataset(
    model: Any,
    path: str | os.PathLike,
    n: int,
    *,
    partitions: int = 1,
    workers: int = 1,
    conditions: Mapping[str, Any] | None = None,
    random_state: int | None = None,
    chunk_size: int = 50_000,
    batch_size: int | None = None,
    overwrite: bool = False,
    device: str = "cpu",
    progress: bool = True,
    model_file: str | os.PathLike | None = None,
    engine: Any = None,
) -> Path:
    """Write ``n`` synthetic rows to the folder ``path`` as ``partitions`` Parquet files.

    Parameters
    ----------
    model : fitted synthesizer or path of a model file
        With ``workers > 1`` each worker loads the model file (an in-memory model is saved to
        a temporary file first).
    path : str or path-like
        The dataset folder (``part-00000.parquet`` ...). It must not exist or be empty,
        unless ``overwrite=True``.
    n : int
        Total rows (exactly).
    partitions : int, default=1
        Number of files, ``1 <= partitions <= n``; partition ``i`` gets its own seed
        (``SeedSequence(random_state).spawn(partitions)[i]``).
    workers : int, default=1
        Worker processes (``1``: in this process). The files do not depend on it.
    conditions : dict, optional
        As in ``model.sample``; they hold in every partition.
    random_state : int, optional
        Seed; the same seed, ``n``, ``partitions`` and model give byte-identical files.
    chunk_size : int, default=50_000
        Rows generated and written at a time per worker (one Parquet row group): the memory
        bound.
    batch_size : int, optional
        Rows per network pass (the model's default).
    overwrite : bool, default=False
        Replace an existing non-empty folder, once the new dataset is complete.
    device : str, default="cpu"
        Where workers load the model.
    progress : bool, default=True
        A progress bar over rows written (tqdm).
    model_file : str or path-like, optional
        The file ``model`` was loaded from: the workers load it (instead of a saved copy).
    engine : None, "local", "dask" or DaskEngine, default=None
        Where the partitions run: this process / ``workers`` processes (``None``, "local");
        ``"dask"``: a Dask LocalCluster of ``workers`` workers started for the call; a started
        :class:`tabsynth.engine.DaskEngine` (e.g. on a running scheduler, whose workers must
        see ``path``'s folder). Each Dask worker gets the model file's bytes and loads them
        with the safe loader. The files do not depend on it.

    Returns
    -------
    pathlib.Path
        The dataset folder.

    Raises
    ------
    ParameterError
        A bad ``n``/``partitions``/``workers``/``chunk_size``/``random_state`` (including more
        partitions than rows).
    ConditionError
        The conditions name unknown columns/values or cannot be met.
    OutputError
        ``path`` is a file, a non-empty folder (without ``overwrite``), or cannot be written.
    """
    from ..models.registry import load

    _check(n, partitions, workers, chunk_size, random_state, engine)
    target = check_output_folder(path, overwrite=overwrite)
    model_path = None if model_file is None else str(model_file)
    if isinstance(model, (str, os.PathLike)):
        model_path = str(model)
        model = load(model_path, device=device)
    model._check_is_fitted()
    model._iter_chunks(n, chunk_size, conditions, 0, batch_size, "sample_to_dataset")  # checks
    plan = partition_plan(int(n), int(partitions), random_state)
    _remove_stale(target)
    tmp = _mkdtemp(target, "tmp")
    from tqdm.auto import tqdm

    bar = tqdm(total=int(n), desc="sample", unit="row", unit_scale=True, disable=not progress)
    try:
        tasks = [(str(tmp), i, rows, seed, conditions, int(chunk_size), batch_size)
                 for i, (rows, seed) in enumerate(plan)]
        dask = engine not in (None, "local")
        if workers == 1 and not dask:
            written = sum(write_partition(model, *t, report=bar.update) for t in tasks)
        else:
            with contextlib.ExitStack() as stack:
                if model_path is None:
                    scratch = stack.enter_context(tempfile.TemporaryDirectory())
                    model_path = str(model.save(Path(scratch) / "model.tsmodel"))
                if dask:
                    written = _run_dask(engine, stack, model_path, device, tasks, workers,
                                        bar.update)
                else:
                    written = _run_workers(model_path, device, tasks,
                                           min(workers, partitions), bar.update)
        if written != n:  # pragma: no cover - iter_chunks yields exactly n rows
            raise RuntimeError(f"sample_to_dataset wrote {written} rows, not {n}.")
        _commit(tmp, target, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        bar.close()
    return target


def _run_dask(engine: Any, stack: contextlib.ExitStack, model_path: str, device: str,
              tasks: list[tuple], workers: int, report: Callable[[int], Any]) -> int:
    from .partitioned_dask import run_on_dask

    if engine == "dask":
        from ..engine import DaskEngine

        engine = stack.enter_context(DaskEngine(n_workers=int(workers)))
    return run_on_dask(engine, model_path, device, tasks, report)


def _run_workers(model_path: str, device: str, tasks: list[tuple], workers: int,
                 report: Callable[[int], Any]) -> int:
    """Run the partition tasks in ``workers`` spawned processes; stop them all on any error."""
    import multiprocessing as mp
    import queue as queue_mod
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = mp.get_context("spawn")
    rows_queue = ctx.Queue()
    ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(model_path, device, rows_queue))

    def drain() -> None:
        while True:
            try:
                report(rows_queue.get_nowait())
            except queue_mod.Empty:
                return

    written = 0
    try:
        pending = {ex.submit(_worker_partition, t) for t in tasks}
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            drain()
            for f in done:
                written += f.result()  # a worker's error is raised here
        time.sleep(0.05)
        drain()
    except BaseException:
        _stop(ex)
        raise
    finally:
        rows_queue.close()
    ex.shutdown(wait=True)
    return written


def _stop(ex: Any) -> None:
    """Cancel what has not started and end the running workers now (not after their task)."""
    terminate = getattr(ex, "terminate_workers", None)  # Python >= 3.14
    procs = list((getattr(ex, "_processes", None) or {}).values())
    if terminate is not None:
        terminate()
    else:
        for p in procs:
            with contextlib.suppress(Exception):
                p.terminate()
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(timeout=10)
    ex.shutdown(wait=False, cancel_futures=True)


def _mkdtemp(target: Path, kind: str) -> Path:
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{kind}-{os.getpid()}-",
                                    dir=target.parent))
    except OSError as exc:
        raise OutputError(f"Cannot write {str(target)!r}: {exc.strerror or exc}.",
                          str(target)) from None
    umask = os.umask(0)
    os.umask(umask)
    with contextlib.suppress(OSError):
        os.chmod(tmp, 0o777 & ~umask)  # the mode a plain mkdir would give
    return tmp


def _remove_stale(target: Path) -> None:
    """Remove temporary folders next to ``target`` left by a process that was killed."""
    for kind in ("tmp", "old"):
        for name in glob.glob(str(target.parent / f".{glob.escape(target.name)}.{kind}-*")):
            m = re.search(r"\.(?:tmp|old)-(?P<pid>\d+)-[^/]*$", name)
            if m and not pid_alive(int(m.group("pid"))) and os.path.isdir(name):
                shutil.rmtree(name, ignore_errors=True)


def _commit(tmp: Path, target: Path, overwrite: bool) -> None:
    """Rename the finished folder onto ``target``; an existing one is replaced only with
    ``overwrite`` and is put back if the rename fails."""
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    if not target.exists():
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise OutputError(f"Could not rename the finished dataset onto {str(target)!r}: "
                              f"{exc.strerror or exc}. Nothing was written.", str(target)) from exc
        return
    if not overwrite or not target.is_dir():
        raise OutputError(f"{str(target)!r} appeared while sampling; nothing was written "
                          "(pass --overwrite to replace it).", str(target))
    old = _mkdtemp(target, "old")
    old.rmdir()
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except OSError as exc:
        os.replace(old, target)
        raise OutputError(f"Could not replace {str(target)!r}: {exc.strerror or exc}. The "
                          "existing folder is unchanged.", str(target)) from exc
    shutil.rmtree(old, ignore_errors=True)
