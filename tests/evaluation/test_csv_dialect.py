"""How ``evaluate`` reads CSV paths: sniffed separator and decimal mark (the rules of
``tabsynth fit``), missing tokens, ``csv_format``, and what the report says about it."""

from __future__ import annotations

import string

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabsynth.evaluation import EvaluationDataError, EvaluationParameterError, evaluate
from tabsynth.evaluation._csvdialect import DELIMITERS, sniff_decimal, sniff_separator

FAST = {"random_state": 0, "progress": False}


def _frames(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def one(k: int) -> pd.DataFrame:
        return pd.DataFrame({
            "amount": np.round(rng.gamma(2.0, 30.0, k), 2),
            "age": rng.integers(18, 90, k),
            "kind": rng.choice(["a", "b", "c"], k),
            "fraud": rng.choice([0, 1], k, p=[0.8, 0.2]),
        })

    return one(n), one(n)


def _figures(report) -> dict[str, float]:
    return {m.name: m.value for m in report.metrics if m.value is not None and m.value == m.value}


@pytest.mark.parametrize("sep,decimal", [(";", ","), ("\t", "."), ("|", ","), (",", ".")])
def test_a_csv_in_any_dialect_scores_as_its_frames(tmp_path, sep, decimal) -> None:
    real, syn = _frames()
    rp, sp = tmp_path / "real.csv", tmp_path / "syn.csv"
    real.to_csv(rp, sep=sep, decimal=decimal, index=False)
    syn.to_csv(sp, index=False)  # the release in plain CSV: each file is sniffed on its own
    from_files = evaluate(rp, sp, target="fraud", **FAST)
    from_frames = evaluate(real, syn, target="fraud", **FAST)
    assert from_files.parameters["columns"] == from_frames.parameters["columns"]
    assert _figures(from_files) == pytest.approx(_figures(from_frames), abs=1e-12)
    read = from_files.parameters["csv_read"]
    assert read["real"].startswith(f"separator {sep!r}, decimal mark {decimal!r}")
    assert read["synthetic"].startswith("separator ',', decimal mark '.'")
    assert "csv_read" not in from_frames.parameters  # frames: nothing was parsed
    import html

    page = html.unescape(from_files.to_html())
    assert f"real: separator {sep!r}, decimal mark {decimal!r}" in page  # a line per table,
    assert "{'real'" not in page  # not a dict's repr


def test_gzip_csv_is_sniffed_too(tmp_path) -> None:
    real, syn = _frames()
    real.to_csv(tmp_path / "r.csv.gz", sep=";", decimal=",", index=False)
    rep = evaluate(tmp_path / "r.csv.gz", syn, **FAST)
    assert rep.parameters["columns"]["amount"] == "numerical"
    assert rep.parameters["csv_read"]["real"].startswith("separator ';', decimal mark ','")


def _shape(report, column: str) -> float:
    shapes = next(m for m in report.metrics if m.name == "column_shapes")
    return next(c["score"] for c in shapes.details["columns"] if c["column"] == column)


def test_missing_tokens_default_to_pandas_and_follow_na_values(tmp_path) -> None:
    real, syn = _frames()
    for df in (real, syn):  # "N/A" marks a missing amount
        df["amount"] = df["amount"].astype(object)
        df.loc[df.index[:30], "amount"] = "N/A"
    real.to_csv(tmp_path / "r.csv", index=False)
    syn.to_csv(tmp_path / "s.csv", index=False)
    default = evaluate(tmp_path / "r.csv", tmp_path / "s.csv", **FAST)
    assert default.parameters["columns"]["amount"] == "numerical"
    assert default.parameters["csv_read"]["real"].endswith("missing: pandas' default tokens")
    # as tabsynth fit --na-values N/A reads it; a model file's csv_format is taken as is
    fit_like = evaluate(tmp_path / "r.csv", tmp_path / "s.csv",
                        csv_format={"na_values": ["N/A"], "na_rep": "N/A"}, **FAST)
    assert fit_like.parameters["columns"]["amount"] == "numerical"
    assert fit_like.parameters["csv_read"]["real"].endswith("missing: the empty field, 'N/A'")
    # only the empty field missing: "N/A" is text, so the column is not numerical
    only_empty = evaluate(tmp_path / "r.csv", tmp_path / "s.csv",
                          csv_format={"na_values": []}, **FAST)
    assert only_empty.parameters["columns"]["amount"] != "numerical"


def test_none_is_a_value_under_na_values(tmp_path) -> None:
    df = pd.DataFrame({"kind": ["None", "x", "y", "None"] * 30, "v": range(120)})
    df.to_csv(tmp_path / "r.csv", index=False)
    as_fit = evaluate(tmp_path / "r.csv", df, csv_format={"na_values": []}, **FAST)
    assert _shape(as_fit, "kind") == pytest.approx(1.0)  # the file's "None" is the frame's
    by_pandas = evaluate(tmp_path / "r.csv", df, **FAST)
    assert _shape(by_pandas, "kind") == pytest.approx(0.5)  # read as missing: half disagree


def test_a_latin1_file_is_named_and_a_bom_is_ignored(tmp_path) -> None:
    real, syn = _frames()
    real.assign(kind=real["kind"].replace({"a": "é"})).to_csv(tmp_path / "l.csv", index=False,
                                                                encoding="latin-1")
    with pytest.raises(EvaluationDataError, match=r"l.csv is not valid UTF-8 text .*Re-save"):
        evaluate(tmp_path / "l.csv", syn, **FAST)
    real.to_csv(tmp_path / "bom.csv", sep=";", index=False, encoding="utf-8-sig")  # Excel's
    rep = evaluate(tmp_path / "bom.csv", syn, **FAST)
    assert list(rep.parameters["columns"]) == list(real.columns)


def test_one_column_with_a_delimiter_in_its_name_is_refused(tmp_path) -> None:
    real, syn = _frames()
    real.to_csv(tmp_path / "r.csv", sep=";", index=False)
    with pytest.raises(EvaluationDataError, match=r"separator ','.*contains ';'.*'sep': ';'"):
        evaluate(tmp_path / "r.csv", syn, csv_format={"sep": ","}, **FAST)


@pytest.mark.parametrize("fmt,match", [
    ({"separator": ";"}, "unknown key"),
    ({"sep": ";;"}, "one character"),
    ({"decimal": ""}, "one character"),
    ({"sep": ";", "decimal": ";"}, "both ';'"),
    ({"na_values": "NA"}, "list of strings"),
    ({"na_values": [1]}, "list of strings"),
    (["sep"], "mapping"),
])
def test_bad_csv_format_is_a_parameter_error(fmt, match) -> None:
    real, syn = _frames(50)
    with pytest.raises(EvaluationParameterError, match=match):
        evaluate(real, syn, csv_format=fmt, **FAST)


_cell = st.one_of(
    st.integers(-10_000, 10_000).map(str),
    st.decimals(-1000, 1000, places=2, allow_nan=False, allow_infinity=False).map(str),
    st.text(string.ascii_letters[:6] + " -,;|.\t", min_size=0, max_size=6),
)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(st.tuples(_cell, st.booleans()), min_size=1, max_size=5),
                    min_size=1, max_size=12),
       sep=st.sampled_from(DELIMITERS))
