"""Exceptions and warnings of :mod:`tabsynth.evaluation`.

::

    EvaluationError
    ├── EvaluationDataError(ValueError)       tables missing, empty, mismatched columns/dtypes
    ├── EvaluationParameterError(ValueError)  a bad argument (max_rows, form, audit)
    ├── EvaluationOutputError(OSError)        an output path cannot be written (checked first)
    └── PolicyError(ValueError)               a policy file is malformed or names unknown checks

    EvaluationWarning(UserWarning)        a figure is less meaningful (holdout overlaps training...)
"""

from __future__ import annotations


class EvaluationError(Exception):
    """Base class of errors raised by tabsynth.evaluation."""


class EvaluationDataError(EvaluationError, ValueError):
    """The tables given to the evaluator cannot be compared."""


class EvaluationParameterError(EvaluationError, ValueError):
    """A bad argument to the evaluator: "The 'max_rows' parameter of evaluate must be ..."."""


class EvaluationOutputError(EvaluationError, OSError):
    """An output of the report cannot be written (folder missing or read-only, a folder given)."""


def check_param(owner: str, name: str, value: object, ok: bool, expected: str) -> None:
    """Raise :class:`EvaluationParameterError` worded like tabsynth's parameter errors."""
    if not ok:
        raise EvaluationParameterError(
            f"The {name!r} parameter of {owner} must be {expected}. Got {value!r} instead."
        )


class PolicyError(EvaluationError, ValueError):
    """A policy is malformed or names unknown checks."""


class EvaluationWarning(UserWarning):
    """A figure is less meaningful than usual (e.g. the holdout overlaps the training table)."""
