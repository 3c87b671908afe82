"""Multi-process training (torch.distributed, gloo on the CPU): tabsynth.fit_distributed,
``tabsynth fit --nproc``, and Opacus' distributed DP-SGD as tabsynth wires it.

What is pinned: a 2-process fit gives a model file that loads and samples; a 2-process DP fit
has the one-process ledger, privacy spent and DP schedule (same sample rate, steps and noise
multiplier) when the statistics are the same; one DP-SGD step adds ONE noise draw of std
``sigma * C`` to the sum of the clipped gradients of all processes, divided by the global
expected batch (zero gradients, so the update is the noise alone); bad ``nproc`` values.
"""

from __future__ import annotations

import json
import math
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import tabsynth
from tabsynth import ARSynthesizer, fit_distributed
from tabsynth.errors import DistributedError, ParameterError

HERE = Path(__file__).parent


def _table(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, n)
    return pd.DataFrame({
        "a": np.array(["x", "y", "z"])[a],
        "b": np.array(["p", "q", "r", "s"])[(a + rng.integers(0, 2, n)) % 4],
        "v": np.round(rng.normal(size=n) + a, 3),
    })


def _metadata() -> tabsynth.Metadata:
    md = tabsynth.Metadata.from_dtypes(_table(10))
    md.update_column("v", public_bounds=[-6.0, 9.0])
    return md


@pytest.fixture()
def run():
    """The CLI, in this process (its fit spawns the workers)."""
    from click.testing import CliRunner

    from tabsynth.cli._app import _register, cli

    _register()
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


SMALL = {"hidden_dim": 16, "max_embedding_dim": 4, "n_bins": 8, "verbose": False}


def test_two_process_cli_fit_writes_a_model_that_samples(tmp_path: Path, run) -> None:
    data = tmp_path / "t.csv"
    _table().to_csv(data, index=False)
    out = tmp_path / "m.tsmodel"
    res = run("fit", data, "-o", out, "--model", "ar", "--epochs", "6", "--batch-size", "100",
              "--seed", "0", "--quiet", "--nproc", "2")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tsmodel", "t.csv"]  # atomic
    model = tabsynth.load(out)
    rows = model.sample(200, random_state=0)
    assert list(rows.columns) == ["a", "b", "v"] and len(rows) == 200
    # the network learnt the pair: b is a or a + 1 (mod 4) in the table; an untrained
    # network (uniform b given a) would put half the rows elsewhere
    a = rows["a"].map({"x": 0, "y": 1, "z": 2}).to_numpy()
    b = rows["b"].map({"p": 0, "q": 1, "r": 2, "s": 3}).to_numpy()
    assert np.mean(((b - a) % 4) <= 1) > 0.85  # 1 process: 0.97
    assert list(model.loss_history_.columns) == ["epoch", "loss", "val_loss"]
    assert np.isfinite(model.loss_history_["val_loss"]).all()
    assert model.training_summary_["processes"] == 2  # saved in the file, read back by load


def test_streamed_folder_in_two_processes_equals_the_in_memory_table(tmp_path: Path,
                                                                     run) -> None:
    """A Parquet folder (read in record batches, cells in a memmap) trained in 2 processes:
    the statistics and the trained model are those of the same table in memory; the CLI
    takes --nproc with a folder."""
    df = _table()
    folder = tmp_path / "ds"
    folder.mkdir()
    for j, idx in enumerate(np.array_split(np.arange(len(df)), 3)):
        df.iloc[idx].to_parquet(folder / f"part-{j}.parquet", index=False)
    kw = {**SMALL, "epochs": 3, "batch_size": 100, "random_state": 0}
    streamed = fit_distributed(ARSynthesizer(**kw), folder, _metadata(), nproc=2)
    memory = fit_distributed(ARSynthesizer(**kw), df, _metadata(), nproc=2)
    assert streamed.stats_.to_dict() == memory.stats_.to_dict()
    assert streamed.training_summary_["processes"] == 2
    pd.testing.assert_frame_equal(streamed.sample(100, random_state=1),
                                  memory.sample(100, random_state=1))
    out = tmp_path / "m.tsmodel"
    res = run("fit", folder, "-o", out, "--epochs", "2", "--batch-size", "100", "--seed", "0",
              "--quiet", "--nproc", "2")
    assert res.exit_code == 0, res.output
    assert tabsynth.load(out).training_summary_["processes"] == 2


