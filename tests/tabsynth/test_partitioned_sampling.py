"""Sampling at scale (issue 16, item 4): ``sample_to_dataset`` writes a partitioned Parquet
dataset; the same seed gives the same files whatever the workers; memory is bounded by the
chunk; a failure leaves nothing behind. Item 5: evaluate reads such a folder as a seeded
sample and says so."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pyarrow.dataset as pds
import pyarrow.parquet as pq
import pytest
from dataset_folders import digests, leftovers

from tabsynth.errors import ModelFileError, OutputError, ParameterError
from tabsynth.sampling import partitioned
from tabsynth.sampling.partitioned import partition_plan, sample_to_dataset


@pytest.fixture(scope="module")
def model():
    from tabsynth import datasets
    from tabsynth.models import TVAE

    df = datasets.load("adult").sample(500, random_state=0)
    df = df[["age", "workclass", "sex", "hours-per-week", "income"]]
    return TVAE(epochs=2, batch_size=100, verbose=False, random_state=0).fit(df)


def test_partition_plan_splits_rows_exactly_with_spawned_seeds():
    plan = partition_plan(1003, 4, 7)
    assert [r for r, _ in plan] == [251, 251, 251, 250]
    expected = [int(c.generate_state(1, np.uint64)[0])
                for c in np.random.SeedSequence(7).spawn(4)]
    assert [s for _, s in plan] == expected
    assert len({s for _, s in plan}) == 4


def test_same_seed_same_files_with_one_or_two_workers(model, tmp_path):
    one, two, other = tmp_path / "w1", tmp_path / "w2", tmp_path / "seed2"
    sample_to_dataset(model, one, 1003, partitions=4, workers=1, random_state=3,
                      chunk_size=100, progress=False)
    sample_to_dataset(model, two, 1003, partitions=4, workers=2, random_state=3,
                      chunk_size=100, progress=False)
    names = [f"part-{i:05d}.parquet" for i in range(4)]
    assert sorted(digests(one)) == names
    assert digests(one) == digests(two)  # byte-identical, whatever the workers
    assert [pq.ParquetFile(one / n).metadata.num_rows for n in names] == [251, 251, 251, 250]
    assert pds.dataset(str(one), format="parquet").count_rows() == 1003
    sample_to_dataset(model, other, 1003, partitions=4, random_state=4, chunk_size=100,
                      progress=False)
    assert set(digests(other).values()).isdisjoint(digests(one).values())
    # a partition's rows depend on its own seed only, not on the chunk size
    rechunked = tmp_path / "rechunked"
    sample_to_dataset(model, rechunked, 1003, partitions=4, random_state=3, chunk_size=1003,
                      progress=False)
    pd.testing.assert_frame_equal(pd.read_parquet(rechunked / names[2]),
                                  pd.read_parquet(one / names[2]))
    assert leftovers(one) == []


def test_conditions_hold_in_every_partition(model, tmp_path):
    out = tmp_path / "cond"
    sample_to_dataset(model, out, 600, partitions=3, conditions={"sex": "Female",
                      "age": (40, None)}, random_state=0, chunk_size=150, progress=False)
    for i in range(3):
        part = pd.read_parquet(out / f"part-{i:05d}.parquet")
        assert len(part) == 200
        assert (part["sex"] == "Female").all()
        assert (part["age"] >= 40).all()


def test_writer_holds_one_chunk_at_a_time(model, tmp_path, monkeypatch):
    writes: list[int] = []
    original = pq.ParquetWriter.write_table

    def spy(self, table, *args, **kwargs):
        writes.append(table.num_rows)
        return original(self, table, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", spy)
    out = tmp_path / "chunks"
    sample_to_dataset(model, out, 1000, partitions=2, chunk_size=120, random_state=0,
                      progress=False)
    assert writes == [120] * 4 + [20] + [120] * 4 + [20]
    assert [pq.ParquetFile(out / f"part-{i:05d}.parquet").metadata.num_row_groups
            for i in range(2)] == [5, 5]


def test_peak_memory_does_not_grow_with_rows(model, tmp_path):
    def peak(n: int, name: str) -> int:
        tracemalloc.start()
        sample_to_dataset(model, tmp_path / name, n, partitions=2, chunk_size=500,
                          batch_size=500, random_state=0, progress=False)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    peak(1_000, "warm")  # first-call imports and caches
    small, large = peak(2_000, "small"), peak(20_000, "large")
    assert large < 2.0 * small, (small, large)  # 10x the rows, not ~10x the memory


def test_error_in_a_worker_leaves_no_folder(model, tmp_path):
    bad = tmp_path / "bad.tsmodel"
    bad.write_bytes(b"not a model")
    out = tmp_path / "out"
    with pytest.raises(ModelFileError):
        sample_to_dataset(model, out, 400, partitions=2, workers=2, model_file=bad,
                          random_state=0, progress=False)
    assert not out.exists()
    assert leftovers(out) == []


def test_interrupt_keeps_the_existing_dataset(model, tmp_path, monkeypatch):
    out = tmp_path / "out"
    sample_to_dataset(model, out, 300, partitions=3, random_state=0, progress=False)
    before = digests(out)
    calls = []
    original = partitioned.write_partition

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(partitioned, "write_partition", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sample_to_dataset(model, out, 300, partitions=3, random_state=1, overwrite=True,
                          progress=False)
    assert digests(out) == before
    assert leftovers(out) == []
    monkeypatch.setattr(partitioned, "write_partition", original)
    sample_to_dataset(model, out, 300, partitions=3, random_state=1, overwrite=True,
                      progress=False)
    assert digests(out) != before and len(digests(out)) == 3
    assert leftovers(out) == []


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"partitions": 0}, "partitions must be an int >= 1"),
    ({"partitions": 11}, "11 partitions for 10 rows"),
    ({"workers": 0}, "workers must be an int >= 1"),
    ({"chunk_size": 0}, "chunk_size"),
    ({"random_state": -1}, "random_state"),
])
def test_bad_arguments(model, tmp_path, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        sample_to_dataset(model, tmp_path / "out", 10, progress=False, **kwargs)
    assert not (tmp_path / "out").exists()


def test_refuses_a_file_or_a_non_empty_folder(model, tmp_path):
    a_file = tmp_path / "table.parquet"
    a_file.write_bytes(b"x")
    with pytest.raises(OutputError, match="it is a file"):
        sample_to_dataset(model, a_file, 10, progress=False)
    folder = tmp_path / "full"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="not empty"):
        sample_to_dataset(model, folder, 10, progress=False)
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    sample_to_dataset(model, empty, 10, partitions=2, progress=False)
    assert len(list(empty.iterdir())) == 2


def test_evaluate_reads_a_seeded_sample_of_the_folder(model, tmp_path):
    from tabsynth import datasets
    from tabsynth.evaluation import evaluate

    out = tmp_path / "release"
    sample_to_dataset(model, out, 3000, partitions=3, chunk_size=400, random_state=0,
                      progress=False)
    real = datasets.load("adult").sample(500, random_state=1)
    real = real[["age", "workclass", "sex", "hours-per-week", "income"]]
    reports = [evaluate(real, out, random_state=5, progress=False, max_rows=1000)
               for _ in range(2)]
    syn = reports[0].datasets["synthetic"]
    assert syn["rows"] == 3000 and syn["rows_read"] == 1000 and syn["files"] == 3
    note = [s for s in reports[0].parameters["subsampling"] if s.startswith("synthetic:")]
    assert note == [f"synthetic: 3,000 rows subsampled uniformly to 1,000 (seed "
                    f"{syn['sample_seed']}) while reading the partitioned Parquet dataset "
                    "(3 files)"]
    assert reports[1].datasets["synthetic"] == syn  # same seed, same sample and fingerprint
    html = tmp_path / "r.html"
    reports[0].save(html=html)
    assert f"seed {syn['sample_seed']}" in html.read_text(encoding="utf-8")
    # the sample is uniform: its rows are the sampled indices of the whole dataset
    from tabsynth.evaluation._tables import load_dataset_sample

    table = load_dataset_sample(out, "synthetic", 1000, syn["sample_seed"])
    full = pd.read_parquet(out)
    idx = np.sort(np.random.default_rng(syn["sample_seed"]).choice(3000, 1000, replace=False))
    pd.testing.assert_frame_equal(table.frame, full.iloc[idx].reset_index(drop=True))
    assert (idx < 1000).sum() > 250 and (idx >= 2000).sum() > 250  # every file contributes
