"""tabsynth.evaluation: score any synthetic release for fidelity, utility and privacy risk.

Imports neither torch nor tabsynth's models, so it can score releases from any tool.
"""

from .errors import EvaluationDataError, EvaluationError, EvaluationWarning, PolicyError

__all__ = ["EvaluationDataError", "EvaluationError", "EvaluationWarning", "PolicyError"]
