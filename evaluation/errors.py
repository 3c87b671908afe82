"""Exceptions and warnings of :mod:`tabsynth.evaluation`.

::

    EvaluationError
    ├── EvaluationDataError(ValueError)   tables missing, empty, mismatched columns/dtypes
    └── PolicyError(ValueError)           a policy file is malformed or names unknown checks

    EvaluationWarning(UserWarning)        a figure is less meaningful (holdout overlaps training...)
"""

from __future__ import annotations


class EvaluationError(Exception):
    """Base class of errors raised by tabsynth.evaluation."""


class EvaluationDataError(EvaluationError, ValueError):
    """The tables given to the evaluator cannot be compared."""


class PolicyError(EvaluationError, ValueError):
    """A policy is malformed or names unknown checks."""


class EvaluationWarning(UserWarning):
    """A figure is less meaningful than usual (e.g. the holdout overlaps the training table)."""
