"""Click group, shared options and the mapping of errors to exit codes.

Exit codes: 0 ok, 1 other error (or a failed evaluation policy), 2 usage, 3 bad data/metadata.
Each command lives in its own module and registers itself on :data:`cli`.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

EXIT_OK, EXIT_OTHER, EXIT_USAGE, EXIT_DATA = 0, 1, 2, 3

F = TypeVar("F", bound=Callable[..., Any])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tabsynth-dp", prog_name="tabsynth")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """tabsynth: privacy-preserving synthetic tabular data.

    \b
    tabsynth metadata DATA -o meta.json     detect column types for editing
    tabsynth fit DATA -o model.tsmodel      train a CTGAN/TVAE (add --epsilon for DP)
    tabsynth sample MODEL -n N -o out.csv   generate rows (conditions, oversampling)
    tabsynth info MODEL                     parameters, metadata, privacy ledger
    tabsynth evaluate REAL SYNTH -o r.html  fidelity, utility, privacy risk, sign-off report
    tabsynth demo                           the main job on a bundled table, end to end
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def fail(message: str, code: int) -> None:
    """Print ``message`` to stderr and exit with ``code``."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Map library errors to exit codes and one-line messages (no tracebacks)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from tabsynth.errors import ConditionError, DataError, ModelFileError, ParameterError

        from ..evaluation.errors import EvaluationDataError, PolicyError
        from ..privacy.errors import BudgetError, PrivacyError

        try:
            return func(*args, **kwargs)
        except (DataError, EvaluationDataError) as exc:
            fail(str(exc), EXIT_DATA)
        except (ParameterError, ConditionError, BudgetError, PolicyError) as exc:
            fail(str(exc), EXIT_USAGE)
        except (ModelFileError, PrivacyError) as exc:
            fail(str(exc), EXIT_OTHER)
        except OSError as exc:
            fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc), EXIT_OTHER)
        except KeyboardInterrupt:
            fail("interrupted; no output was written", EXIT_OTHER)

    return wrapper  # type: ignore[return-value]


def _register() -> None:
    # Import command modules so they attach themselves to ``cli``.
    from importlib import import_module

    for name in ("metadata_cmd", "fit", "sample", "info", "evaluate", "demo"):
        try:
            import_module(f"tabsynth.cli.{name}")
        except ModuleNotFoundError as exc:  # pragma: no cover - during development only
            if exc.name != f"tabsynth.cli.{name}":
                raise


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    _register()
    cli.main(args=argv, prog_name="tabsynth")
