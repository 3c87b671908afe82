"""Rows from a fitted :class:`~tabsynth.models.ar.ARSynthesizer`'s network.

Every condition is met exactly (:mod:`tabsynth.sampling.conditions`, parsed): the conditioned
columns are generated first, each with the logits of the cells outside its condition masked
(:func:`tabsynth.models.ar_tokens.condition_cells`), then the others in the trained order; a
numeric or datetime range also bounds the within-bin draw of the decoding. A DP model never
generates the cells its statistics left at noise level (:func:`tabsynth.models.ar_dp.
noise_cell_masks`) unless a condition asks for them. The model's caches (``_noise_cells``, the
network's ``_tables``) are dropped when its network is built again.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["condition_masks", "generate_cells", "generate_rows", "sampling_order"]


def condition_masks(model: Any, parsed: Any) -> tuple[dict[int, Any], dict[str, tuple], list]:
    """``(allowed cells per column index, numeric bounds per column, conditioned columns in
    the order given)`` of the parsed conditions (``None``: no condition)."""
    from .ar_tokens import condition_cells

    allowed: dict[int, Any] = {}
    bounds: dict[str, tuple] = {}
    first: list[int] = []
    if parsed is None:
        return allowed, bounds, first
    for cond in parsed.conditions:
        j = model.columns_.index(cond.column)
        cells, bound = condition_cells(model.transformer_, cond)
        allowed[j] = cells
        if bound is not None:
            bounds[cond.column] = bound
        first.append(j)
    return allowed, bounds, first


def sampling_order(model: Any, first: list[int]) -> list[int]:
    """The order columns are generated in: the conditioned columns ``first``, then the others
    in the base order (a fixed order or a list stays as trained)."""
    base = model._order if model._order is not None else list(range(len(model.columns_)))
    if model.column_order not in ("random", "flexible"):  # a fixed order stays as trained
        return list(base)
    return first + [j for j in base if j not in first]


def generate_cells(model: Any, n: int, exact: Any, *, generator: Any) -> np.ndarray:
    """``(n, columns)`` cells meeting the conditions ``exact`` (parsed; or ``None``)."""
    import torch

    allowed, _, first = condition_masks(model, exact)
    noise = model.__dict__.get("_noise_cells")
    if noise is None:
        from .ar_dp import noise_cell_masks

        noise = model.__dict__["_noise_cells"] = noise_cell_masks(model)
    for j, keep in noise.items():  # DP cells of noise only; a condition overrides
        allowed.setdefault(j, keep)
    masks = {j: torch.from_numpy(a) for j, a in allowed.items()}
    net = model._net
    net.eval()
    if "_tables" not in model.__dict__:
        model.__dict__["_tables"] = net.lookup_tables()  # None on wide tables
    tables = model.__dict__["_tables"]
    codes = net.sample(n, sampling_order(model, first), generator=generator, allowed=masks,
                       tables=tables)
    return codes.cpu().numpy()


def generate_rows(model: Any, n: int, exact: Any, *, rng: np.random.Generator,
                  generator: Any) -> pd.DataFrame:
    """``n`` decoded rows meeting ``exact``: the cells, then a value drawn within each bin
    (inside a range condition's bounds)."""
    codes = generate_cells(model, n, exact, generator=generator)
    _, bounds, _ = condition_masks(model, exact)
    return model.transformer_.inverse_codes(codes, rng=rng, bounds=bounds)
