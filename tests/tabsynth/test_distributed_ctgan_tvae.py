"""CTGAN and TVAE in several processes (torch.distributed, gloo on the CPU):
``tabsynth.fit_distributed`` / ``tabsynth fit --nproc`` / torchrun.

What is pinned: the gradient of the processes' shares, weighted and averaged, is the
one-process gradient of the whole batch (also for uneven shares, CTGAN's pac groups and a
BatchNorm layer normalising with the global batch's statistics, whose running statistics are
the one-process ones); a 2-process fit learns the table as a
one-process fit does and its model file loads and samples; a 2-process DP fit has the
one-process ledger, privacy spent and DP schedule; neighbouring tables give model files
that differ only in the outputs of charged mechanisms; a torchrun process encodes the rows
exactly as the one-process fit does; bad settings are refused before any worker starts.
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tabsynth
from tabsynth import CTGAN, TVAE, fit_distributed
from tabsynth.errors import ParameterError

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from test_distributed import _metadata, _table, check_two_process_neighbours  # noqa: E402

SMALL = {
    CTGAN: {"embedding_dim": 16, "generator_dim": (32, 32), "discriminator_dim": (32, 32),
            "pac": 5},
    TVAE: {"embedding_dim": 8, "compress_dims": (32,), "decompress_dims": (32,)},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pair_rate(rows: pd.DataFrame) -> float:
    """Share of rows with b = a or a + 1 (mod 4): 1.0 in the table, 0.5 if b ignored a."""
    a = rows["a"].map({"x": 0, "y": 1, "z": 2}).to_numpy()
    b = rows["b"].map({"p": 0, "q": 1, "r": 2, "s": 3}).to_numpy()
    return float(np.mean(((b - a) % 4) <= 1))


def test_shares_weighted_and_averaged_give_the_one_process_gradient() -> None:
    port = str(_free_port())
    runs = [(0, 1), (0, 2), (1, 2)]
    procs = [subprocess.Popen([sys.executable, str(HERE / "dist_grad_probe.py"), str(r),
                               str(w), port], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True) for r, w in runs]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    one, two = ([json.loads(line) for line in out.splitlines() if line.startswith("{")]
                for out in outs[:2])
    assert len(one) == len(two) == 8
    for a, b in zip(one, two, strict=True):
        assert (a["n"], a["unit"], a["norm"]) == (b["n"], b["unit"], b["norm"])
        assert max(abs(g) for g in a["grad"]) > 0.1
        np.testing.assert_allclose(b["grad"], a["grad"], rtol=1e-5, atol=1e-6)
        assert len(a["buffers"]) == (2 if a["norm"] else 0)  # running mean and variance
        for x, y in zip(a["buffers"], b["buffers"], strict=True):
            np.testing.assert_allclose(y, x, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [pytest.param(CTGAN, marks=pytest.mark.slow), TVAE])
def test_two_process_fit_learns_as_one_process(cls, tmp_path: Path) -> None:
    """CTGAN's case (30 s) is marked slow; ``test_cli_fit_in_two_processes`` trains a
    CTGAN in 2 processes in the default run."""
    df, md = _table(), _metadata()
    kw = {**SMALL[cls], "epochs": 100, "batch_size": 100, "random_state": 0,
          "verbose": False}
    one = cls(**kw).fit(df, md)
    two = fit_distributed(cls(**kw), df, md, nproc=2)
    assert two.training_summary_["processes"] == 2
    assert "processes" not in one.training_summary_
    assert list(two.loss_history_.columns) == list(one.loss_history_.columns)
    assert len(two.loss_history_) == 100 and np.isfinite(
        two.loss_history_.drop(columns="epoch").to_numpy()).all()
    loaded = tabsynth.load(two.save(tmp_path / "two.tsmodel"))
    assert loaded.training_summary_["processes"] == 2
    rate_one = _pair_rate(one.sample(3000, random_state=0))
    rate_two = _pair_rate(loaded.sample(3000, random_state=0))
    # one / two processes, seeds 0 and 1: CTGAN 0.696 / 0.698 and 0.710 / 0.717, TVAE
    # 0.903 / 0.883 and 0.912 / 0.921; after 1 epoch (untrained) 0.47-0.52 in both models
    assert rate_two > (0.64 if cls is CTGAN else 0.83)
    assert abs(rate_two - rate_one) < 0.06


@pytest.mark.parametrize("cls", [CTGAN, TVAE])
def test_two_process_dp_fit_has_the_one_process_ledger(cls, monkeypatch) -> None:
    """The statistics are the same in both fits (the privacy noise of the measurements
    seeded here, in the test only); then everything the accountant sees is too."""
    import tabsynth.privacy as privacy

    monkeypatch.setattr(privacy, "noise_rng", lambda secure_mode=False:
                        np.random.default_rng(12345))
    df, md = _table(), _metadata()
    settings = {**SMALL[cls], "epsilon": 3.0, "delta": 1e-5, "epochs": 2, "batch_size": 150,
                "random_state": 0, "verbose": False}
    one = cls(**settings).fit(df, md)
    two = fit_distributed(cls(**settings), df, md, nproc=2)
    assert two.training_summary_["processes"] == 2
    assert one.ledger_.to_dict() == two.ledger_.to_dict()
    assert one.privacy_spent_ == two.privacy_spent_
    assert one.dp_schedule_ == two.dp_schedule_
    entry = two.ledger_.entries[-1]
    assert entry.mechanism == "dpsgd"
    q = 150 / two.stats_.n_rows
    assert entry.sample_rate == pytest.approx(q, rel=1e-12)
    assert entry.steps == 2 * math.ceil(1 / q)
    assert two.privacy_spent_["epsilon"] <= 3.0
    assert len(two.sample(50, random_state=0)) == 50


@pytest.mark.slow
@pytest.mark.parametrize("cls", [CTGAN, TVAE])
def test_two_process_neighbouring_tables(cls, tmp_path: Path) -> None:
    """:func:`test_distributed.check_two_process_neighbours` for CTGAN and TVAE."""
    settings = {**SMALL[cls], "epsilon": 2.0, "delta": 1e-5, "epochs": 1, "batch_size": 60,
                "random_state": 0, "verbose": False}
    check_two_process_neighbours(tmp_path, lambda: cls(**settings))


@pytest.mark.parametrize("cls", [CTGAN, TVAE])
def test_a_torchrun_process_encodes_the_rows_as_one_process(cls) -> None:
    """What each torchrun process does (a one-process gloo group here): rank 0's statistics
    and generator state arrive as JSON, and the process's own encoding of the table (the
    mixture modes drawn from that state) equals the one-process fit's."""
    import torch.distributed as dist

    from tabsynth.models.distributed import DistContext, share_prepared

    df, md = _table(300), _metadata()
    model = cls(**SMALL[cls], epochs=1, random_state=0, verbose=False)
    table, metadata, device = model._start_fit(df, md)
    want = model._prepare(table, metadata, device)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0,
                            world_size=1)
    try:
        with contextlib.ExitStack() as stack:
            prep = share_prepared(model, DistContext(0, 1, "gloo"), model._prepare, table,
                                  metadata, device, stack=stack)
    finally:
        dist.destroy_process_group()
    assert prep.result.stats.to_dict() == want.result.stats.to_dict()
    np.testing.assert_array_equal(prep.X, want.X)
    np.testing.assert_array_equal(prep.codes, want.codes)
    assert prep.rng.bit_generator.state == want.rng.bit_generator.state


