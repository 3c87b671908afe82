from __future__ import annotations

import pytest
from click.testing import CliRunner

from tabsynth.cli._app import _register, cli


@pytest.fixture(scope="session")
def run():
    """Invoke the CLI in-process; returns the click Result."""
    _register()
    runner = CliRunner()

    def _run(*args: str):
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return _run


@pytest.fixture(scope="session")
def small_csv(tmp_path_factory) -> str:
    from tabsynth import datasets

    df = datasets.load("adult").sample(400, random_state=0)
    df = df[["age", "workclass", "education-num", "sex", "hours-per-week", "income"]]
    path = tmp_path_factory.mktemp("data") / "adult_small.csv"
    df.to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="session")
def model_file(run, small_csv, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("model") / "m.tsmodel"
    res = run("fit", small_csv, "-o", out, "--epochs", "2", "--batch-size", "100",
              "--seed", "0", "--quiet")
    assert res.exit_code == 0, res.output
    return str(out)



