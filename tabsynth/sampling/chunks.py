"""Chunked sampling: exactly ``n`` rows from a fitted synthesizer, in chunks of bounded size.

:func:`iter_chunks` is what :meth:`BaseSynthesizer.sample` and ``sample_to`` run: it checks the
call eagerly, splits the conditions into one the network meets exactly (the model's
``_plan_conditions``) and those met by bounded rejection
(:class:`~tabsynth.sampling.conditions.RejectionBudget`), then generates batches with the
model's ``_generate_rows``, applies the DP post-processing ``correction`` it is given
(:mod:`tabsynth.sampling.correction`; ``None``: none), drops the rejected rows and yields
DataFrames of ``chunk`` rows. The table formats are written by :func:`tabsynth.io.
write_table_chunks`.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import check_param
from .conditions import Condition, ParsedConditions, RejectionBudget, parse_conditions

__all__ = ["iter_chunks"]


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def iter_chunks(model: Any, n: int, chunk_size: int | None,
                conditions: Mapping[str, Any] | None, random_state: Any,
                batch_size: int | None, *, owner: str,
                correction: Any = None) -> Iterator[pd.DataFrame]:
    """Validate a sampling call of ``model``, then yield DataFrames of ``chunk_size`` rows
    (total ``n``; ``chunk_size=None``: one chunk).

    Arguments are checked eagerly (before the first chunk is requested). ``owner`` names the
    caller in errors (``"sample"``: the model's class name). ``correction`` is the
    :class:`~tabsynth.sampling.correction.MarginalCorrection` applied to every generated batch.
    """
    name = type(model).__name__ if owner == "sample" else owner
    check_param(name, "n", n, _is_int(n) and n >= 1, "an int >= 1")
    check_param(
        name, "random_state", random_state,
        random_state is None or (_is_int(random_state) and random_state >= 0),
        "None or an int >= 0",
    )
    check_param(
        name, "batch_size", batch_size,
        batch_size is None or (_is_int(batch_size) and batch_size >= 1),
        "None or an int >= 1",
    )
    parsed = parse_conditions(conditions, model.transformer_)
    exact, rejected = model._plan_conditions(parsed)
    return _chunks(
        model, int(n), int(chunk_size or n), parsed, exact, rejected, random_state,
        int(batch_size or model._sample_batch_size), correction,
    )


def _chunks(
    model: Any,
    n: int,
    chunk: int,
    parsed: ParsedConditions,
    exact: Condition | None,
    rejected: tuple[Condition, ...],
    random_state: Any,
    batch_size: int,
    correction: Any,
) -> Iterator[pd.DataFrame]:
    from .correction import apply_correction

    rng = np.random.default_rng(random_state)
    generator = model._torch_generator(rng, model.device_)
    budget = RejectionBudget(n, rejected, original=parsed.original)
    buffer: list[pd.DataFrame] = []
    buffered = 0
    emitted = 0
    while emitted < n:
        if emitted + buffered < n:
            m = budget.next_batch(n - emitted - buffered, batch_size)
            df = model._generate_rows(m, exact=exact, rng=rng, generator=generator)
            # --- DP post-processing (tabsynth/sampling/correction.py): DP-SGD models only;
            # maps rows onto the model's own DP marginals (stats_), never real data.
            if correction is not None:
                df = apply_correction(df, correction, rng)
            mask = budget.update(df)
            if not mask.all():
                df = df.loc[mask]
            if len(df):
                buffer.append(df)
                buffered += len(df)
            budget.check(emitted + buffered)
        while buffered >= chunk or (buffered and emitted + buffered >= n):
            data = buffer[0] if len(buffer) == 1 else pd.concat(buffer)
            take = min(chunk, n - emitted)
            out = data.iloc[:take].reset_index(drop=True)
            rest = data.iloc[take:]
            buffer = [rest] if len(rest) and emitted + take < n else []
            buffered = len(rest) if buffer else 0
            emitted += take
            yield out
            if emitted >= n:
                return
