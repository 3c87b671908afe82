"""Streaming fits (tabsynth.sources, tabsynth.stats.partial, tabsynth.models.streaming): a table
read in record batches gives the statistics of the same table in memory."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabsynth import (
    ARSynthesizer,
    DataError,
    Metadata,
    MetadataError,
    ParameterError,
    open_source,
    sql_source,
)
from tabsynth.stats import compute_stats
from tabsynth.stats.partial import ExactAggregate
from tabsynth.stats.passes import run_pass


def make_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "x": rng.normal(10, 3, n).round(3),
        "k": rng.choice(["a", "b", "c", "d"], n, p=[0.5, 0.3, 0.15, 0.05]),
        "i": rng.integers(0, 7, n),
        "y": np.where(rng.random(n) < 0.1, np.nan, rng.exponential(2.0, n)),
        "flag": rng.random(n) < 0.3,
    })


def write_parts(df: pd.DataFrame, folder: Path, parts: int, fmt: str = "parquet") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for j, chunk in enumerate(np.array_split(np.arange(len(df)), parts)):
        part = df.iloc[chunk]
        if fmt == "parquet":
            part.to_parquet(folder / f"part-{j:03d}.parquet", index=False)
        else:
            part.to_csv(folder / f"part-{j:03d}.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return make_table(3000)


def test_parquet_folder_statistics_equal_in_memory(table, tmp_path):
    folder = write_parts(table, tmp_path / "ds", 4)
    source = open_source(folder)
    source.batch_rows = 500  # several batches per part
    md = Metadata.detect(table)
    streamed = run_pass(source, lambda partition: ExactAggregate(md, seed=7,
                                                                 partition=partition))
    stats = streamed.finish(random_state=7)
    memory = compute_stats(pd.read_parquet(folder), md, random_state=7)
    assert stats.to_dict() == memory.to_dict()  # every column fits the sample: identical
    assert stats.n_rows == len(table)


def test_quantiles_from_a_partial_sample_within_tolerance(tmp_path):
    """Beyond SAMPLE_ROWS present values the quantiles come from a uniform sample: categories,
    counts, missing rates and bounds stay exact; each quantile's rank is within 0.01."""
    df = make_table(20_000, seed=1)
    md = Metadata.detect(df)
    agg = ExactAggregate(md, seed=3, sample_rows=2000)
    for start in range(0, len(df), 3000):
        agg.update(df.iloc[start:start + 3000])
    stats = agg.finish(random_state=3)
    exact = compute_stats(df, md, random_state=3)
    for name in ("k", "flag", "i"):  # i: 7 integers, categorical
        assert stats[name].categories == exact[name].categories
        assert np.allclose(stats[name].frequencies, exact[name].frequencies, atol=1e-12)
    for name in ("x", "y"):
        assert stats[name].missing_rate == pytest.approx(exact[name].missing_rate, abs=1e-12)
        assert (stats[name].lower, stats[name].upper) == (exact[name].lower, exact[name].upper)
    for name in ("x", "y"):
        values = np.sort(df[name].dropna().to_numpy())
        ranks = np.searchsorted(values, np.asarray(stats[name].quantiles)) / len(values)
        qs = np.linspace(0, 1, len(ranks))
        # sample of 2000: rank sd <= 0.5/sqrt(2000) = 0.011; 4 sd
        assert np.max(np.abs(ranks[1:-1] - qs[1:-1])) < 0.045
        assert stats[name].quantiles[0] >= stats[name].lower


def test_streaming_fit_from_csv_glob_equals_parquet_folder(table, tmp_path):
    write_parts(table.drop(columns=["flag"]), tmp_path / "csv", 3, fmt="csv")
    write_parts(table.drop(columns=["flag"]), tmp_path / "pq", 3)
    kw = {"epochs": 2, "batch_size": 256, "random_state": 0, "verbose": False}
    a = ARSynthesizer(**kw).fit(str(tmp_path / "csv" / "*.csv"))
    b = ARSynthesizer(**kw).fit(str(tmp_path / "pq"))
    c = ARSynthesizer(**kw).fit(table.drop(columns=["flag"]))
    assert a.stats_.to_dict() == b.stats_.to_dict() == c.stats_.to_dict()
    # the same cells, the same seeded training: the same model as in memory
    assert a.sample(50, random_state=1).equals(c.sample(50, random_state=1))
    assert b.n_features_in_ == 4


