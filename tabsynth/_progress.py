"""Progress bars (``tqdm.auto``: notebook-aware, switchable off): over a training loop's epochs,
and over the rows of a stream of chunks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

__all__ = ["counted_rows", "format_losses", "progress_bar"]

T = TypeVar("T")


def progress_bar(total: int, *, desc: str, verbose: bool) -> Any:
    """A ``tqdm.auto`` bar over ``range(total)``; disabled (silent) when ``verbose`` is False."""
    from tqdm.auto import tqdm

    return tqdm(range(total), desc=desc, disable=not verbose, unit="epoch", leave=True)


def format_losses(losses: Mapping[str, float]) -> dict[str, str]:
    """Short postfix strings for a bar: ``{"g": "-0.512", "d": "0.031"}``."""
    return {k: f"{v:.3f}" for k, v in losses.items()}


def counted_rows(chunks: Iterable[T], total: int, *, desc: str,
                 shown: bool = True) -> Iterator[T]:
    """``chunks`` as they are, with a bar over ``total`` rows moved by each chunk's length once
    it is handed on (``shown=False``: no bar)."""
    if not shown:
        yield from chunks
        return
    from tqdm.auto import tqdm

    with tqdm(total=int(total), desc=desc, unit="row", unit_scale=True) as bar:
        for chunk in chunks:
            yield chunk
            bar.update(len(chunk))  # type: ignore[arg-type]
