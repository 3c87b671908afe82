"""Exceptions and warnings raised by :mod:`tabsynth`.

Every error that tabsynth raises on purpose derives from :class:`TabsynthError`.
The leaves also derive from the builtin a user would naturally catch::

    TabsynthError
    ├── ParameterError(ValueError)      a constructor / call argument is invalid
    ├── DataError(ValueError)           the table does not fit (empty, inf, mixed types, ...)
    │   └── MetadataError(ValueError)   metadata is malformed or does not match the data
    ├── ConditionError(ValueError)      a sampling condition names an unknown column/value
    │                                   or cannot be met
    ├── NotFittedError(AttributeError)  a model is used before ``fit``
    ├── ModelFileError(ValueError)      a model file is missing, tampered, foreign or too new
    ├── SignatureError(ValueError)      a signature or key is missing, malformed or does not
    │                                   match the file (tabsynth.signing)
    ├── OutputError(OSError)            an output cannot be written (folder missing or
    │                                   read-only, disk full, final rename failed)
    ├── TrainingError(RuntimeError)     training diverged (weights not finite): not fitted
    └── DistributedError(RuntimeError)  a process of a multi-process fit failed

    TabsynthWarning(UserWarning)
    └── DataWarning                     columns excluded, values clipped, ...

Parameters are checked with :func:`check_param` (the one message format) and the type tests
:func:`is_int` / :func:`is_real`. Privacy-specific errors live in
:mod:`tabsynth.privacy.errors` and evaluation errors in :mod:`tabsynth.evaluation.errors`; each
tree is rooted at the package's own base class (with its own ``check_param``: those packages
never import ``tabsynth``).
"""

from __future__ import annotations

import numbers


class TabsynthError(Exception):
    """Base class of every error raised on purpose by tabsynth."""


class ParameterError(TabsynthError, ValueError):
    """A parameter has an invalid value or type."""


class DataError(TabsynthError, ValueError):
    """The input table cannot be used (empty, undecodable, mixed types, infinities...)."""


class MetadataError(DataError):
    """Metadata is malformed, has unknown keys, or does not match the data."""


class ConditionError(TabsynthError, ValueError):
    """A sampling condition is unknown or cannot be satisfied."""


class NotFittedError(TabsynthError, AttributeError):
    """The estimator is used before ``fit``."""


class ModelFileError(TabsynthError, ValueError):
    """A model file is missing, corrupt, tampered with, foreign or of a newer format."""


class SignatureError(TabsynthError, ValueError):
    """A signature or key is missing or malformed, or the signature does not match the file."""


class OutputError(TabsynthError, OSError):
    """An output file cannot be written; the message says what was (not) written or kept.

    ``filename`` is the target path, as for other ``OSError`` instances.
    """

    def __init__(self, message: str, filename: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.filename = filename

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # noqa: ANN204 - picklable across processes (multiprocessing)
        return (type(self), (self.message, self.filename))


class TrainingError(TabsynthError, RuntimeError):
    """Training diverged (weights that are not finite numbers); nothing was fitted."""


class DistributedError(TabsynthError, RuntimeError):
    """A process of a multi-process fit (``torch.distributed``) failed; the message names
    the process and its error."""


class TabsynthWarning(UserWarning):
    """Base class of tabsynth warnings."""


class DataWarning(TabsynthWarning):
    """Something about the data was changed or ignored (excluded column, clipped values)."""


def check_param(owner: str, name: str, value: object, ok: bool, expected: str) -> None:
    """Raise the project's standard parameter error unless ``ok``.

    >>> check_param("CTGAN", "epochs", -1, False, "an int >= 1")
    Traceback (most recent call last):
    ...
    tabsynth.errors.ParameterError: The 'epochs' parameter of CTGAN must be an int >= 1. Got -1 ...
    """
    if not ok:
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be {expected}. Got {value!r} instead."
        )


def is_int(value: object) -> bool:
    """An integer (Python or numpy), not a bool: the type test of every int parameter."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: object) -> bool:
    """A real number (Python or numpy int/float), not a bool: the type test of every float
    parameter (finiteness and range are the caller's ``ok``)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
