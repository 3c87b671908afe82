"""--engine dask encodes each partition on a worker (tabsynth.models.streaming.encode_partition,
the transformer rebuilt from its state) and writes the cells in partition order: the memmap,
the model and its samples are those of the single-process encoding."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

from tabsynth import ARSynthesizer, Metadata, open_source  # noqa: E402
from tabsynth.engine import DaskEngine  # noqa: E402
from tabsynth.models import streaming  # noqa: E402
from tabsynth.transformer import DataTransformer  # noqa: E402


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    rng = np.random.default_rng(1)
    n = 3000
    df = pd.DataFrame({"x": rng.normal(size=n).round(4), "k": rng.choice(["a", "b", "c"], n),
                       "z": rng.integers(0, 500, n),
                       "y": np.where(rng.random(n) < 0.2, np.nan, rng.exponential(1.0, n))})
    out = tmp_path_factory.mktemp("enc") / "ds"
    out.mkdir()
    # unequal parts: a part written at the wrong offset would show
    for j, (a, b) in enumerate([(0, 400), (400, 1700), (1700, 1800), (1800, 3000)]):
        df.iloc[a:b].to_parquet(out / f"part-{j}.parquet", index=False)
    return df, out


def test_cells_encoded_on_workers_equal_local(folder):
    df, path = folder
    md = Metadata.detect(df)
    source = open_source(path)
    source.batch_rows = 512  # several batches in the big parts
    stats = streaming.streamed_stats(source, md, seed=0)
    tr = DataTransformer(md, stats, numeric_encoding="bins", n_bins=20)
    state = streaming.transformer_state(tr)
    assert json.loads(json.dumps(state)) == state  # plain data, nothing pickled but dicts
    with streaming.encode_to_memmap(source, tr.column_codes, tr.column_domains) as codes:
        local = np.array(codes)
    from distributed import get_task_stream

    with DaskEngine(n_workers=2, processes=False) as engine:
        source.engine = engine
        with get_task_stream(engine.client) as tasks:
            with streaming.encode_to_memmap(source, tr.column_codes, tr.column_domains) as c:
                remote = np.array(c)
        source.engine = None
    names = [str(t["key"]) for t in tasks.data]
    # one task per partition, run on the workers
    assert sum("encode_partition" in k for k in names) == 4, names
    assert remote.dtype == local.dtype == np.uint8
    assert np.array_equal(remote, local)
    assert np.array_equal(local, tr.column_codes(df))  # and both are the in-memory cells


def test_fit_with_dask_encoding_equals_local_fit(folder):
    df, path = folder
    md = Metadata.detect(df)
    kw = {"epochs": 1, "batch_size": 256, "random_state": 5, "verbose": False}
    local = ARSynthesizer(**kw).fit(path, metadata=md)
    source = open_source(path)
    with DaskEngine(n_workers=2, processes=False) as engine:
        source.engine = engine
        remote = ARSynthesizer(**kw).fit(source, metadata=md)
    assert remote.stats_.to_dict() == local.stats_.to_dict()
    assert remote.sample(40, random_state=2).equals(local.sample(40, random_state=2))


def _slow(delay: float) -> float:
    time.sleep(delay)
    return delay


def _fail(x: int) -> int:
    if x == 2:
        raise ValueError("partition 2 failed")
    return x


def test_map_ordered_keeps_the_order_and_raises_the_worker_error():
    with DaskEngine(n_workers=2, processes=False) as engine:
        delays = [0.3, 0.0, 0.15, 0.0, 0.05]
        assert list(engine.map_ordered(_slow, delays, window=3)) == delays
        with pytest.raises(ValueError, match="partition 2 failed"):
            list(engine.map_ordered(_fail, [0, 1, 2, 3]))