def test_processes_survive_save_and_load(tmp_path: Path) -> None:
    """``training_summary_["processes"]`` is written to the model file and read back; a
    one-process file has no such key (as files written before it was saved) and loads
    without it. The prepared fit is trained here with ``processes=2`` (what
    ``fit_distributed`` hands to ``_fit_prepared``) to keep the test free of worker start-up."""
    import dataclasses

    from tabsynth.artifact import read_manifest

    df, md = _table(300), _metadata()
    model = ARSynthesizer(**SMALL, epochs=1, random_state=0)
    table, metadata, device = model._start_fit(df, md)
    model._fit_prepared(dataclasses.replace(model._prepare(table, metadata, device),
                                            processes=2))
    assert model.training_summary_["processes"] == 2
    path = model.save(tmp_path / "two.tsmodel")
    assert read_manifest(path)["training"]["processes"] == 2
    saved = {k: v for k, v in model.training_summary_.items() if k != "best_epoch"}
    assert tabsynth.load(path).training_summary_ == saved  # best_epoch: not in the file
    one = ARSynthesizer(**SMALL, epochs=1, random_state=0).fit(df, md)
    path = one.save(tmp_path / "one.tsmodel")
    assert "processes" not in read_manifest(path)["training"]
    assert "processes" not in tabsynth.load(path).training_summary_


def test_two_process_dp_fit_has_the_one_process_ledger(monkeypatch) -> None:
    """The statistics are the same in both fits (the privacy noise of the measurements
    seeded here, in the test only); then everything the accountant sees is too."""
    import tabsynth.privacy as privacy

    monkeypatch.setattr(privacy, "noise_rng", lambda secure_mode=False:
                        np.random.default_rng(12345))
    df, md = _table(), _metadata()
    settings = {**SMALL, "epsilon": 3.0, "delta": 1e-5, "epochs": 2, "batch_size": 150,
                "random_state": 0}
    one = ARSynthesizer(**settings).fit(df, md)
    two = fit_distributed(ARSynthesizer(**settings), df, md, nproc=2)
    assert two.training_summary_["processes"] == 2
    assert one.ledger_.to_dict() == two.ledger_.to_dict()
    assert one.privacy_spent_ == two.privacy_spent_
    assert one.dp_schedule_ == two.dp_schedule_
    entry = two.ledger_.entries[-1]
    assert entry.mechanism == "dpsgd"
    q = 150 / two.stats_.n_rows  # the global rate: expected batch / (noisy) n
    assert entry.sample_rate == pytest.approx(q, rel=1e-12)
    assert entry.steps == 2 * math.ceil(1 / q)
    assert two.privacy_spent_["epsilon"] <= 3.0
    assert len(two.sample(50, random_state=0)) == 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _probe() -> tuple[list[dict], list[dict]]:
    """The probe in one process and, at the same time, in a 2-process group."""
    port = str(_free_port())
    runs = [(0, 1), (0, 2), (1, 2)]
    procs = [subprocess.Popen([sys.executable, str(HERE / "dist_noise_probe.py"), str(r),
                               str(w), port], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True) for r, w in runs]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    return tuple([json.loads(line) for line in out.splitlines() if line.startswith("{")]
                 for out in outs[:2])


def test_noise_is_added_once_per_step_with_the_one_process_scale() -> None:
    """Zero gradients: the update of 10,100 weights is the noise divided by the expected
    batch. One draw of std sigma*C gives std sigma*C/B; a draw per process (2 processes)
    would give sqrt(2) times that, a missing draw 0, a per-process batch 1/2 or 2 times."""
    one, two = _probe()
    assert len(one) == len(two) == 8
    for a, b in zip(one[5:], two[5:], strict=True):
        # real gradients, rows split over 2 processes: the clipped sum over all of them,
        # divided by the global expected batch, as one process computes it
        assert b["signal"] == a["signal"]
        assert np.abs(a["update"]).max() > 1e-3
        np.testing.assert_allclose(b["update"], a["update"], rtol=1e-4, atol=1e-7)
    # mode "direct" (the caller's own clipped sum, by hand here) updates as ghost clipping does
    np.testing.assert_allclose(one[7]["update"], one[5]["update"], rtol=1e-4, atol=1e-7)
    for a, b in zip(one[:5], two[:5], strict=True):
        expected = a["expected"]
        # the std of 10,100 draws is within 1% of sigma (2 standard errors ~ 1.4%)
        for r in (a, b):
            assert r["std"] == pytest.approx(expected, rel=0.04), r
            assert abs(r["mean"]) < 5 * expected / math.sqrt(10_100), r
        assert b["std"] == pytest.approx(a["std"], rel=0.06)
        assert b["spread"] == 0.0  # every process applied the same update


