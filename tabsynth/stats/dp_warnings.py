"""The UtilityWarnings of a DP fit's statistics, one per kind for the whole table.

A wide, small table can have weak DP bounds on most of its columns; one warning per column
buried the advice (400 rows of 60 columns at epsilon 1 printed 73 lines). Each kind is
reported once: a single column with its own message (its bound, its share), several with
their names (the first :data:`SHOWN`, then how many more). Both read only released noisy
outputs (post-processing); nothing is measured or saved for them.
"""

from __future__ import annotations

import warnings

from ..privacy import UtilityWarning
from ..privacy.bounds import FALLBACK_WIDTH

__all__ = ["SHOWN", "column_list", "warn_clipped", "warn_guessed"]

#: Columns named in a grouped warning; the rest are counted.
SHOWN = 8


def column_list(names: list[str], shown: int = SHOWN) -> str:
    """``'a', 'b', 'c' (+5 more)``."""
    text = ", ".join(repr(n) for n in names[:shown])
    return text + (f" (+{len(names) - shown} more)" if len(names) > shown else "")


def warn_guessed(guessed: list[tuple[str, str]]) -> None:
    """Columns whose DP bounds are a guess: ``(column, the bounds mechanism's warning)``."""
    if len(guessed) == 1:
        warnings.warn(guessed[0][1], UtilityWarning, stacklevel=3)
    elif guessed:
        names = [name for name, _ in guessed]
        warnings.warn(
            f"columns {column_list(names)} bounds: for each of these {len(names)} columns, no "
            "bin or stretch of bins of its DP bounds histogram clears the noise threshold, so "
            f"its bounds are a guess (the likeliest stretch of at most {FALLBACK_WIDTH} bins) "
            "and may lie far from the data. Declare these columns' public_bounds, or raise "
            "epsilon or the share of it spent on preprocessing.", UtilityWarning, stacklevel=3)


_REMEDY = ("Declare the column's public_bounds in the metadata, or raise epsilon or the share "
           "of it spent on preprocessing.")


def warn_clipped(clipped: list[tuple[str, float, str]]) -> None:
    """Columns that a DP upper bound cut off: ``(column, share of the rows, bound)``."""
    if len(clipped) == 1:
        name, share, bound = clipped[0]
        warnings.warn(
            f"Column {name!r}: about {100 * share:.0f}% of the rows (a DP estimate) lie at "
            f"or above its DP upper bound {bound} and were clipped to it: the bounds "
            "histogram could not see the column's upper range above its noise (too few "
            "rows per bin). The synthetic column will not reach those values. " + _REMEDY,
            UtilityWarning, stacklevel=3)
    elif clipped:
        parts = [f"{name!r} (about {100 * share:.0f}% at or above {bound})"
                 for name, share, bound in clipped[:SHOWN]]
        more = f" (+{len(clipped) - SHOWN} more)" if len(clipped) > SHOWN else ""
        warnings.warn(
            f"Columns {', '.join(parts)}{more}: that share of each of these {len(clipped)} "
            "columns' rows (a DP estimate) lies at or above its DP upper bound and was "
            "clipped to it: the bounds histogram could not see the column's upper range "
            "above its noise (too few rows per bin). The synthetic columns will not reach "
            "those values. " + _REMEDY.replace("the column's", "these columns'"),
            UtilityWarning, stacklevel=3)
