"""Duration columns are scored as numbers of seconds. Before, a ``timedelta64`` column was
scored as categories of distinct durations: two draws of the same distribution scored 0.26
on that column's shape and 0.06 / 0.09 on its pair trends. A CSV holds durations as text
(pandas writes ``0 days 00:16:40``; ISO 8601 ``PT16M40S``), read back as durations too, so a
CSV release compares with a Parquet real table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabsynth.evaluation import EvaluationDataError, evaluate
from tabsynth.evaluation._schema import duration_seconds, infer_kind

FAST = {"progress": False, "random_state": 0, "policy": {"checks": {"column_shapes": {"min": 0}}}}


def _frame(n: int, seed: int) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    kind = r.choice(["short", "long"], n, p=[0.7, 0.3])
    minutes = np.where(kind == "short", r.integers(1, 30, n), r.integers(120, 600, n))
    stay = pd.Series(pd.to_timedelta(minutes * 60 + r.integers(0, 60, n), unit="s"))
    return pd.DataFrame({"kind": kind, "stay": stay, "x": r.normal(size=n)})


def _scores(rep) -> tuple[dict, dict]:
    cols = {r["column"]: r for r in rep.metric("column_shapes").details["columns"]}
    pairs = {(p["column_1"], p["column_2"]): p["score"]
             for p in rep.metric("column_pair_trends").details["pairs"]}
    return cols, pairs


def test_durations_are_scored_as_numbers():
    rep = evaluate(_frame(600, 0), _frame(600, 1), **FAST)
    cols, pairs = _scores(rep)
    assert cols["stay"]["kind"] == "numerical" and cols["stay"]["score"] > 0.9
    assert pairs[("kind", "stay")] > 0.85 and pairs[("stay", "x")] > 0.85


def test_a_csv_release_of_durations_compares_with_a_parquet_real_table(tmp_path):
    _frame(600, 0).to_parquet(tmp_path / "real.parquet")
    _frame(600, 1).to_csv(tmp_path / "syn.csv", index=False)  # "0 days 00:16:40" text
    rep = evaluate(str(tmp_path / "real.parquet"), str(tmp_path / "syn.csv"), **FAST)
    cols, _ = _scores(rep)
    assert cols["stay"]["kind"] == "numerical" and cols["stay"]["score"] > 0.9
    # both as CSV, no metadata: the text is read as durations
    _frame(600, 0).to_csv(tmp_path / "real.csv", index=False)
    rep = evaluate(str(tmp_path / "real.csv"), str(tmp_path / "syn.csv"), **FAST)
    cols, _ = _scores(rep)
    assert cols["stay"]["kind"] == "numerical" and cols["stay"]["score"] > 0.9


def test_which_text_reads_as_durations():
    pandas_text = pd.Series(["0 days 00:16:40", "1 days 02:00:00.5", None, "-1 days +23:00:00"])
    assert infer_kind(pandas_text) == "numerical"
    assert duration_seconds(pandas_text).tolist()[:2] == [1000.0, 93600.5]
    assert infer_kind(pd.Series(["PT16M40S", "P1DT2H", "P3D"])) == "numerical"
    assert infer_kind(pd.Series(["10:00:00", "11:30:00"])) == "categorical"  # times of day
    assert infer_kind(pd.Series(["2 days", "soon"])) == "categorical"
    assert infer_kind(pd.Series(pd.to_timedelta([1, 2], unit="h"))) == "numerical"


def test_unparseable_durations_in_the_release_are_a_type_mismatch():
    real = _frame(200, 0)
    syn = _frame(200, 1).assign(stay=lambda d: d["stay"].astype(str))
    syn.loc[3, "stay"] = "a while"
    with pytest.raises(EvaluationDataError, match="column 'stay' is numeric .* but text"):
        evaluate(real, syn, **FAST)