def test_bad_nproc() -> None:
    df = _table(100)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ParameterError, match="'nproc' parameter of fit_distributed"):
            fit_distributed(ARSynthesizer(**SMALL), df, nproc=bad)
    class Unlisted(tabsynth.TVAE):  # a model class that is not in SUPPORTED
        pass

    with pytest.raises(ParameterError, match="Unlisted does not train in several processes"):
        fit_distributed(Unlisted(epochs=1, verbose=False), df, nproc=2)
    with pytest.raises(ParameterError, match="fewer rows than processes"):
        fit_distributed(ARSynthesizer(**SMALL), df.head(2), nproc=3)


def test_more_processes_than_cores_warns(monkeypatch) -> None:
    import torch

    from tabsynth.models import distributed_launch

    monkeypatch.setattr(distributed_launch, "available_cores", lambda: 2)
    with pytest.warns(RuntimeWarning, match="nproc=3 processes on 2 CPU core"):
        distributed_launch.check_nproc(ARSynthesizer(), 3, torch.device("cpu"))
    distributed_launch.check_nproc(ARSynthesizer(), 2, torch.device("cpu"))  # no warning


def test_cli_bad_nproc(tmp_path: Path, run) -> None:
    data = tmp_path / "t.csv"
    _table(100).to_csv(data, index=False)
    res = run("fit", data, "-o", tmp_path / "m.tsmodel", "--nproc", "0", "--quiet")
    assert res.exit_code == 2 and "'nproc' parameter of fit_distributed" in res.output
    assert not (tmp_path / "m.tsmodel").exists()


def test_a_worker_error_is_raised_in_its_class() -> None:
    from tabsynth.models.distributed import raise_remote

    with pytest.raises(ParameterError, match="too few"):
        raise_remote("ParameterError", "too few", "rank 0")
    with pytest.raises(DistributedError, match="training process 1 failed: KeyError: 'x'"):
        raise_remote("KeyError", "'x'", "training process 1")


@pytest.mark.slow
def test_torchrun_dp_fit(tmp_path: Path) -> None:
    """torchrun: every process reads the table, rank 0 alone measures the statistics and
    writes the model; a rank-0 error reaches every process (exit code 2 in each)."""
    data = tmp_path / "t.csv"
    _table().to_csv(data, index=False)
    md = tmp_path / "md.json"
    _metadata().save(md)
    out = tmp_path / "m.tsmodel"
    base = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
            "--master-port", str(_free_port()), "-m", "tabsynth", "fit", str(data), "-o",
            str(out), "--model", "ar", "--epochs", "2", "--quiet", "--epsilon", "3",
            "--delta", "1e-5", "--metadata", str(md)]
    res = subprocess.run([*base, "--batch-size", "150"], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("Wrote") == 1  # rank 0 only
    model = tabsynth.load(out)
    assert model.ledger_.entries[-1].sample_rate == pytest.approx(150 / model.stats_.n_rows)
    assert len(model.sample(20, random_state=0)) == 20
    out.unlink()
    res = subprocess.run([*base, "--batch-size", "5000"], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode != 0 and not out.exists()
    assert res.stderr.count("too few for ARSynthesizer(batch_size=5000)") == 2, res.stderr[-3000:]


def test_shared_preparation_of_a_streamed_table_encodes_a_cell_file(tmp_path: Path) -> None:
    """What each torchrun process does with a streamed table (one-process gloo group here):
    rank 0's statistics arrive as JSON, the cells go to a read-only file held by the fit's
    stack (removed when it closes), equal to the in-memory table's cells."""
    import contextlib

    import torch.distributed as dist

    from tabsynth.models.distributed import DistContext, share_prepared

    df = _table(300)
    folder = tmp_path / "ds"
    folder.mkdir()
    for j, idx in enumerate(np.array_split(np.arange(len(df)), 2)):
        df.iloc[idx].to_parquet(folder / f"part-{j}.parquet", index=False)
    model = ARSynthesizer(**SMALL, epochs=1, random_state=0)
    source, md, device = model._start_fit(tabsynth.open_source(folder), _metadata())
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0,
                            world_size=1)
    try:
        with contextlib.ExitStack() as stack:
            prep = share_prepared(model, DistContext(0, 1, "gloo"), model._prepare, source,
                                  md, device, stack=stack)
            assert isinstance(prep.codes, np.memmap) and prep.codes.mode == "r"
            cell_file = Path(prep.codes.filename)
            memory = ARSynthesizer(**SMALL, epochs=1, random_state=0)
            want = memory._prepare(*memory._start_fit(df, _metadata()))
            assert prep.result.stats.to_dict() == want.result.stats.to_dict()
            assert np.array_equal(np.asarray(prep.codes), want.codes)
            assert cell_file.exists()
        assert not cell_file.exists()
        # an encoding failure goes through the collective (told to the others), then raised
        with pytest.raises(ParameterError, match="needs the fit's stack"):
            share_prepared(model, DistContext(0, 1, "gloo"), model._prepare, source, md,
                           device)
        folder.joinpath("part-1.parquet").write_bytes(b"not parquet")
        with contextlib.ExitStack() as stack, pytest.raises(tabsynth.DataError):
            share_prepared(model, DistContext(0, 1, "gloo"), lambda *a, **k: want, source,
                           md, device, stack=stack)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_torchrun_streamed_folder_equals_the_same_table_from_a_file(tmp_path: Path) -> None:
    """torchrun with a Parquet folder: rank 0 measures the statistics in record batches, every
    process encodes its own cell file; the model is the one torchrun trains from the same
    table in a CSV file (same statistics, cells and seeded training)."""
    df = _table()
    folder = tmp_path / "ds"
    folder.mkdir()
    for j, idx in enumerate(np.array_split(np.arange(len(df)), 3)):
        df.iloc[idx].to_parquet(folder / f"part-{j}.parquet", index=False)
    df.to_csv(tmp_path / "t.csv", index=False)
    md = tmp_path / "md.json"
    _metadata().save(md)
    models = []
    for data, name in ((folder, "folder"), (tmp_path / "t.csv", "file")):
        out = tmp_path / f"{name}.tsmodel"
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
               "--master-port", str(_free_port()), "-m", "tabsynth", "fit", str(data), "-o",
               str(out), "--epochs", "2", "--batch-size", "100", "--seed", "0", "--quiet",
               "--metadata", str(md)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-3000:]
        assert res.stdout.count("Wrote") == 1  # rank 0 only
        models.append(tabsynth.load(out))
    streamed, memory = models
    assert streamed.stats_.to_dict() == memory.stats_.to_dict()
    assert streamed.training_summary_["processes"] == 2
    pd.testing.assert_frame_equal(streamed.sample(100, random_state=1),
                                  memory.sample(100, random_state=1))
    # a query whose order differs between the processes: refused in each, nothing written
    with sqlite3.connect(tmp_path / "t.db") as con:
        df.to_sql("t", con, index=False)
    out = tmp_path / "random.tsmodel"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
           "--master-port", str(_free_port()), "-m", "tabsynth", "fit", "--sql",
           "SELECT * FROM t ORDER BY random()", "--url", f"sqlite:///{tmp_path / 't.db'}",
           "-o", str(out), "--epochs", "1", "--quiet", "--metadata", str(md)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode != 0 and not out.exists()
    assert res.stderr.count("The processes read different tables") == 2, res.stderr[-3000:]


