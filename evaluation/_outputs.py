"""Writing the outputs of one evaluation together: all of them land, or none does.

:func:`check_outputs` runs before any work (the folder exists and takes a new file, the path is
not a folder, no path is named twice). :func:`write_all` writes every text to a temporary file
next to its target, then renames them into place one after the other; if anything fails, the
temporary files are removed and every target that was already replaced gets its previous
content back (or is removed if it did not exist), so existing files are left as they were.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from .errors import EvaluationOutputError


def _probe(folder: Path, target: Path) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        raise EvaluationOutputError(
            f"Cannot write {str(target)!r}: the folder {str(folder)!r} does not take new files "
            f"({exc.strerror or exc})."
        ) from None
    os.close(fd)
    os.unlink(tmp)


def check_outputs(paths: list[str | os.PathLike]) -> list[Path]:
    """Fail early, with every problem at once, if some output path cannot be written.

    Raises
    ------
    EvaluationOutputError
        A folder is missing or read-only, a path is a folder, or two outputs share a path.
    """
    out: list[Path] = []
    problems: list[str] = []
    seen: dict[Path, str] = {}
    for raw in paths:
        p = Path(raw)
        key = p.resolve()
        if key in seen:
            problems.append(f"{str(p)!r} is named for two outputs")
            continue
        seen[key] = str(p)
        folder = p.parent if str(p.parent) else Path(".")
        if p.is_dir():
            problems.append(f"{str(p)!r} is a folder")
        elif not folder.is_dir():
            problems.append(f"the folder of {str(p)!r} does not exist")
        elif p.exists() and not os.access(p, os.W_OK):
            problems.append(f"{str(p)!r} exists and is not writable")
        else:
            try:
                _probe(folder, p)
            except EvaluationOutputError as exc:
                problems.append(str(exc).rstrip("."))
        out.append(p)
    if problems:
        raise EvaluationOutputError("Cannot write the report: " + "; ".join(problems) + ".")
    return out


def _tmp_next_to(path: Path, suffix: str) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    return tmp


def write_all(texts: Mapping[str | os.PathLike, str]) -> list[Path]:
    """Write each ``{path: text}``; all files land or none changes (see the module docstring)."""
    targets = [(Path(p), t) for p, t in texts.items()]
    temps: list[tuple[Path, str]] = []
    backups: dict[Path, str | None] = {}
    replaced: list[Path] = []
    umask = os.umask(0)
    os.umask(umask)
    try:
        for path, text in targets:
            tmp = _tmp_next_to(path, ".tmp")
            temps.append((path, tmp))
            with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        for path, _ in targets:  # keep the current content until every new file is in place
            if path.exists():
                bak = _tmp_next_to(path, ".bak")
                _copy(path, bak)
                backups[path] = bak
            else:
                backups[path] = None
        for path, tmp in temps:
            os.replace(tmp, path)
            replaced.append(path)
    except BaseException:
        for path in replaced:
            bak = backups.get(path)
            try:
                if bak is None:
                    os.unlink(path)
                else:
                    os.replace(bak, path)
                    backups[path] = None
            except OSError:
                pass
        _remove([tmp for _, tmp in temps] + [b for b in backups.values() if b])
        raise
    _remove([b for b in backups.values() if b])
    return [p for p, _ in targets]


def _copy(src: Path, dst: str) -> None:
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        for block in iter(lambda: fi.read(1 << 20), b""):
            fo.write(block)


def _remove(paths: list[str]) -> None:
    for p in paths:
        try:
            os.unlink(p)
        except OSError:
            pass
