"""--engine dask: the statistics' partial aggregates of a partitioned Parquet table computed on
a 2-worker LocalCluster equal those computed in this process (and the fit completes)."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

from tabsynth import ARSynthesizer, Metadata, ParameterError, open_source  # noqa: E402
from tabsynth.engine import SCHEDULER_TIMEOUT, DaskEngine  # noqa: E402
from tabsynth.privacy import PrivacyBudget, noise_rng  # noqa: E402
from tabsynth.stats import compute_private_stats  # noqa: E402


def write_parts(df: pd.DataFrame, folder, parts: int):
    """``df`` as ``parts`` Parquet files in ``folder`` (partition order = row order)."""
    folder.mkdir()
    for j, idx in enumerate(np.array_split(np.arange(len(df)), parts)):
        df.iloc[idx].to_parquet(folder / f"part-{j:02d}.parquet", index=False)
    return folder


def test_two_worker_local_cluster_fit(tmp_path):
    rng = np.random.default_rng(0)
    n = 4000
    df = pd.DataFrame({"x": rng.normal(size=n), "k": rng.choice(["a", "b", "c"], n),
                       "z": rng.integers(0, 100, n)})
    folder = write_parts(df, tmp_path / "ds", 4)
    md = Metadata.detect(df)
    kw = {"epochs": 1, "batch_size": 256, "random_state": 0, "verbose": False}
    local = ARSynthesizer(**kw).fit(folder, metadata=md)
    source = open_source(folder)
    dp_md = Metadata.from_dtypes(df)
    dp_md.update_column("x", public_bounds=[-6, 6])
    with DaskEngine(n_workers=2, processes=False) as engine:
        source.engine = engine
        remote = ARSynthesizer(**kw).fit(source, metadata=md)
        _, ledger = compute_private_stats(source, dp_md, PrivacyBudget(1.0, 1e-6),
                                          rng=noise_rng())
    assert remote.stats_.to_dict() == local.stats_.to_dict()
    assert remote.sample(20, random_state=3).equals(local.sample(20, random_state=3))
    _, mem_ledger = compute_private_stats(df, dp_md, PrivacyBudget(1.0, 1e-6), rng=noise_rng())
    shape = [(e.mechanism, e.target, e.noise_multiplier) for e in ledger.entries]
    assert shape == [(e.mechanism, e.target, e.noise_multiplier) for e in mem_ledger.entries]


def test_engine_must_be_started():
    with pytest.raises(ParameterError, match="not started"):
        list(DaskEngine().map_unordered(len, [[1]]))
    with pytest.raises(ParameterError, match="n_workers"):
        DaskEngine(n_workers=0)


def test_import_tabsynth_does_not_import_dask():
    import subprocess
    import sys

    code = ("import sys, tabsynth, tabsynth.sources, tabsynth.engine; "
            "print(any(m == 'dask' or m.startswith(('dask.', 'distributed')) "
            "for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def _closed_port() -> int:
    """A local port nobody listens on (bound, then released): connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_scheduler_is_one_clear_line_within_the_default_timeout():
    address = f"tcp://127.0.0.1:{_closed_port()}"
    assert SCHEDULER_TIMEOUT <= 5  # was a fixed 20 s
    start = time.perf_counter()
    with pytest.raises(ParameterError) as info, DaskEngine(address):
        pass
    assert time.perf_counter() - start < SCHEDULER_TIMEOUT + 3
    message = str(info.value)
    assert message.startswith(f"Cannot reach the Dask scheduler at {address!r} within "
                              f"{SCHEDULER_TIMEOUT:g} s"), message
    assert "\n" not in message


