"""Boost rare regions, not only rare labels: numeric tails and rare categories of any column.

Both work on a FITTED model and use only what the model itself holds — its statistics
(``model.stats_``: quantiles, mixture modes, category frequencies), which are DP under DP — so
they never read the real table again and cost no epsilon (post-processing, DESIGN.md rule 5).

* Numeric / datetime tail: ``sample_rare(model, n, column="age", quantile=0.05, tail="upper")``
  returns ``n`` rows whose ``age`` lies beyond the model's 95th percentile (``"lower"``: below
  the 5th; ``"both"``: half each). The cut-off comes from ``stats_.quantiles`` (101 points), or
  from the Gaussian mixture (``mode_weights/means/stds``) when quantiles are absent. Rows are
  met by bounded rejection: never fewer rows than asked, a ``ConditionError`` when the model
  cannot produce the tail.
* Rare categories: ``sample_rare(model, n, column="workclass", rare_threshold=0.02)`` picks the
  categories whose (DP) frequency is below the threshold and splits ``n`` evenly between them
  (``weights="frequency"``: in proportion to their frequencies); each share is generated exactly
  through the conditional vector (CTGAN), so a 0.1% category costs no rejection.

``rare_conditions`` returns the conditions ``sample_rare`` would use, to inspect or to reuse
with ``model.sample(n, conditions=...)``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConditionError, ParameterError, check_param

__all__ = ["iter_rare_chunks", "rare_categories", "rare_conditions", "sample_rare",
           "tail_cutoffs"]

_TAILS = ("upper", "lower", "both")


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _column_stats(model: Any, column: str) -> Any:
    model._check_is_fitted()
    cols = getattr(model.stats_, "columns", {})
    if column not in cols:
        raise ConditionError(
            f"Unknown column {column!r} for rare-event sampling. Modelled columns: {list(cols)}."
        )
    return cols[column]


def _mixture_quantile(st: Any, q: float) -> float:
    """Quantile ``q`` of the stats' Gaussian mixture, clipped to its bounds (bisection)."""
    from scipy.stats import norm

    w = np.asarray(st.mode_weights, dtype=float)
    w = w / w.sum()
    mu = np.asarray(st.mode_means, dtype=float)
    sd = np.asarray(st.mode_stds, dtype=float)
    lo, hi = float(st.lower), float(st.upper)
    if lo == hi:
        return lo
    a, b = lo, hi
    for _ in range(80):
        mid = (a + b) / 2
        cdf = float((w * norm.cdf((mid - mu) / sd)).sum())
        a, b = (mid, b) if cdf < q else (a, mid)
    return (a + b) / 2


def _quantile(st: Any, q: float) -> float:
    qs = getattr(st, "quantiles", None)
    if qs:
        grid = np.linspace(0.0, 1.0, len(qs))
        return float(np.interp(q, grid, np.asarray(qs, dtype=float)))
    return _mixture_quantile(st, q)


def tail_cutoffs(model: Any, column: str, *, quantile: float = 0.05) -> tuple[float, float]:
    """``(lower, upper)`` cut-offs of a numeric/datetime column at ``quantile`` and
    ``1 - quantile``, from the model's own (possibly DP) statistics (datetime: epoch seconds).

    Raises
    ------
    ConditionError
        Unknown or categorical column.
    ParameterError
        ``quantile`` not in (0, 0.5).
    """
    check_param("tail_cutoffs", "quantile", quantile,
                _is_real(quantile) and 0 < quantile < 0.5, "a float in (0, 0.5)")
    st = _column_stats(model, column)
    if not hasattr(st, "mode_weights"):
        raise ConditionError(
            f"Column {column!r} is categorical: use rare_threshold=... (rare categories), not "
            "quantile/tail."
        )
    return _quantile(st, float(quantile)), _quantile(st, 1.0 - float(quantile))


