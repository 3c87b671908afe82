"""``tabsynth evaluate --ignore-columns a,b``: columns left out of the comparison (see
tests/evaluation/test_ignore_columns.py for the API)."""

from __future__ import annotations

import json


def test_the_cli_takes_a_comma_list(run, small_csv, tmp_path):
    import pandas as pd

    train = pd.read_csv(small_csv)
    train.to_csv(tmp_path / "r.csv", index=False)
    release = train.sample(frac=1.0, random_state=0).assign(tool_row_id=range(len(train)))
    release.drop(columns=["sex"]).to_csv(tmp_path / "s.csv", index=False)
    res = run("evaluate", tmp_path / "r.csv", tmp_path / "s.csv", "--ignore-columns",
              "tool_row_id, sex", "-o", tmp_path / "r.html", "--json", tmp_path / "r.json",
              "--quiet")
    assert res.exit_code in (0, 1), res.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["parameters"]["columns_ignored"] == ["tool_row_id", "sex"]
    res = run("evaluate", tmp_path / "r.csv", tmp_path / "s.csv", "--ignore-columns",
              "nope", "-o", tmp_path / "x.html", "--quiet")
    assert res.exit_code == 2 and "'nope'" in res.output
    assert not (tmp_path / "x.html").exists()
