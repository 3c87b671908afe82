"""Click group, the exit-code table, warnings, signals and the mapping of errors to exit codes.

Exit codes (the README's table; every command uses :func:`handle_errors`):

===  =====================================================================================
0    success
1    ``evaluate``: the release fails the policy; ``fit``: training diverged (nothing
     written); any command: an unexpected internal error
2    usage: a bad option, parameter, sampling condition or privacy budget
3    bad input data or metadata (table or metadata file unreadable, empty, malformed...)
4    a model file or signature is invalid (missing, corrupt, tampered, foreign, too new,
     signature does not match)
5    an output cannot be written (folder missing or read-only, disk full, rename failed)
130  interrupted (Ctrl-C); no output is left half-written
143  terminated (SIGTERM); no output is left half-written
===  =====================================================================================

Each command lives in its own module and registers itself on :data:`cli`.
"""

from __future__ import annotations

import functools
import logging
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import click

EXIT_OK, EXIT_OTHER, EXIT_USAGE, EXIT_DATA = 0, 1, 2, 3
EXIT_MODEL_FILE, EXIT_OUTPUT = 4, 5
EXIT_POLICY_FAILED = EXIT_OTHER
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143

#: (code, meaning) rows of the README's exit-code table; tests check both agree.
EXIT_CODES = (
    (EXIT_OK, "success"),
    (EXIT_OTHER, "`evaluate`: the release fails the policy; `fit`: training diverged "
                 "(nothing written); any command: an unexpected internal error (a bug: "
                 "please report it with the `-vv` output)"),
    (EXIT_USAGE, "usage: a bad option, parameter, sampling condition or privacy budget"),
    (EXIT_DATA, "bad input data or metadata (unreadable, empty, malformed, mixed types, "
                "a delimiter that leaves one column...)"),
    (EXIT_MODEL_FILE, "a model file or signature is invalid: missing, corrupt, tampered "
                      "with, foreign, of a newer format, or its signature does not match"),
    (EXIT_OUTPUT, "an output cannot be written: folder missing or read-only, disk full, "
                  "final rename failed (the message says what was kept)"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C); no output is left half-written"),
    (EXIT_TERMINATED, "terminated (SIGTERM); no output is left half-written"),
)

F = TypeVar("F", bound=Callable[..., Any])


class Terminated(BaseException):
    """Raised in the main thread when the process receives SIGTERM (cleanup runs as on ^C)."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """One line per warning, without source code, printed above any progress bar."""
    from tqdm.auto import tqdm

    text = " ".join(str(message).split())
    label = category.__name__ if category not in (UserWarning, Warning) else "Warning"
    tqdm.write(f"{label}: {text}", file=sys.stderr)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tabsynth-dp", prog_name="tabsynth")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """tabsynth: privacy-preserving synthetic tabular data.

    \b
    tabsynth metadata DATA -o meta.json     detect column types for editing
    tabsynth fit DATA -o model.tsmodel      train a model: autoregressive by default,
                                            --model ctgan|tvae; add --epsilon for DP
    tabsynth sample MODEL -n N -o out.csv   generate rows (conditions, oversampling)
    tabsynth info MODEL                     parameters, metadata, privacy ledger
    tabsynth evaluate REAL SYNTH -o r.html  fidelity, utility, privacy risk, sign-off report
    tabsynth demo                           the main job on a bundled table, end to end
    tabsynth rebalance MODEL --protected COL -o out.csv
                                            groups of protected columns to target shares
    tabsynth audit DATA --metadata M --epsilon E -o audit.json
                                            empirical lower bound on a DP fit's epsilon
    tabsynth keygen | sign | verify         Ed25519 signatures of model files and reports

    \b
    Exit codes: 0 ok, 1 policy failed / internal error, 2 usage, 3 bad data or metadata,
    4 invalid model file or signature, 5 output not writable, 130/143 interrupted.
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = {"verbose": verbose}
    previous_show = warnings.showwarning
    warnings.showwarning = _show_warning
    ctx.call_on_close(lambda: setattr(warnings, "showwarning", previous_show))
    if threading.current_thread() is threading.main_thread():
        previous_term = signal.signal(signal.SIGTERM, _on_sigterm)
        ctx.call_on_close(lambda: signal.signal(signal.SIGTERM, previous_term))


def fail(message: str, code: int) -> None:
    """Print ``message`` to stderr and exit with ``code``."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def exit_code_of(exc: BaseException) -> int:
    """The exit code of an exception, by the table above."""
    from tabsynth.errors import (
        ConditionError,
        DataError,
        ModelFileError,
        OutputError,
        ParameterError,
        SignatureError,
    )

    from ..evaluation.errors import EvaluationDataError, EvaluationParameterError, PolicyError
    from ..privacy.errors import BudgetError, PrivacyParameterError, SecureModeUnavailableError

    if isinstance(exc, (DataError, EvaluationDataError)):
        return EXIT_DATA
    if isinstance(exc, (ParameterError, ConditionError, BudgetError, PolicyError,
                        EvaluationParameterError, PrivacyParameterError,
                        SecureModeUnavailableError, click.UsageError)):
        return EXIT_USAGE
    if isinstance(exc, (ModelFileError, SignatureError)):
        return EXIT_MODEL_FILE
    if isinstance(exc, (OutputError, OSError)):
        return EXIT_OUTPUT
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, Terminated):
        return EXIT_TERMINATED
    return EXIT_OTHER


def _message(exc: BaseException) -> str:
    from tabsynth.errors import TabsynthError

    if isinstance(exc, KeyboardInterrupt):
        return "interrupted; no output was written"
    if isinstance(exc, Terminated):
        return "terminated (SIGTERM); no output was written"
    if isinstance(exc, OSError) and not isinstance(exc, TabsynthError):
        why = exc.strerror or str(exc)
        return f"{why}: {exc.filename}" if exc.filename else why
    if isinstance(exc, MemoryError):
        return ("out of memory; use a smaller table, fewer categories, a smaller "
                "--batch-size or --chunk-size")
    return " ".join(str(exc).split("\n")) if str(exc) else type(exc).__name__


def handle_errors(func: F) -> F:
    """Map errors to exit codes and one-line messages (no tracebacks; ``-vv`` shows them)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from tabsynth.errors import TabsynthError

        from ..evaluation.errors import EvaluationError
        from ..privacy.errors import PrivacyError

        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except click.UsageError:
            raise
        except (TabsynthError, EvaluationError, PrivacyError, OSError, KeyboardInterrupt,
                Terminated, MemoryError) as exc:
            fail(_message(exc), exit_code_of(exc))
        except Exception as exc:  # a bug: one line, the traceback only with -vv
            ctx = click.get_current_context(silent=True)
            verbose = (ctx.find_root().obj or {}).get("verbose", 0) if ctx else 0
            if verbose >= 2:
                import traceback

                traceback.print_exc()
            fail(f"internal error ({type(exc).__name__}: {_message(exc)}); this is a bug in "
                 "tabsynth; rerun with -vv for the details and report it", EXIT_OTHER)

    return wrapper  # type: ignore[return-value]


def _register() -> None:
    # Import command modules so they attach themselves to ``cli``.
    from importlib import import_module

    for name in ("metadata_cmd", "fit", "sample", "info", "evaluate", "demo", "sign", "audit",
                 "rebalance"):
        try:
            import_module(f"tabsynth.cli.{name}")
        except ModuleNotFoundError as exc:  # pragma: no cover - during development only
            if exc.name != f"tabsynth.cli.{name}":
                raise


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    _register()
    cli.main(args=argv, prog_name="tabsynth")
