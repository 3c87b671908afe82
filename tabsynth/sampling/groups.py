"""Groups of protected values for :func:`tabsynth.rebalance`: domains, target shares, counts.

Everything here works on the model's statistics (its public or DP-released categories) and on
public inputs (the target shares), except :func:`group_codes`, which reads
the real table and serve only ``keep_real=True`` (not a DP release) or non-DP models.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError, check_param

__all__ = ["allocate", "domain", "frequencies", "group_codes", "group_label",
           "plan_added", "protected_columns", "resolve_shares"]

_OWNER = "rebalance"
_SEP = " × "
_OTHER = re.compile(r"^__other__+$")  # the DP / category-cap bucket, not a real value

def group_label(values: Sequence[Any]) -> str:
    """``"Female × White"``: the values of one group joined with ``" × "``."""
    return _SEP.join("(missing)" if v is None else str(v) for v in values)


# ---------------------------------------------------------------------------- inputs
def protected_columns(protected: Any) -> list[str]:
    cols = [protected] if isinstance(protected, str) else protected
    ok = (isinstance(cols, Sequence) and not isinstance(cols, (bytes, bytearray)) and len(cols) > 0
          and all(isinstance(c, str) and c for c in cols) and len(set(cols)) == len(cols))
    check_param(_OWNER, "protected", protected, ok,
                "a column name or a list of distinct column names")
    return list(cols)


def domain(model: Any, column: str) -> list[Any]:
    """The model's (public or DP-released) categories of ``column``, missing/other left out."""
    spans = {s.column: s for s in getattr(model.transformer_, "discrete_spans", ())}
    if column not in spans:
        modelled = list(getattr(model.transformer_, "columns", ()))
        what = "numerical" if column in modelled else "not a modelled column"
        raise ParameterError(
            f"The protected column {column!r} is {what} in the model: rebalance takes "
            f"categorical columns (bin a numeric one first). Categorical columns: "
            f"{list(spans)}."
        )
    st = getattr(getattr(model, "stats_", None), "columns", {}).get(column)
    other = getattr(st, "other", None)
    return [c for c in spans[column].categories
            if c is not None and not (c == other and isinstance(c, str) and _OTHER.match(c))]


def frequencies(model: Any, column: str) -> dict[Any, float]:
    span = next(s for s in model.transformer_.discrete_spans if s.column == column)
    freqs = np.asarray(span.frequencies, dtype=float)
    return dict(zip(span.categories, freqs / max(freqs.sum(), 1e-300), strict=True))


def _key(values: Sequence[Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


def resolve_shares(shares: Any, groups: list[tuple]) -> np.ndarray:
    if isinstance(shares, str):
        check_param(_OWNER, "shares", shares, shares == "equal",
                    "'equal' or a dict {group: share}")
        return np.full(len(groups), 1.0 / len(groups))
    check_param(_OWNER, "shares", shares, isinstance(shares, Mapping) and len(shares) > 0,
                "'equal' or a dict {group: share}")
    index = {_key(g): i for i, g in enumerate(groups)}
    out = np.zeros(len(groups))
    unknown, bad = [], []
    for k, v in shares.items():
        cands = [(k,)] if not isinstance(k, (tuple, list)) else [tuple(k)]
        if isinstance(k, str):
            cands += [tuple(k.split(_SEP)), tuple(p.strip() for p in k.split("×")),
                      tuple(p.strip() for p in k.split("|"))]
        i = next((index[_key(c)] for c in cands if _key(c) in index), None)
        if i is None:
            unknown.append(k)
            continue
        if (not isinstance(v, numbers.Real) or isinstance(v, bool) or not math.isfinite(v)
                or v < 0):
            bad.append(f"{k!r}: {v!r}")
            continue
        out[i] += float(v)
    problems = []
    if unknown:
        known = [group_label(g) for g in groups[:10]]
        problems.append(f"unknown group(s) {unknown[:10]!r} (groups: {known}"
                        f"{' ...' if len(groups) > 10 else ''})")
    if bad:
        problems.append(f"shares must be numbers >= 0 ({', '.join(bad[:10])})")
    if not problems and abs(out.sum() - 1.0) > 1e-6:
        problems.append(f"shares must sum to 1, they sum to {out.sum():.6g}")
    if problems:
        raise ParameterError("The 'shares' parameter of rebalance: " + "; ".join(problems) + ".")
    return out / out.sum()


def allocate(total: int, shares: np.ndarray) -> np.ndarray:
    """Largest-remainder rounding of ``total x shares`` (sums to ``total``, ties by order)."""
    raw = total * shares
    base = np.floor(raw).astype(np.int64)
    left = int(total - base.sum())
    if left > 0:
        order = np.argsort(-(raw - base), kind="stable")
        base[order[:left]] += 1
    return base


def plan_added(counts: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Synthetic rows per group so that ``counts + added`` reaches the ``target`` shares by
    adding rows only: the group with the largest ``count / target`` sets the total size (at
    least the current one), split by :func:`allocate`; a group already above its allocation
    gets none. Groups with a target of 0 must have no rows (the caller checks)."""
    pos = target > 0
    size = max(int(math.ceil(float(np.max(counts[pos] / target[pos])) - 1e-9)),
               int(counts.sum()))
    return np.maximum(allocate(size, target) - counts, 0)


def group_codes(df: pd.DataFrame, cols: list[str], domains: list[list[Any]]) -> np.ndarray:
    """Group index per row of ``df`` (mixed radix over the domains); -1 when a value is missing
    or outside the model's domain."""
    code = np.zeros(len(df), dtype=np.int64)
    outside = np.zeros(len(df), dtype=bool)
    for col, dom in zip(cols, domains, strict=True):
        index = {str(v): i for i, v in enumerate(dom)}
        s = df[col]
        idx = s.astype("object").map(lambda v, index=index: index.get(str(v), -1))
        idx = np.where(s.isna().to_numpy(), -1, idx.to_numpy(dtype=np.int64))
        outside |= idx < 0
        code = code * len(dom) + np.maximum(idx, 0)
    code[outside] = -1
    return code


