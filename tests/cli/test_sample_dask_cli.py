"""``tabsynth sample MODEL -n N -o OUT/ --partitions P --engine dask [--workers W]
[--scheduler ADDRESS]``: the files of the process path, whatever the Dask workers."""

from __future__ import annotations

import hashlib
from pathlib import Path

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