def test_sniffing_agrees_with_tabsynth_fit(rows, sep) -> None:
    """Whatever fit's reader decides for a file, evaluate's decides the same."""
    import csv
    import io

    from tabsynth._csvread import sniff

    buf = io.StringIO()  # rows of uneven width, cells holding other delimiters, mixed marks
    writer = csv.writer(buf, delimiter=sep, lineterminator="\n")
    for row in rows:  # the first row is the header
        writer.writerow([c.replace(".", ",") if comma else c for c, comma in row])
    text = buf.getvalue()
    got_sep = sniff_separator(text)
    assert (got_sep, sniff_decimal(text, got_sep)) == sniff(text)


@pytest.mark.parametrize("text,sep", [
    ("a;b|c\n1;2|3\n", ";"),  # a tie between ';' and '|': the earlier in the list wins
    ("a|b\n" + "1|2\n" * 8 + "1|2|3\n", "|"),  # 9 of 10 lines agree: still a separator
    ("abc\n1\n", ","),  # nothing splits: ','
])
def test_separator_ties_and_threshold(text, sep) -> None:
    from tabsynth._csvread import sniff

    assert sniff_separator(text) == sep == sniff(text)[0]


def test_metadata_na_values_apply_unless_csv_format_names_them(tmp_path) -> None:
    df = pd.DataFrame({"kind": ["None", "x", "y", "None"] * 30, "v": range(120)})
    df.to_csv(tmp_path / "r.csv", index=False)
    meta = {"columns": {"kind": {"sdtype": "categorical"}, "v": {"sdtype": "numerical"}},
            "na_values": ["n/a"]}
    rep = evaluate(tmp_path / "r.csv", df, metadata=meta, **FAST)
    assert rep.parameters["csv_read"]["real"].endswith("missing: the empty field, 'n/a'")
    assert _shape(rep, "kind") == pytest.approx(1.0)  # "None" stays a value, as in fit
    rep = evaluate(tmp_path / "r.csv", df, metadata=meta, csv_format={"na_values": ["None"]},
                   **FAST)
    assert rep.parameters["csv_read"]["real"].endswith("missing: the empty field, 'None'")
