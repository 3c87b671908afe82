"""tabsynth.privacy: budgets, one ledger, mechanisms and accounting for end-to-end DP.

Importing this package does not import torch or Opacus: the accountants load Opacus on first use,
and the DP-SGD helpers live in :mod:`tabsynth.privacy.dpsgd` (imported explicitly, or lazily
through the names ``make_private``, ``check_module`` and ``poisson_batches`` here).
"""

from typing import Any

from .accounting import ACCOUNTANTS, compose, compose_epsilon, gaussian_epsilon, normalize_history
from .audit import (
    AuditResult,
    OneRunAuditResult,
    clopper_pearson,
    epsilon_lower_bound,
    one_run_audit,
    one_run_epsilon_lower_bound,
)
from .bounds import bounds_grid, dp_bounds
from .budget import (
    PrivacyBudget,
    ResolvedBudget,
    check_delta,
    check_delta_noisy,
    default_delta,
    resolve_budget,
)
from .calibration import calibrate_dpsgd, max_steps_for, preprocessing_noise
from .errors import (
    BudgetError,
    BudgetExceededError,
    IncompatibleModuleError,
    PreprocessingOverBudget,
    PrivacyError,
    PrivacyParameterError,
    PrivacyWarning,
    SecureModeUnavailableError,
    UtilityWarning,
)
from .ledger import LEDGER_SCHEMA_VERSION, Ledger, LedgerEntry
from .mechanisms import (
    GmmModes,
    Release,
    discover_categories,
    dp_count,
    dp_gmm_modes,
    dp_missing_rate,
    dp_quantiles,
    gaussian_histogram,
    gmm_modes_from_histogram,
    numeric_histogram,
    quantiles_from_histogram,
    threshold_for,
)
from .noise import SecureRandom, noise_rng

_LAZY_DPSGD = ("check_module", "make_private", "poisson_batches")

__all__ = [
    # errors
    "BudgetError",
    "BudgetExceededError",
    "IncompatibleModuleError",
    "PrivacyError",
    "PrivacyParameterError",
    "PreprocessingOverBudget",
    "PrivacyWarning",
    "SecureModeUnavailableError",
    "UtilityWarning",
    # budget and ledger
    "LEDGER_SCHEMA_VERSION",
    "Ledger",
    "LedgerEntry",
    "PrivacyBudget",
    "ResolvedBudget",
    "check_delta",
    "check_delta_noisy",
    "default_delta",
    "resolve_budget",
    # privacy noise (OS entropy, never random_state)
    "SecureRandom",
    "noise_rng",
    # accounting and calibration
    "ACCOUNTANTS",
    "calibrate_dpsgd",
    "compose",
    "compose_epsilon",
    "gaussian_epsilon",
    "max_steps_for",
    "normalize_history",
    "preprocessing_noise",
    # mechanisms
    "GmmModes",
    "Release",
    "bounds_grid",
    "discover_categories",
    "dp_bounds",
    "dp_count",
    "dp_gmm_modes",
    "dp_missing_rate",
    "dp_quantiles",
    "gaussian_histogram",
    "gmm_modes_from_histogram",
    "numeric_histogram",
    "quantiles_from_histogram",
    "threshold_for",
    # audit
    "AuditResult",
    "OneRunAuditResult",
    "clopper_pearson",
    "epsilon_lower_bound",
    "one_run_audit",
    "one_run_epsilon_lower_bound",
]
# ``check_module``, ``make_private`` and ``poisson_batches`` are reachable as attributes (lazily,
# they import torch) but stay out of ``__all__``: ``from tabsynth.privacy import *`` stays light.


def __getattr__(name: str) -> Any:
    if name in _LAZY_DPSGD:
        from . import dpsgd

        return getattr(dpsgd, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
