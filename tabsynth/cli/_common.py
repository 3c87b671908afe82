"""Helpers shared by CLI commands: output-path checks and condition parsing."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from tabsynth.errors import ConditionError, ParameterError

_TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
_OP_RE = re.compile(r"^\s*(?P<col>.+?)\s*(?P<op>>=|<=|==|=|>|<)\s*(?P<val>.*?)\s*$")


def check_writable(path: str | os.PathLike[str], *, table: bool = False) -> Path:
    """Fail early (before any long work) if ``path`` cannot be written."""
    p = Path(path)
    if table and not p.name.lower().endswith(_TABLE_SUFFIXES):
        raise ParameterError(
            f"Cannot tell the output format of {str(p)!r}: use a name ending in "
            + ", ".join(_TABLE_SUFFIXES)
            + "."
        )
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise ParameterError(f"The output path {str(p)!r} is a directory.")
    if not parent.is_dir():
        raise ParameterError(
            f"Cannot write {str(p)!r}: the folder {str(parent)!r} does not exist."
        )
    if not os.access(parent, os.W_OK):
        raise ParameterError(
            f"Cannot write {str(p)!r}: the folder {str(parent)!r} is not writable."
        )
    return p


def _cast_like(raw: str, categories: list[Any] | None) -> Any:
    """Turn a CLI string into the value of the same type as the model's categories."""
    if categories:
        for cat in categories:
            if cat is not None and str(cat) == raw:
                return cat
        lowered = raw.lower()
        for cat in categories:
            if isinstance(cat, bool) and str(cat).lower() == lowered:
                return cat
    return raw


def parse_conditions(
    items: tuple[str, ...], categories_of: dict[str, list[Any]]
) -> dict[str, Any]:
    """Parse ``col=value`` / ``col>=x`` / ``col<x`` strings into a conditions mapping.

    ``categories_of`` maps each conditionable (categorical/boolean) column to its categories so
    that ``fraud=1`` selects the integer category 1. Numeric comparisons become ranges
    ``(low, high)`` with ``None`` for an open end; ``>``/``<`` are treated as ``>=``/``<=``
    (the generator's values are continuous, so the difference has probability zero).
    """
    out: dict[str, Any] = {}
    for item in items:
        m = _OP_RE.match(item)
        if not m or not m.group("col"):
            raise ConditionError(
                f"Cannot read the condition {item!r}: write col=value, col>=x or col<=x."
            )
        col, op, val = m.group("col"), m.group("op"), m.group("val")
        if op in ("=", "=="):
            if col in out:
                raise ConditionError(f"The column {col!r} is conditioned twice.")
            out[col] = _cast_like(val, categories_of.get(col))
            continue
        try:
            number = float(val)
        except ValueError:
            raise ConditionError(
                f"The condition {item!r} compares {col!r} with {val!r}, which is not a number."
            ) from None
        low, high = out.get(col, (None, None)) if isinstance(out.get(col), tuple) else (None, None)
        if op in (">=", ">"):
            low = number
        else:
            high = number
        out[col] = (low, high)
    return out
