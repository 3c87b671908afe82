"""Tests for tabsynth.io."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from tabsynth.errors import DataError
from tabsynth.io import atomic_path, read_table, write_table


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2, 3], "b": ["x", None, "z"], "c": [0.5, np.nan, 1.25]})


def test_dataframe_is_copied(frame):
    out = read_table(frame)
    out.loc[0, "a"] = 99
    assert frame.loc[0, "a"] == 1


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.parquet", "t.pq", "T.CSV"])
def test_write_read_round_trip(tmp_path, frame, name):
    path = write_table(frame, tmp_path / name)
    assert path.exists()
    back = read_table(path)
    assert list(back.columns) == ["a", "b", "c"]
    assert back["a"].tolist() == [1, 2, 3]
    assert back["b"].isna().tolist() == [False, True, False]
    assert list(tmp_path.iterdir()) == [path]  # no temp file left


def test_csv_text_columns_are_str_dtype(tmp_path, frame):
    write_table(frame, tmp_path / "t.csv")
    back = read_table(tmp_path / "t.csv")
    assert pd.api.types.is_string_dtype(back["b"].dtype)
    assert str(back["b"].dtype) == "str"


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.csv.*does not exist"):
        read_table(tmp_path / "nope.csv")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_bytes(b"")
    with pytest.raises(DataError, match="empty.csv.*is empty"):
        read_table(p)


def test_blank_file(tmp_path):
    p = tmp_path / "blank.csv"
    p.write_text("\n\n")
    with pytest.raises(DataError, match="blank.csv"):
        read_table(p)


def test_header_only(tmp_path):
    p = tmp_path / "head.csv"
    p.write_text("a,b,c\n")
    with pytest.raises(DataError, match="head.csv.*no rows"):
        read_table(p)


def test_undecodable_bytes(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes("name,city\nJosé,Zürich\n".encode("latin-1"))
    with pytest.raises(DataError, match="latin.csv.*UTF-8"):
        read_table(p)


def test_duplicate_columns_csv(tmp_path):
    p = tmp_path / "dup.csv"
    p.write_text("a,b,a\n1,2,3\n")
    with pytest.raises(DataError, match=r"dup.csv.*duplicate column names: \['a'\]"):
        read_table(p)


def test_duplicate_columns_gzip(tmp_path):
    p = tmp_path / "dup.csv.gz"
    with gzip.open(p, "wt") as fh:
        fh.write("x,x\n1,2\n")
    with pytest.raises(DataError, match="duplicate"):
        read_table(p)


def test_duplicate_columns_dataframe():
    df = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(DataError, match="duplicate"):
        read_table(df)


@pytest.mark.parametrize("name", ["t.xlsx", "t.json", "t"])
def test_unknown_extension(tmp_path, name):
    p = tmp_path / name
    p.write_text("a\n1\n")
    with pytest.raises(DataError, match="extension"):
        read_table(p)
    with pytest.raises(DataError, match="extension"):
        write_table(pd.DataFrame({"a": [1]}), p)


def test_not_a_path():
    with pytest.raises(DataError, match="DataFrame or a file path"):
        read_table(42)


def test_corrupt_parquet(tmp_path):
    p = tmp_path / "bad.parquet"
    p.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="bad.parquet"):
        read_table(p)


def test_atomic_path_success(tmp_path):
    target = tmp_path / "out.txt"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.startswith(".out.txt.tmp-")
        tmp.write_text("hello")
        assert not target.exists()
    assert target.read_text() == "hello"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_path_error_leaves_nothing(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_write_failure_leaves_nothing(tmp_path):
    class Boom(pd.DataFrame):
        def to_csv(self, *args, **kwargs):
            raise ValueError("cannot serialise")

    with pytest.raises(ValueError, match="cannot serialise"):
        write_table(Boom({"a": [1]}), tmp_path / "x.csv")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_directory(tmp_path):
    target = tmp_path / "no" / "such" / "dir" / "x.csv"
    with pytest.raises(OSError, match="x.csv") as info:
        write_table(pd.DataFrame({"a": [1]}), target)
    assert info.value.filename == str(target)


# --- write_parquet_chunks: the write of chunk k overlaps the generation of chunk k + 1 ------
def _frames(n_chunks: int, rows: int = 1000):
    for k in range(n_chunks):
        yield pd.DataFrame({"a": np.arange(k * rows, (k + 1) * rows),
                            "b": [f"v{k}"] * rows, "c": np.linspace(0, 1, rows) + k})


def test_write_parquet_chunks_writes_every_chunk_in_order(tmp_path):
    import pyarrow.parquet as pq

    from tabsynth.io import write_parquet_chunks

    seen: list[int] = []
    n = write_parquet_chunks(_frames(5), tmp_path / "x.parquet", report=seen.append)
    assert n == 5000 and seen == [1000] * 5
    f = pq.ParquetFile(tmp_path / "x.parquet")
    assert f.metadata.num_row_groups == 5  # one row group per chunk
    back = f.read().to_pandas()
    pd.testing.assert_frame_equal(back, pd.concat(list(_frames(5)), ignore_index=True),
                                  check_dtype=False)


def test_write_parquet_chunks_error_while_generating_propagates(tmp_path):
    from tabsynth.io import write_parquet_chunks

    def broken():
        yield from _frames(2)
        raise RuntimeError("generation failed")

    seen: list[int] = []
    with pytest.raises(RuntimeError, match="generation failed"):
        write_parquet_chunks(broken(), tmp_path / "x.parquet", report=seen.append)
    assert seen == [1000]  # the first chunk was on disk before the second was queued


def test_write_parquet_chunks_error_in_the_write_propagates(tmp_path):
    from tabsynth.io import write_parquet_chunks

    def incompatible():
        yield pd.DataFrame({"a": [1, 2]})
        yield pd.DataFrame({"a": ["not", "an int"]})  # cannot be cast to the first schema

    with pytest.raises(Exception):  # noqa: B017 - pyarrow's own cast error
        write_parquet_chunks(incompatible(), tmp_path / "x.parquet")
