"""Partitioned sampling on Dask workers (``sample_to_dataset(..., engine=...)``): the same seed
gives the same files as the process path whatever the number of Dask workers; a worker's
error leaves nothing behind."""

from __future__ import annotations

import pytest

pytest.importorskip("distributed")

from dataset_folders import digests, leftovers  # noqa: E402

from tabsynth.engine import DaskEngine  # noqa: E402
from tabsynth.errors import ModelFileError, ParameterError  # noqa: E402
from tabsynth.sampling import partitioned  # noqa: E402
from tabsynth.sampling.partitioned import sample_to_dataset  # noqa: E402


@pytest.fixture(scope="module")
def model():
    from tabsynth import datasets
    from tabsynth.models import TVAE

    df = datasets.load("adult").sample(400, random_state=0)
    df = df[["age", "workclass", "sex", "hours-per-week", "income"]]
    return TVAE(epochs=1, batch_size=100, verbose=False, random_state=0).fit(df)


def test_dask_files_equal_the_process_path_for_one_or_two_workers(model, tmp_path):
    kw = {"partitions": 4, "random_state": 3, "chunk_size": 100, "progress": False}
    sample_to_dataset(model, tmp_path / "local", 1003, **kw)
    expected = digests(tmp_path / "local")
    assert sorted(expected) == [f"part-{i:05d}.parquet" for i in range(4)]
    for workers in (1, 2):
        out = tmp_path / f"dask{workers}"
        with DaskEngine(n_workers=workers, processes=False) as engine:
            sample_to_dataset(model, out, 1003, engine=engine, **kw)
        assert digests(out) == expected, workers  # byte-identical, no hidden part left
        assert leftovers(out) == []
    with DaskEngine(n_workers=2, processes=False) as engine:  # another seed, other files
        sample_to_dataset(model, tmp_path / "seed4", 1003, engine=engine,
                          **{**kw, "random_state": 4})
    assert set(digests(tmp_path / "seed4").values()).isdisjoint(expected.values())


def test_a_worker_error_leaves_nothing(model, tmp_path, monkeypatch):
    out = tmp_path / "out"
    original = partitioned.write_partition

    def fails_on_two(m, folder, index, *args, **kw):
        if index == 2:
            raise RuntimeError("partition 2 failed")
        return original(m, folder, index, *args, **kw)

    monkeypatch.setattr(partitioned, "write_partition", fails_on_two)  # in-process workers
    with DaskEngine(n_workers=2, processes=False) as engine:
        with pytest.raises(RuntimeError, match="partition 2 failed"):
            sample_to_dataset(model, out, 400, partitions=4, engine=engine, random_state=0,
                              progress=False)
    assert not out.exists()
    assert leftovers(out) == []


def test_a_bad_model_file_is_the_loader_error(model, tmp_path):
    bad = tmp_path / "bad.tsmodel"
    bad.write_bytes(b"not a model")
    with DaskEngine(n_workers=1, processes=False) as engine:
        with pytest.raises(ModelFileError):
            sample_to_dataset(model, tmp_path / "out", 100, partitions=2, engine=engine,
                              model_file=bad, progress=False)
    assert not (tmp_path / "out").exists()


def test_bad_engine(model, tmp_path):
    with pytest.raises(ParameterError, match="engine must be"):
        sample_to_dataset(model, tmp_path / "out", 100, partitions=2, engine="spark")


def test_local_cluster_of_processes_gets_the_model_bytes(model, tmp_path):
    """engine="dask": a LocalCluster of 2 worker processes, each loading the scattered model
    file's bytes with the safe loader: the process path's files."""
    kw = {"partitions": 3, "random_state": 8, "chunk_size": 200, "progress": False}
    sample_to_dataset(model, tmp_path / "local", 600, **kw)
    sample_to_dataset(model, tmp_path / "dask", 600, engine="dask", workers=2, **kw)
    assert digests(tmp_path / "dask") == digests(tmp_path / "local")