def test_sql_sources_sqlite_and_duckdb(table, tmp_path):
    df = table.drop(columns=["flag"])
    db = tmp_path / "t.db"
    with sqlite3.connect(db) as con:
        df.to_sql("t", con, index=False)
    duckdb = pytest.importorskip("duckdb")
    ddb = tmp_path / "t.duckdb"
    con = duckdb.connect(str(ddb))
    con.register("frame", df)
    con.execute("CREATE TABLE t AS SELECT * FROM frame")
    con.close()
    md = Metadata.detect(df)
    kw = {"epochs": 1, "batch_size": 256, "random_state": 0, "verbose": False}
    fits = []
    for url in (f"sqlite:///{db}", f"duckdb:///{ddb}"):
        src = sql_source("SELECT * FROM t ORDER BY rowid" if "sqlite" in url
                         else "SELECT * FROM t", url)
        src.batch_rows = 1024
        assert src.n_rows == len(df)
        fits.append(ARSynthesizer(**kw).fit(src, metadata=md))
    memory = ARSynthesizer(**kw).fit(df, metadata=md)
    for m in fits:
        assert m.stats_.to_dict() == memory.stats_.to_dict()
        assert len(m.sample(20, random_state=0)) == 20


def test_memmap_folder_removed_after_fit_and_on_error(table, tmp_path, monkeypatch):
    import tempfile

    folder = write_parts(table, tmp_path / "ds", 2)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()

    def ours() -> list:  # torch may put its inductor cache here when first imported
        return [p for p in (tmp_path / "tmp").iterdir()
                if not p.name.startswith("torchinductor_")]

    ARSynthesizer(epochs=1, verbose=False).fit(folder)
    assert not ours()

    from tabsynth.models import ar_train

    def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(ar_train, "train_ar", boom)
    with pytest.raises(RuntimeError):
        ARSynthesizer(epochs=1, verbose=False).fit(folder)
    assert not ours()


def test_code_dtype_is_the_smallest():
    from tabsynth.models.streaming import code_dtype

    assert code_dtype([3, 256]) == np.uint8
    assert code_dtype([257]) == np.uint16
    assert code_dtype([70_000]) == np.uint32


def test_bad_inputs(table, tmp_path):
    with pytest.raises(DataError, match="No table files"):
        open_source(str(tmp_path / "nothing*.parquet"))
    (tmp_path / "mixed").mkdir()
    table.to_csv(tmp_path / "mixed" / "a.csv", index=False)
    (tmp_path / "mixed" / "b.json").write_text("{}")
    with pytest.raises(DataError, match="all of one format"):
        open_source(str(tmp_path / "mixed" / "*"))
    with pytest.raises(ParameterError, match="SQL query"):
        sql_source("  ", "sqlite:///x.db")
    with pytest.raises(ParameterError, match="connection URL"):
        sql_source("SELECT 1", "x.db")
    with pytest.raises(DataError, match="SQL query failed"):
        sql_source("SELECT * FROM missing_table", f"sqlite:///{tmp_path / 'e.db'}").head()
    folder = write_parts(table, tmp_path / "ds", 2)
    from tabsynth import CTGAN

    with pytest.raises(ParameterError, match="route='marginals'.*in memory"):
        CTGAN(epochs=1, epsilon=1.0, delta=1e-6, route="marginals").fit(folder)
    bad = table.copy()
    bad["x"] = bad["x"].astype(object)
    bad.loc[2999, "x"] = "oops"  # in the last part only
    folder = tmp_path / "bad"
    folder.mkdir()
    table.iloc[:1500].to_parquet(folder / "p0.parquet")
    bad.iloc[1500:].astype({"x": str}).to_parquet(folder / "p1.parquet")
    md = Metadata.detect(table)
    with pytest.raises(MetadataError, match="'x' is numerical but has 1 non-numeric"):
        ARSynthesizer(epochs=1, verbose=False).fit(folder, metadata=md)
    with pytest.raises(MetadataError, match="'x' is numerical but has some non-numeric") as exc:
        ARSynthesizer(epochs=1, epsilon=1.0, verbose=False).fit(folder, metadata=md)
    assert "oops" not in str(exc.value)  # DP: no value quoted


