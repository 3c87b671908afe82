"""DATE and DECIMAL columns, as Parquet files and DuckDB declare them, are modelled as dates
and numbers. pandas turns them into object columns of ``datetime.date`` / ``decimal.Decimal``,
so before a fit modelled them as categories: a decimal amount column became one category per
amount (each replayed verbatim, never a new value), and under DP every value folded into
"__other__". The types come from the file's or the query's schema, never from the values, so
a DP fit types them as the in-memory one does (datetime64[us] at midnight, float64), as the
PostgreSQL reader already did. A DataFrame holding such objects is detected the same way
(non-private: detection reads the values)."""

from __future__ import annotations

import datetime as dt
import decimal
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tabsynth import ARSynthesizer, Metadata
from tabsynth.io import read_table
from tabsynth.sources import open_source


def _arrow(n: int = 600, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 365, n)
    amount = np.round(rng.lognormal(3, 1, n), 2)
    return pa.table({
        "day": pa.array([dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in days],
                        type=pa.date32()),
        "amount": pa.array([decimal.Decimal(f"{a:.2f}") for a in amount],
                           type=pa.decimal128(12, 2)),
        "kind": pa.array(rng.choice(["a", "b"], n)),
    })


@pytest.fixture(scope="module")
def parquet(tmp_path_factory):
    path = tmp_path_factory.mktemp("types") / "t.parquet"
    pq.write_table(_arrow(), path)
    return path


def test_read_table_gives_dates_and_floats(parquet):
    df = read_table(parquet)
    assert str(df["day"].dtype) == "datetime64[us]" and str(df["amount"].dtype) == "float64"
    raw = _arrow()
    assert df["day"].iloc[0] == pd.Timestamp(raw["day"][0].as_py())
    assert df["amount"].iloc[0] == float(raw["amount"][0].as_py())


def test_a_streamed_source_has_the_same_types_from_the_schema(parquet):
    source = open_source(str(parquet))
    empty = source.empty()  # the schema alone: what a DP fit types the columns from
    batch = next(source.iter_batches(100))
    for frame in (empty, batch):
        assert str(frame["day"].dtype) == "datetime64[us]"
        assert str(frame["amount"].dtype) == "float64"
    dp_meta = Metadata.from_dtypes(empty).columns
    assert dp_meta["day"].sdtype == "datetime" and dp_meta["amount"].sdtype == "numerical"


def test_fits_model_them_as_dates_and_numbers(parquet):
    df = read_table(parquet)
    model = ARSynthesizer(epochs=3, random_state=0, verbose=False).fit(df)
    s = model.sample(400, random_state=0)
    assert str(s["day"].dtype) == "datetime64[us]" and (s["day"].dt.normalize() == s["day"]).all()
    assert s["amount"].between(df["amount"].min() - 1e-9, df["amount"].max() + 1e-9).all()
    assert s["amount"].nunique() > 200  # new amounts, not a replay of the training ones
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dp = ARSynthesizer(epochs=1, epsilon=1.0, verbose=False).fit(df)
    assert dp.metadata_.columns["amount"].sdtype == "numerical"
    assert dp.metadata_.columns["day"].sdtype == "datetime"


def test_duckdb_dates_and_decimals_are_typed(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    from tabsynth import sql_source

    path = tmp_path / "t.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT DATE '2024-01-01' + i::INTEGER AS day, "
                "(i * 0.25)::DECIMAL(10, 2) AS money FROM range(0, 50) r(i)")
    con.close()
    source = sql_source("SELECT * FROM t", f"duckdb:///{path}")
    for frame in (source.empty(), source.head()):
        assert str(frame["day"].dtype) == "datetime64[us]"
        assert str(frame["money"].dtype) == "float64"


def test_a_dataframe_of_date_and_decimal_objects_is_detected():
    df = _arrow().to_pandas()  # pandas' default: object columns
    assert df["day"].dtype == object and df["amount"].dtype == object
    meta = Metadata.detect(df)
    assert meta.columns["day"].sdtype == "datetime"
    assert meta.columns["amount"].sdtype == "numerical"
    s = ARSynthesizer(epochs=2, random_state=0, verbose=False).fit(df).sample(50, random_state=0)
    assert str(s["amount"].dtype) == "float64" and str(s["day"].dtype) == "datetime64[us]"


def test_evaluate_scores_decimal_parquet_columns_as_numbers(parquet, tmp_path):
    from tabsynth.evaluation import evaluate

    other = tmp_path / "s.parquet"
    pq.write_table(_arrow(seed=1), other)
    rep = evaluate(str(parquet), str(other), progress=False, random_state=0,
                   policy={"checks": {"column_shapes": {"min": 0}}})
    cols = {c["column"]: c for c in rep.metric("column_shapes").details["columns"]}
    assert cols["amount"]["kind"] == "numerical" and cols["amount"]["score"] > 0.9
    assert cols["day"]["kind"] == "datetime" and cols["day"]["score"] > 0.9


def test_neighbouring_files_type_and_charge_alike(tmp_path):
    """D and D' = D plus one row (a far date, a huge amount), both written with the same
    declared types: the DP fit's metadata, modelled columns and what the ledger charged, on
    what, are the same (the types are the schema's); only DP outputs may differ."""
    from tabsynth.artifact import read_manifest

    d = _arrow(400, seed=3)
    extra = pa.table({"day": pa.array([dt.date(2999, 12, 31)], type=pa.date32()),
                      "amount": pa.array([decimal.Decimal("9999999.99")],
                                         type=pa.decimal128(12, 2)),
                      "kind": pa.array(["a"])})
    parts = []
    for name, table in (("d", d), ("d2", pa.concat_tables([d, extra]))):
        pq.write_table(table, tmp_path / f"{name}.parquet")
        model = ARSynthesizer(epochs=1, epsilon=1.0, random_state=0, verbose=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(read_table(tmp_path / f"{name}.parquet"))
        model.save(tmp_path / f"{name}.tsmodel")
        man = read_manifest(tmp_path / f"{name}.tsmodel")
        parts.append({"metadata": man["metadata"], "columns": man["training"]["columns"],
                      "charged": [(e["mechanism"], e["target"])
                                  for e in man["ledger"]["entries"]]})
    assert parts[0] == parts[1]
    assert parts[0]["metadata"]["columns"]["amount"]["sdtype"] == "numerical"
