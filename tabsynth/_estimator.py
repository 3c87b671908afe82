"""The one estimator base of tabsynth: the synthesizers and the :class:`~tabsynth.Oversampler`.

scikit-learn's conventions, from scikit-learn itself (:class:`sklearn.base.BaseEstimator`):
``__init__`` only stores its keyword arguments, ``get_params(deep=True)`` (nested parameters of a
parameter that is itself an estimator, ``model__epochs``), ``set_params`` (validated at the next
``fit``), and so :func:`sklearn.base.clone` gives an unfitted copy with the same parameters.
tabsynth adds: an unknown parameter name is a :class:`~tabsynth.errors.ParameterError` listing the
valid ones, and :meth:`Estimator._reset_fitted`, which forgets what a previous ``fit`` learnt
(every attribute that is not a parameter).
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator

from .errors import ParameterError

__all__ = ["Estimator"]


class Estimator(BaseEstimator):
    """Parameters, ``get_params`` / ``set_params`` / ``clone`` and resetting fitted state."""

    def set_params(self, **params: Any) -> Estimator:
        """Set parameters (``name=value`` or ``param__nested=value``); returns ``self``.

        Raises
        ------
        ParameterError
            An unknown parameter name (the valid ones are listed).
        """
        valid = self._get_param_names()
        for name in params:
            if name.partition("__")[0] not in valid:
                raise ParameterError(
                    f"Invalid parameter {name!r} for {type(self).__name__}. "
                    f"Valid parameters: {valid}."
                )
        super().set_params(**params)
        return self

    def _reset_fitted(self) -> None:
        """Forget everything a previous fit left (fitted ``name_`` attributes and private
        ``_name`` state); parameters stay."""
        params = set(self._get_param_names())
        for name in list(vars(self)):
            if name not in params and (name.endswith("_") or name.startswith("_")):
                delattr(self, name)
