"""Parsing and checking sampling conditions (no network involved)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabsynth import ConditionError, Metadata
from tabsynth.sampling.conditions import (
    Condition,
    RejectionBudget,
    condition_mask,
    parse_conditions,
)
from tabsynth.stats import compute_stats
from tabsynth.transformer import DataTransformer


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "color": rng.choice(["red", "green", "blue"], n, p=[0.7, 0.2, 0.1]),
            "flag": rng.random(n) < 0.3,
            "level": rng.choice([1, 2, 3], n),
            "when": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
        }
    )


@pytest.fixture(scope="module")
def transformer(frame) -> DataTransformer:
    md = Metadata.detect(frame)
    md.update_column("level", sdtype="categorical")
    return DataTransformer(md, compute_stats(frame, md, random_state=0))


def test_none_and_empty(transformer):
    assert not parse_conditions(None, transformer)
    assert not parse_conditions({}, transformer)
    assert not parse_conditions({"age": (None, None)}, transformer)


def test_categorical_is_exact_with_prior_rate(transformer):
    parsed = parse_conditions({"color": "blue", "age": (60, None)}, transformer)
    (exact,) = parsed.exact
    assert exact.column == "color" and exact.kind == "equal"
    span, cat = transformer.condition_index("color", "blue")
    assert (exact.span, exact.category) == (span, cat)
    assert 0.05 < exact.rate < 0.2
    rng_cond = parsed.conditions[1]
    assert rng_cond.kind == "range" and (rng_cond.lo, rng_cond.hi) == (60, None)


def test_values_are_canonical_categories(transformer):
    parsed = parse_conditions({"level": "2", "flag": True}, transformer)
    assert [c.value for c in parsed.conditions] == [2, True]


@pytest.mark.parametrize(
    "conditions, match",
    [
        ({"nope": 1}, "Unknown column 'nope'"),
        ({"color": "purple"}, "'color' has no value 'purple'"),
        ({"color": ("a", "b")}, "'color' is categorical"),
        ({"color": []}, "empty"),
        ({"age": (70, 20)}, "empty: lo=70 > hi=20"),
        ({"age": (1, 2, 3)}, "must be a \\(lo, hi\\) tuple"),
        ({"age": "old"}, "'age' is numerical"),
        ({"age": (None, "x")}, "'age' is numerical"),
        ({"when": (5, None)}, "'when' is datetime"),
        ({"age": [1, 2]}, "'age' is numerical/datetime"),
        (["age"], "must be a dict"),
    ],
)
def test_errors_name_the_problem(transformer, conditions, match):
    with pytest.raises(ConditionError, match=match):
        parse_conditions(conditions, transformer)


def test_condition_mask(frame, transformer):
    parsed = parse_conditions(
        {"color": ["red", "blue"], "age": (30, 50), "flag": False,
         "when": ("2020-03-01", None)},
        transformer,
    )
    mask, counts = condition_mask(frame, parsed)
    expected = (
        frame["color"].isin(["red", "blue"]) & frame["age"].between(30, 50) & ~frame["flag"]
        & (frame["when"] >= pd.Timestamp("2020-03-01"))
    ).to_numpy()
    np.testing.assert_array_equal(mask, expected)
    assert counts[1] == int(frame["age"].between(30, 50).sum())


def test_datetime_stored_as_text(frame, transformer):
    text = frame.assign(when=frame["when"].dt.strftime("%Y-%m-%d"))
    parsed = parse_conditions({"when": (None, "2020-02-01")}, transformer)
    mask, _ = condition_mask(text, parsed)
    np.testing.assert_array_equal(mask, (frame["when"] <= "2020-02-01").to_numpy())


def test_rejection_budget_oversamples_by_rate():
    cond = Condition("x", "range", lo=0, rate=0.1)
    budget = RejectionBudget(1000, (cond,))
    first = budget.next_batch(1000, 1_000_000)
    assert first > 10_000  # 1 / expected rate
    assert budget.next_batch(1000, 5000) == 5000  # capped by the batch size
    unconditioned = RejectionBudget(10, ())
    assert unconditioned.next_batch(10, 100) == 10


def test_rejection_budget_raises_naming_hardest_condition():
    conds = (Condition("a", "range", lo=0), Condition("b", "value", value=3))
    budget = RejectionBudget(5, conds, original={"a": (0, None), "b": 3}, max_candidates=1000)
    df = pd.DataFrame({"a": np.ones(1000), "b": np.zeros(1000)})
    budget.update(df)
    with pytest.raises(ConditionError, match="Could not generate 5 rows .* 'b' == 3"):
        budget.check(0)
    budget.check(5)  # enough rows: no error
