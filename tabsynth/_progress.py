"""Progress bars for training loops (``tqdm.auto``: notebook-aware, switchable off)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["format_losses", "progress_bar"]


def progress_bar(total: int, *, desc: str, verbose: bool) -> Any:
    """A ``tqdm.auto`` bar over ``range(total)``; disabled (silent) when ``verbose`` is False."""
    from tqdm.auto import tqdm

    return tqdm(range(total), desc=desc, disable=not verbose, unit="epoch", leave=True)


def format_losses(losses: Mapping[str, float]) -> dict[str, str]:
    """Short postfix strings for a bar: ``{"g": "-0.512", "d": "0.031"}``."""
    return {k: f"{v:.3f}" for k, v in losses.items()}
