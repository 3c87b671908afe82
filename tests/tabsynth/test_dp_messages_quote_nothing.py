"""Issue 11, item 10: errors and warnings of a DP fit quote no real value and no exact count.

One row of the table holds a unique string, ``SECRET_CANARY_42`` (in a categorical column and
as a label), and the table has an odd number of rows (N = 237) that appears in no parameter.
Every DP path (the private statistics, DP-SGD, the marginals route, the DP ARSynthesizer, the
Oversampler under DP) is fitted, and some of them are made to fail on bad input; every warning,
log record (any logger, DEBUG and up), error message and console line is collected and must not
contain the canary nor the exact row count (or its neighbours N - 1 and N + 1, the count of the
other rows and the count with the canary row).
"""

from __future__ import annotations

import logging
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from tabsynth import TVAE, ARSynthesizer, Metadata, Oversampler
from tabsynth.errors import TabsynthError

CANARY = "SECRET_CANARY_42"
N = 237
_COUNTS = re.compile(rf"\b({N - 1}|{N}|{N + 1})\b")


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    from tabsynth import datasets

    torch.set_num_threads(1)
    df = datasets.load("adult")[["age", "workclass", "hours-per-week", "income"]]
    df = df.head(N).reset_index(drop=True)
    df.loc[7, "workclass"] = CANARY
    return df


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage())


def _run(fn, capsys) -> list[str]:
    """Run ``fn``; every warning, log record, error message and console line it produced."""
    handler = _Collector()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    texts: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fn()
            except TabsynthError as exc:  # a refusal: its message is checked like the rest
                texts.append(str(exc))
        texts += [str(w.message) for w in caught]
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
    out = capsys.readouterr()
    return texts + handler.texts + [out.out, out.err]


def _assert_clean(texts: list[str]) -> None:
    assert texts, "nothing was collected"
    for text in texts:
        assert CANARY not in text, text
        assert not _COUNTS.search(text), text


TINY = {"epochs": 1, "batch_size": 20, "epsilon": 2.0, "delta": 1e-5, "verbose": False,
        "device": "cpu"}
VAE = {"embedding_dim": 8, "compress_dims": (16,), "decompress_dims": (16,)}


@pytest.mark.parametrize("make", [
    lambda: TVAE(**TINY, **VAE),
    lambda: TVAE(**TINY, **VAE, route="marginals"),
    lambda: ARSynthesizer(**TINY, hidden_dim=8),
], ids=["tvae-dpsgd", "tvae-marginals", "ar-dpsgd"])
def test_dp_fits_quote_no_value_and_no_count(table, capsys, make):
    texts = _run(lambda: make().fit(table), capsys)
    # the fit without metadata warns how the columns were typed (and nothing else may leak)
    assert any("typed" in t for t in texts)
    _assert_clean(texts)


@pytest.mark.parametrize("make", [lambda: TVAE(**TINY, **VAE),
                                  lambda: ARSynthesizer(**TINY, hidden_dim=8)],
                         ids=["tvae", "ar"])
def test_dp_refusals_quote_no_value_and_no_count(table, capsys, make):
    bad = table.copy()
    bad["age"] = bad["age"].astype(object)
    bad.loc[3, "age"] = CANARY
    md = Metadata.from_dtypes(table)
    texts = _run(lambda: make().fit(bad, md), capsys)
    assert any("numerical" in t for t in texts)
    _assert_clean(texts)

    md = Metadata.from_dtypes(table)
    md.update_column("workclass", public_domain=["Private", "Self-emp-not-inc", "Local-gov"])
    texts = _run(lambda: make().fit(table, md), capsys)
    assert any("public_domain" in t for t in texts)
    _assert_clean(texts)


def _xy(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    X = table.drop(columns=["income"])
    y = table["income"].copy()
    y.loc[11] = CANARY  # a label held by one row
    return X, y


OVER = {"epsilon": 2.0, "delta": 1e-5, "keep_real": False, "random_state": 0,
        "model_params": {"epochs": 1, "batch_size": 20, "hidden_dim": 8, "verbose": False,
                         "device": "cpu"}}


def test_dp_oversampler_quotes_no_label_and_no_count(table, capsys):
    X, y = _xy(table)
    texts = _run(lambda: Oversampler("ar", sampling_strategy="auto", **OVER).fit_resample(X, y),
                 capsys)
    _assert_clean(texts)


@pytest.mark.parametrize("case", ["unknown class", "float with three labels", "mismatch"])
def test_dp_oversampler_refusals_quote_no_label_and_no_count(table, capsys, case):
    X, y = _xy(table)
    if case == "unknown class":
        over = Oversampler("ar", sampling_strategy={"nope": 5}, **OVER)
    elif case == "float with three labels":
        over = Oversampler("ar", sampling_strategy=0.5, **OVER)
    else:
        over = Oversampler("ar", sampling_strategy="auto", **OVER)
        y = pd.concat([y, pd.Series([">50K"])], ignore_index=True)
    raised: list[str] = []

    def fit() -> None:
        try:
            over.fit_resample(X, y)
        except TabsynthError as exc:
            raised.append(str(exc))
            raise

    texts = _run(fit, capsys)
    assert raised, "the bad input was not refused"
    _assert_clean(texts)


def test_the_collector_sees_a_planted_leak(capsys):
    # the check can fail: a warning that quotes the canary and one that quotes N are caught
    texts = _run(lambda: warnings.warn(f"value {CANARY} in {N} rows", stacklevel=2), capsys)
    with pytest.raises(AssertionError):
        _assert_clean(texts)
    texts = _run(lambda: logging.getLogger("tabsynth.x").debug("n=%d", N - 1), capsys)
    with pytest.raises(AssertionError):
        _assert_clean(texts)
    assert np.isfinite(N)
