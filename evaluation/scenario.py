"""Scenario releases and the rarest-class section of the report.

A *scenario release* is generated under conditions (``tabsynth sample --condition ...``), e.g.
every row ``FraudFound_P=1`` and ``VehicleCategory=Sport`` with a claim amount in a range.
``evaluate(..., conditions=...)`` takes the same mapping, ``column -> value | [values] |
(low, high)`` (a range is inclusive, ``None`` leaves an end open), and then

* restricts the *real* rows of the per-class (rarest-class) section to the rows meeting the
  conditions, so the release is compared with the real rows of its own scenario rather than
  with the whole class (columns fixed to one value by the conditions are left out there: they
  are constant on both sides by construction);
* scores how many release rows meet the conditions (``scenario_conformance``: the share, 1.0
  when every row does, with the count of rows that do not, per condition);
* shows the scenario on the report's first page.

The class of the section is the value the conditions fix for the target, else the target's
rarest class in the real table; without a target the section compares the scenario's real rows
with the whole release.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._encoding import CONTINUOUS, as_float
from ._schema import Kind
from ._types import MetricResult
from .errors import EvaluationParameterError

_OWNER = "evaluate"


def _is_range(v: Any) -> bool:
    return isinstance(v, tuple)


def _bound(x: Any, kind: Kind, col: str) -> float | None:
    if x is None:
        return None
    if kind == "datetime" and not isinstance(x, (int, float)):
        try:
            return float(pd.Timestamp(x).value)
        except (TypeError, ValueError):
            pass
    elif isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
        return float(x)
    raise EvaluationParameterError(
        f"The range of the condition on {col!r} has the bound {x!r}, which is not a "
        + ("date." if kind == "datetime" else "number.")
    )


def check_conditions(conditions: Any, real: pd.DataFrame,
                     kinds: Mapping[str, Kind]) -> dict[str, Any] | None:
    """The conditions, checked against the real table (one error naming every problem)."""
    if conditions is None:
        return None
    if not isinstance(conditions, Mapping) or not conditions:
        raise EvaluationParameterError(
            f"The 'conditions' parameter of {_OWNER} must be a non-empty mapping column -> value "
            f"| list of values | (low, high). Got {conditions!r} instead.")
    out: dict[str, Any] = {}
    problems: list[str] = []
    for col, v in conditions.items():
        col = str(col)
        if col not in kinds:
            problems.append(f"{col!r} is not an evaluated column (columns: {sorted(kinds)})")
            continue
        kind = kinds[col]
        if _is_range(v):
            if len(v) != 2 or kind not in CONTINUOUS:
                problems.append(f"the range {v!r} on {col!r} needs (low, high) and a numeric or "
                                "datetime column" + ("" if kind in CONTINUOUS
                                                     else f" ({col!r} is {kind})"))
                continue
            try:
                lo, hi = (_bound(x, kind, col) for x in v)
            except EvaluationParameterError as exc:
                problems.append(str(exc).rstrip("."))
                continue
            if lo is None and hi is None or (lo is not None and hi is not None and lo > hi):
                problems.append(f"the range {v!r} on {col!r} is empty or open at both ends")
                continue
            out[col] = tuple(v)
            continue
        values = list(v) if isinstance(v, (list, set, frozenset)) else [v]
        if not values:
            problems.append(f"the condition on {col!r} lists no value")
            continue
        if kind not in CONTINUOUS:
            seen = _matches(real[col], values, kind)
            if not seen.any():
                known = sorted(map(str, real[col].dropna().unique()))[:20]
                problems.append(f"no real row has {col!r} in {values!r} (values: {known})")
                continue
        out[col] = values[0] if len(values) == 1 else values
    if problems:
        raise EvaluationParameterError("The conditions cannot be used: " + "; ".join(problems)
                                       + ".")
    return out


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    try:
        return float(str(v))
    except ValueError:
        return None


def _matches(s: pd.Series, values: list[Any], kind: Kind) -> np.ndarray:
    """Rows of ``s`` equal to one of ``values``, tolerant of how the value was typed: a CLI
    string ``"1"`` matches the integer 1, ``"true"`` a boolean True, 1 the text ``"1"``."""
    if pd.api.types.is_bool_dtype(s):
        want = {str(v).lower() for v in values}
        return (s.notna() & s.astype("object").map(lambda x: str(x).lower()).isin(want)
                ).to_numpy(dtype=bool)
    if kind in CONTINUOUS or pd.api.types.is_numeric_dtype(s):
        if kind == "datetime":
            want = [pd.Timestamp(v) for v in values]
            return s.isin(want).to_numpy(dtype=bool)
        nums = [n for n in map(_number, values) if n is not None]
        return np.isin(as_float(s), np.asarray(nums, dtype=float))
    text = {str(v) for v in values}
    hit = (s.notna() & s.astype("object").map(str).isin(text)).to_numpy(dtype=bool)
    nums = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if nums:
        hit |= pd.to_numeric(s, errors="coerce").isin(nums).to_numpy(dtype=bool)
    return hit


def condition_masks(df: pd.DataFrame, conditions: Mapping[str, Any],
                    kinds: Mapping[str, Kind]) -> dict[str, np.ndarray]:
    """Column -> boolean mask of the rows of ``df`` meeting that column's condition."""
    out = {}
    for col, v in conditions.items():
        kind = kinds[col]
        if _is_range(v):
            x = as_float(df[col])
            lo, hi = (_bound(b, kind, col) for b in v)
            ok = ~np.isnan(x)
            if lo is not None:
                ok &= x >= lo
            if hi is not None:
                ok &= x <= hi
            out[col] = ok
        else:
            out[col] = _matches(df[col], v if isinstance(v, list) else [v], kind)
    return out


