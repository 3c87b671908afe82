"""Atomic writes: a temporary file next to the target, renamed onto it at the end.

* :func:`check_output_path` — fail before any long work if a path cannot be written (it
  creates and removes a probe file in the folder, so read-only file systems and ``/proc``
  are caught, not only missing folders).
* :func:`atomic_path` — one output: write to ``.{name}.tmp-{pid}-XXXX`` in the target's
  folder, ``os.replace`` it onto the target at the end; the temporary file is removed on any
  error, Ctrl-C or SIGTERM (the CLI turns SIGTERM into an exception), so an existing target
  is never destroyed or half-written. Temporary files left by a process that was killed
  (``kill -9``) are removed by the next write to the same target.
* :func:`atomic_outputs` — several outputs of one command land together or none do: all are
  written to temporary files first, then renamed; if one rename fails, the targets already
  replaced get their previous content back.

Every failure is an :class:`~tabsynth.errors.OutputError` (an ``OSError``) whose message names
the file and says what was (not) written.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputError

__all__ = ["atomic_outputs", "atomic_path", "check_output_path"]

_TMP_RE = re.compile(r"\.tmp-(?P<pid>\d+)-[^/]*$")


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def check_output_path(path: str | os.PathLike) -> Path:
    """Check that ``path`` can be written, before any long work. Returns it as a Path.

    Raises
    ------
    OutputError
        ``path`` is a directory, its folder does not exist, or a file cannot be created there.
    """
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise OutputError(f"Cannot write {str(target)!r}: it is a directory.", str(target))
    if not folder.is_dir():
        raise OutputError(
            f"Cannot write {str(target)!r}: the folder {str(folder)!r} does not exist.",
            str(target),
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".tabsynth-probe-", dir=folder)
    except OSError as exc:
        raise OutputError(
            f"Cannot write {str(target)!r}: {_why(exc)} (in the folder {str(folder)!r}).",
            str(target),
        ) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    if target.exists() and not os.access(target, os.W_OK):
        raise OutputError(f"Cannot write {str(target)!r}: the existing file is read-only.",
                          str(target))
    return target


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours (EPERM)
        return True
    return True


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove ``.{name}.tmp-{pid}-*`` files next to ``target`` whose process is gone."""
    removed = []
    pattern = str(target.parent / f".{glob.escape(target.name)}.tmp-*")
    for name in glob.glob(pattern):
        m = _TMP_RE.search(name)
        if m and not pid_alive(int(m.group("pid"))):
            with contextlib.suppress(OSError):
                os.unlink(name)
                removed.append(Path(name))
    return removed


