"""``sampling_strategy`` as imbalanced-learn reads it: how many synthetic rows per class.

:func:`resolve_sampling_strategy` turns a float ratio, a strategy name or a dict into
``{class: rows to add}`` from the class counts; the label helpers here are shared by
:class:`~tabsynth.Oversampler` and :mod:`tabsynth.sampling.augment`.
"""

from __future__ import annotations

import math
import numbers
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ParameterError

__all__ = ["resolve_sampling_strategy"]

_STRINGS = ("auto", "minority", "not minority", "not majority", "all")


# ---------------------------------------------------------------------------- strategy
def resolve_sampling_strategy(
    sampling_strategy: Any, counts: Mapping[Any, int], *, owner: str = "Oversampler"
) -> OrderedDict:
    """Number of rows to ADD per class (imbalanced-learn's ``sampling_strategy_`` convention).

    Parameters
    ----------
    sampling_strategy : float, str or dict
        float (two classes only): desired ``n_minority / n_majority`` after resampling, which
        must be above the current ratio and <= 1; ``"auto"``/``"not majority"``: every class
        but the majority up to the majority's count; ``"minority"``: the minority class only;
        ``"not minority"``, ``"all"``: as in imbalanced-learn; dict ``{class: n_samples}``:
        the desired total count of each listed class (>= its current count).
    counts : mapping class -> current count

    Raises
    ------
    ParameterError
        Single class, unknown class, a ratio/count at or below the current one.
    """
    counts = dict(counts)
    if len(counts) < 2:
        raise ParameterError(
            f"{owner} needs at least two classes in y to oversample; got {len(counts)} "
            f"({list(counts)})."
        )
    majority = max(counts, key=lambda c: counts[c])
    minority = min(counts, key=lambda c: counts[c])
    n_max = counts[majority]
    out: OrderedDict = OrderedDict()
    if isinstance(sampling_strategy, str):
        if sampling_strategy not in _STRINGS:
            raise ParameterError(
                f"The 'sampling_strategy' parameter of {owner} must be a float in (0, 1], a "
                f"dict {{class: n_samples}} or one of {list(_STRINGS)}. Got "
                f"{sampling_strategy!r} instead."
            )
        if sampling_strategy == "minority":
            targets = [minority]
        elif sampling_strategy == "not minority":
            targets = [c for c in counts if c != minority]
        elif sampling_strategy == "all":
            targets = list(counts)
        else:  # auto, not majority
            targets = [c for c in counts if c != majority]
        for c in sorted(targets, key=_sort_key):
            out[c] = n_max - counts[c]
        return out
    if isinstance(sampling_strategy, Mapping):
        unknown = [c for c in sampling_strategy if _find(c, counts) is _MISSING]
        if unknown:
            raise ParameterError(
                f"Unknown class(es) {unknown} in sampling_strategy of {owner}; the classes "
                f"in y are {sorted(counts, key=_sort_key)}."
            )
        for c, n in sampling_strategy.items():
            key = _find(c, counts)
            if not (isinstance(n, numbers.Integral) and not isinstance(n, bool)):
                raise ParameterError(
                    f"sampling_strategy of {owner}: the count for class {c!r} must be an int. "
                    f"Got {n!r} instead."
                )
            if n < counts[key]:
                raise ParameterError(
                    f"sampling_strategy of {owner} asks for {n} rows of class {c!r}, fewer than "
                    f"the {counts[key]} it already has; an oversampler only adds rows."
                )
            out[key] = int(n) - counts[key]
        return out
    if isinstance(sampling_strategy, numbers.Real) and not isinstance(sampling_strategy, bool):
        ratio = float(sampling_strategy)
        if len(counts) != 2:
            raise ParameterError(
                f"A float sampling_strategy of {owner} is only for two classes (y has "
                f"{len(counts)}); give a dict {{class: n_samples}} instead."
            )
        if not (0 < ratio <= 1):
            raise ParameterError(
                f"The 'sampling_strategy' parameter of {owner} must be a float in (0, 1] "
                f"(minority/majority after resampling). Got {sampling_strategy!r} instead."
            )
        current = counts[minority] / n_max
        if ratio <= current:
            raise ParameterError(
                f"sampling_strategy={ratio:g} of {owner} is not above the current "
                f"minority/majority ratio {current:.4g} (class {minority!r}: {counts[minority]} "
                f"rows, class {majority!r}: {n_max} rows); nothing to add."
            )
        out[minority] = int(math.ceil(ratio * n_max)) - counts[minority]
        return out
    raise ParameterError(
        f"The 'sampling_strategy' parameter of {owner} must be a float in (0, 1], a dict "
        f"{{class: n_samples}} or one of {list(_STRINGS)}. Got {sampling_strategy!r} instead."
    )


_MISSING = object()


def _find(c: Any, counts: Mapping[Any, int]) -> Any:
    """The key of ``counts`` equal to ``c`` (also "1" for 1, as the CLI gives strings)."""
    if c in counts:
        return c
    for k in counts:
        if str(k) == str(c):
            return k
    return _MISSING


def _sort_key(v: Any) -> tuple[str, Any]:
    return (type(v).__name__, v) if not isinstance(v, (int, float, np.number)) else ("", v)


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
