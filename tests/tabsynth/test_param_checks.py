"""One place for parameter validation: ``tabsynth.errors`` (message format and type tests)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from tabsynth.errors import ParameterError, check_param, is_int, is_real
from tabsynth.metadata import Metadata
from tabsynth.stats import compute_stats
from tabsynth.transformer import DataTransformer


@pytest.mark.parametrize("value, integer, real", [
    (3, True, True), (np.int64(3), True, True), (np.uint8(3), True, True),
    (2.5, False, True), (np.float32(2.5), False, True), (Fraction(1, 2), False, True),
    (True, False, False), (False, False, False), ("3", False, False), (None, False, False),
])
def test_type_tests_refuse_bools_and_accept_numpy_numbers(value, integer, real):
    assert is_int(value) is integer
    assert is_real(value) is real


def test_check_param_message():
    with pytest.raises(ParameterError, match=r"The 'k' parameter of f must be an int >= 1\. "
                                             r"Got 0 instead\."):
        check_param("f", "k", 0, False, "an int >= 1")
    check_param("f", "k", 1, True, "an int >= 1")


def test_stats_and_transformer_parameters_use_it():
    df = pd.DataFrame({"x": np.arange(20.0), "c": ["a", "b"] * 10})
    meta = Metadata.detect(df, warn=False)
    with pytest.raises(ParameterError, match="'max_modes' parameter of compute_stats"):
        compute_stats(df, meta, max_modes=True)
    assert compute_stats(df, meta, max_modes=np.int64(3), random_state=0)["x"].lower == 0.0
    st = compute_stats(df, meta, random_state=0)
    with pytest.raises(ParameterError, match="'numeric_encoding' parameter of DataTransformer"):
        DataTransformer(meta, st, numeric_encoding="quantiles")
    with pytest.raises(ParameterError, match="column_codes needs"):
        DataTransformer(meta, st).column_codes(df)
