"""``tabsynth demo``: the README's main job, on tiny settings."""

from __future__ import annotations

import json


def test_demo_writes_model_release_and_report(run, tmp_path):
    out = tmp_path / "demo"
    res = run("demo", "-o", out, "--dataset", "stroke", "--epochs", "1", "--quiet")
    assert res.exit_code == 0, res.output
    for name in ("model.tsmodel", "synthetic.csv", "train_oversampled.csv", "report.html",
                 "report.json"):
        assert (out / name).is_file(), name
        assert str(out / name) in res.output
    report = json.loads((out / "report.json").read_text())
    assert report["privacy"] is not None  # the DP ledger made it into the report
    spent = report["privacy"]
    assert "Verdict:" in res.output and "epsilon spent" in res.output
    assert "Trained ARSynthesizer" in res.output  # the default model: the best measured
    assert json.dumps(spent)  # serialisable
    # page one says what was released: the model, its route and file
    assert report["parameters"]["generator"] == {"model": "ARSynthesizer", "file": "model.tsmodel",
                                                 "route": "dpsgd", "epsilon": 1.0}
    html = (out / "report.html").read_text()
    assert "Sign-off" in html or "sign-off" in html.lower()


def test_demo_rejects_unknown_dataset(run, tmp_path):
    res = run("demo", "-o", tmp_path / "d", "--dataset", "nope")
    assert res.exit_code == 2
    assert "nope" in res.output


def test_demo_ar_refuses_the_marginals_route(run, tmp_path):
    res = run("demo", "-o", tmp_path / "d", "--route", "marginals", "--epochs", "1", "--quiet")
    assert res.exit_code == 2, res.output
    assert "dpsgd" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "d").exists()  # refused before any work
