"""Session-wide test settings.

Under pytest-xdist (the README's test command runs ``-n 2``), each worker process is one of
as many processes as the machine has cores: one math thread each, or the workers' thread
pools oversubscribe the cores (two torch threads per worker on a 2-core machine ran several
times slower than one). Set before torch is imported; subprocesses (the CLI tests) inherit it.
"""

from __future__ import annotations

import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[_var] = "1"
