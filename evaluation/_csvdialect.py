"""How :func:`~tabsynth.evaluation.evaluate` reads a CSV path.

* **Separator and decimal mark** are sniffed from the file's first 64 KiB by the rules
  ``tabsynth fit`` reads its input with (``tabsynth/_csvread.py``; this package never imports
  ``tabsynth``, so the rules are restated here and a property test checks the two agree):
  the separator is whichever of ``,`` ``;`` tab ``|`` splits (nearly) every line into the
  same number (> 1) of fields; the decimal mark is ``,`` when the separator is not ``,`` and
  numbers are written ``1,5`` (and none ``1.5``). ``csv_format={"sep": ..., "decimal": ...}``
  overrides them for every CSV path of the call.
* **Missing values**: pandas' default tokens (``""``, ``NA``, ``N/A``, ``null``, ``None``...)
  unless ``csv_format["na_values"]`` names the tokens: then only the empty field and those,
  as ``tabsynth fit --na-values`` reads (``tabsynth evaluate --model`` passes the model's).
* A read that gives one column whose name holds another separator is refused, naming it.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import EvaluationDataError, EvaluationParameterError

DELIMITERS = (",", ";", "\t", "|")
_SNIFF_BYTES = 64 * 1024
#: Rows per chunk when a CSV file longer than ``max_rows`` is sampled while read.
CHUNK_ROWS = 100_000
_KEYS = ("sep", "decimal", "na_values", "na_rep")  # na_rep: how a model wrote; not read


def check_csv_format(csv_format: Mapping[str, Any] | None) -> dict[str, Any]:
    """The validated ``csv_format`` of :func:`evaluate` (raises EvaluationParameterError)."""
    if csv_format is None:
        return {}
    if not isinstance(csv_format, Mapping):
        raise EvaluationParameterError(
            f"csv_format must be a mapping with keys among {list(_KEYS[:3])}, got "
            f"{type(csv_format).__name__}.")
    unknown = sorted(set(map(str, csv_format)) - set(_KEYS))
    if unknown:
        raise EvaluationParameterError(
            f"csv_format has unknown key(s) {unknown}; known: {list(_KEYS[:3])}.")
    out = {k: csv_format.get(k) for k in ("sep", "decimal", "na_values")}
    for key in ("sep", "decimal"):
        v = out[key]
        if v is not None and (not isinstance(v, str) or len(v) != 1 or v in "\r\n\""):
            raise EvaluationParameterError(
                f"csv_format[{key!r}] must be one character (not a quote or line break), "
                f"got {v!r}.")
    if out["sep"] is not None and out["sep"] == out["decimal"]:
        raise EvaluationParameterError(
            f"csv_format's separator and decimal mark are both {out['sep']!r}.")
    na = out["na_values"]
    if na is not None:
        if isinstance(na, str) or not all(isinstance(t, str) for t in na):
            raise EvaluationParameterError(
                f"csv_format['na_values'] must be a list of strings (the tokens meaning "
                f"missing besides the empty field), got {na!r}.")
        out["na_values"] = [""] + [t for t in dict.fromkeys(na) if t != ""]
    return out


def _head(path: Path) -> str:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:  # type: ignore[operator]
        text = fh.read(_SNIFF_BYTES)
        more = fh.read(1)
    if more and "\n" in text:  # the last line may be cut: leave it out
        text = text[: text.rindex("\n")]
    return text


def sniff_separator(text: str) -> str:
    """The delimiter whose field counts agree on the most lines (``,`` when none splits)."""
    def key(d: str) -> tuple[bool, float, int]:
        try:
            counts = [len(row) for row in csv.reader(io.StringIO(text), delimiter=d) if row]
        except csv.Error:
            return (False, 0.0, 0)
        if not counts or counts[0] < 2:
            return (False, 0.0, 0)
        agree = sum(c == counts[0] for c in counts) / len(counts)
        return (agree >= 0.9, agree, counts[0])

    keys = {d: key(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (keys[d], -DELIMITERS.index(d)))
    return best if keys[best] > (False, 0.0, 0) else ","


def sniff_decimal(text: str, sep: str) -> str:
    """``,`` when ``sep`` is not ``,`` and numbers use a decimal comma (none a dot)."""
    if sep == ",":
        return "."
    comma = dot = 0
    for row in csv.reader(io.StringIO(text), delimiter=sep):
        for cell in row:
            digits = cell.strip().lstrip("+-")
            for mark in ",.":
                if mark in digits and digits.replace(mark, "", 1).isdigit():
                    comma, dot = comma + (mark == ","), dot + (mark == ".")
    return "," if comma and not dot else "."


def read_csv_path(path: Path, role: str, fmt: Mapping[str, Any], *, max_rows: int | None = None,
                  seed: int | None = None) -> tuple[pd.DataFrame, dict, dict | None]:
    """``(frame, how it was read, sample)`` for the CSV file ``path`` under the checked ``fmt``.

    A file of more than ``max_rows`` rows is read as a seeded uniform sample of ``max_rows``
    rows (:func:`_sampled_rows`; ``sample`` says so, else it is ``None``): memory follows
    ``max_rows``, not the file."""
    head = _head(path)  # OSError / UnicodeDecodeError: the caller names the file
    sep = fmt.get("sep") or sniff_separator(head)
    decimal = fmt.get("decimal") or sniff_decimal(head, sep)
    na = fmt.get("na_values")
    missing = {} if na is None else {"keep_default_na": False, "na_values": na}
    sample = None
    try:
        df = pd.read_csv(path, sep=sep, decimal=decimal, nrows=None if max_rows is None
                         else max_rows + 1, **missing)
        if max_rows is not None and len(df) > max_rows:
            del df
            df, sample = _sampled_rows(path, sep, max_rows, seed)
            df = pd.read_csv(df, sep=sep, decimal=decimal, **missing)
    except pd.errors.ParserError as exc:
        raise EvaluationDataError(
            f"The {role} table {path.name} is not a well-formed CSV with the separator "
            f"{sep!r} ({str(exc).strip()}). If the separator is wrong, give it "
            f"(csv_format={{'sep': ...}}, or --sep on the command line).") from None
    if df.shape[1] == 1:
        inside = [d for d in DELIMITERS if d != sep and d in str(df.columns[0])]
        if inside:
            raise EvaluationDataError(
                f"The {role} table {path.name} was read as one column named "
                f"{str(df.columns[0])[:60]!r} with the separator {sep!r}, but that name "
                f"contains {inside[0]!r}. Give the separator (csv_format={{'sep': "
                f"{inside[0]!r}}}, or --sep on the command line).")
    how = {"sep": sep, "decimal": decimal,
           "missing": "pandas' default tokens" if na is None else
           "the empty field" + "".join(f", {t!r}" for t in na if t)}
    return df, how, sample


def _sampled_rows(path: Path, sep: str, max_rows: int, seed: int | None) -> tuple[Any, dict]:
    """A seeded uniform sample (without replacement, file order kept) of ``max_rows`` data rows
    of a CSV file, read in chunks of :data:`CHUNK_ROWS` as text: every row gets a uniform key
    from ``numpy.random.default_rng(seed)`` and the ``max_rows`` smallest keys are kept
    (bottom-k), so at most ``max_rows + CHUNK_ROWS`` rows are held at once. Returns the kept
    rows re-written as CSV text (parsed by the caller exactly as a file of those rows would
    be: types, decimal mark, missing tokens) and the sample's description."""
    seed = int(np.random.SeedSequence(seed).generate_state(1)[0]) if seed is None else seed
    rng = np.random.default_rng(seed)
    kept: pd.DataFrame | None = None
    keys = np.empty(0)
    total = 0
    with pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                     chunksize=CHUNK_ROWS) as chunks:
        for chunk in chunks:
            chunk.index = pd.RangeIndex(total, total + len(chunk))
            total += len(chunk)
            new = rng.random(len(chunk))
            if len(keys) == max_rows:  # only rows under the current k-th key can enter
                below = new < keys.max()
                chunk, new = chunk[below], new[below]
            both = chunk if kept is None else pd.concat([kept, chunk])
            keys = np.concatenate([keys, new])
            if len(both) > max_rows:
                top = np.argpartition(keys, max_rows - 1)[:max_rows]
                both, keys = both.iloc[top], keys[top]
            kept = both
    assert kept is not None  # the caller saw more than max_rows rows
    text = io.StringIO()
    kept.sort_index().to_csv(text, sep=sep, index=False)
    text.seek(0)
    return text, {"rows_total": total, "rows_read": int(len(kept)), "files": 1, "seed": seed,
                  "what": "the CSV file"}
