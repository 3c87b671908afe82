"""``tabsynth sample MODEL -n N -o OUT/ --partitions P --engine dask [--workers W]
[--scheduler ADDRESS]``: the files of the process path, whatever the Dask workers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("distributed")


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


@pytest.fixture
def thread_workers(monkeypatch):
    from tabsynth import engine

    init = engine.DaskEngine.__init__

    def threads(self, scheduler=None, **kw):  # worker threads: fast in CI
        init(self, scheduler, **{**kw, "processes": False})

    monkeypatch.setattr(engine.DaskEngine, "__init__", threads)


def test_dask_engine_writes_the_process_paths_files(run, model_file, tmp_path,
                                                    thread_workers):
    common = ["-n", "900", "--partitions", "3", "--seed", "5", "--chunk-size", "200"]
    res = run("sample", model_file, "-o", tmp_path / "local", *common)
    assert res.exit_code == 0, res.output
    res = run("sample", model_file, "-o", tmp_path / "dask", *common, "--engine", "dask",
              "--workers", "2")
    assert res.exit_code == 0, res.output
    assert "2 Dask workers" in res.output
    assert _digests(tmp_path / "dask") == _digests(tmp_path / "local")


@pytest.mark.parametrize(("args", "words"), [
    (["--engine", "dask"], "go with --partitions"),
    (["--partitions", "2", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --engine"),
])
def test_dask_usage_errors(run, model_file, tmp_path, args, words):
    out = tmp_path / "out"
    res = run("sample", model_file, "-n", "100", "-o", out, *args)
    assert res.exit_code == 2, res.output
    assert words in res.output
    assert not out.exists()


def test_unreachable_scheduler_is_a_one_line_error(run, model_file, tmp_path, monkeypatch):
    import socket
    import time

    from tabsynth import engine

    monkeypatch.setattr(engine, "SCHEDULER_TIMEOUT", 1.0)  # the default, shortened for CI
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    out = tmp_path / "out"
    start = time.perf_counter()
    res = run("sample", model_file, "-n", "100", "-o", out, "--partitions", "2",
              "--engine", "dask", "--scheduler", address)
    assert time.perf_counter() - start < 5
    assert res.exit_code == 2, res.output
    assert res.output.strip().splitlines() == [
        f"Error: Cannot reach the Dask scheduler at {address!r} within 1 s (Timed out trying "
        f"to connect to {address} after 1 s). Is it running, and is the address its "
        "tcp://host:port?"]
    assert not out.exists()
    # --scheduler-timeout sets the wait (sample and fit alike); it needs --scheduler
    monkeypatch.setattr(engine, "SCHEDULER_TIMEOUT", 30.0)
    start = time.perf_counter()
    res = run("sample", model_file, "-n", "100", "-o", out, "--partitions", "2",
              "--engine", "dask", "--scheduler", address, "--scheduler-timeout", "0.5")
    assert time.perf_counter() - start < 5 and res.exit_code == 2, res.output
    assert "within 0.5 s" in res.output and not out.exists()
    folder = tmp_path / "ds"
    folder.mkdir()
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "x"]}).to_parquet(folder / "p.parquet")
    res = run("fit", folder, "-o", tmp_path / "m.tsmodel", "--engine", "dask", "--scheduler",
              address, "--scheduler-timeout", "0.5")
    assert res.exit_code == 2 and "within 0.5 s" in res.output, res.output
    for cmd in (["sample", model_file, "-n", "10", "-o", out, "--partitions", "2"],
                ["fit", folder, "-o", tmp_path / "m.tsmodel"]):
        res = run(*cmd, "--scheduler-timeout", "3")
        assert res.exit_code == 2 and "--scheduler-timeout goes with --scheduler" in res.output
