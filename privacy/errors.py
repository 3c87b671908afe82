"""Exceptions and warnings of :mod:`tabsynth.privacy`.

::

    PrivacyError
    ├── BudgetError(ValueError)          epsilon/delta invalid, or a budget that cannot be met
    │   └── BudgetExceededError          a run would spend more than the requested budget
    ├── PrivacyParameterError(ValueError) a mechanism parameter is invalid
    ├── IncompatibleModuleError(TypeError) a module Opacus cannot make private
    └── SecureModeUnavailableError(RuntimeError) secure_mode asked, no cryptographic RNG installed

    PrivacyWarning(UserWarning)          something weakens or labels the guarantee (non-DP step)
"""

from __future__ import annotations


class PrivacyError(Exception):
    """Base class of errors raised by tabsynth.privacy."""


class BudgetError(PrivacyError, ValueError):
    """The privacy budget is invalid or cannot be met."""

    #: Epochs that would fit, when a DP-SGD plan refused its epochs (set by ``plan_dpsgd``;
    #: 0 otherwise, and when not even one would).
    max_epochs: int = 0


class BudgetExceededError(BudgetError):
    """Running the requested step would exceed the privacy budget."""


class PreprocessingOverBudget(BudgetError):
    """The preprocessing measurements alone spend the whole budget (nothing is left for
    training); raised before any training step."""


class PrivacyParameterError(PrivacyError, ValueError):
    """A mechanism or accountant parameter is invalid."""


class IncompatibleModuleError(PrivacyError, TypeError):
    """A torch module cannot be trained with DP-SGD (e.g. BatchNorm)."""


class SecureModeUnavailableError(PrivacyError, RuntimeError):
    """``secure_mode=True`` was requested but no cryptographically secure generator is available."""


class PrivacyWarning(UserWarning):
    """A step is not covered by the DP guarantee, or weakens it."""


class UtilityWarning(UserWarning):
    """A DP measurement is lost in its noise: the guarantee holds, but what is built on it is a
    guess (a column's bounds, say) and the release will not resemble the data there."""


def check_param(
    owner: str,
    name: str,
    value: object,
    ok: bool,
    expected: str,
    error: type[PrivacyError] = PrivacyParameterError,
) -> None:
    """Raise the project's standard parameter error (``error``) unless ``ok``.

    >>> check_param("Budget", "eps", -1, False, "> 0", BudgetError)
    Traceback (most recent call last):
    ...
    tabsynth.privacy.errors.BudgetError: The 'eps' parameter of Budget must be > 0. Got -1 instead.
    """
    if not ok:
        raise error(f"The {name!r} parameter of {owner} must be {expected}. Got {value!r} instead.")
