"""tabsynth.evaluation: score any synthetic release for fidelity, utility and privacy risk.

Imports neither torch nor tabsynth's models, so it can score releases from any tool::

    from tabsynth.evaluation import evaluate
    report = evaluate(real_df, synthetic_df, holdout=holdout_df, target="income",
                      ledger=model_ledger_json, random_state=0)
    report.verdict            # "PASS (2 checks not run)"
    report.save(html="report.html", json="report.json")          # internal form, for sign-off
    report.save(html="public.html", json="public.json", form="release")  # to publish
"""

from . import errors
from ._types import MetricResult
from .api import evaluate
from .errors import (
    EvaluationDataError,
    EvaluationError,
    EvaluationOutputError,
    EvaluationParameterError,
    EvaluationWarning,
    PolicyError,
)
from .policy import Policy, load_policy
from .report import Report

__all__ = [
    "EvaluationDataError",
    "EvaluationError",
    "EvaluationOutputError",
    "EvaluationParameterError",
    "EvaluationWarning",
    "MetricResult",
    "Policy",
    "PolicyError",
    "Report",
    "errors",
    "evaluate",
    "load_policy",
]
