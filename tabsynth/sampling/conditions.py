"""Sampling conditions: parse them once, then meet them exactly or by bounded rejection.

``conditions`` is a dict keyed by column name:

* categorical / boolean column -> one value (``{"income": ">50K"}``) or a list/set of values
  (``{"race": ["Black", "Other"]}``);
* numerical / datetime column -> a ``(lo, hi)`` tuple, ``None`` meaning open
  (``{"age": (60, None)}``, bounds inclusive) or a single value (equality); on a duration
  (``timedelta64``) column a bound is seconds or a duration (``"1h"``, ``pd.Timedelta``).

A single categorical value can be met *exactly* by a CTGAN through its conditional vector
(:attr:`ParsedConditions.exact`); everything else is checked row by row on generated data
(:func:`condition_mask`) and met by bounded rejection sampling (:class:`RejectionBudget`):
never fewer rows than asked, a :class:`~tabsynth.errors.ConditionError` naming the
condition when the budget runs out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConditionError

__all__ = [
    "Condition",
    "ParsedConditions",
    "RejectionBudget",
    "condition_mask",
    "parse_conditions",
]


@dataclass(frozen=True)
class Condition:
    """One parsed condition on one column.

    ``kind`` is ``"equal"`` (categorical value; ``span``/``category`` locate it in the
    conditional vector), ``"isin"`` (several categorical values), ``"range"`` (inclusive
    ``lo``/``hi``, ``None`` open) or ``"value"`` (numeric equality).
    """

    column: str
    kind: str
    value: Any = None
    values: tuple = ()
    lo: Any = None
    hi: Any = None
    span: int = -1
    category: int = -1
    rate: float = 1.0  # prior acceptance rate (category frequency; 1.0 when unknown)
    sdtype: str = ""

    def describe(self) -> str:
        if self.kind == "equal":
            return f"{self.column!r} == {self.value!r}"
        if self.kind == "isin":
            return f"{self.column!r} in {list(self.values)!r}"
        if self.kind == "value":
            return f"{self.column!r} == {self.value!r}"
        return f"{self.column!r} in [{self.lo!r}, {self.hi!r}]"


@dataclass(frozen=True)
class ParsedConditions:
    """All conditions of one ``sample`` call, in the order given."""

    conditions: tuple[Condition, ...] = ()
    original: Mapping[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.conditions)

    @property
    def exact(self) -> tuple[Condition, ...]:
        """Conditions a conditional vector can meet exactly (single categorical values)."""
        return tuple(c for c in self.conditions if c.kind == "equal")

    def without(self, cond: Condition | None) -> tuple[Condition, ...]:
        """The conditions other than ``cond``."""
        return tuple(c for c in self.conditions if c is not cond)


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _frequency(transformer: Any, span: int, category: int) -> float:
    try:
        freqs = np.asarray(transformer.discrete_spans[span].frequencies, dtype=float)
        total = float(freqs.sum())
        return float(freqs[category] / total) if total > 0 else 1.0
    except Exception:  # noqa: BLE001 - a prior only; 1.0 is a safe fallback
        return 1.0


def _check_seen(transformer: Any, column: str, span: int, category: int) -> None:
    """Refuse (exact statistics) or flag (DP statistics) a class the model holds no rows of.

    Exact statistics: frequency 0 means no training row had the value (it is in the model only
    through a declared public domain), so nothing learnt describes it: a ConditionError. DP
    statistics: frequencies are floored and never 0, and whether a row had the value must not
    be told; when the DP estimate is below one row, a warning says the rows come from the
    model's prior for the class, not from data.
    """
    stats = getattr(transformer, "stats", None)
    freq = _frequency(transformer, span, category)
    value = transformer.discrete_spans[span].categories[category]
    if getattr(stats, "source", "exact") != "dp":
        if freq == 0.0:
            raise ConditionError(
                f"The model saw no training row with {column}={value!r} (it knows the value "
                "only from the declared public domain), so it cannot generate such rows "
                "faithfully. Condition on a value the training data holds."
            )
        return
    n = getattr(stats, "n_rows", None) or 0
    if freq * n < 1.0:
        import warnings

        from ..errors import DataWarning

        warnings.warn(
            f"{column}={value!r}: the model's DP estimate of this class is below one row, so "
            "the generated rows come from the model's prior for it (a declared domain allows "
            "the value), not from training data. Check them before use.",
            DataWarning, stacklevel=3,
        )


def parse_conditions(conditions: Mapping[str, Any] | None, transformer: Any) -> ParsedConditions:
    """Check ``conditions`` against a fitted transformer and parse them.

    Raises
    ------
    ConditionError
        Not a dict, unknown column, unknown category, malformed range — the message names
        the column and value.
    """
    if conditions is None:
        return ParsedConditions()
    if not isinstance(conditions, Mapping):
        raise ConditionError(
            "conditions must be a dict {column: value or (lo, hi)}, "
            f"got {type(conditions).__name__}."
        )
    columns = list(transformer.columns)
    discrete = {s.column: i for i, s in enumerate(transformer.discrete_spans)}
    parsed: list[Condition] = []
    for column, value in conditions.items():
        if column not in columns:
            raise ConditionError(
                f"Unknown column {column!r} in conditions. Columns that can be conditioned "
                f"on: {columns}."
            )
        if column in discrete:
            if isinstance(value, tuple):
                raise ConditionError(
                    f"Column {column!r} is categorical: give one value or a list of values, "
                    f"not a range {value!r}."
                )
            if isinstance(value, (list, set, frozenset)):
                if not value:
                    raise ConditionError(f"The list of values for column {column!r} is empty.")
                rate = 0.0
                canonical = []
                for v in value:
                    span, cat = transformer.condition_index(column, v)
                    _check_seen(transformer, column, span, cat)
                    rate += _frequency(transformer, span, cat)
                    canonical.append(transformer.discrete_spans[span].categories[cat])
                parsed.append(
                    Condition(column, "isin", values=tuple(canonical), rate=min(rate, 1.0) or 1.0)
                )
                continue
            span, cat = transformer.condition_index(column, value)
            _check_seen(transformer, column, span, cat)
            # Compare generated rows with the category itself ("13" given for 13 matches 13).
            canonical = transformer.discrete_spans[span].categories[cat]
            parsed.append(
                Condition(
                    column, "equal", value=canonical, span=int(span), category=int(cat),
                    rate=_frequency(transformer, span, cat),
                )
            )
            continue
        sdtype = _sdtype(transformer, column)
        if isinstance(value, tuple):
            if len(value) != 2:
                raise ConditionError(
                    f"The range for column {column!r} must be a (lo, hi) tuple, got {value!r}."
                )
            lo, hi = value
            if lo is None and hi is None:
                continue  # (None, None): no constraint
            lo = _check_scalar(column, sdtype, lo, "bound")
            hi = _check_scalar(column, sdtype, hi, "bound")
            try:
                if lo is not None and hi is not None and _as_comparable(lo) > _as_comparable(hi):
                    raise ConditionError(
                        f"The range for column {column!r} is empty: lo={lo!r} > hi={hi!r}."
                    )
            except TypeError:
                raise ConditionError(
                    f"The range bounds for column {column!r} cannot be compared: {value!r}."
                ) from None
            parsed.append(Condition(column, "range", lo=lo, hi=hi, sdtype=sdtype))
            continue
        if isinstance(value, (list, set, frozenset)) or _is_missing(value):
            raise ConditionError(
                f"Column {column!r} is numerical/datetime: give a (lo, hi) range or one value, "
                f"got {value!r}."
            )
        value = _check_scalar(column, sdtype, value, "value")
        parsed.append(Condition(column, "value", value=value, sdtype=sdtype))
    return ParsedConditions(tuple(parsed), dict(conditions))


def _sdtype(transformer: Any, column: str) -> str:
    """The column's sdtype; ``"duration"`` for a numerical column of a ``timedelta64`` dtype
    (modelled in seconds)."""
    try:
        col = transformer.metadata.columns[column]
    except (AttributeError, KeyError):
        return "numerical"
    if col.is_duration:
        return "duration"
    return str(col.sdtype)


def _seconds(column: str, value: Any, what: str) -> Any:
    """A duration bound in seconds (numbers are seconds already)."""
    if isinstance(value, (str, pd.Timedelta, np.timedelta64)) or hasattr(value, "total_seconds"):
        try:
            td = pd.Timedelta(value)
        except (TypeError, ValueError):
            td = None
        if td is not None and not pd.isna(td):
            return td.total_seconds()
        raise ConditionError(
            f"Column {column!r} is a duration: the condition {what} must be a number of "
            f"seconds or a duration such as '90min' or '1 days 02:00:00', got {value!r}."
        )
    return value


def _check_scalar(column: str, sdtype: str, value: Any, what: str) -> Any:
    """A range bound / value usable against a numerical or datetime column (None passes)."""
    if value is None:
        return None
    if sdtype == "duration":
        value = _seconds(column, value, what)
    if sdtype == "datetime":
        if isinstance(value, (str, pd.Timestamp, np.datetime64)) or hasattr(value, "isoformat"):
            try:
                ts = pd.Timestamp(value)
            except (TypeError, ValueError):
                ts = None
            if ts is not None and not pd.isna(ts):
                return value
        raise ConditionError(
            f"Column {column!r} is datetime: the condition {what} must be a date or a date "
            f"string, got {value!r}."
        )
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    ) and not _is_missing(value):
        return value
    raise ConditionError(
        f"Column {column!r} is numerical: the condition {what} must be a number, got {value!r}."
    )


def _as_comparable(v: Any) -> Any:
    if isinstance(v, str):
        return pd.Timestamp(v)
    return v


def _column_mask(s: pd.Series, cond: Condition) -> np.ndarray:
    if cond.kind == "equal":
        if _is_missing(cond.value):
            return s.isna().to_numpy()
        return (s == cond.value).fillna(False).to_numpy(dtype=bool)
    if cond.kind == "isin":
        mask = s.isin([v for v in cond.values if not _is_missing(v)]).to_numpy(dtype=bool)
        if any(_is_missing(v) for v in cond.values):
            mask |= s.isna().to_numpy()
        return mask
    if cond.sdtype == "datetime" and not pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = pd.to_datetime(s, errors="coerce", format="mixed")
    if cond.kind == "value":
        return (s == _bound_for(s, cond.value)).fillna(False).to_numpy(dtype=bool)
    mask = np.ones(len(s), dtype=bool)
    if cond.lo is not None:
        mask &= (s >= _bound_for(s, cond.lo)).fillna(False).to_numpy(dtype=bool)
    if cond.hi is not None:
        mask &= (s <= _bound_for(s, cond.hi)).fillna(False).to_numpy(dtype=bool)
    return mask


def _bound_for(s: pd.Series, bound: Any) -> Any:
    if pd.api.types.is_timedelta64_dtype(s.dtype) and not isinstance(bound, pd.Timedelta):
        return pd.Timedelta(seconds=float(bound))  # a duration bound, parsed to seconds
    if pd.api.types.is_datetime64_any_dtype(s.dtype) and not isinstance(bound, pd.Timestamp):
        try:
            return pd.Timestamp(bound)
        except (TypeError, ValueError):
            raise ConditionError(
                f"Cannot compare column {s.name!r} (datetime) with {bound!r}."
            ) from None
    return bound


def condition_mask(
    df: pd.DataFrame, conditions: tuple[Condition, ...] | ParsedConditions
) -> tuple[np.ndarray, list[int]]:
    """Rows of ``df`` meeting every condition, and how many rows meet each one.

    Raises
    ------
    ConditionError
        A bound cannot be compared with the column's values.
    """
    conds = conditions.conditions if isinstance(conditions, ParsedConditions) else conditions
    mask = np.ones(len(df), dtype=bool)
    counts: list[int] = []
    for cond in conds:
        try:
            m = _column_mask(df[cond.column], cond)
        except TypeError:
            raise ConditionError(
                f"Cannot compare column {cond.column!r} with the condition {cond.describe()}."
            ) from None
        counts.append(int(m.sum()))
        mask &= m
    return mask, counts


class RejectionBudget:
    """Book-keeping of bounded rejection sampling.

    Parameters
    ----------
    n : int
        Rows wanted.
    conditions : tuple of Condition
        Conditions checked by rejection (empty: every row is accepted).
    max_candidates : int, optional
        Most candidate rows generated before giving up; default ``max(1000 * n, 1_000_000)``.
    """

    def __init__(
        self,
        n: int,
        conditions: tuple[Condition, ...],
        *,
        original: Mapping[str, Any] | None = None,
        max_candidates: int | None = None,
    ) -> None:
        self.n = int(n)
        self.conditions = conditions
        self.original = dict(original or {})
        self.max_candidates = (
            int(max_candidates) if max_candidates is not None else max(1000 * self.n, 1_000_000)
        )
        self.generated = 0
        self.accepted = 0
        self.per_condition = [0] * len(conditions)
        self.prior = math.prod(c.rate for c in conditions) if conditions else 1.0

    @property
    def rate(self) -> float:
        """Estimated acceptance rate (prior until enough candidates were seen)."""
        if self.generated < 200:
            return max(self.prior, 1e-6)
        if self.accepted == 0:
            return max(min(self.prior, 1.0 / self.generated) / 4, 1e-6)
        return self.accepted / self.generated

    def next_batch(self, remaining: int, batch_size: int) -> int:
        """How many candidates to generate next for ``remaining`` wanted rows."""
        if not self.conditions:
            return min(remaining, batch_size)
        want = math.ceil(remaining / self.rate * 1.1) + 16
        left = self.max_candidates - self.generated
        return max(1, min(want, batch_size, left))

    def update(self, df: pd.DataFrame) -> np.ndarray:
        """Record a generated batch; return its acceptance mask."""
        self.generated += len(df)
        if not self.conditions:
            self.accepted += len(df)
            return np.ones(len(df), dtype=bool)
        mask, counts = condition_mask(df, self.conditions)
        self.per_condition = [a + b for a, b in zip(self.per_condition, counts, strict=True)]
        self.accepted += int(mask.sum())
        return mask

    def check(self, got: int) -> None:
        """Raise once the budget cannot deliver ``self.n`` rows (exhausted or hopeless)."""
        if got >= self.n or not self.conditions:
            return
        exhausted = self.generated >= self.max_candidates
        # Fail early when the observed rate makes the budget impossible to meet.
        hopeless = (
            self.generated >= 100_000
            and self.accepted / self.generated * self.max_candidates < self.n * 0.5
        )
        if not (exhausted or hopeless):
            return
        worst = min(range(len(self.conditions)), key=lambda i: self.per_condition[i])
        cond = self.conditions[worst]
        raise ConditionError(
            f"Could not generate {self.n} rows meeting the conditions {self.original!r}: "
            f"{got} of {self.generated:,} candidate rows matched. The hardest condition is "
            f"{cond.describe()} ({self.per_condition[worst]:,} candidate rows met it). The "
            "conditions may be impossible or too rare for this model; widen the range or "
            "condition on fewer columns."
        )
