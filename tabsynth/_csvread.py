"""Reading CSV the way a user's export is written: sniffed delimiter and decimal mark,
only the empty field as missing, and one stated rule for text in a numeric column.

Rules (the README's "Reading CSV" section):

* **Delimiter**: ``,``, ``;``, tab or ``|``, whichever splits the first 64 KiB into the
  same number (> 1) of fields on (nearly) every line; ``--sep`` overrides. A read that gives
  one column whose name contains a delimiter is refused (pass ``--sep``).
* **Decimal mark**: ``,`` when the separator is not ``,`` and numbers are written ``1,5``
  (and none ``1.5``); ``--decimal`` overrides. Thousands separators are not read.
* **Missing values**: only the empty field, unless NA tokens are named (``--na-values``).
  Words such as ``None``, ``NA`` or ``null`` are ordinary values. The token the input used for
  missing (the most frequent of them) is kept in ``df.attrs["na_rep"]`` for writing back.
* **Rows with too few fields** are read with missing values there, with one warning giving
  the count; a row with **too many** fields is an error naming its line.
* **Numbers and text in one column**: a column whose cells are all numbers is numeric; one
  where more than half of the non-missing cells are numbers and the others are not is
  refused (name those tokens with ``--na-values``, fix them, or declare the column
  categorical/id/text in the metadata); otherwise the column is text (categorical).
"""

from __future__ import annotations

import csv
import gzip
import io
import warnings
from collections import Counter
from collections.abc import Collection, Sequence
from pathlib import Path

import pandas as pd

from .errors import DataError, DataWarning

DELIMITERS = (",", ";", "\t", "|")
_SNIFF_BYTES = 64 * 1024
_TRUE, _FALSE = {"True", "true", "TRUE"}, {"False", "false", "FALSE"}


def _open_text(path: Path):  # noqa: ANN202 - a text file object
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _head(path: Path) -> str:
    with _open_text(path) as fh:
        text = fh.read(_SNIFF_BYTES)
        more = fh.read(1)
    if more and "\n" in text:
        text = text[: text.rindex("\n")]
    return text


def sniff(text: str) -> tuple[str, str]:
    """``(delimiter, decimal)`` of a CSV sample (see the module docstring)."""
    best, best_key = ",", (False, 0.0, 0)
    for d in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(io.StringIO(text), delimiter=d) if r]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        same = sum(c == counts[0] for c in counts) / len(counts)
        key = (same >= 0.9, same, counts[0])
        if key > best_key:
            best, best_key = d, key
    return best, _sniff_decimal(text, best)


def _sniff_decimal(text: str, sep: str) -> str:
    if sep == ",":
        return "."
    comma = dot = 0
    for row in csv.reader(io.StringIO(text), delimiter=sep):
        for field in row:
            f = field.strip().lstrip("+-")
            if "," in f and f.replace(",", "", 1).isdigit():
                comma += 1
            elif "." in f and f.replace(".", "", 1).isdigit():
                dot += 1
    return "," if comma > 0 and dot == 0 else "."


def _field_counts(path: Path, sep: str, ncol: int) -> tuple[int, int, int | None]:
    """(data rows, rows with too few fields, first line with too many fields)."""
    rows = short = 0
    with _open_text(path) as fh:
        reader = csv.reader(fh, delimiter=sep)
        next(reader, None)
        for row in reader:
            if not row:
                continue  # blank lines are skipped, as pandas does
            rows += 1
            if len(row) < ncol:
                short += 1
            elif len(row) > ncol:
                return rows, short, reader.line_num
    return rows, short, None


