"""Exceptions and warnings of :mod:`tabsynth.privacy`.

::

    PrivacyError
    ├── BudgetError(ValueError)          epsilon/delta invalid, or a budget that cannot be met
    │   └── BudgetExceededError          a run would spend more than the requested budget
    ├── PrivacyParameterError(ValueError) a mechanism parameter is invalid
    └── IncompatibleModuleError(TypeError) a module Opacus cannot make private

    PrivacyWarning(UserWarning)          something weakens or labels the guarantee (non-DP step)
"""

from __future__ import annotations


class PrivacyError(Exception):
    """Base class of errors raised by tabsynth.privacy."""


class BudgetError(PrivacyError, ValueError):
    """The privacy budget is invalid or cannot be met."""


class BudgetExceededError(BudgetError):
    """Running the requested step would exceed the privacy budget."""


class PrivacyParameterError(PrivacyError, ValueError):
    """A mechanism or accountant parameter is invalid."""


class IncompatibleModuleError(PrivacyError, TypeError):
    """A torch module cannot be trained with DP-SGD (e.g. BatchNorm)."""


class PrivacyWarning(UserWarning):
    """A step is not covered by the DP guarantee, or weakens it."""