def rare_categories(model: Any, column: str, *, rare_threshold: float = 0.02) -> dict[Any, float]:
    """``{category: frequency}`` of the categories of ``column`` rarer than ``rare_threshold``
    in the model's (DP) statistics, rarest first.

    Raises
    ------
    ConditionError
        Unknown or numeric column, or no category below the threshold (the message gives the
        rarest category and its frequency).
    """
    check_param("rare_categories", "rare_threshold", rare_threshold,
                _is_real(rare_threshold) and 0 < rare_threshold < 1, "a float in (0, 1)")
    st = _column_stats(model, column)
    if not hasattr(st, "frequencies"):
        raise ConditionError(
            f"Column {column!r} is numerical: use quantile=... and tail=..., not rare_threshold."
        )
    freqs = np.clip(np.asarray(st.frequencies, dtype=float), 0.0, None)
    total = freqs.sum()
    freqs = freqs / total if total > 0 else np.full(len(freqs), 1.0 / len(freqs))
    found = {c: float(f) for c, f in zip(st.categories, freqs, strict=True)
             if f < rare_threshold and c != getattr(st, "other", None)}
    if not found:
        i = int(np.argmin(freqs))
        raise ConditionError(
            f"No category of column {column!r} has a frequency below rare_threshold="
            f"{rare_threshold:g}; the rarest is {st.categories[i]!r} ({freqs[i]:.4g}). Raise "
            "the threshold or condition on a value directly."
        )
    return dict(sorted(found.items(), key=lambda kv: kv[1]))


def _seconds_to_bound(st: Any, x: float) -> Any:
    if hasattr(st, "unit"):  # DatetimeStats: epoch seconds -> Timestamp
        return pd.Timestamp("1970-01-01") + pd.to_timedelta(x, unit="s")
    return float(x)


def rare_conditions(
    model: Any,
    column: str,
    *,
    quantile: float | None = None,
    tail: str = "upper",
    rare_threshold: float | None = None,
) -> list[dict[str, Any]]:
    """The conditions ``sample_rare`` uses, one dict per part (``"both"``: two parts; rare
    categories: one part per category)."""
    check_param("sample_rare", "tail", tail, tail in _TAILS, f"one of {list(_TAILS)}")
    st = _column_stats(model, column)
    if hasattr(st, "frequencies"):
        if quantile is not None:
            raise ParameterError(
                f"Column {column!r} is categorical: give rare_threshold=..., not quantile."
            )
        cats = rare_categories(model, column,
                               rare_threshold=0.02 if rare_threshold is None else rare_threshold)
        return [{column: c} for c in cats]
    if rare_threshold is not None:
        raise ParameterError(
            f"Column {column!r} is numerical: give quantile=... and tail=..., not rare_threshold."
        )
    lo, hi = tail_cutoffs(model, column, quantile=0.05 if quantile is None else quantile)
    parts = []
    if tail in ("lower", "both"):
        parts.append({column: (None, _seconds_to_bound(st, lo))})
    if tail in ("upper", "both"):
        parts.append({column: (_seconds_to_bound(st, hi), None)})
    return parts


def _split(n: int, weights: np.ndarray) -> list[int]:
    """``n`` split by ``weights`` into ints summing to ``n`` (largest remainders)."""
    raw = weights / weights.sum() * n
    out = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - out))[: n - int(out.sum())]:
        out[i] += 1
    return [int(v) for v in out]


def sample_rare(
    model: Any,
    n: int,
    *,
    column: str,
    quantile: float | None = None,
    tail: str = "upper",
    rare_threshold: float | None = None,
    weights: str = "uniform",
    conditions: Mapping[str, Any] | None = None,
    random_state: int | None = None,
    batch_size: int | None = None,
) -> pd.DataFrame:
    """``n`` rows from the rare region of ``column`` (numeric tail or rare categories).

    Parameters
    ----------
    model : fitted CTGAN / TVAE / ARSynthesizer
    n : int
        Rows returned (exactly).
    column : str
    quantile : float in (0, 0.5), default 0.05 (numeric/datetime columns)
        Tail mass: ``"upper"`` keeps values >= the model's ``1 - quantile`` quantile,
        ``"lower"`` values <= its ``quantile`` quantile, ``"both"`` half of ``n`` each.
    tail : {"upper", "lower", "both"}, default "upper"
    rare_threshold : float in (0, 1), default 0.02 (categorical/boolean columns)
        Categories whose frequency in ``model.stats_`` is below this are rare.
    weights : {"uniform", "frequency"}, default "uniform"
        How ``n`` is split between several rare categories.
    conditions : dict, optional
        Further conditions, combined with the rare region (e.g. ``{"income": ">50K"}``).
    random_state : int, optional

    The rows of the parts come in random order (:func:`iter_rare_chunks` with one chunk;
    ``tabsynth sample --rare`` streams them in chunks of bounded size).

    Raises
    ------
    ConditionError
        Unknown column, no rare category, or the model cannot produce the region within the
        rejection budget (the message names the condition).
    """
    chunks = list(iter_rare_chunks(
        model, n, chunk_size=None, column=column, quantile=quantile, tail=tail,
        rare_threshold=rare_threshold, weights=weights, conditions=conditions,
        random_state=random_state, batch_size=batch_size))
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


