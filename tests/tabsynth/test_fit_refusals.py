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
