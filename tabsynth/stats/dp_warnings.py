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

__all__ = ["FOLD_WARN_SHARE", "SHOWN", "column_list", "warn_clipped", "warn_folded",
           "warn_guessed"]

#: Columns named in a grouped warning; the rest are counted.
SHOWN = 8
#: A text column is reported when "__other__" holds at least this share of its values.
FOLD_WARN_SHARE = 0.5


def column_list(names: list[str], shown: int = SHOWN) -> str:
    """``'a', 'b', 'c' (+5 more)``."""
    text = ", ".join(repr(n) for n in names[:shown])
    return text + (f" (+{len(names) - shown} more)" if len(names) > shown else "")


def warn_guessed(guessed: list[tuple[str, str]]) -> None:
    """Columns whose DP bounds are a guess: ``(column, the bounds mechanism's warning)``."""
    if len(guessed) == 1:
        warnings.warn(guessed[0][1], UtilityWarning, stacklevel=4)
    elif guessed:
        names = [name for name, _ in guessed]
        warnings.warn(
            f"columns {column_list(names)} bounds: for each of these {len(names)} columns, no "
            "bin or stretch of bins of its DP bounds histogram clears the noise threshold, so "
            f"its bounds are a guess (the likeliest stretch of at most {FALLBACK_WIDTH} bins) "
            "and may lie far from the data. Declare these columns' public_bounds, or raise "
            "epsilon or the share of it spent on preprocessing.", UtilityWarning, stacklevel=4)


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
            UtilityWarning, stacklevel=4)
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
            UtilityWarning, stacklevel=4)


def warn_folded(folded: list[tuple[str, float, bool]]) -> None:
    """Text columns mostly released as "__other__": ``(column, its share, only "__other__")``."""
    remedy = ("Declare the column's public_domain (from a published codebook, never from "
              "the rows), or raise epsilon or the share of it spent on preprocessing.")
    if len(folded) == 1:
        name, share, only = folded[0]
        why = ("no category was frequent enough to clear the DP threshold, so every synthetic "
               "value is '__other__'" if only else "the values below the DP threshold fold "
               "into it, so the synthetic column is mostly '__other__'")
        warnings.warn(f"Column {name!r}: about {100 * share:.0f}% of its values (a DP estimate) "
                      f"are released as '__other__': {why}. " + remedy,
                      UtilityWarning, stacklevel=4)
    elif folded:
        parts = [f"{name!r} (about {100 * share:.0f}%)" for name, share, _ in folded[:SHOWN]]
        more = f" (+{len(folded) - SHOWN} more)" if len(folded) > SHOWN else ""
        warnings.warn(
            f"Columns {', '.join(parts)}{more}: that share of each of these {len(folded)} "
            "columns' values (a DP estimate) is released as '__other__': the values below the "
            "DP threshold fold into it, so the synthetic columns are mostly '__other__'. "
            + remedy.replace("the column's", "these columns'"), UtilityWarning, stacklevel=4)
