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


def test_duckdb_types_comments_and_small_integers(tmp_path):
    """Declared types: a DOUBLE or DECIMAL column is refused (its values would fall between
    the pieces); a TINYINT split 100 ways does not overflow; a query ending in a ``--``
    comment or a semicolon still splits."""
    duckdb = pytest.importorskip("duckdb")
    path = tmp_path / "t.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT i::TINYINT AS small, i * 0.5 AS half, "
                "(i * 0.5)::DECIMAL(10, 2) AS money, i AS id FROM range(-100, 120) r(i)")
    con.close()
    url = f"duckdb:///{path}"
    for column in ("half", "money"):
        with pytest.raises(DataError, match="must hold integers"):
            sql_source("SELECT * FROM t", url, partitions=4,
                       partition_column=column).partitions()
    for query, pieces in (("SELECT * FROM t ORDER BY id -- every row", 100),
                          ("SELECT * FROM t ORDER BY id;", 100),
                          ("SELECT * FROM t ORDER BY id; -- every row", 3),
                          ("SELECT * FROM t ORDER BY id; /* every; row */\n  ", 3),
                          ("SELECT *, '--;' AS s FROM t ORDER BY id -- a string holds '--;'", 3)):
        source = sql_source(query, url, partitions=pieces, partition_column="small")
        rows = pd.concat([_rows(p) for p in source.partitions()])
        assert sorted(rows["id"]) == list(range(-100, 120))


def test_bad_splits_are_clear_errors(db):
    url, _ = db
    with pytest.raises(ParameterError, match="need a partition column"):
        sql_source("SELECT * FROM t", url, partitions=2)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ParameterError, match="int >= 1"):
            sql_source("SELECT * FROM t", url, partitions=bad)
    with pytest.raises(ParameterError, match="column name"):
        sql_source("SELECT * FROM t", url, partitions=2, partition_column=" ")
    with pytest.raises(ParameterError, match="partitions > 1"):  # a column, no split
        sql_source("SELECT * FROM t", url, partition_column="id")
    with pytest.raises(DataError, match="'nope' is not a column"):
        sql_source("SELECT * FROM t", url, partitions=2, partition_column="nope").partitions()
    with pytest.raises(DataError, match="must hold integers"):
        sql_source("SELECT * FROM t", url, partitions=2, partition_column="k").partitions()
    with pytest.raises(DataError, match="more than once"):
        sql_source("SELECT id, id FROM t", url, partitions=2, partition_column="id").partitions()


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.integers(-10**6, 10**6),
                                 st.floats(-1e6, 1e6, allow_nan=False)), max_size=60),
       n=st.integers(2, 9))
def test_partition_query_splits_any_values(values, n):
    """Property: over any values (negative, NULL, fractional), the pieces hold every row
    exactly once: piece 0 takes what falls in no other."""
    with sqlite3.connect(":memory:") as con:
        con.execute('CREATE TABLE t ("we""ird" NUMERIC, pos INTEGER)')
        con.executemany("INSERT INTO t VALUES (?, ?)", [(v, i) for i, v in enumerate(values)])
        seen = []
        for i in range(n):
            q = partition_query("SELECT * FROM t;", 'we"ird', n, i)
            seen += [row[1] for row in con.execute(q)]
    assert sorted(seen) == list(range(len(values)))


@settings(max_examples=60, deadline=None)
@given(tail=st.lists(st.sampled_from([" ", "\n", "-- c;m 'x'\n", "/* ; */", "--;"]), max_size=4),
       literal=st.sampled_from(["'a;b'", "'--'", "\"n;m\"", "'it''s;'", "1"]))
def test_a_final_semicolon_goes_with_the_comments_after_it(tail, literal):
    """Only a ``;`` outside strings and comments, followed by nothing but whitespace and
    comments, is cut; a query without one is unchanged."""
    from tabsynth.sql_reader import _without_final_semicolon

    query = f"SELECT {literal} AS v FROM t ORDER BY v"
    assert _without_final_semicolon(query + ";" + "".join(tail)) == query
    plain = query + "".join(t for t in tail if not t.startswith("--"))
    assert _without_final_semicolon(plain) == plain
