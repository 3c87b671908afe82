"""A fit that would model no column is refused with the reason, before any training."""

import pandas as pd
import pytest

from tabsynth import CTGAN, TVAE
from tabsynth.errors import DataError


@pytest.mark.parametrize("cls", [TVAE, CTGAN])
@pytest.mark.parametrize("epsilon", [None, 1.0])
def test_no_modelled_column_is_refused(cls, epsilon):
    df = pd.DataFrame({"customer_id": range(100)})
    with pytest.raises(DataError, match="would model no column"):
        cls(epochs=1, epsilon=epsilon).fit(df)


def test_one_text_column_from_a_wrong_separator_names_the_delimiter():
    df = pd.DataFrame({"a;b;c": [f"row {i};x;y {i}" * 5 for i in range(60)]})
    df["a;b;c"] = df["a;b;c"] + "z" * 60  # long unique strings: detected as text
    with pytest.raises(DataError, match="separator"):
        TVAE(epochs=1).fit(df)


def test_sample_to_writes_the_inputs_na_token(tmp_path):
    import numpy as np

    df = pd.DataFrame({"a": np.r_[np.random.default_rng(0).normal(size=190), [np.nan] * 10],
                       "b": ["x", "y"] * 100})
    model = TVAE(epochs=1, verbose=False, random_state=0).fit(df)
    out = model.sample_to(tmp_path / "o.csv", 2000, na_rep="NA", random_state=0)
    text = out.read_text()
    assert ",NA" in text or "NA," in text
    back = pd.read_csv(out, keep_default_na=False)
    assert (back["a"] == "").sum() == 0


@pytest.mark.parametrize("cls", [TVAE, CTGAN])
@pytest.mark.parametrize("route", ["dpsgd", "marginals"])
def test_huge_epsilon_is_a_clear_parameter_error(cls, route):
    from tabsynth import ParameterError

    df = pd.DataFrame({"a": range(50), "b": ["x", "y"] * 25})
    with pytest.raises(ParameterError, match="epsilon"):
        cls(epochs=1, epsilon=1e12, route=route).fit(df)
