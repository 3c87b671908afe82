"""tabsynth.privacy: budgets, one ledger, mechanisms and accounting for end-to-end DP."""

from .errors import (
    BudgetError,
    BudgetExceededError,
    IncompatibleModuleError,
    PrivacyError,
    PrivacyParameterError,
    PrivacyWarning,
)

__all__ = [
    "BudgetError",
    "BudgetExceededError",
    "IncompatibleModuleError",
    "PrivacyError",
    "PrivacyParameterError",
    "PrivacyWarning",
]
