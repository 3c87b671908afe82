"""One flag hides the progress bar on every command that shows one: ``--quiet``, with
``--no-progress`` as the same flag (before, ``fit`` and ``demo`` took only the first,
``evaluate`` only the second, and ``sample --partitions`` and ``rebalance`` neither; ``sample``
to one file drew no bar at all)."""

from __future__ import annotations

import pytest

COMMANDS = ["fit", "sample", "evaluate", "demo", "rebalance"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_takes_both_spellings(run, command):
    res = run(command, "--help")
    assert res.exit_code == 0, res.output
    assert "--quiet, --no-progress" in res.output


def _bar(output: str, desc: str) -> bool:
    """Whether tqdm drew a bar named ``desc`` (its counter, e.g. ``sample: 100%|``)."""
    return f"{desc}: " in output and "%|" in output


@pytest.mark.parametrize("flag", [[], ["--quiet"], ["--no-progress"]])
def test_sample_partitions_bar(run, model_file, tmp_path, flag):
    out = tmp_path / "out"
    res = run("sample", model_file, "-n", "300", "-o", out, "--partitions", "2", "--seed", "1",
              *flag)
    assert res.exit_code == 0, res.output
    assert "Wrote 300 rows in 2 Parquet files" in res.output
    assert _bar(res.output, "sample") is not bool(flag)


@pytest.mark.parametrize("flag", [[], ["--quiet"], ["--no-progress"]])
def test_sample_to_one_file_bar(run, model_file, tmp_path, flag):
    out = tmp_path / "s.csv"
    res = run("sample", model_file, "-n", "300", "-o", out, "--seed", "1", "--chunk-size",
              "100", *flag)
    assert res.exit_code == 0, res.output
    assert "Wrote 300 rows" in res.output
    assert _bar(res.output, "sample") is not bool(flag)
    if not flag:
        assert "300/300" in res.output  # every chunk counted


def test_the_bar_does_not_change_the_file(model_file, tmp_path):
    from tabsynth import load

    model = load(model_file)
    a = model.sample_to(tmp_path / "a.csv", 250, random_state=3, chunk_size=100)
    b = model.sample_to(tmp_path / "b.csv", 250, random_state=3, chunk_size=100, progress=True)
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("flag", [[], ["--quiet"], ["--no-progress"]])
def test_rebalance_bar(run, model_file, tmp_path, flag):
    out = tmp_path / "r.csv"
    res = run("rebalance", model_file, "--protected", "sex", "-n", "50", "-o", out,
              "--shares", '{"Female": 0.5, "Male": 0.5}', "--seed", "0", *flag)
    assert res.exit_code == 0, res.output
    assert out.exists()
    assert _bar(res.output, "rebalance") is not bool(flag)


@pytest.mark.parametrize("flag", [[], ["--no-progress"]])
def test_fit_bar(run, small_csv, tmp_path, flag):
    res = run("fit", small_csv, "-o", tmp_path / "m.tsmodel", "--model", "tvae", "--epochs",
              "1", "--batch-size", "100", "--seed", "0", *flag)
    assert res.exit_code == 0, res.output
    assert _bar(res.output, "TVAE") is not bool(flag)