def iter_rare_chunks(
    model: Any,
    n: int,
    *,
    chunk_size: int | None,
    column: str,
    quantile: float | None = None,
    tail: str = "upper",
    rare_threshold: float | None = None,
    weights: str = "uniform",
    conditions: Mapping[str, Any] | None = None,
    random_state: int | None = None,
    batch_size: int | None = None,
) -> Iterator[pd.DataFrame]:
    """:func:`sample_rare`'s ``n`` rows as DataFrames of ``chunk_size`` rows (the last one
    shorter; ``None``: one chunk), generated as they are asked for: memory holds a chunk per
    part, not the release.

    Each part (a tail, a rare category) is generated exactly through the model's own chunked
    sampling. A chunk takes from every part a multivariate hypergeometric count of the rows
    that part still owes, shuffled inside the chunk: the distribution of a random
    permutation of all the parts' rows cut into chunks. Arguments, conditions and the rare
    region are checked before the first chunk is asked for.
    """
    check_param("sample_rare", "n", n, isinstance(n, numbers.Integral) and not isinstance(
        n, bool) and n >= 1, "an int >= 1")
    check_param("sample_rare", "chunk_size", chunk_size, chunk_size is None or (
        isinstance(chunk_size, numbers.Integral) and not isinstance(chunk_size, bool)
        and chunk_size >= 1), "None or an int >= 1")
    check_param("sample_rare", "weights", weights, weights in ("uniform", "frequency"),
                "'uniform' or 'frequency'")
    if conditions is not None and column in conditions:
        raise ConditionError(
            f"Column {column!r} is both the rare column and in conditions; drop one."
        )
    parts = rare_conditions(model, column, quantile=quantile, tail=tail,
                            rare_threshold=rare_threshold)
    if len(parts) > 1 and weights == "frequency" and hasattr(_column_stats(model, column),
                                                             "frequencies"):
        freq = rare_categories(model, column,
                               rare_threshold=0.02 if rare_threshold is None else rare_threshold)
        w = np.array([freq[next(iter(p.values()))] for p in parts], dtype=float)
        w = np.where(w > 0, w, 1e-12)
    else:
        w = np.ones(len(parts))
    sizes = _split(int(n), w)
    chunk = int(chunk_size or n)
    rng = np.random.default_rng(random_state)
    streams = []
    for part, size in zip(parts, sizes, strict=True):
        seed = int(rng.integers(2**31 - 1))  # drawn for every part, as before
        if size:
            streams.append(_Part(model._iter_chunks(
                size, min(chunk, size), {**(conditions or {}), **part}, seed, batch_size,
                "sample_rare"), size))
    return _interleave(streams, int(n), chunk, rng)


class _Part:
    """One part's rows, taken ``k`` at a time from its chunk stream."""

    def __init__(self, chunks: Iterator[pd.DataFrame], size: int) -> None:
        self.chunks, self.owed, self.buffer = chunks, size, pd.DataFrame()

    def take(self, k: int) -> pd.DataFrame:
        while len(self.buffer) < k:
            self.buffer = pd.concat([self.buffer, next(self.chunks)], ignore_index=True)
        out, self.buffer = self.buffer.iloc[:k], self.buffer.iloc[k:].reset_index(drop=True)
        self.owed -= k
        return out


def _chunk_counts(rng: np.random.Generator, owed: np.ndarray, k: int) -> np.ndarray:
    """How many of a chunk's ``k`` rows each part gives: a multivariate hypergeometric draw
    from the rows the parts still owe."""
    return rng.multivariate_hypergeometric(np.asarray(owed, dtype=np.int64), int(k))


def _interleave(parts: list[_Part], n: int, chunk: int,
                rng: np.random.Generator) -> Iterator[pd.DataFrame]:
    if len(parts) == 1:  # one part: its own chunks, in its own random order
        yield from parts[0].chunks
        return
    emitted = 0
    while emitted < n:
        k = min(chunk, n - emitted)
        counts = _chunk_counts(rng, np.array([p.owed for p in parts]), k)
        out = pd.concat([p.take(int(c)) for p, c in zip(parts, counts, strict=True) if c],
                        ignore_index=True)
        out = out.iloc[rng.permutation(len(out))].reset_index(drop=True)
        if len(out) != k:  # pragma: no cover - each part's sampling guarantees its count
            raise ConditionError(f"sample_rare produced {len(out)} rows instead of {k}.")
        emitted += k
        yield out
