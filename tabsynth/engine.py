"""``--engine dask``: read a streamed table's partitions on Dask workers (dask.distributed).

:class:`DaskEngine` starts a ``LocalCluster`` (or joins a running scheduler at ``scheduler``)
and maps a function over partitions; attached to a :class:`~tabsynth.sources.TableSource`
(``source.engine = engine``), the statistics of a streaming fit are computed as partial
aggregates per partition on the workers and merged here as they complete
(:mod:`tabsynth.stats.passes`); DP noise is added once, after the merge, in this process.
The encoding pass encodes each partition on a worker too (from the transformer's state, plain
data) and writes the cells here in partition order (:mod:`tabsynth.models.streaming`);
partitioned sampling runs its seeded partitions on the workers
(:func:`tabsynth.sampling.partitioned.sample_to_dataset` with ``engine=``).
Dask is the optional extra ``scale`` (``pip install 'tabsynth[scale]'``); ``import tabsynth``
never imports it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from .errors import ParameterError, check_param, is_real

__all__ = ["SCHEDULER_TIMEOUT", "WORKER_ENVIRON", "DaskEngine"]

#: Seconds to wait for a running scheduler (``scheduler=``, ``--scheduler``) before giving up
#: with a :class:`~tabsynth.errors.ParameterError` naming its address.
SCHEDULER_TIMEOUT = 5.0
#: Environment of the LocalCluster's worker processes, added to Dask's own
#: (``distributed.nanny.pre-spawn-environ``). Dask sets ``MALLOC_TRIM_THRESHOLD_``, which turns
#: off glibc's dynamic mmap threshold: every array above 128 KiB is then a fresh ``mmap`` whose
#: pages fault in anew, and a statistics pass ran 2.8x slower on a worker than in this process
#: (10M rows x 30 columns: 30.0 s against 10.8 s). A fixed 32 MiB threshold (glibc's largest
#: dynamic one) keeps batch-sized arrays on the heap (10.0 s with both variables set).
WORKER_ENVIRON = {"MALLOC_MMAP_THRESHOLD_": 32 * 2**20}


class DaskEngine:
    """A Dask client for the partial aggregates of a streaming fit (a context manager).

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); ``None`` starts a LocalCluster.
    n_workers : int, default 2
        Workers of the LocalCluster (one thread each).
    processes : bool, default True
        LocalCluster workers as processes (``False``: threads of this process, for tests).
    timeout : float, optional
        Seconds to wait for the scheduler at ``scheduler`` (default :data:`SCHEDULER_TIMEOUT`,
        5 s); an unreachable address is a :class:`~tabsynth.errors.ParameterError` naming it.
    """

    def __init__(self, scheduler: str | None = None, *, n_workers: int = 2,
                 processes: bool = True, timeout: float | None = None) -> None:
        if not (isinstance(n_workers, int) and not isinstance(n_workers, bool)
                and n_workers >= 1):
            raise ParameterError(f"The 'n_workers' parameter of DaskEngine must be an int >= 1. "
                                 f"Got {n_workers!r} instead.")
        check_param("DaskEngine", "timeout", timeout,
                    timeout is None or (is_real(timeout) and 0 < timeout < float("inf")),
                    "a float > 0 (seconds) or None")
        self.scheduler = scheduler
        self.n_workers = n_workers
        self.processes = processes
        self.timeout = timeout
        self._client: Any = None
        self._cluster: Any = None

    def __enter__(self) -> DaskEngine:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ParameterError(
                "--engine dask needs dask.distributed: pip install 'tabsynth[scale]'.") from None
        import logging

        # dask.distributed logs at INFO (scheduler start, workers joining...) through its own
        # logger; unless this process asked for INFO (tabsynth -v), keep them to warnings
        if not logging.getLogger().isEnabledFor(logging.INFO):
            logging.getLogger("distributed").setLevel(logging.WARNING)
        if self.scheduler is not None:
            seconds = float(SCHEDULER_TIMEOUT if self.timeout is None else self.timeout)
            try:
                self._client = Client(self.scheduler, timeout=seconds)
            except Exception as exc:  # noqa: BLE001 - every failure to connect: one clear line
                raise ParameterError(_unreachable(self.scheduler, seconds, exc)) from None
        else:
            import os

            import dask

            environ = {f"distributed.nanny.pre-spawn-environ.{k}": v
                       for k, v in WORKER_ENVIRON.items()}
            # the nanny writes the workers' variables into this process's environment too,
            # where every later subprocess (--nproc training workers) would inherit them
            keys = {*dask.config.get("distributed.nanny.pre-spawn-environ", {}),
                    *WORKER_ENVIRON}
            saved = {k: os.environ.get(k) for k in keys}
            try:
                with dask.config.set(environ):
                    self._cluster = LocalCluster(n_workers=self.n_workers,
                                                 threads_per_worker=1,
                                                 processes=self.processes,
                                                 dashboard_address=None)
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
            self._client = Client(self._cluster)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def _started(self) -> Any:
        if self._client is None:
            raise ParameterError("The DaskEngine is not started: use it in a 'with' block.")
        return self._client

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (the engine must be started)."""
        return self._started()

    def worker_count(self) -> int:
        """Workers the scheduler knows now (at least 1)."""
        info = self._started().scheduler_info()
        return max(1, len(info.get("workers", {})))

    def map_ordered(self, func: Callable[..., Any], *iterables: list,
                    window: int | None = None) -> Iterator[Any]:
        """``func(*args)`` for ``args in zip(*iterables)`` on the workers, yielded in the
        order of the arguments. At most ``window`` tasks (default: twice the workers) are
        submitted ahead of the one yielded, so neither the workers nor this process hold more
        than ``window`` results; each result is released once yielded. Leaving early (an
        error, a ``break``) cancels what is still pending."""
        client = self._started()
        ahead = int(window or 2 * self.worker_count())
        pending: deque = deque()
        try:
            for args in zip(*iterables, strict=True):
                pending.append(client.submit(func, *args, pure=False))
                if len(pending) >= ahead:
                    yield self._take(pending.popleft())
            while pending:
                yield self._take(pending.popleft())
        finally:
            for future in pending:
                future.cancel()

    @staticmethod
    def _take(future: Any) -> Any:
        result = future.result()  # a worker's error is raised here, as it was raised there
        future.release()
        return result

    def map_unordered(self, func: Callable[..., Any], *iterables: list) -> Iterator[Any]:
        """``func(*args)`` for ``args in zip(*iterables)`` on the workers, yielded as they
        complete (each result released once yielded: the caller merges as they come)."""
        self._started()
        from distributed import as_completed

        futures = self._client.map(func, *iterables, pure=False)
        for future in as_completed(futures):
            result = future.result()
            future.release()
            yield result
            del result


def _unreachable(address: str, seconds: float, exc: BaseException) -> str:
    """The one-line message of a failed connection to the scheduler at ``address``."""
    reason = " ".join(str(exc).split())[:200] or type(exc).__name__
    if isinstance(exc, OSError):  # refused, timed out, unknown host
        return (f"Cannot reach the Dask scheduler at {address!r} within {seconds:g} s "
                f"({reason}). Is it running, and is the address its tcp://host:port?")
    if isinstance(exc, (ValueError, TypeError)):  # not an address
        return (f"{address!r} is not a Dask scheduler address ({reason}); give "
                "tcp://host:port (e.g. tcp://10.0.0.5:8786).")
    # something answered, but not the scheduler's protocol (e.g. its dashboard's HTTP port)
    return (f"The service at {address!r} did not answer as a Dask scheduler "
            f"({type(exc).__name__}); give the scheduler's address (tcp://host:8786), not "
            "its dashboard's.")
