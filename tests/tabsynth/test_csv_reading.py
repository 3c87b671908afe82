"""The CSV reading rules (tabsynth._csvread): sniffing, NA tokens, short rows, mixed columns."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from tabsynth import DataError, DataWarning
from tabsynth.io import read_table, write_table


@pytest.mark.parametrize("text, sep, decimal", [
    ("a,b,c\n1.5,x,2\n2.5,y,3\n", ",", "."),
    ("a;b;c\n1,5;x;2\n2,5;y;3\n", ";", ","),
    ("a;b;c\n1.5;x;2\n2.5;y;3\n", ";", "."),
    ("a\tb\tc\n1,5\tx\t2\n2\ty\t3\n", "\t", ","),
    ("a|b|c\n1|x|2\n2|y|3\n", "|", "."),
], ids=["comma", "semicolon-comma-decimal", "semicolon-dot", "tab-in-.csv", "pipe"])
def test_delimiter_and_decimal_are_sniffed(tmp_path, text, sep, decimal):
    p = tmp_path / "t.csv"
    p.write_text(text)
    df = read_table(p)
    assert list(df.columns) == ["a", "b", "c"]
    assert df.attrs["csv"]["sep"] == sep and df.attrs["csv"]["decimal"] == decimal
    assert pd.api.types.is_float_dtype(df["a"]) or pd.api.types.is_integer_dtype(df["a"])


def test_wrong_forced_separator_is_refused(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a;b\n1;2\n")
    with pytest.raises(DataError, match="one column.*--sep ';'"):
        read_table(p, sep=",")


def test_one_genuine_column_is_fine(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("amount\n1\n2\n")
    assert list(read_table(p).columns) == ["amount"]


def test_only_the_empty_field_is_missing_by_default(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("lab,n\nNone,1\nNA,2\nnull,3\nn/a,4\n,5\n")
    df = read_table(p)
    assert df["lab"].tolist()[:4] == ["None", "NA", "null", "n/a"]
    assert df["lab"].isna().tolist() == [False] * 4 + [True]


def test_named_na_tokens_are_written_back(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("x,y\n1,a\nNA,b\n3,NA\n4,c\n")
    df = read_table(p, na_values=["NA"])
    assert df["x"].isna().sum() == 1 and df["y"].isna().sum() == 1
    assert df.attrs["na_rep"] == "NA"
    out = tmp_path / "o.csv"
    write_table(df, out)
    assert out.read_text() == "x,y\n1.0,a\nNA,b\n3.0,NA\n4.0,c\n"


def test_rows_with_too_few_fields_warn_with_the_count(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b,c\n" + "1,2,3\n" * 7 + "1,2\n" * 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = read_table(p)
    assert len(df) == 10 and df["c"].isna().sum() == 3
    msgs = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert msgs == ["3 of 10 rows of 't.csv' have fewer fields than the header (3); their "
                    "missing fields were read as missing values."]


def test_mostly_numeric_column_with_text_is_refused(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("bmi,k\n" + "".join(f"{20 + i},a\n" for i in range(9)) + "N/A,b\n")
    with pytest.raises(DataError, match=r"'bmi'.*1 of its 10.*'N/A'.*--na-values"):
        read_table(p)
    assert read_table(p, na_values=["N/A"])["bmi"].isna().sum() == 1
    assert read_table(p, text_columns=["bmi"])["bmi"].iloc[-1] == "N/A"


def test_mostly_text_column_with_numbers_is_text(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("kids\n0\nnone\nsome\nmany\n")
    assert read_table(p)["kids"].tolist() == ["0", "none", "some", "many"]


def test_empty_dataframe_and_list_cells_are_refused():
    with pytest.raises(DataError, match="no rows"):
        read_table(pd.DataFrame({"a": []}))
    with pytest.raises(DataError, match="no columns"):
        read_table(pd.DataFrame())
    with pytest.raises(DataError, match="lists or records.*'tags'"):
        read_table(pd.DataFrame({"tags": [[1], [2]]}))