def read_csv(path: Path, *, sep: str | None, decimal: str | None,
             na_values: Sequence[str] | None, text_columns: Collection[str]) -> pd.DataFrame:
    """Read a CSV file by the rules above; raises DataError/UnicodeDecodeError/ParserError."""
    head = _head(path)
    if not head.strip():
        raise DataError(f"The file {str(path)!r} is empty (no header line).")
    sniffed_sep, sniffed_decimal = sniff(head)
    sep = sep or sniffed_sep
    decimal = decimal or (sniffed_decimal if sep == sniffed_sep else _sniff_decimal(head, sep))
    header = next(csv.reader(io.StringIO(head), delimiter=sep))
    dups = sorted(c for c, k in Counter(header).items() if k > 1)
    if dups:
        raise DataError(f"The file {str(path)!r} has duplicate column names: {dups}.")
    if len(header) == 1:
        inside = [d for d in DELIMITERS if d != sep and d in header[0]]
        if inside:
            raise DataError(
                f"The file {str(path)!r} was read as one column named {header[0][:60]!r} with "
                f"the separator {sep!r}, but that name contains {inside[0]!r}: no column could "
                f"be modelled. Pass the right separator, e.g. --sep {inside[0]!r}."
            )
    rows, short, too_many = _field_counts(path, sep, len(header))
    if too_many is not None:
        raise DataError(
            f"The file {str(path)!r} is not a well-formed CSV: line {too_many} has more fields "
            f"than the header's {len(header)} (separator {sep!r}; use --sep if it is wrong)."
        )
    if rows == 0:
        raise DataError(f"The file {str(path)!r} has a header but no rows.")
    if short:
        warnings.warn(
            f"{short} of {rows} rows of {path.name!r} have fewer fields than the header "
            f"({len(header)}); their missing fields were read as missing values.",
            DataWarning, stacklevel=4,
        )
    raw = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                      index_col=False, encoding="utf-8", skip_blank_lines=True)
    tokens = [""] + [t for t in (na_values or ()) if t != ""]
    df = pd.DataFrame(
        {c: _convert(raw[c], str(c), tokens, decimal, str(c) in set(map(str, text_columns)),
                     path) for c in raw.columns},
        index=raw.index,
    )
    df.attrs["na_rep"] = _na_rep(raw, tokens)
    df.attrs["csv"] = {"sep": sep, "decimal": decimal, "na_values": tokens}
    return df


def _na_rep(raw: pd.DataFrame, tokens: list[str]) -> str:
    if len(tokens) == 1:
        return ""
    counts = Counter()
    for c in raw.columns:
        vc = raw[c].value_counts()
        for t in tokens:
            counts[t] += int(vc.get(t, 0))
    used = [(counts[t], -i, t) for i, t in enumerate(tokens) if counts[t] > 0]
    return max(used)[2] if used else ""


def _convert(s: pd.Series, name: str, tokens: list[str], decimal: str, keep_text: bool,
             path: Path) -> pd.Series:
    missing = s.isin(tokens)
    values = s[~missing]
    out = s.where(~missing)  # keeps pandas' string dtype, missing as NaN
    if values.empty:  # all missing: float NaN, as pandas reads it
        return pd.Series(float("nan"), index=s.index, dtype="float64")
    if keep_text:
        return out
    if set(values.unique()) <= _TRUE | _FALSE:
        if missing.any():
            return values.isin(_TRUE).astype(object).reindex(s.index)
        return s.isin(_TRUE)
    text = values.str.replace(",", ".", regex=False) if decimal == "," else values
    numbers = pd.to_numeric(text, errors="coerce")
    bad = numbers.isna()
    if not bad.any():
        return pd.to_numeric(text).reindex(s.index)
    if bad.sum() * 2 < len(values):
        odd = list(dict.fromkeys(values[bad].str.slice(0, 20)))
        shown = ", ".join(repr(v) for v in odd[:3]) + (", ..." if len(odd) > 3 else "")
        raise DataError(
            f"Column {name!r} of {str(path)!r} holds numbers but {int(bad.sum())} of its "
            f"{len(values)} non-missing cells are not numbers ({shown}). If they mean "
            "missing, name them with --na-values; otherwise fix them, or declare the column "
            "categorical in the metadata."
        )
    return out