def test_password_never_in_the_source_name():
    src = sql_source("SELECT 1", "postgresql://alice:s3cret@db.example/x")
    assert "s3cret" not in repr(src) and "alice" in src.name


def test_bottom_k_sample_equals_selecting_from_every_key(table, tmp_path, monkeypatch):
    """The bottom-k sample skips keys above a full sample's largest: the statistics equal
    those of selecting the k smallest keys among all of them (the former code)."""
    from tabsynth.stats import partial

    def add_all(self, keys, pos, values):  # the reference: concatenate everything, select
        keys = np.concatenate([self.keys, keys])
        pos = np.concatenate([self.pos, pos])
        values = np.concatenate([self.values, values])
        if len(keys) > self.sample_rows:
            idx = np.argpartition(keys, self.sample_rows - 1)[:self.sample_rows]
            keys, pos, values = keys[idx], pos[idx], values[idx]
        self.keys, self.pos, self.values = keys, pos, values

    folder = write_parts(table, tmp_path / "ds", 3)
    md = Metadata.detect(table)

    def stats() -> dict:
        source = open_source(folder)
        source.batch_rows = 250
        agg = run_pass(source, lambda partition: ExactAggregate(md, seed=5, partition=partition,
                                                                sample_rows=400))
        return agg.finish(random_state=5, mixtures=False).to_dict()

    fast = stats()
    monkeypatch.setattr(partial._Continuous, "_add", add_all)
    assert stats() == fast


def test_streamed_ar_statistics_equal_in_memory(table, tmp_path):
    folder = write_parts(table, tmp_path / "ds", 4)
    md = Metadata.detect(table)
    a = ARSynthesizer(epochs=1, random_state=3, verbose=False, device="cpu")
    b = ARSynthesizer(epochs=1, random_state=3, verbose=False, device="cpu")
    a.fit(open_source(folder), md)
    b.fit(pd.read_parquet(folder), md)
    assert a.stats_.to_dict() == b.stats_.to_dict()
    assert len(a.stats_["x"].mode_weights) == 1  # no mixture fit


# --- hive-partitioned Parquet folders: key=value folders become text columns -------------
def hive_folder(df: pd.DataFrame, folder: Path, keys: list[str]) -> Path:
    df.to_parquet(folder, partition_cols=keys, index=False)  # pyarrow writes key=value/
    return folder


def test_hive_partition_keys_are_text_columns(table, tmp_path):
    df = table.assign(year=np.where(np.arange(len(table)) % 3 == 0, 2020, 2021),
                      row=np.arange(len(table)))
    source = open_source(hive_folder(df, tmp_path / "hive", ["k", "year"]))
    assert source.hive is not None and source.hive[1] == ("k", "year")
    assert len(source.partitions()) == 8  # 4 k values x 2 years, one file each
    empty = source.empty()
    assert set(empty.columns) == set(df.columns)
    # a key is text even when its folder names look like numbers: no type from the values
    assert pd.api.types.is_string_dtype(empty["year"].dtype)
    for piece in [source, *source.partitions()]:  # each partition keeps its keys too
        got = pd.concat(list(piece.iter_batches(500)), ignore_index=True)
        want = df.set_index("row").loc[got["row"]]
        assert (got["k"].to_numpy() == want["k"].to_numpy()).all()
        assert (got["year"].to_numpy() == want["year"].astype(str).to_numpy()).all()
    assert sorted(pd.concat(list(source.iter_batches()))["row"]) == list(range(len(df)))


def test_streamed_fit_of_a_hive_folder_models_the_keys(table, tmp_path):
    source = open_source(hive_folder(table, tmp_path / "hive", ["k"]))
    model = ARSynthesizer(epochs=1, random_state=0, verbose=False, device="cpu")
    model.fit(source)
    assert "k" in model.columns_
    assert set(model.sample(300, random_state=1)["k"]) <= {"a", "b", "c", "d"}


def test_mixed_partition_layouts_are_refused(table, tmp_path):
    folder = hive_folder(table.iloc[:1000], tmp_path / "mixed", ["k"])
    table.iloc[1000:].to_parquet(folder / "loose.parquet", index=False)
    with pytest.raises(DataError, match="mixes partition layouts"):
        open_source(folder)
