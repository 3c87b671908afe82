"""Tests for tabsynth.metadata."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from tabsynth import datasets
from tabsynth.errors import DataError, DataWarning, MetadataError
from tabsynth.metadata import SCHEMA_VERSION, ColumnMetadata, Metadata, check_data


@pytest.fixture
def mixed() -> pd.DataFrame:
    n = 60
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "age": rng.integers(18, 90, n),
            "score": rng.normal(size=n),
            "flag": rng.integers(0, 2, n),
            "active": rng.random(n) > 0.5,
            "city": pd.Series(rng.choice(["Paris", "Lyon", "Nice"], n), dtype="str"),
            "joined": pd.Series(
                pd.date_range("2020-01-01", periods=n, freq="D").strftime("%d/%m/%Y"),
                dtype="str",
            ),
            "ts": pd.date_range("2021-01-01", periods=n, freq="h"),
            "note": pd.Series([f"free text number {i} " * 5 for i in range(n)], dtype="str"),
            "row": np.arange(n),
        }
    )


def test_detect_types(mixed):
    with pytest.warns(DataWarning, match="customer_id.*note.*row") as record:
        meta = Metadata.detect(mixed)
    assert len(record) == 1
    sd = {n: c.sdtype for n, c in meta.columns.items()}
    assert sd == {
        "customer_id": "id", "age": "numerical", "score": "numerical", "flag": "categorical",
        "active": "boolean", "city": "categorical", "joined": "datetime", "ts": "datetime",
        "note": "text", "row": "id",
    }
    assert meta.columns["age"].representation == "int"
    assert meta.columns["score"].representation == "float"
    assert meta.columns["joined"].datetime_format == "%d/%m/%Y"
    assert meta.columns["city"].dtype == "str"
    assert meta.columns["age"].dtype == "int64"
    assert meta.modelled_columns == ["age", "score", "flag", "active", "city", "joined", "ts"]
    assert meta.excluded_columns == ["customer_id", "note", "row"]


def test_detect_does_not_mutate(mixed):
    before = mixed.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        Metadata.detect(mixed)
    pd.testing.assert_frame_equal(mixed, before)


def test_detect_bundled_datasets():
    adult = Metadata.detect(datasets.load("adult"))
    assert adult.columns["age"].sdtype == "numerical"
    assert adult.columns["income"].sdtype == "categorical"
    assert adult.excluded_columns == []
    with pytest.warns(DataWarning, match="PolicyNumber"):
        fraud = Metadata.detect(datasets.load("fraud", drop_ids=False))
    assert fraud.columns["PolicyNumber"].sdtype == "id"
    assert fraud.columns["RepNumber"].sdtype == "numerical"
    with pytest.warns(DataWarning, match="'id'"):
        stroke = Metadata.detect(datasets.load("stroke", drop_ids=False))
    assert stroke.columns["bmi"].representation == "float"


def test_round_trip_dict_and_file(tmp_path, mixed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        meta = Metadata.detect(mixed)
    meta.update_column("age", public_bounds=[0, 120])
    meta.update_column("city", public_domain=["Paris", "Lyon", "Nice", "Brest"])
    d = meta.to_dict()
    assert d["schema_version"] == SCHEMA_VERSION
    assert Metadata.from_dict(json.loads(json.dumps(d))) == meta
    path = tmp_path / "meta.json"
    meta.save(path)
    assert Metadata.load(path) == meta
    assert [p.name for p in tmp_path.iterdir()] == ["meta.json"]


def test_unknown_top_key():
    with pytest.raises(MetadataError, match=r"\['colums'\].*Valid keys: \['schema_version'"):
        Metadata.from_dict({"schema_version": 1, "colums": {}})


def test_unknown_column_key():
    d = {"schema_version": 1, "columns": {"a": {"sdtype": "numerical", "min": 0}}}
    with pytest.raises(MetadataError, match=r"'a'.*\['min'\].*Valid keys: \['sdtype'"):
        Metadata.from_dict(d)


def test_newer_schema_rejected():
    with pytest.raises(MetadataError, match="newer"):
        Metadata.from_dict({"schema_version": SCHEMA_VERSION + 1, "columns": {}})


def test_sdv_dict_hint():
    with pytest.raises(MetadataError, match="from_sdv"):
        Metadata.from_dict({"METADATA_SPEC_VERSION": "SINGLE_TABLE_V1", "columns": {}})


@pytest.mark.parametrize(
    "fields, match",
    [
        ({"sdtype": "number"}, "sdtype must be one of"),
        ({"sdtype": "categorical", "representation": "int"}, "numerical columns only"),
        ({"sdtype": "numerical", "representation": "double"}, "representation must be"),
        ({"sdtype": "numerical", "public_bounds": [5, 1]}, "lower must be <= upper"),
        ({"sdtype": "numerical", "public_bounds": [0]}, "pair"),
        ({"sdtype": "numerical", "public_bounds": [0, float("inf")]}, "finite"),
        ({"sdtype": "categorical", "public_domain": []}, "not be empty"),
        ({"sdtype": "categorical", "public_domain": ["a", "a"]}, "duplicate"),
        ({"sdtype": "categorical", "public_domain": "abc"}, "list of values"),
        ({"sdtype": "numerical", "public_domain": [1, 2]}, "categorical and boolean"),
        ({"sdtype": "datetime", "datetime_format": "YYYY"}, "strftime"),
        ({"sdtype": "datetime", "public_bounds": ["2020-01-01", "nonsense"]}, "dates"),
    ],
)
def test_column_validation(fields, match):
    with pytest.raises(MetadataError, match=match):
        ColumnMetadata(**fields)


def test_datetime_bounds_accept_dates():
    col = ColumnMetadata("datetime", public_bounds=["2020-01-01", "2021-01-01"])
    assert col.public_bounds == ("2020-01-01", "2021-01-01")


def test_update_column():
    meta = Metadata({"a": {"sdtype": "numerical", "representation": "int"}, "b": {"sdtype": "id"}},
                    primary_key="b")
    meta.update_column("a", public_bounds=[0, 10])
    assert meta["a"].public_bounds == (0, 10)
    meta.update_column("a", sdtype="categorical")
    assert meta["a"].representation is None and meta["a"].public_bounds is None
    with pytest.raises(MetadataError, match=r"unknown field\(s\) \['colour'\]"):
        meta.update_column("a", colour="red")
    with pytest.raises(MetadataError, match="'a'.*sdtype must be"):
        meta.update_column("a", sdtype="weird")
    with pytest.raises(MetadataError, match="'zzz' is not in the metadata"):
        meta.update_column("zzz", sdtype="id")
    meta.update_column("b", sdtype="categorical")
    assert meta.primary_key is None


SDV_SINGLE = {
    "METADATA_SPEC_VERSION": "SINGLE_TABLE_V1",
    "primary_key": "user_id",
    "columns": {
        "user_id": {"sdtype": "id", "regex_format": "U_[0-9]{6}"},
        "age": {"sdtype": "numerical", "computer_representation": "Int64"},
        "income": {"sdtype": "numerical", "computer_representation": "Float"},
        "plan": {"sdtype": "categorical"},
        "churned": {"sdtype": "boolean"},
        "signup": {"sdtype": "datetime", "datetime_format": "%Y-%m-%d"},
        "email": {"sdtype": "email", "pii": True},
        "phone": {"sdtype": "phone_number", "pii": True},
        "comment": {"sdtype": "unknown"},
    },
}


def test_from_sdv_single_table(tmp_path):
    meta = Metadata.from_sdv(SDV_SINGLE)
    sd = {n: c.sdtype for n, c in meta.columns.items()}
    assert sd == {
        "user_id": "id", "age": "numerical", "income": "numerical", "plan": "categorical",
        "churned": "boolean", "signup": "datetime", "email": "text", "phone": "text",
        "comment": "text",
    }
    assert meta["age"].representation == "int"
    assert meta["income"].representation == "float"
    assert meta["signup"].datetime_format == "%Y-%m-%d"
    assert meta.primary_key == "user_id"
    assert meta.modelled_columns == ["age", "income", "plan", "churned", "signup"]
    p = tmp_path / "sdv.json"
    p.write_text(json.dumps(SDV_SINGLE))
    assert Metadata.from_sdv(p) == meta
    assert Metadata.from_sdv(str(p)) == meta


def test_from_sdv_multi_table():
    multi = {
        "METADATA_SPEC_VERSION": "V1",
        "tables": {"users": {k: v for k, v in SDV_SINGLE.items() if k != "METADATA_SPEC_VERSION"}},
        "relationships": [],
    }
    assert Metadata.from_sdv(multi) == Metadata.from_sdv(SDV_SINGLE)
    multi["tables"]["orders"] = {"columns": {"x": {"sdtype": "categorical"}}}
    with pytest.raises(MetadataError, match="exactly one table.*users.*orders"):
        Metadata.from_sdv(multi)


def test_from_sdv_errors(tmp_path):
    with pytest.raises(MetadataError, match="does not exist"):
        Metadata.from_sdv(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(MetadataError, match="bad.json.*not valid JSON"):
        Metadata.from_sdv(bad)
    with pytest.raises(MetadataError, match="sdtype"):
        Metadata.from_sdv({"columns": {"a": {}}})


def test_from_json_any_tells_tabsynth_and_sdv_metadata_apart(tmp_path, mixed):
    ours = Metadata.detect(mixed, warn=False)
    assert Metadata.from_json_any(ours.to_dict()) == ours
    assert Metadata.from_json_any(SDV_SINGLE) == Metadata.from_sdv(SDV_SINGLE)
    p = tmp_path / "ours.json"
    ours.save(p)
    assert Metadata.from_json_any(p) == ours
    # a byte-order mark (as some editors write) is accepted; SDV files are sniffed too
    sdv = tmp_path / "sdv.json"
    sdv.write_bytes(b"\xef\xbb\xbf" + json.dumps(SDV_SINGLE).encode("utf-8"))
    assert Metadata.from_json_any(str(sdv)) == Metadata.from_sdv(SDV_SINGLE)
    # a newer tabsynth schema is still ours (refused, not read as SDV)
    with pytest.raises(MetadataError, match="newer"):
        Metadata.from_json_any({**ours.to_dict(), "schema_version": SCHEMA_VERSION + 1})
    # no schema_version, but a declared public domain: ours, and the declaration is kept (read
    # as SDV metadata it was dropped without a word, so DP fits measured the domain instead)
    hand = {"columns": {"grade": {"sdtype": "categorical", "public_domain": ["a", "b", "c"]},
                        "age": {"sdtype": "numerical", "public_bounds": [0, 120]}}}
    m = Metadata.from_json_any(hand)
    assert list(m["grade"].public_domain) == ["a", "b", "c"]
    assert list(m["age"].public_bounds) == [0, 120]
    assert "METADATA_SPEC_VERSION" in SDV_SINGLE  # the SDV marker wins over any field


@pytest.mark.parametrize("content, match", [
    (None, "does not exist"),
    (b"[1, 2]", "must hold a JSON object"),
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe{}", "not UTF-8 text"),
])
def test_from_json_any_file_errors(tmp_path, content, match):
    p = tmp_path / "m.json"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(MetadataError, match=match):
        Metadata.from_json_any(p)


def test_validate_lists_all_problems():
    meta = Metadata({
        "age": {"sdtype": "numerical", "representation": "int"},
        "zip": {"sdtype": "numerical"},
        "plan": {"sdtype": "categorical", "public_domain": ["basic", "pro"]},
        "day": {"sdtype": "datetime", "datetime_format": "%Y-%m-%d"},
        "uid": {"sdtype": "id"},
    })
    df = pd.DataFrame({
        "zip": pd.Series(["75001", "N/A"], dtype="str"),
        "plan": ["basic", "gold"],
        "day": ["2020-01-01", "01/02/2020"],
        "extra": [1, 2],
    })
    with pytest.raises(MetadataError) as info:
        meta.validate(df)
    msg = str(info.value)
    assert msg.startswith("The data does not match the metadata: ")
    for part in ("'age' is missing", "'zip' is numerical", "'N/A'", "'plan'", "'gold'",
                 "'day'", "['extra']"):
        assert part in msg
    assert "uid" not in msg  # excluded columns may be absent


def test_validate_ok():
    df = datasets.load("adult")
    Metadata.detect(df).validate(df)


def test_check_data_problems():
    meta = Metadata({
        "x": {"sdtype": "numerical"}, "empty": {"sdtype": "numerical"},
        "mix": {"sdtype": "categorical"}, "ok": {"sdtype": "categorical"},
    })
    df = pd.DataFrame({
        "x": [1.0, np.inf, -np.inf],
        "empty": [np.nan] * 3,
        "mix": pd.Series([1, "a", 2], dtype=object),
        "ok": pd.Series(["1", "2", "three"], dtype="str"),
    })
    with pytest.raises(DataError) as info:
        check_data(df, meta)
    msg = str(info.value)
    assert "'x' has 2 infinite" in msg
    assert "'empty' has only missing" in msg
    assert "'mix' mixes value types" in msg
    assert "'ok'" not in msg


def test_check_data_rows_and_constant():
    meta = Metadata({"c": {"sdtype": "numerical"}, "k": {"sdtype": "categorical"}})
    with pytest.raises(DataError, match="at least 2 rows"):
        check_data(pd.DataFrame({"c": [1.0], "k": ["a"]}), meta)
    check_data(pd.DataFrame({"c": [1.0, 1.0], "k": ["a", "a"]}), meta)


def test_detect_rejects_non_string_names():
    with pytest.raises(DataError, match="strings"):
        Metadata.detect(pd.DataFrame({0: [1, 2]}))


def test_detection_never_declares_a_public_domain():
    # a domain read from the values is not public (one row decides it): never automatic
    df = pd.DataFrame({"flag": [0, 1, 0, 0] * 10, "count": [0, 1, 2, 3] * 10,
                       "rare": [0] * 39 + [1]})
    for meta in (Metadata.detect(df), Metadata.from_dtypes(df)):
        assert all(c.public_domain is None and c.public_bounds is None
                   for c in meta.columns.values())
