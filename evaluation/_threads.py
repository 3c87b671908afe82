"""Thread limits for the models the evaluator trains.

scikit-learn's HistGradientBoosting uses OpenMP; on a busy or shared machine its threads
spin-wait on each other and a fit can slow down 20-fold. The evaluator therefore runs its
models with ``TABSYNTH_EVAL_THREADS`` OpenMP/BLAS threads (default 1; results do not depend
on it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


def eval_threads() -> int:
    try:
        return max(1, int(os.environ.get("TABSYNTH_EVAL_THREADS", "1")))
    except ValueError:
        return 1


@contextmanager
def limited_threads() -> Iterator[None]:
    """Limit OpenMP/BLAS threads inside the block (no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        yield
        return
    with threadpool_limits(limits=eval_threads()):
        yield
