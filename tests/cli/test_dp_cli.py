"""``tabsynth fit --epsilon`` prints the spent budget; ``tabsynth info`` shows the ledger."""

from __future__ import annotations

import re

import pytest


@pytest.fixture(scope="module")
def dp_model(run, small_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("dp") / "dp.tsmodel"
    res = run("fit", small_csv, "-o", out, "--model", "tvae", "--epochs", "1", "--batch-size",
              "40", "--epsilon", "2", "--delta", "1e-6", "--accountant", "rdp",
              "--max-grad-norm", "0.8", "--preprocessing-share", "0.2", "--seed", "0", "--quiet")
    assert res.exit_code == 0, res.output
    return out, res.output


def test_fit_prints_spent_budget(dp_model):
    _, output = dp_model
    m = re.search(r"Privacy spent: epsilon=([0-9.]+), delta=1e-06 \(rdp accountant\)", output)
    assert m, output
    assert float(m.group(1)) <= 2.0


def test_info_shows_ledger(run, dp_model):
    path, _ = dp_model
    res = run("info", path)
    assert res.exit_code == 0, res.output
    out = res.output
    assert "Privacy ledger:" in out and "dpsgd" in out and "TVAE encoder+decoder" in out
    assert re.search(r"spent: epsilon=[0-9.]+, delta=1e-06 \(rdp accountant\) of budget "
                     r"epsilon=2, delta=1e-06", out)
    assert re.search(r"max_grad_norm\s+0.8", out)


def test_fit_budget_error_exit_code(run, small_csv, tmp_path, replayable_noise):
    # a replayed noise draw: the sample rate uses a noisy row count, which at epsilon 0.2 can
    # come out below --batch-size, and then the (correct) batch-size refusal comes first
    with replayable_noise(0):
        res = run("fit", small_csv, "-o", tmp_path / "x.tsmodel", "--model", "tvae", "--epochs",
                  "5000", "--batch-size", "200", "--epsilon", "0.2", "--accountant", "rdp",
                  "--quiet", "--seed", "0")
    assert res.exit_code != 0
    assert "epochs" in res.output
    assert not (tmp_path / "x.tsmodel").exists()
