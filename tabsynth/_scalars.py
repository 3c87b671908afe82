"""Plain Python values out of numpy ones, and a deterministic order for values of mixed types.

Shared by the metadata, the statistics and the sampling code (one place, no copies).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["jsonable", "py_scalar", "sort_key"]


def py_scalar(value: Any) -> Any:
    """numpy scalar -> Python scalar; other values unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def jsonable(value: Any) -> Any:
    """numpy scalars -> Python scalars, recursively; lists and tuples become lists."""
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return py_scalar(value)


def sort_key(value: Any, *, numbers_together: bool = False) -> tuple[str, Any]:
    """A key that orders values of mixed types: by type name, then by value.

    With ``numbers_together=True``, ints, floats (and ``bool``, a Python int) and numpy
    numbers share one group ordered by value, before every other type; otherwise each type is
    its own group (``1.5`` before ``1``: ``"float" < "int"``). The statistics order categories
    with the default (the models' encodings depend on it); the sampling strategy orders class
    labels with ``numbers_together=True``.
    """
    if numbers_together and isinstance(value, (int, float, np.number)):
        return ("", value)
    return (type(value).__name__, value)
