"""Training that diverges (a weight becomes NaN) is an error, not a model.

A network with a NaN weight samples every numeric value as missing (CTGAN, TVAE) or fails
later; the fit used to store and save such a model without a word. Now ``fit`` raises
:class:`tabsynth.TrainingError`, the estimator is left unfitted, and ``tabsynth fit`` exits
with one line and writes nothing (an existing file at the output path is kept).
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import torch

from tabsynth import CTGAN, TVAE, ARSynthesizer, NotFittedError, TrainingError
from tabsynth.cli._app import _register, cli

SMALL = {"epochs": 1, "batch_size": 50, "verbose": False, "device": "cpu"}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    from tabsynth import datasets

    return datasets.load("adult")[["age", "workclass", "hours-per-week", "income"]].head(200)


def _poison(model) -> None:
    """Set one weight of the first network the model file would hold to NaN."""
    net = next(iter(model._sampling_networks().values()))
    with torch.no_grad():
        next(p for p in net.parameters() if p.is_floating_point()).view(-1)[0] = float("nan")


def _diverging(cls, monkeypatch, method: str):
    original = getattr(cls, method)

    def train(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        _poison(self)
        return out

    monkeypatch.setattr(cls, method, train)


CASES = [(CTGAN, "_train", {}), (TVAE, "_train", {}), (ARSynthesizer, "_train_networks", {}),
         (TVAE, "_train", {"epsilon": 3.0, "delta": 1e-5})]


@pytest.mark.parametrize(("cls", "method", "dp"), CASES,
                         ids=["ctgan", "tvae", "ar", "tvae-dp"])
def test_a_diverged_fit_raises_and_leaves_the_model_unfitted(table, monkeypatch, cls, method,
                                                             dp):
    _diverging(cls, monkeypatch, method)
    model = cls(random_state=0, **SMALL, **dp)
    with pytest.raises(TrainingError, match="Training diverged.*not finite.*not fitted"):
        model.fit(table)
    with pytest.raises(NotFittedError):
        model.sample(5)


def test_a_finite_fit_is_untouched(table):
    model = TVAE(random_state=0, **SMALL).fit(table)
    assert len(model.sample(5, random_state=0)) == 5


def test_marginal_route_divergence_raises(table, monkeypatch):
    from tabsynth.models import marginal_fit, marginal_fitter

    for name, value in (("STEPS_PER_ROUND", 2), ("FINAL_STEPS", 2), ("BATCH", 64),
                        ("ROUNDS", 2)):  # a short fit: only its end matters here
        monkeypatch.setattr(marginal_fit, name, value)
    monkeypatch.setattr(marginal_fitter, "EVAL_ROWS", 64)

    original = marginal_fitter.MarginalFitter.fit

    def fit(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        _poison(self.model)
        return out

    monkeypatch.setattr(marginal_fitter.MarginalFitter, "fit", fit)
    model = CTGAN(epsilon=3.0, delta=1e-5, route="marginals", random_state=0, **SMALL)
    with pytest.raises(TrainingError):
        model.fit(table)
    with pytest.raises(NotFittedError):
        model.sample(5)


def test_cli_fit_reports_divergence_and_keeps_the_old_file(table, tmp_path, monkeypatch):
    from click.testing import CliRunner

    _register()
    data = tmp_path / "t.csv"
    table.to_csv(data, index=False)
    out = tmp_path / "m.tsmodel"
    run = CliRunner()
    res = run.invoke(cli, ["fit", str(data), "-o", str(out), "--model", "tvae", "--epochs", "1",
                           "--quiet"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    kept = tmp_path / "kept.tsmodel"
    shutil.copy(out, kept)
    _diverging(TVAE, monkeypatch, "_train")
    res = run.invoke(cli, ["fit", str(data), "-o", str(out), "--model", "tvae", "--epochs", "1",
                           "--quiet"], catch_exceptions=False)
    assert res.exit_code == 1, res.output
    assert "Training diverged" in res.output and "Traceback" not in res.output
    assert "internal error" not in res.output
    assert out.read_bytes() == kept.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.tsmodel", "m.tsmodel", "t.csv"]
