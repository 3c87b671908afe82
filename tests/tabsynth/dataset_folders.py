"""What a partitioned Parquet folder written by ``sample_to_dataset`` holds (a plain module, not
a conftest; shared by ``test_partitioned_sampling.py`` and ``test_partitioned_dask.py``)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def digests(folder: Path) -> dict[str, str]:
    """File name -> sha256 of its bytes, for every file in ``folder``."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def leftovers(folder: Path) -> list[str]:
    """The hidden temporary siblings (``.<name>.*``) a write of ``folder`` left beside it."""
    return [p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.")]
