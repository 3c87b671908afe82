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
    of a CSV file, read in chunks of :data:`CHUNK_ROWS`: every row gets a uniform key from
    ``numpy.random.default_rng(seed)`` and the ``max_rows`` smallest keys are kept (bottom-k),
    so at most ``max_rows + CHUNK_ROWS`` rows are held at once. Returns the kept rows as CSV
    text (parsed by the caller exactly as a file of those rows would be: types, decimal mark,
    missing tokens) and the sample's description.

    A file without quotes is read line by line (:func:`_sampled_lines`: a row is a line, kept
    as its bytes; about twice as fast as pandas' text pass); any other, by pandas in chunks of
    text fields. Both give the same rows for the same seed (the same keys, row by row)."""
    seed = int(np.random.SeedSequence(seed).generate_state(1)[0]) if seed is None else seed
    lines = _sampled_lines(path, sep, max_rows, seed)
    if lines is not None:
        text, total, kept = lines
    else:
        with pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                         chunksize=CHUNK_ROWS) as chunks:
            rows, total = _bottom_k(chunks, max_rows, np.random.default_rng(seed),
                                    lambda df, i: df.iloc[i], pd.concat)
        text = io.StringIO()
        rows.to_csv(text, sep=sep, index=False)
        text.seek(0)
        kept = len(rows)
    return text, {"rows_total": total, "rows_read": int(kept), "files": 1, "seed": seed,
                  "what": "the CSV file"}


def _bottom_k(blocks: Any, k: int, rng: np.random.Generator, take: Any,
              concat: Any) -> tuple[Any, int]:
    """``(the k rows of the smallest uniform keys, in file order; rows seen)`` of a stream of
    blocks of rows (``take(rows, positions)``, ``concat(list of rows)``: the container's)."""
    kept: Any = None
    keys, where = np.empty(0), np.empty(0, dtype=np.int64)
    total = 0
    for block in blocks:
        new = rng.random(len(block))
        pos = np.arange(total, total + len(block))
        total += len(block)
        if len(keys) == k:  # only rows under the current k-th key can enter
            below = np.flatnonzero(new < keys.max())
            block, new, pos = take(block, below), new[below], pos[below]
        kept = block if kept is None else concat([kept, block])
        keys, where = np.concatenate([keys, new]), np.concatenate([where, pos])
        if len(keys) > k:
            top = np.argpartition(keys, k - 1)[:k]
            kept, keys, where = take(kept, top), keys[top], where[top]
    assert kept is not None  # the caller saw more than k rows
    return take(kept, np.argsort(where, kind="stable")), total


class _NotLines(Exception):
    """The file is not one row a line (a quote, bare CR line ends, a longer row), or not
    UTF-8: pandas' text pass reads it (and reports what is wrong)."""


def _sampled_lines(path: Path, sep: str, max_rows: int,
                   seed: int) -> tuple[io.BytesIO, int, int] | None:
    """:func:`_sampled_rows` line by line: ``(header and kept lines, rows, rows kept)``, or
    ``None`` where the file is not one row a line (a quote: a field may hold a separator or
    a line break; a bare CR, which pandas ends a line at; a line with more fields than the
    header, which pandas' own read reports) and pandas must read it. The file is split in
    blocks of :data:`_LINE_BLOCK` bytes; blank lines are skipped as pandas skips them
    (whitespace only; the separator counts as a field's end)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    blank = b" \t\r\n\x0b\x0c".replace(sep.encode(), b"")
    bsep = sep.encode("utf-8")
    if len(bsep) != 1 or path.suffix.lower() in _OTHER_COMPRESSION:
        return None  # a separator beyond ASCII, or a compression only pandas opens
    header: list[bytes] = []

    def lines() -> Any:
        rest = b""
        with opener(path, "rb") as fh:  # type: ignore[operator]
            while True:
                data = fh.read(_LINE_BLOCK)
                part = rest + data
                if not data:
                    if part:
                        yield _checked(part, header, bsep, blank)
                    return
                cut = part.rfind(b"\n")
                if cut < 0:
                    rest = part
                    continue
                rest = part[cut + 1:]
                yield _checked(part[:cut], header, bsep, blank)

    def blocks() -> Any:
        block: list[bytes] = []
        for kept in lines():
            block.extend(kept)
            while len(block) >= CHUNK_ROWS:
                yield np.array(block[:CHUNK_ROWS], dtype=object)
                block = block[CHUNK_ROWS:]
        if block:
            yield np.array(block, dtype=object)

    try:
        rows, total = _bottom_k(blocks(), max_rows, np.random.default_rng(seed),
                                lambda a, i: a[i], np.concatenate)
    except _NotLines:
        return None
    return io.BytesIO(b"\n".join([*header, *rows, b""])), total, len(rows)


#: Bytes read at once by :func:`_sampled_lines`.
_LINE_BLOCK = 16 << 20
_OTHER_COMPRESSION = (".bz2", ".xz", ".zip", ".zst", ".tar")


def _checked(text: bytes, header: list[bytes], bsep: bytes, blank: bytes) -> list[bytes]:
    """The non-blank lines of ``text`` (whole lines, without the last line end), the first
    non-blank line of the file moved into ``header``; raises :class:`_NotLines` at a quote,
    a bare CR or a row with more fields than the header."""
    if b'"' in text or (b"\r" in text and text.count(b"\r") != text.count(b"\r\n")
                        + text.endswith(b"\r")):
        raise _NotLines
    if not text.isascii():  # pandas' read decodes every line: one that is not UTF-8 is its error
        try:
            text.decode("utf-8")
        except UnicodeDecodeError:
            raise _NotLines from None
    raw = np.frombuffer(text, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10)
    at = np.flatnonzero(raw == bsep[0])
    starts = np.concatenate([[0], ends + 1])
    stops = np.concatenate([ends, [len(raw)]])
    counts = np.searchsorted(at, stops) - np.searchsorted(at, starts)  # separators a line
    lines = text.split(b"\n")
    empty = np.flatnonzero(counts == 0)  # a blank line has no separator (a short row neither)
    drop = [int(i) for i in empty if not lines[i].strip(blank)]
    if drop:
        gone = set(drop)
        lines = [x for i, x in enumerate(lines) if i not in gone]
        counts = np.delete(counts, drop)
    if not header and lines:
        header.append(lines[0])
        lines, counts = lines[1:], counts[1:]
    if len(counts) and counts.max() > header[0].count(bsep):
        raise _NotLines
    return lines
