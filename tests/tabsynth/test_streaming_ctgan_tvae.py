"""CTGAN and TVAE fit a streamed table (a Parquet folder, a glob, a SQL source): statistics from
the record batches (exact: the in-memory fit's; DP: counts merged, noise added once, so the
ledger is the in-memory fit's), the encoded rows in a memory-mapped temporary file removed
when the fit ends, training reads rows from it. ``route="marginals"`` still needs the table
in memory and says so."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_streaming_dp import assert_same_ledger
from test_streaming_dp import parts as dp_parts
from test_streaming_fit import make_table, write_parts

from tabsynth import CTGAN, TVAE, Metadata, ParameterError
from tabsynth.models import streaming

SMALL = {"CTGAN": {"embedding_dim": 8, "generator_dim": (32,), "discriminator_dim": (32,)},
         "TVAE": {"embedding_dim": 8, "compress_dims": (32,), "decompress_dims": (32,)}}
FAMILIES = pytest.mark.parametrize("cls", [CTGAN, TVAE], ids=["ctgan", "tvae"])


def _model(cls, **kw):
    return cls(**{"epochs": 2, "batch_size": 100, "random_state": 0, "verbose": False,
                  "device": "cpu", **SMALL[cls.__name__], **kw})


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return make_table(2000)


@FAMILIES
def test_streamed_fit_has_the_in_memory_statistics(cls, table, tmp_path):
    folder = write_parts(table, tmp_path / "ds", 3)
    md = Metadata.detect(table)
    streamed = _model(cls).fit(folder, metadata=md)
    memory = _model(cls).fit(table, metadata=md)
    assert streamed.stats_.to_dict() == memory.stats_.to_dict()
    assert streamed.n_features_in_ == memory.n_features_in_ == table.shape[1]
    assert list(streamed.sample(5, random_state=0).columns) == list(table.columns)


def _tv(table: pd.DataFrame, syn: pd.DataFrame) -> float:
    real = table["k"].value_counts(normalize=True)
    got = syn["k"].value_counts(normalize=True).reindex(real.index, fill_value=0.0)
    return 0.5 * float(np.abs(real - got).sum())


@FAMILIES
def test_streamed_training_learns_as_in_memory(cls, table, tmp_path):
    """Trained from the temporary file of encoded rows, the model learns what the in-memory
    fit learns (the encodings differ only in the random modes). Total variation of the
    4-category column, mean of three seeds, streamed / in memory: CTGAN 0.125 / 0.116 (one
    seed alone spreads 0.09-0.16 either way), TVAE about 0.01 / 0.01."""
    folder = write_parts(table, tmp_path / "ds", 3)
    md = Metadata.detect(table)
    tvs = np.array([[_tv(table, _model(cls, epochs=15, random_state=seed)
                         .fit(data, metadata=md).sample(4000, random_state=0))
                     for data in (folder, table)] for seed in range(3)]).mean(axis=0)
    assert tvs[0] < tvs[1] + 0.04 and tvs[0] < 0.18, tvs


def _expected(t, source, seed: int) -> np.ndarray:
    """The encoding of the batches of each partition ``i`` with the modes drawn from
    ``default_rng([s, i])``, ``s`` drawn once from ``default_rng(seed)``."""
    base = int(np.random.default_rng(seed).integers(2**63))
    out = []
    for i, part in enumerate(source.partitions()):
        rng = np.random.default_rng([base, i])
        out += [t.transform(b, rng=rng) for b in part.iter_batches(source.batch_rows)]
    return np.concatenate(out).astype(np.float32)


@FAMILIES
def test_the_encoded_file_is_the_in_memory_encoding(cls, table, tmp_path):
    """The files hold what ``transform`` / ``category_codes`` give for the batches, in table
    order; they are gone when the block ends."""
    from tabsynth import open_source
    from tabsynth.transformer import DataTransformer

    folder = write_parts(table, tmp_path / "ds", 3)
    md = Metadata.detect(table)
    model = _model(cls).fit(table, metadata=md)
    t = DataTransformer(md, model.stats_)
    source = open_source(folder)
    source.batch_rows = 450  # batches split the parts
    with streaming.transform_to_memmaps(source, t, np.random.default_rng(3)) as (X, codes):
        folder_used = X.filename
        np.testing.assert_array_equal(np.asarray(X), _expected(t, source, 3))
        np.testing.assert_array_equal(np.asarray(codes, dtype=np.int64),
                                      t.category_codes(table))
    assert not Path(folder_used).exists()


def test_rows_encoded_on_dask_workers_equal_local(table, tmp_path):
    """With a Dask engine each partition is encoded on a worker
    (``streaming.encode_rows_partition``): the same files as in this process."""
    pytest.importorskip("distributed")
    from distributed import get_task_stream

    from tabsynth import open_source
    from tabsynth.engine import DaskEngine
    from tabsynth.transformer import DataTransformer

    folder = tmp_path / "ds"
    folder.mkdir()
    for j, (a, b) in enumerate([(0, 300), (300, 1400), (1400, 1500), (1500, 2000)]):
        table.iloc[a:b].to_parquet(folder / f"part-{j}.parquet", index=False)  # unequal
    md = Metadata.detect(table)
    t = DataTransformer(md, _model(TVAE).fit(table, metadata=md).stats_)
    source = open_source(folder)
    source.batch_rows = 512
    with streaming.transform_to_memmaps(source, t, np.random.default_rng(5)) as (X, codes):
        local = (np.array(X), np.array(codes))
    with DaskEngine(n_workers=2, processes=False) as engine:
        source.engine = engine
        with get_task_stream(engine.client) as tasks:
            with streaming.transform_to_memmaps(source, t,
                                                np.random.default_rng(5)) as (X, codes):
                remote = (np.array(X), np.array(codes))
        source.engine = None
    names = [str(task["key"]) for task in tasks.data]
    assert sum("encode_rows_partition" in k for k in names) == 4, names
    np.testing.assert_array_equal(remote[0], local[0])
    np.testing.assert_array_equal(remote[1], local[1])


@FAMILIES
def test_streamed_dp_fit_ledger_equals_in_memory(cls, tmp_path):
    tab = make_table(2000)[["x", "k", "i", "flag"]]
    md = declared_simple(tab)
    folder = dp_parts(tab, tmp_path / "ds")
    kw = {"epsilon": 2.0, "delta": 1e-6}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        streamed = _model(cls, **kw).fit(folder, metadata=md)
        memory = _model(cls, **kw).fit(tab, metadata=md)
    assert_same_ledger(streamed.ledger_, memory.ledger_)
    assert streamed.privacy_spent_["epsilon"] <= 2.0 + 1e-9


def declared_simple(df: pd.DataFrame) -> Metadata:
    md = Metadata.from_dtypes(df)
    md.update_column("x", public_bounds=[-10, 30])
    md.update_column("i", public_bounds=[0, 10])
    md.update_column("k", public_domain=["a", "b", "c", "d"])
    return md


@FAMILIES
def test_the_marginals_route_needs_the_table_in_memory(cls, table, tmp_path):
    folder = write_parts(table, tmp_path / "ds", 2)
    with pytest.raises(ParameterError, match="route='marginals'.*in memory"):
        _model(cls, epsilon=1.0, delta=1e-6, route="marginals").fit(
            folder, metadata=Metadata.detect(table))