def test_bad_settings_are_refused_before_any_worker_starts(tmp_path: Path) -> None:
    df = _table(200)
    with pytest.raises(ParameterError, match="too small for 3 processes"):
        fit_distributed(CTGAN(batch_size=20, pac=10, verbose=False), df, nproc=3)
    with pytest.raises(ParameterError, match="route='marginals'\\) trains in one process"):
        fit_distributed(TVAE(epsilon=1.0, route="marginals", verbose=False), df, nproc=2)
    from click.testing import CliRunner

    from tabsynth.cli._app import _register, cli

    _register()
    data = tmp_path / "t.csv"
    df.to_csv(data, index=False)
    out = tmp_path / "m.tsmodel"
    res = CliRunner().invoke(cli, ["fit", str(data), "-o", str(out), "--model", "ctgan",
                                   "--epsilon", "1", "--route", "marginals", "--nproc", "2",
                                   "--quiet"])
    assert res.exit_code == 2 and "trains in one process" in res.output, res.output
    assert not out.exists()


@pytest.mark.parametrize("model", ["ctgan", "tvae"])
def test_cli_fit_in_two_processes(model: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tabsynth.cli._app import _register, cli

    _register()
    data = tmp_path / "t.csv"
    _table().to_csv(data, index=False)
    out = tmp_path / "m.tsmodel"
    res = CliRunner().invoke(cli, ["fit", str(data), "-o", str(out), "--model", model,
                                   "--epochs", "3", "--batch-size", "100", "--seed", "0",
                                   "--quiet", "--nproc", "2"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tsmodel", "t.csv"]  # atomic
    fitted = tabsynth.load(out)
    assert type(fitted).__name__ == model.upper() and fitted.training_summary_["processes"] == 2
    assert len(fitted.sample(100, random_state=0)) == 100


@pytest.mark.slow
def test_torchrun_ctgan_dp_and_streamed_tvae(tmp_path: Path) -> None:
    """torchrun: every process reads the table, rank 0 alone measures the statistics and
    writes the model (a DP CTGAN from a CSV file, a TVAE from a Parquet folder)."""
    df = _table()
    df.to_csv(tmp_path / "t.csv", index=False)
    folder = tmp_path / "ds"
    folder.mkdir()
    for j, idx in enumerate(np.array_split(np.arange(len(df)), 3)):
        df.iloc[idx].to_parquet(folder / f"part-{j}.parquet", index=False)
    md = tmp_path / "md.json"
    _metadata().save(md)
    for data, model, extra in ((tmp_path / "t.csv", "ctgan", ["--epsilon", "3", "--delta",
                                                              "1e-5"]),
                               (folder, "tvae", ["--seed", "0"])):
        out = tmp_path / f"{model}.tsmodel"
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
               "--master-port", str(_free_port()), "-m", "tabsynth", "fit", str(data), "-o",
               str(out), "--model", model, "--epochs", "2", "--batch-size", "150", "--quiet",
               "--metadata", str(md), *extra]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-3000:]
        assert res.stdout.count("Wrote") == 1  # rank 0 only
        fitted = tabsynth.load(out)
        assert fitted.training_summary_["processes"] == 2
        assert len(fitted.sample(20, random_state=0)) == 20
        if model == "ctgan":
            entry = fitted.ledger_.entries[-1]
            assert entry.sample_rate == pytest.approx(150 / fitted.stats_.n_rows)
    out = tmp_path / "marginals.tsmodel"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
           "--master-port", str(_free_port()), "-m", "tabsynth", "fit", str(tmp_path / "t.csv"),
           "-o", str(out), "--model", "ctgan", "--epsilon", "1", "--route", "marginals",
           "--quiet", "--metadata", str(md)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode != 0 and not out.exists()
    assert res.stderr.count("trains in one process") == 2, res.stderr[-3000:]
