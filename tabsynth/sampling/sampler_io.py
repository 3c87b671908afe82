"""``X``, ``y`` in and out of the :class:`~tabsynth.Oversampler` (imbalanced-learn's formats).

In: a DataFrame or a 2-d array and a 1-d label vector (Series or array), checked with clear
:class:`~tabsynth.errors.ParameterError` messages. Out: the type of the input (DataFrame/array,
Series/array); a DataFrame carries the ledgers and the privacy report in
``X_res.attrs["tabsynth"]``. A mixin of the Oversampler.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError

__all__ = ["SamplerIO"]


class SamplerIO:
    """Input checks and output wrapping of the Oversampler (a mixin)."""

    @staticmethod
    def _check_xy(X: Any, y: Any, private: bool = False) -> tuple[pd.DataFrame, np.ndarray, bool]:
        """``X`` as a DataFrame (copy), ``y`` as a 1-d array; whether X was a DataFrame."""
        is_frame = isinstance(X, pd.DataFrame)
        if is_frame:
            frame = X.reset_index(drop=True).copy()
            frame.columns = [str(c) for c in frame.columns]
        else:
            arr = np.asarray(X)
            if arr.ndim != 2:
                raise ParameterError(
                    f"X must be a 2-d table (DataFrame or array); got shape {arr.shape}."
                )
            frame = pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
            frame = frame.infer_objects()
        y_arr = np.asarray(y.to_numpy() if isinstance(y, pd.Series) else y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = y_arr.ravel()
        if y_arr.ndim != 1:
            raise ParameterError(f"y must be 1-d (one label per row); got shape {y_arr.shape}.")
        if len(y_arr) != len(frame):
            sizes = ("" if private else  # a DP fit: no exact count (issue 11, item 10)
                     f": X has {len(frame)} rows, y has {len(y_arr)} labels")
            raise ParameterError(f"X and y do not match{sizes} (one label per row).")
        if len(frame) == 0:
            raise ParameterError("X is empty: nothing to oversample.")
        if pd.isna(pd.Series(y_arr)).any():
            raise ParameterError("y has missing labels; drop or label those rows first.")
        return frame, y_arr, is_frame

    def _wrap(self, X: Any, y: Any, X_res: pd.DataFrame, y_res: np.ndarray,
              is_frame: bool) -> tuple[Any, Any]:
        if is_frame:
            X_res.columns = list(X.columns)
            X_res.attrs["tabsynth"] = {
                "ledgers": [ledger.to_dict() for ledger in self.ledgers_],
                "privacy": dict(self.privacy_report_),
            }
            out_X: Any = X_res
        else:
            out_X = X_res.to_numpy(dtype=np.asarray(X).dtype)
        if isinstance(y, pd.Series):
            out_y: Any = pd.Series(y_res, name=y.name).astype(y.dtype, errors="ignore")
        else:
            out_y = np.asarray(y_res)
        return out_X, out_y
