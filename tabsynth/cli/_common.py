"""Helpers shared by CLI commands: output-path checks, metadata files, condition parsing."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from tabsynth.errors import ConditionError, ParameterError

_TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
_OP_RE = re.compile(r"^\s*(?P<col>.+?)\s*(?P<op>>=|<=|==|=|>|<)\s*(?P<val>.*?)\s*$")


def parse_sep(ctx: Any, param: Any, value: str | None) -> str | None:
    names = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ",", "pipe": "|"}
    return names.get(value.lower(), value) if value is not None else None


def quiet_option(dest: str = "quiet") -> Any:
    """``--quiet`` / ``--no-progress`` (the same flag on every command): no progress bar."""
    import click

    return click.option("--quiet", "--no-progress", dest, is_flag=True,
                        help="No progress bar (--quiet and --no-progress are the same flag).")


def written_like(csv_format: dict) -> dict[str, str]:
    """``{"sep", "decimal"}`` a CSV output is written with: the ones the training (or --data)
    CSV was read with, else ``,`` and ``.`` (a model fitted from Parquet or a DataFrame)."""
    sep, decimal = csv_format.get("sep"), csv_format.get("decimal")
    ok = all(isinstance(v, str) and len(v) == 1 for v in (sep, decimal)) and sep != decimal
    return {"sep": sep, "decimal": decimal} if ok else {"sep": ",", "decimal": "."}


def csv_options(func: Any) -> Any:
    """``--sep``, ``--decimal`` and ``--na-values`` (how to read a CSV input)."""
    import click

    func = click.option(
        "--na-values", "na_values", multiple=True, metavar="TOKEN",
        help="A CSV cell meaning 'missing' besides the empty field (repeatable). By default "
             "'None', 'NA', 'null'... are ordinary values. Default: the metadata's "
             "na_values, if it names any.")(func)
    func = click.option("--decimal", default=None, metavar="CHAR",
                        help="CSV decimal mark (default: sniffed, '.' or ',').")(func)
    func = click.option("--sep", default=None, metavar="CHAR", callback=parse_sep,
                        help="CSV field separator (default: sniffed among , ; tab |); "
                             "write tab as --sep $'\\t' or --sep tab.")(func)
    return func


def check_writable(path: str | os.PathLike[str], *, table: bool = False) -> Path:
    """Fail early (before any long work) if ``path`` cannot be written.

    Raises ParameterError (exit 2) for a table name whose format cannot be told, and
    OutputError (exit 5) for a directory, a missing folder or one where no file can be
    created (read-only file system, ``/proc``...).
    """
    from tabsynth._atomic import check_output_path

    p = Path(path)
    if table and not p.name.lower().endswith(_TABLE_SUFFIXES):
        raise ParameterError(
            f"Cannot tell the output format of {str(p)!r}: use a name ending in "
            + ", ".join(_TABLE_SUFFIXES)
            + "."
        )
    return check_output_path(p)


def check_distinct(inputs: dict[str, str | None], outputs: dict[str, str | None]) -> None:
    """Refuse an output that would overwrite one of the command's inputs."""
    seen = {os.path.realpath(v): k for k, v in inputs.items() if v}
    for name, value in outputs.items():
        if value and os.path.realpath(value) in seen:
            raise ParameterError(
                f"The output {name} {value!r} is also the input {seen[os.path.realpath(value)]};"
                " choose another output path."
            )


def _number(raw: str) -> int | float | None:
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return None


def _cast_like(raw: str, categories: list[Any] | None) -> Any:
    """Turn a CLI string into the value of the same type as the model's categories.

    A column the model has no categories for (numeric, datetime) gets a number when the
    string is one (``avg_glucose_level=100``), else the string.
    """
    if categories is None:
        number = _number(raw)
        return raw if number is None else number
    if categories:
        for cat in categories:
            if cat is not None and str(cat) == raw:
                return cat
        lowered = raw.lower()
        for cat in categories:
            if isinstance(cat, bool) and str(cat).lower() == lowered:
                return cat
    return raw


def parse_conditions(
    items: tuple[str, ...], categories_of: dict[str, list[Any]],
    datetime_columns: frozenset[str] | set[str] = frozenset(),
) -> dict[str, Any]:
    """Parse ``col=value`` / ``col>=x`` / ``col<x`` strings into a conditions mapping.

    ``categories_of`` maps each conditionable (categorical/boolean) column to its categories so
    that ``fraud=1`` selects the integer category 1. Comparisons become ranges ``(low, high)``
    with ``None`` for an open end; ``>``/``<`` are treated as ``>=``/``<=`` (the generator's
    values are continuous, so the difference has probability zero). A bound is a number, or
    the text as written where it is not one (a date: ``when>=2024-06-01``), which the model or
    the evaluator checks against the column's type; on ``datetime_columns`` it is always the
    text (``when>=2024`` is a year, not the number 2024).
    """
    out: dict[str, Any] = {}
    for item in items:
        m = _OP_RE.match(item)
        if not m or not m.group("col"):
            raise ConditionError(
                f"Cannot read the condition {item!r}: write col=value, col>=x or col<=x."
            )
        col, op, val = m.group("col"), m.group("op"), m.group("val")
        if op in ("=", "=="):
            if col in out:
                raise ConditionError(f"The column {col!r} is conditioned twice.")
            out[col] = _cast_like(val, categories_of.get(col))
            continue
        bound: Any = val
        if col not in datetime_columns:
            try:
                bound = float(val)
            except ValueError:
                if not val:
                    raise ConditionError(
                        f"The condition {item!r} compares {col!r} with nothing: write "
                        f"{col}{op}x (a number, or a date on a datetime column).") from None
        low, high = out.get(col, (None, None)) if isinstance(out.get(col), tuple) else (None, None)
        if op in (">=", ">"):
            low = bound
        else:
            high = bound
        out[col] = (low, high)
    return out