@pytest.fixture
def http_port():
    """A local service that answers HTTP, not Dask (as a dashboard's port would)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(10)

    def answer():
        with server:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                with conn:
                    conn.recv(1024)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    server.close()


def test_bad_scheduler_addresses_and_timeouts(http_port):
    start = time.perf_counter()
    with pytest.raises(ParameterError, match=r"^'notaurl' is not a Dask scheduler address"):
        DaskEngine("notaurl", timeout=1).__enter__()
    address = f"tcp://127.0.0.1:{http_port}"
    with pytest.raises(ParameterError, match=rf"^The service at '{address}' did not answer as a "
                                             "Dask scheduler"):
        DaskEngine(address, timeout=1).__enter__()
    assert time.perf_counter() - start < 5
    for bad in (0, -1.0, float("inf"), True, "5s"):
        with pytest.raises(ParameterError, match="'timeout' parameter of DaskEngine"):
            DaskEngine("tcp://127.0.0.1:1", timeout=bad)


def test_grouped_partitions_give_the_local_statistics(tmp_path):
    """More partitions than tasks: each Dask task merges a group of partitions on its worker;
    the merged statistics equal the single-process pass (bottom-k samples included)."""
    from tabsynth.stats import passes
    from tabsynth.stats.partial import ExactAggregate

    rng = np.random.default_rng(1)
    n = 6000
    df = pd.DataFrame({"x": rng.normal(size=n).round(4), "k": rng.choice(["a", "b"], n),
                       "z": rng.integers(0, 500, n)})
    folder = write_parts(df, tmp_path / "ds", 12)
    md = Metadata.detect(df)

    def make(partition):
        return ExactAggregate(md, seed=2, partition=partition, sample_rows=700)

    local = passes.run_pass(open_source(folder), make).finish(random_state=2).to_dict()
    source = open_source(folder)
    calls = []
    with DaskEngine(n_workers=2, processes=False) as engine:
        source.engine = engine
        real_map = engine.map_unordered

        def spy(func, *iterables):  # what run_pass hands to the workers
            calls.extend(len(group) for group in iterables[1])
            return real_map(func, *iterables)

        engine.map_unordered = spy
        remote = passes.run_pass(source, make).finish(random_state=2).to_dict()
    assert sorted(calls) == [1] * 4 + [2] * 4  # 12 partitions in 8 tasks (4 per worker)
    assert remote == local


def test_grouped_dp_counts_neighbouring_tables(tmp_path):
    """The DP pass's exact counts (noise is added once, after the merge) computed in grouped
    Dask tasks equal the local ones; for two tables that differ in one row each measured
    count vector moves by at most one row out and one row in (the sensitivity the noise
    is calibrated to)."""
    from tabsynth.stats import passes
    from tabsynth.stats.private_partial import PrivateCounts

    rng = np.random.default_rng(4)
    n = 3000
    df = pd.DataFrame({"x": rng.normal(size=n), "k": rng.choice(["a", "b", "c"], n)})
    other = df.copy()
    other.loc[1234, ["x", "k"]] = [250.0, "c"]  # D': one row replaced by an extreme one
    md = Metadata.from_dtypes(df)
    md.update_column("k", public_domain=["a", "b", "c"])

    def counts(frame: pd.DataFrame, name: str, engine: DaskEngine | None) -> dict:
        source = open_source(write_parts(frame, tmp_path / name, 12))
        source.engine = engine
        agg = passes.run_pass(source, lambda partition: PrivateCounts(md, 50,
                                                                      partition=partition))
        return {k: np.asarray(v) for k, v in agg.counts.items()}

    local = counts(df, "local", None)
    with DaskEngine(n_workers=2, processes=False) as engine:
        remote = counts(df, "remote", engine)
        neighbour = counts(other, "neighbour", engine)
    assert local.keys() == remote.keys() == neighbour.keys()
    for name in local:
        np.testing.assert_array_equal(local[name], remote[name])
        assert np.abs(remote[name] - neighbour[name]).sum() <= 2


def test_local_cluster_workers_keep_batch_arrays_on_the_heap():
    """Worker processes get WORKER_ENVIRON on top of Dask's own environment (Dask's trim
    threshold turns off glibc's dynamic mmap threshold, which made a worker's statistics pass
    2.8x slower than this process's); Dask's own variables are kept. This process's
    environment is left as it was (the nanny wrote them into it)."""
    import os

    from tabsynth.engine import WORKER_ENVIRON

    keys = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")
    before = {k: os.environ.get(k) for k in keys}
    with DaskEngine(n_workers=1) as engine:
        seen = engine.client.run(lambda: {k: os.environ.get(k) for k in
                                          ("MALLOC_MMAP_THRESHOLD_", "OMP_NUM_THREADS")})
        # ...and not in this process, whose later subprocesses would inherit them
        assert {k: os.environ.get(k) for k in keys} == before
    (env,) = seen.values()
    assert env == {"MALLOC_MMAP_THRESHOLD_": str(WORKER_ENVIRON["MALLOC_MMAP_THRESHOLD_"]),
                   "OMP_NUM_THREADS": "1"}
