"""Partitioned sampling on Dask workers (``tabsynth sample ... --partitions P --engine dask``).

The same seeded partitions as the process pool of :mod:`tabsynth.sampling.partitioned`, run as
Dask tasks: the model file's bytes are scattered to the workers once, each worker loads them
with the safe loader (:func:`tabsynth.models.registry.load`: sha256 of each part checked, no
pickle; kept for the worker's next partitions) and writes its partition with
:func:`~tabsynth.sampling.partitioned.write_partition` (one torch thread) to a hidden
temporary name in the dataset's temporary folder, renamed onto ``part-NNNNN.parquet`` when
complete. A partition's bytes are a function of its seed, rows and the model only, so the
files equal the process pool's whatever the workers. The folder is written by the workers: on
a remote cluster (``--scheduler``) it must be on a file system they share with this process.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["dask_partition", "run_on_dask"]

_LOCK = threading.Lock()
_MODEL: dict[str, Any] = {}  # the last model a worker loaded, by the sha256 of its file


def _worker_model(model_bytes: bytes, digest: str, device: str) -> Any:
    from ..models.registry import load

    with _LOCK:
        if digest not in _MODEL:
            with tempfile.TemporaryDirectory(prefix="tabsynth-model-") as tmp:
                path = Path(tmp) / "model.tsmodel"
                path.write_bytes(model_bytes)
                model = load(path, device=device)
            _MODEL.clear()
            _MODEL[digest] = model
        return _MODEL[digest]


def dask_partition(model_bytes: bytes, digest: str, device: str, task: tuple) -> int:
    """One partition on a Dask worker: ``task`` is ``(folder, index, rows, seed, conditions,
    chunk_size, batch_size)``; the part is written under a hidden name and renamed when
    complete. Returns the rows written."""
    from .partitioned import PART_NAME, write_partition

    model = _worker_model(model_bytes, digest, device)
    folder, index = Path(task[0]), int(task[1])
    scratch = folder / f".{uuid.uuid4().hex}.tmp"
    scratch.mkdir()
    try:
        rows = write_partition(model, str(scratch), *task[1:])
        os.replace(scratch / PART_NAME.format(index), folder / PART_NAME.format(index))
    finally:
        with contextlib.suppress(OSError):
            for leftover in scratch.iterdir():
                leftover.unlink()
            scratch.rmdir()
    return rows


def run_on_dask(engine: Any, model_path: str, device: str, tasks: list[tuple],
                report: Callable[[int], Any]) -> int:
    """Run the partition tasks on ``engine``'s workers (a started
    :class:`~tabsynth.engine.DaskEngine`); ``report(rows)`` as each partition completes; on
    any error the pending tasks are cancelled and the error is raised here."""
    from distributed import as_completed

    client = engine.client
    data = Path(model_path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    [model_future] = client.scatter([data], broadcast=True, hash=False)
    futures = [client.submit(dask_partition, model_future, digest, device, t, pure=False)
               for t in tasks]
    written = 0
    try:
        for future in as_completed(futures):
            rows = int(future.result())  # a worker's error is raised here
            written += rows
            report(rows)
    finally:
        for future in futures:
            if not future.done():
                future.cancel()
        model_future.release()
    return written
