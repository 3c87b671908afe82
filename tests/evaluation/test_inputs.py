"""Bad inputs raise one EvaluationDataError naming every problem; nothing is written."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from eval_tables import adult_split

from tabsynth.evaluation import EvaluationDataError, EvaluationWarning, evaluate

FAST = {"progress": False, "random_state": 0, "policy": {"checks": {"column_shapes": {"min": 0}}}}


@pytest.fixture(scope="module")
def tables():
    train, holdout, syn = adult_split(300, 100)
    return train, holdout, syn


def test_column_sets_differ_lists_missing_and_extra(tables) -> None:
    train, _, syn = tables
    bad = syn.drop(columns=["age", "sex"]).assign(extra=1)
    with pytest.raises(EvaluationDataError) as err:
        evaluate(train, bad, **FAST)
    msg = str(err.value)
    assert "lacks column(s) ['age', 'sex']" in msg and "['extra']" in msg


@pytest.mark.parametrize("role", ["synthetic", "real"])
def test_a_written_row_index_is_named_as_such(tables, tmp_path, role) -> None:
    """A file written by ``to_csv`` with its index gets an unnamed first column (pandas reads
    it as 'Unnamed: 0'): the message says what it probably is and what to do, whichever file
    has it; a column that is merely extra gets no such hint."""
    train, _, syn = tables
    paths = {"real": tmp_path / "real.csv", "synthetic": tmp_path / "syn.csv"}
    train.to_csv(paths["real"], index=role == "real")
    syn.to_csv(paths["synthetic"], index=role == "synthetic")
    with pytest.raises(EvaluationDataError) as err:
        evaluate(str(paths["real"]), str(paths["synthetic"]), **FAST)
    msg = str(err.value)
    assert "'Unnamed: 0'" in msg and "row index" in msg and "index=False" in msg
    with pytest.raises(EvaluationDataError) as err:
        evaluate(train, syn.assign(extra=1), **FAST)
    assert "row index" not in str(err.value)


def test_timezone_aware_datetimes_are_scored(tmp_path) -> None:
    """A tz-aware datetime column (a Parquet export, or ISO strings with an offset read with
    datetime metadata) is compared in UTC; before, every column-shape score and the holdout
    overlap check failed on it with an internal error ("Cannot use .astype to convert from
    timezone-aware dtype to timezone-naive dtype")."""
    def frame(n, seed):
        r = np.random.default_rng(seed)
        return pd.DataFrame({"when": pd.Timestamp("2024-01-01", tz="Europe/Berlin")
                             + pd.to_timedelta(r.integers(0, 24 * 365, n), "h"),
                             "x": r.normal(size=n), "k": r.choice(["a", "b"], n)})

    real, syn, hold = frame(300, 0), frame(300, 1), frame(100, 2)
    rep = evaluate(real, syn, holdout=hold, **FAST)
    shapes = {r["column"]: r["score"] for r in rep.metric("column_shapes").details["columns"]}
    assert 0.8 < shapes["when"] <= 1.0
    # the same instants written as UTC strings in a CSV score the same with datetime metadata
    meta = {"columns": {"when": {"sdtype": "datetime"}, "x": {"sdtype": "numerical"},
                        "k": {"sdtype": "categorical"}}}
    syn.assign(when=syn["when"].dt.tz_convert("UTC")).to_csv(tmp_path / "s.csv", index=False)
    rep2 = evaluate(real, str(tmp_path / "s.csv"), metadata=meta, **FAST)
    shapes2 = {r["column"]: r["score"] for r in rep2.metric("column_shapes").details["columns"]}
    assert shapes2["when"] == pytest.approx(shapes["when"])


def test_csv_dates_are_datetimes_without_metadata(tmp_path) -> None:
    """ISO dates in a CSV (text to pandas) are scored as a datetime column without metadata,
    as ``fit`` detects them; before, they were categories of distinct timestamps: two draws
    of the same distribution scored 0.003 on that column's shape and 0.0 on pair trends
    (0.950 and 0.904 now). Text that is only partly dates, or numbers, stays as it was."""
    from tabsynth.evaluation._schema import infer_kind

    def frame(n, seed):
        r = np.random.default_rng(seed)
        return pd.DataFrame({"when": (pd.Timestamp("2024-01-01")
                                      + pd.to_timedelta(r.integers(0, 10**6, n), "min")),
                             "x": r.normal(size=n)})

    frame(400, 0).to_csv(tmp_path / "r.csv", index=False)
    frame(400, 1).to_csv(tmp_path / "s.csv", index=False)
    rep = evaluate(str(tmp_path / "r.csv"), str(tmp_path / "s.csv"), **FAST)
    cols = {r["column"]: r for r in rep.metric("column_shapes").details["columns"]}
    assert cols["when"]["kind"] == "datetime" and cols["when"]["score"] > 0.9
    dates = pd.Series(["2024-01-01", "2024-02-29 10:00", "2024-03-01T08:00:00+01:00", None])
    assert infer_kind(dates) == "datetime"
    assert infer_kind(pd.Series(["2024-01-01", "soon", "2024-01-03"])) == "categorical"
    assert infer_kind(pd.Series(["20240101", "20240102"])) == "categorical"  # codes, not dates
    assert infer_kind(pd.Series(["2024-13-45", "2024-01-02"])) == "categorical"  # not dates


def test_dtype_disagreement_names_column(tables) -> None:
    train, _, syn = tables
    bad = syn.assign(age=syn["age"].astype(str) + " years")
    with pytest.raises(EvaluationDataError, match="column 'age' is numeric .* but text"):
        evaluate(train, bad, **FAST)


@pytest.mark.parametrize("which", ["real", "synthetic"])
def test_empty_table(tables, which) -> None:
    train, _, syn = tables
    args = (train.iloc[:0], syn) if which == "real" else (train, syn.iloc[:0])
    with pytest.raises(EvaluationDataError, match=f"the {which} table is empty"):
        evaluate(*args, **FAST)


def test_target_missing_or_constant(tables) -> None:
    train, _, syn = tables
    with pytest.raises(EvaluationDataError, match="target column 'nope' is not in"):
        evaluate(train, syn, target="nope", **FAST)
    with pytest.raises(EvaluationDataError, match="'sex' is constant"):
        evaluate(train.assign(sex="Male"), syn, target="sex", **FAST)


def test_all_nan_column_and_problems_aggregate(tables) -> None:
    train, _, syn = tables
    bad = syn.assign(workclass=pd.Series([None] * len(syn), dtype="str"))
    with pytest.raises(EvaluationDataError) as err:
        evaluate(train, bad.drop(columns=["sex"]), target="nope", **FAST)
    msg = str(err.value)
    assert "['workclass'] of the synthetic table contain only missing values" in msg
    assert "lacks column(s) ['sex']" in msg and "'nope'" in msg


def test_holdout_overlap_warns_and_is_recorded(tables) -> None:
    train, holdout, syn = tables
    leaky = pd.concat([holdout, train.iloc[:3]], ignore_index=True)
    with pytest.warns(EvaluationWarning, match="3 row\\(s\\) of the holdout.*meaningless"):
        rep = evaluate(train, syn, holdout=leaky, max_rows=200, **FAST)
    assert any("meaningless" in w for w in rep.warnings)
    assert "meaningless" in rep.to_html()


def test_no_warning_for_disjoint_holdout(tables) -> None:
    train, holdout, syn = tables
    with warnings.catch_warnings():
        warnings.simplefilter("error", EvaluationWarning)
        evaluate(train, syn, holdout=holdout, **FAST)


def test_paths_and_missing_file(tables, tmp_path) -> None:
    train, _, syn = tables
    train.to_csv(tmp_path / "r.csv", index=False)
    syn.to_parquet(tmp_path / "s.parquet")
    rep = evaluate(tmp_path / "r.csv", str(tmp_path / "s.parquet"), **FAST)
    assert rep.datasets["real"]["fingerprint"] == "file"
    assert rep.datasets["synthetic"]["source"] == "s.parquet"
    with pytest.raises(EvaluationDataError, match="does not exist"):
        evaluate(tmp_path / "nope.csv", syn, **FAST)
    meta = tmp_path / "meta.json"
    meta.write_text('{"columns": {"age": {"sdtype": "categorical"}}}')
    rep = evaluate(train, syn, metadata=meta, **FAST)
    assert rep.parameters["columns"]["age"] == "categorical" and rep.parameters[
        "metadata_supplied"]
    meta.write_text("{not json")
    with pytest.raises(EvaluationDataError, match="metadata"):
        evaluate(train, syn, metadata=meta, **FAST)


@pytest.mark.parametrize("meta", [{"cols": {}}, {"columns": 5}, {"tables": {}},
                                  {"tables": {"a": {"columns": {}}, "b": {"columns": {}}}},
                                  {"tables": {"a": 3}}])
def test_malformed_metadata_is_a_data_error(tables, meta) -> None:
    train, _, syn = tables
    with pytest.raises(EvaluationDataError, match="metadata cannot be read"):
        evaluate(train, syn, metadata=meta, **FAST)


def test_callers_frames_are_not_mutated(tables) -> None:
    train, _, syn = tables
    before = train.copy()
    evaluate(train, syn, metadata={"columns": {"age": {"sdtype": "numerical"}}}, **FAST)
    pd.testing.assert_frame_equal(train, before)
    assert np.isfinite(before["age"]).all()


def test_csv_dates_in_a_codebook_format_are_datetimes(tmp_path) -> None:
    """Dates written day-first (``25/01/2024``), as ``fit`` detects them (the formats of
    ``Metadata.detect``, in its order), are scored as datetimes without metadata; before, a
    category per date (0.43 on that column's shape for two draws of the same dates). With
    metadata, its ``datetime_format`` is the one used: ``06/01/2024`` is 6 January there,
    never June (pandas' mixed parsing read it month-first)."""
    from tabsynth.evaluation._schema import DATE_FORMATS, infer_kind, text_date_format
    from tabsynth.metadata.detect import DATETIME_FORMATS

    assert DATE_FORMATS == DATETIME_FORMATS  # the evaluator reads dates as fit does

    def frame(n, seed):
        r = np.random.default_rng(seed)
        d = pd.Timestamp("2023-01-01") + pd.to_timedelta(r.integers(0, 700, n), "D")
        return pd.DataFrame({"when": d.strftime("%d/%m/%Y"), "x": r.normal(size=n)})

    frame(500, 0).to_csv(tmp_path / "r.csv", index=False)
    frame(500, 1).to_csv(tmp_path / "s.csv", index=False)
    rep = evaluate(str(tmp_path / "r.csv"), str(tmp_path / "s.csv"), **FAST)
    cols = {r["column"]: r for r in rep.metric("column_shapes").details["columns"]}
    assert cols["when"]["kind"] == "datetime" and cols["when"]["score"] > 0.9
    assert text_date_format(pd.Series(["25/01/2024", "06/01/2024", None])) == "%d/%m/%Y"
    assert text_date_format(pd.Series(["01/25/2024", "06/01/2024"])) == "%m/%d/%Y"
    assert text_date_format(pd.Series(["31.12.2024 ", "soon"])) is None
    assert infer_kind(pd.Series(["1/2", "3/4"])) == "categorical"  # fractions, not dates
    # the metadata's format decides: 06/01 is the 6th of January, in every table
    from tabsynth.evaluation._tables import Table, prepare

    meta = {"columns": {"when": {"sdtype": "datetime", "datetime_format": "%d/%m/%Y"},
                        "x": {"sdtype": "numerical"}}}
    tables = [Table(role, pd.DataFrame({"when": ["06/01/2024", "25/01/2024"] * 5,
                                        "x": np.arange(10.0)}), "", "frame", None)
              for role in ("real", "synthetic")]
    prepare(*tables, None, metadata=meta, target=None)
    for t in tables:
        assert t.frame["when"].tolist()[:2] == [pd.Timestamp("2024-01-06"),
                                                pd.Timestamp("2024-01-25")]
    # a release in ISO 8601 (another tool's) still reads against day-first real dates
    iso = [Table(role, pd.DataFrame({"when": dates, "x": np.arange(10.0)}), "", "frame", None)
           for role, dates in (("real", ["06/01/2024", "25/01/2024"] * 5),
                               ("synthetic", ["2024-01-06", "2024-01-25"] * 5))]
    prepare(*iso, None, metadata=None, target=None)
    assert iso[1].frame["when"].tolist()[:2] == iso[0].frame["when"].tolist()[:2]
