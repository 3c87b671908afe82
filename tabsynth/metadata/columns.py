"""One column's metadata: :class:`ColumnMetadata` (semantic type, what is declared public).

``public_bounds`` / ``public_domain`` / ``decimals`` are declared public by the user and cost no
privacy budget. ``id`` and ``text`` columns are excluded from modelling.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .._scalars import jsonable, sort_key
from ..errors import MetadataError, is_real

__all__ = ["EXCLUDED_SDTYPES", "REPRESENTATIONS", "SDTYPES", "ColumnMetadata", "bound_to_seconds",
           "duration_to_seconds"]

SDTYPES = ("numerical", "categorical", "boolean", "datetime", "id", "text")
EXCLUDED_SDTYPES = ("id", "text")
REPRESENTATIONS = ("int", "float")


@dataclass(frozen=True)
class ColumnMetadata:
    """What is known about one column.

    Parameters
    ----------
    sdtype : {"numerical", "categorical", "boolean", "datetime", "id", "text"}
        Semantic type. ``id`` and ``text`` columns are not modelled.
    representation : {"int", "float"} or None
        Numerical columns only; ``None`` for the other sdtypes (defaults to ``"float"``).
    datetime_format : str or None
        ``strftime`` format of a datetime column stored as text.
    public_bounds : (lo, hi) or None
        Bounds declared public by the user (numerical/datetime columns). Datetime bounds may be
        date strings or epoch seconds.
    public_domain : tuple or None
        Complete list of values declared public (categorical/boolean columns).
    dtype : str or None
        The pandas dtype of the training column (``"int64"``, ``"str"``, ...), restored on
        sampling.
    decimals : int or None
        Decimals a float column's generated values are rounded to (0-15), declared public
        (a codebook's "recorded to 0.1"). Without it a non-private fit reads the rounding off
        the data and a DP fit does not round (nothing may be read off the values).
    """

    sdtype: str
    representation: str | None = None
    datetime_format: str | None = None
    public_bounds: tuple | None = None
    public_domain: tuple | None = None
    dtype: str | None = None
    decimals: int | None = None

    def __post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise MetadataError("; ".join(problems))
        if self.sdtype == "numerical" and self.representation is None:
            object.__setattr__(self, "representation", "float")
        if self.public_bounds is not None:
            object.__setattr__(self, "public_bounds", tuple(jsonable(list(self.public_bounds))))
        if self.public_domain is not None:
            object.__setattr__(self, "public_domain", tuple(jsonable(list(self.public_domain))))

    def _problems(self) -> list[str]:
        out: list[str] = []
        if self.sdtype not in SDTYPES:
            out.append(f"sdtype must be one of {list(SDTYPES)}, got {self.sdtype!r}")
            return out
        if self.representation is not None:
            if self.sdtype != "numerical":
                out.append(
                    f"representation applies to numerical columns only, "
                    f"not to a {self.sdtype} column"
                )
            elif self.representation not in REPRESENTATIONS:
                out.append(
                    f"representation must be one of {list(REPRESENTATIONS)}, "
                    f"got {self.representation!r}"
                )
        if self.datetime_format is not None:
            if self.sdtype != "datetime":
                out.append("datetime_format applies to datetime columns only")
            elif not isinstance(self.datetime_format, str) or "%" not in self.datetime_format:
                out.append(
                    f"datetime_format must be a strftime format string such as '%Y-%m-%d', "
                    f"got {self.datetime_format!r}"
                )
        if self.public_bounds is not None:
            out.extend(self._bounds_problems())
        if self.public_domain is not None:
            dom = self.public_domain
            if self.sdtype not in ("categorical", "boolean"):
                out.append("public_domain applies to categorical and boolean columns only")
            elif isinstance(dom, (str, bytes)) or not isinstance(dom, Iterable):
                out.append(f"public_domain must be a list of values, got {dom!r}")
            else:
                values = list(dom)
                if not values:
                    out.append("public_domain must not be empty")
                elif any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
                    out.append("public_domain must not contain missing values (None/NaN)")
                elif len({sort_key(v) for v in values}) != len(values):
                    out.append("public_domain has duplicate values")
        if self.decimals is not None:
            out.extend(self._decimals_problems())
        if self.dtype is not None and not isinstance(self.dtype, str):
            out.append(f"dtype must be a string such as 'int64', got {self.dtype!r}")
        return out

    def _decimals_problems(self) -> list[str]:
        d = self.decimals
        if self.sdtype != "numerical":
            return [f"decimals applies to numerical columns only, not to a {self.sdtype} column"]
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or not 0 <= d <= 15:
            return [f"decimals must be an integer from 0 to 15, got {d!r}"]
        if self.representation == "int" and d != 0:
            return [f"integer columns have no decimals (got decimals={d!r}); declare "
                    f"representation 'float' if the values have decimals"]
        return []

    def _bounds_problems(self) -> list[str]:
        b = self.public_bounds
        if self.sdtype not in ("numerical", "datetime"):
            return ["public_bounds applies to numerical and datetime columns only"]
        if isinstance(b, (str, bytes)) or not isinstance(b, Iterable) or len(list(b)) != 2:
            return [f"public_bounds must be a pair [lower, upper], got {b!r}"]
        lo, hi = list(b)
        if self.sdtype == "datetime":
            try:
                lo_v, hi_v = (bound_to_seconds(v) for v in (lo, hi))
            except (TypeError, ValueError):
                return [f"public_bounds must be two dates or epoch seconds, got {b!r}"]
        elif self.is_duration:
            try:
                lo_v, hi_v = (duration_to_seconds(v) for v in (lo, hi))
            except (TypeError, ValueError):
                return [f"public_bounds of a duration column must be two durations ('10h', "
                        f"'1 days 02:00:00') or seconds, got {b!r}"]
        else:
            ok = all(
                is_real(v) and math.isfinite(v)
                for v in (lo, hi)
            )
            if not ok:
                return [f"public_bounds must be two finite numbers, got {b!r}"]
            lo_v, hi_v = float(lo), float(hi)
        if lo_v > hi_v:
            return [f"public_bounds lower must be <= upper, got {b!r}"]
        return []

    @property
    def is_duration(self) -> bool:
        """A numerical column of a ``timedelta64`` dtype (modelled in seconds)."""
        return self.sdtype == "numerical" and str(self.dtype or "").startswith("timedelta64")

    @property
    def modelled(self) -> bool:
        """Whether the column takes part in modelling (not ``id``/``text``)."""
        return self.sdtype not in EXCLUDED_SDTYPES

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of all fields."""
        return {
            "sdtype": self.sdtype,
            "representation": self.representation,
            "datetime_format": self.datetime_format,
            "public_bounds": None if self.public_bounds is None else list(self.public_bounds),
            "public_domain": None if self.public_domain is None else list(self.public_domain),
            "dtype": self.dtype,
        } | ({} if self.decimals is None else {"decimals": int(self.decimals)})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, name: str = "?") -> ColumnMetadata:
        """Build from :meth:`to_dict` output, rejecting unknown keys."""
        if not isinstance(d, Mapping):
            raise MetadataError(f"Column {name!r}: expected a JSON object, got {d!r}.")
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(d) - set(valid))
        if unknown:
            raise MetadataError(
                f"Column {name!r}: unknown key(s) {unknown}. Valid keys: {valid}."
            )
        if "sdtype" not in d:
            raise MetadataError(f"Column {name!r}: the 'sdtype' key is required.")
        try:
            return cls(**dict(d))
        except MetadataError as exc:
            raise MetadataError(f"Column {name!r}: {exc}") from None


def _seconds(value: Any, parse: Any) -> float:
    """A number as itself (finite), anything else through ``parse`` (NaT refused)."""
    if isinstance(value, bool):
        raise TypeError("a bool is not a bound")
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise ValueError("not finite")
        return float(value)
    parsed = parse(value)
    if parsed is pd.NaT:
        raise ValueError("NaT")
    return float(parsed)


def _epoch_seconds(value: Any) -> Any:
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        return ts
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return (ts - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)


def bound_to_seconds(value: Any) -> float:
    """A datetime bound (date string, Timestamp or epoch seconds) as epoch seconds."""
    return _seconds(value, _epoch_seconds)


def duration_to_seconds(value: Any) -> float:
    """A duration bound (seconds, a duration string such as ``"10h"``, a Timedelta) in
    seconds."""
    return _seconds(value, _duration_seconds)


def _duration_seconds(value: Any) -> Any:
    td = pd.Timedelta(value)
    return td if td is pd.NaT else td.total_seconds()
