"""The exported names are what we mean: each package's ``__all__`` is pinned and resolves."""

from __future__ import annotations

import importlib

import pytest

EXPECTED = {
    "tabsynth": {
        "ARSynthesizer", "CTGAN", "TVAE", "Metadata", "Oversampler", "load", "rebalance",
        "sample_rare", "fit_distributed", "open_source", "sql_source",
        "__version__",
        "TabsynthError", "ParameterError", "DataError", "MetadataError", "ConditionError",
        "NotFittedError", "ModelFileError", "TabsynthWarning", "DataWarning",
        "DistributedError", "TrainingError",
    },
    "tabsynth.evaluation": {
        "evaluate", "Report", "Policy", "load_policy", "MetricResult", "errors",
        "EvaluationError", "EvaluationDataError", "EvaluationParameterError",
        "EvaluationOutputError", "EvaluationWarning", "PolicyError",
    },
}

PRIVACY_CORE = {
    "PrivacyBudget", "Ledger", "LedgerEntry", "default_delta", "check_delta", "compose",
    "compose_epsilon", "calibrate_dpsgd", "max_steps_for", "preprocessing_noise",
    "epsilon_lower_bound", "gaussian_histogram", "discover_categories", "dp_bounds",
    "dp_quantiles", "PrivacyError", "BudgetError", "BudgetExceededError", "PrivacyWarning",
    "IncompatibleModuleError",
}


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_all_is_pinned(module: str) -> None:
    mod = importlib.import_module(module)
    assert set(mod.__all__) == EXPECTED[module]


@pytest.mark.parametrize("module", ["tabsynth", "tabsynth.evaluation", "tabsynth.privacy"])
def test_every_exported_name_resolves(module: str) -> None:
    mod = importlib.import_module(module)
    for name in mod.__all__:
        assert getattr(mod, name) is not None, name


def test_privacy_exports_the_documented_core() -> None:
    import tabsynth.privacy as p

    assert PRIVACY_CORE <= set(p.__all__)


def test_errors_subclass_the_builtins_users_catch() -> None:
    import tabsynth
    from tabsynth import evaluation, privacy

    for cls in (tabsynth.ParameterError, tabsynth.DataError, tabsynth.MetadataError,
                tabsynth.ConditionError, tabsynth.ModelFileError, privacy.BudgetError,
                evaluation.EvaluationDataError, evaluation.PolicyError):
        assert issubclass(cls, ValueError), cls
    assert issubclass(tabsynth.NotFittedError, AttributeError)
    assert issubclass(privacy.PrivacyWarning, UserWarning)