def check_two_process_neighbours(tmp_path: Path, make: Callable[[], Any]) -> None:
    """D and D' (one adversarial row added), 2 processes each, models from ``make()`` (DP
    settings, ``random_state`` fixed): everything in the model file that is not the output of
    a charged mechanism is identical, and the same as a one-process fit's but for the number
    of processes (``training.processes``: nproc, a setting, not data)."""
    from tabsynth.artifact import read_manifest

    df, md = _table(600), _metadata()
    neighbour = pd.concat([df, pd.DataFrame({"a": ["never-seen"], "b": ["p"], "v": [1e6]})],
                          ignore_index=True)

    def public(table: pd.DataFrame, nproc: int, name: str) -> dict:
        model = make()
        if nproc == 1:
            model.fit(table, md)
        else:
            fit_distributed(model, table, md, nproc=nproc)
        man = read_manifest(model.save(tmp_path / f"{name}.tsmodel"))
        ledger = man["ledger"]
        return {"class": man["class"], "params": man["params"], "metadata": man["metadata"],
                "columns": man["training"]["columns"], "budget": ledger["budget"],
                "mechanisms": [(e["mechanism"], e["target"]) for e in ledger["entries"]],
                "training_keys": sorted(man["training"]),
                "processes": man["training"].get("processes")}

    a = public(df, 2, "d")
    assert a == public(neighbour, 2, "d2")
    assert a["processes"] == 2
    one = public(df, 1, "d1")
    assert one["processes"] is None and "processes" not in one["training_keys"]
    assert a == {**one, "processes": 2,
                 "training_keys": sorted([*one["training_keys"], "processes"])}


@pytest.mark.slow
def test_two_process_neighbouring_tables(tmp_path: Path) -> None:
    """:func:`check_two_process_neighbours` for the AR family."""
    settings = {**SMALL, "epsilon": 2.0, "delta": 1e-5, "epochs": 1, "batch_size": 60,
                "random_state": 0}
    check_two_process_neighbours(tmp_path, lambda: ARSynthesizer(**settings))
