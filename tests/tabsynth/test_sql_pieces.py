"""A SQL query read in pieces (tabsynth.sql_reader): the pieces hold every row once (NULL and
negative split values too), Dask workers read them in parallel and give the statistics of the
same pieces read here, and bad splits are clear errors."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabsynth import ARSynthesizer, DataError, Metadata, ParameterError, sql_source
from tabsynth.models.streaming import streamed_stats
from tabsynth.sql_reader import partition_query


def frame(n: int = 2_000) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame({
        "id": np.arange(n) - 300,  # negative ids too
        "x": rng.normal(10, 3, n).round(3),
        "k": rng.choice(["a", "b", "c"], n),
        "code": pd.array(rng.integers(0, 50, n), dtype="Int64"),
    })


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    df = frame()
    df.loc[::97, "code"] = pd.NA  # NULLs in a split column go to piece 0
    path = tmp_path_factory.mktemp("sql") / "t.db"
    with sqlite3.connect(path) as con:
        df.to_sql("t", con, index=False)
    return f"sqlite:///{path}", df


def _rows(source) -> pd.DataFrame:
    return pd.concat(list(source.iter_batches(300)), ignore_index=True)


@pytest.mark.parametrize("column", ["id", "code"])
def test_pieces_hold_every_row_once(db, column):
    url, df = db
    source = sql_source("SELECT * FROM t ORDER BY id", url, partitions=3,
                        partition_column=column)
    pieces = source.partitions()
    assert len(pieces) == 3 and all(p.piece == i for i, p in enumerate(pieces))
    got = [_rows(p) for p in pieces]
    assert sum(map(len, got)) == len(df)
    both = pd.concat(got).sort_values("id", ignore_index=True)
    assert both["id"].tolist() == df["id"].tolist()
    for i, part in enumerate(got):
        values = part[column].dropna().astype(int)
        assert ((values % 3) == i).all()
        assert part[column].isna().sum() == (df[column].isna().sum() if i == 0 else 0)
    whole = _rows(source)  # read here: the pieces one after the other
    assert whole["id"].tolist() == pd.concat(got)["id"].tolist()
    assert source.n_rows == len(df)


def test_pieces_on_duckdb(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    path = tmp_path / "t.duckdb"
    con = duckdb.connect(str(path))
    con.register("f", frame(500))
    con.execute("CREATE TABLE t AS SELECT * FROM f")
    con.close()
    source = sql_source("SELECT * FROM t ORDER BY id;", f"duckdb:///{path}", partitions=4,
                        partition_column="id")
    sizes = [len(_rows(p)) for p in source.partitions()]
    assert sum(sizes) == 500 and min(sizes) == 125


def test_dask_reads_the_pieces_and_gives_the_local_statistics(db):
    pytest.importorskip("distributed")
    from tabsynth.engine import DaskEngine

    url, df = db
    md = Metadata.detect(df.drop(columns=["id"]), warn=False)
    query = "SELECT x, k, code, id % 7 AS g FROM t ORDER BY id"
    md_g = Metadata.from_dict({**md.to_dict(), "columns": {
        **md.to_dict()["columns"], "g": {"sdtype": "numerical"}}})

    def stats(engine):
        source = sql_source(query, url, partitions=3, partition_column="g")
        source.engine = engine
        return streamed_stats(source, md_g, seed=0, mixtures=False).to_dict()

    local = stats(None)
    with DaskEngine(n_workers=2, processes=False) as engine:
        assert stats(engine) == local
    model = ARSynthesizer(epochs=1, random_state=0, verbose=False)
    model.fit(sql_source(query, url, partitions=3, partition_column="g"), metadata=md_g)
    assert len(model.sample(10, random_state=0)) == 10


def test_bad_splits_are_clear_errors(db):
    url, _ = db
    with pytest.raises(ParameterError, match="need a partition column"):
        sql_source("SELECT * FROM t", url, partitions=2)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ParameterError, match="int >= 1"):
            sql_source("SELECT * FROM t", url, partitions=bad)
    with pytest.raises(ParameterError, match="column name"):
        sql_source("SELECT * FROM t", url, partitions=2, partition_column=" ")
    with pytest.raises(DataError, match="'nope' is not a column"):
        sql_source("SELECT * FROM t", url, partitions=2, partition_column="nope").partitions()
    with pytest.raises(DataError, match="must hold integers"):
        sql_source("SELECT * FROM t", url, partitions=2, partition_column="k").partitions()


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.integers(-10**6, 10**6)), max_size=60),
       n=st.integers(2, 9))
def test_partition_query_splits_any_integers(values, n):
    """Property: over any integers (negative, NULL), the pieces partition the rows."""
    with sqlite3.connect(":memory:") as con:
        con.execute('CREATE TABLE t ("we""ird" INTEGER, pos INTEGER)')
        con.executemany("INSERT INTO t VALUES (?, ?)", [(v, i) for i, v in enumerate(values)])
        seen = []
        for i in range(n):
            q = partition_query("SELECT * FROM t;", 'we"ird', n, i)
            seen += [row[1] for row in con.execute(q)]
    assert sorted(seen) == list(range(len(values)))