def meets(df: pd.DataFrame, conditions: Mapping[str, Any], kinds: Mapping[str, Kind]) -> np.ndarray:
    """Rows of ``df`` meeting every condition."""
    ok = np.ones(len(df), dtype=bool)
    for m in condition_masks(df, conditions, kinds).values():
        ok &= m
    return ok


def describe(conditions: Mapping[str, Any] | None) -> str:
    """The scenario in words: ``FraudFound_P = 1, VehicleCategory = Sport, 100 ≤ Age ≤ 200``."""
    if not conditions:
        return "no conditions"
    parts = []
    for col, v in conditions.items():
        if _is_range(v):
            lo, hi = v
            parts.append(f"{col} ≥ {lo}" if hi is None else f"{col} ≤ {hi}" if lo is None
                         else f"{lo} ≤ {col} ≤ {hi}")
        elif isinstance(v, list):
            parts.append(f"{col} in {{{', '.join(map(str, v))}}}")
        else:
            parts.append(f"{col} = {v}")
    return ", ".join(parts)


def to_json(conditions: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The conditions as JSON types (a range as ``{"low": .., "high": ..}``)."""
    if not conditions:
        return None
    return {c: ({"low": v[0], "high": v[1]} if _is_range(v) else v)
            for c, v in conditions.items()}


def scenario_conformance(synthetic: pd.DataFrame, conditions: Mapping[str, Any],
                         kinds: Mapping[str, Kind]) -> MetricResult:
    """Share of release rows meeting every condition, with the counts of those that do not."""
    masks = condition_masks(synthetic, conditions, kinds)
    ok = np.ones(len(synthetic), dtype=bool)
    for m in masks.values():
        ok &= m
    n = len(synthetic)
    return MetricResult(
        name="scenario_conformance", group="fidelity",
        value=float(ok.mean()) if n else float("nan"),
        title="Release rows meeting the scenario",
        description="Share of the release's rows that meet every condition of the scenario it "
        "was generated under (1.0: all of them).",
        details={"scenario": describe(conditions), "rows_checked": int(n),
                 "rows_not_meeting": int(n - ok.sum()),
                 "per_condition": {c: int((~m).sum()) for c, m in masks.items()}},
        reason=None if n else "the release is empty",
    )


def rare_rows(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, Kind], target: str | None,
    conditions: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame] | str:
    """(``{"class": ...}`` or ``{}``, real rows, release rows) of the rare-class section, or
    the reason it cannot run. Real rows: the class within the scenario; release rows: the
    class (all of them; :func:`scenario_conformance` counts those outside the scenario)."""
    conditions = dict(conditions or {})
    in_scenario = (meets(real, conditions, kinds) if conditions
                   else np.ones(len(real), dtype=bool))
    if target is None:
        if not conditions:
            return "no target column was given"
        r, s, info = real[in_scenario], synthetic, {}
    else:
        if kinds.get(target) in CONTINUOUS:
            return f"the target '{target}' is numeric (no classes)"
        fixed = conditions.get(target)
        if fixed is not None and not _is_range(fixed) and not isinstance(fixed, list):
            cls = real[target][_matches(real[target], [fixed], kinds[target])].iloc[:1]
            rarest = cls.iloc[0] if len(cls) else fixed
        else:
            counts = real[target].value_counts(dropna=True)
            if len(counts) < 2:
                return f"the target '{target}' has fewer than two classes"
            rarest = counts.sort_values(kind="stable").index[0]
        in_class = (real[target] == rarest).to_numpy(dtype=bool)
        r = real[in_class & in_scenario]
        s = synthetic[synthetic[target].astype("object") == rarest]
        if len(s) == 0:
            return f"the synthetic table has no row of the rarest class ({rarest!s})"
        info = {"class": rarest}
    if len(r) == 0:
        return "no real row of the class meets the scenario's conditions"
    return info, r, s


def minority_fidelity(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, Kind], target: str | None,
    *, conditions: Mapping[str, Any] | None = None, pair_binning: str = "own",
) -> list[MetricResult]:
    """Shapes and pair trends on the rows of the rarest target class (within the scenario)."""
    from .fidelity import column_pair_trends, column_shapes

    names = ("minority_column_shapes", "minority_column_pair_trends")
    titles = ("Column shapes (rarest class)", "Column pair trends (rarest class)")
    rows = rare_rows(real, synthetic, kinds, target, conditions)
    if isinstance(rows, str):
        return [MetricResult(name=n, group="fidelity", value=float("nan"), title=t,
                             description="", reason=rows)
                for n, t in zip(names, titles, strict=True)]
    info, r, s = rows
    conditions = dict(conditions or {})
    suffix = (f" — class {info['class']!s}" + (", scenario" if conditions else "")
              if "class" in info else " — scenario")
    single = {c for c, v in conditions.items() if not _is_range(v) and not isinstance(v, list)}
    sub = {c: k for c, k in kinds.items() if c != target and c not in single}
    shapes = column_shapes(r, s, sub, prefix="minority_", title_suffix=suffix)
    trends = column_pair_trends(r, s, sub, prefix="minority_", title_suffix=suffix,
                                pair_binning=pair_binning)
    extra: dict[str, Any] = {"class": str(info["class"])} if "class" in info else {}
    extra.update({"real_rows": int(len(r)), "synthetic_rows": int(len(s)),
                  "real_share": round(len(r) / len(real), 6),
                  "synthetic_share": round(len(s) / len(synthetic), 6)})
    if conditions:
        extra["scenario"] = describe(conditions)
    return [
        MetricResult(**{**m.__dict__, "details": {**m.details, **extra}})
        for m in (shapes, trends)
    ]
