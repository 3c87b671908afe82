"""``evaluate(..., ignore_columns=[...])`` / ``tabsynth evaluate --ignore-columns a,b``: leave
columns out of the comparison in every table that has them, so a release with an extra
column (another tool's row id, a flag it adds) or without some real columns (only part of the
table was synthesised) scores without editing the files. Before, such tables were refused
(exit 3), with no way round it but rewriting the files. The report's parameters and warnings
name the columns left out; a name in no table is an error, before any work."""

from __future__ import annotations

import pytest
from eval_tables import adult_split

from tabsynth.evaluation import EvaluationDataError, EvaluationParameterError, evaluate

FAST = {"progress": False, "random_state": 0}


@pytest.fixture(scope="module")
def tables():
    return adult_split(500, 200)


def test_extra_and_missing_columns_are_left_out(tables):
    train, holdout, syn = tables
    release = syn.drop(columns=["capital-gain"]).assign(tool_row_id=range(len(syn)))
    with pytest.raises(EvaluationDataError):
        evaluate(train, release, holdout=holdout, **FAST)
    rep = evaluate(train, release, holdout=holdout, target="income",
                   ignore_columns=["capital-gain", "tool_row_id"], **FAST)
    scored = {c["column"] for c in rep.metric("column_shapes").details["columns"]}
    assert scored == set(train.columns) - {"capital-gain"}
    assert rep.parameters["columns_ignored"] == ["capital-gain", "tool_row_id"]
    assert any("left out of the comparison as asked" in w for w in rep.warnings)


def test_unknown_names_and_the_target_are_refused(tables):
    train, holdout, syn = tables
    with pytest.raises(EvaluationParameterError, match="'nope'"):
        evaluate(train, syn, ignore_columns=["nope"], **FAST)
    with pytest.raises(EvaluationParameterError, match="target"):
        evaluate(train, syn, holdout=holdout, target="income", ignore_columns=["income"],
                 **FAST)
    with pytest.raises(EvaluationParameterError, match="every column"):
        evaluate(train, syn, ignore_columns=list(train.columns), **FAST)