def _mkstemp(target: Path) -> Path:
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.tmp-{os.getpid()}-",
                                    dir=target.parent)
    except OSError as exc:
        raise OutputError(f"Cannot write {str(target)!r}: {_why(exc)}.", str(target)) from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    with contextlib.suppress(OSError):
        os.chmod(name, 0o666 & ~umask)  # the mode a plain open() would give, not mkstemp's 0600
    return Path(name)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, keep_on_rename_error: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` when the block succeeds.

    Parameters
    ----------
    keep_on_rename_error : bool, default=False
        When the final rename fails, keep the finished file (renamed to a visible
        ``{stem}.kept-{pid}{suffix}`` next to the target when possible) and say where it is,
        instead of deleting it: for outputs that were expensive to make (a trained model).

    Raises
    ------
    OutputError
        The folder is missing or not writable, a write failed (disk full...) or the rename
        failed. An existing file at ``path`` is left unchanged.
    """
    target = Path(path)
    remove_stale_temporaries(target)
    tmp = _mkstemp(target)
    try:
        yield tmp
    except OSError as exc:
        _unlink(tmp)
        if isinstance(exc, OutputError):
            raise
        raise OutputError(
            f"Could not write {str(target)!r}: {_why(exc)}. Nothing was written"
            + (" (the existing file is unchanged)." if target.exists() else "."),
            str(target),
        ) from exc
    except BaseException:
        _unlink(tmp)
        raise
    try:
        os.replace(tmp, target)
    except OSError as exc:
        if not keep_on_rename_error:
            _unlink(tmp)
            raise OutputError(
                f"Could not rename the finished file onto {str(target)!r}: {_why(exc)}. "
                "Nothing was written.", str(target)
            ) from exc
        kept = target.with_name(f"{target.stem}.kept-{os.getpid()}{target.suffix}")
        try:
            os.replace(tmp, kept)
        except OSError:
            kept = tmp
        raise OutputError(
            f"Could not rename the finished file onto {str(target)!r}: {_why(exc)}. "
            f"It was kept as {str(kept)!r}; move it where you want it.", str(target)
        ) from exc


def _unlink(p: Path) -> None:
    with contextlib.suppress(OSError):
        p.unlink()


@contextlib.contextmanager
def atomic_outputs(*paths: str | os.PathLike | None) -> Iterator[list[Path | None]]:
    """All outputs of one command land together or none do.

    Yields one temporary path per given path (``None`` stays ``None``, for optional
    outputs). When the block succeeds, every temporary file is renamed onto its target; if a
    rename fails, the targets already replaced are restored to their previous content (or
    removed when they did not exist) and :class:`OutputError` says so.

    Example (``tabsynth evaluate -o report.html --json report.json``)::

        with atomic_outputs(html_out, json_out) as (html_tmp, json_tmp):
            report.to_html(html_tmp)
            if json_tmp is not None:
                report.to_json(json_tmp)
    """
    targets = [None if p is None else Path(p) for p in paths]
    real = [t for t in targets if t is not None]
    if len({os.path.abspath(t) for t in real}) != len(real):
        raise OutputError(
            f"Two outputs of one command name the same file: {[str(t) for t in real]}."
        )
    for t in real:
        check_output_path(t)
        remove_stale_temporaries(t)
    temps: list[Path | None] = []
    try:
        for t in targets:
            temps.append(None if t is None else _mkstemp(t))
        yield temps
    except OSError as exc:
        _cleanup(temps)
        if isinstance(exc, OutputError):
            raise
        raise OutputError(
            f"Could not write the outputs {[str(t) for t in real]}: {_why(exc)}"
            + (f" ({exc.filename})" if getattr(exc, "filename", None) else "")
            + ". None of them was written."
        ) from exc
    except BaseException:
        _cleanup(temps)
        raise
    _commit([(tmp, t) for tmp, t in zip(temps, targets, strict=True)
             if tmp is not None and t is not None])


def _cleanup(temps: list[Path | None]) -> None:
    for tmp in temps:
        if tmp is not None:
            _unlink(tmp)


def _backup(target: Path) -> Path:
    bak = _mkstemp(target)
    try:
        bak.unlink()
        try:
            os.link(target, bak)
        except OSError:
            shutil.copy2(target, bak)
    except OSError as exc:
        _unlink(bak)
        raise OutputError(
            f"Could not write {str(target)!r}: {_why(exc)} (while keeping its previous "
            "content). Nothing was written."
        ) from exc
    return bak


def _commit(pairs: list[tuple[Path, Path]]) -> None:
    backups: dict[Path, Path | None] = {}
    try:
        for _, target in pairs:  # keep the previous content of each target until all landed
            backups[target] = None
            if target.exists():
                backups[target] = _backup(target)
        done: list[Path] = []
        for tmp, target in pairs:
            try:
                os.replace(tmp, target)
            except OSError as exc:
                for d in done:
                    bak = backups.get(d)
                    if bak is not None:
                        os.replace(bak, d)
                        backups[d] = None
                    else:
                        _unlink(d)
                raise OutputError(
                    f"Could not write {str(target)!r}: {_why(exc)}. None of the outputs "
                    f"{[str(t) for _, t in pairs]} was written (existing files are unchanged)."
                ) from exc
            done.append(target)
    finally:
        _cleanup([tmp for tmp, _ in pairs])
        _cleanup(list(backups.values()))
