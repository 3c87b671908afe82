"""Neighbouring tables for the DP CTGAN (the CLI's default model under ``--epsilon``).

Same protocol as ``test_neighbouring_tables.py`` (TVAE, both routes): D and D' = D plus one
adversarial row, the same public inputs; everything in the model file that no charged
mechanism produced must be identical (issue 11, "Tests that can fail").
"""

from __future__ import annotations

import warnings

import pytest
import torch
from test_neighbouring_tables import ADVERSARIAL, _public_part, _row

from tabsynth import CTGAN
from tabsynth.artifact import read_manifest

N = 300
COLS = ["age", "workclass", "hours-per-week", "income"]


@pytest.fixture(scope="module")
def base():
    from tabsynth import datasets

    torch.set_num_threads(1)
    df = datasets.load("adult")[COLS].head(N).reset_index(drop=True)
    df.insert(0, "id", range(1, N + 1))
    return df


def _fit(df, tmp_path, name):
    model = CTGAN(epochs=1, batch_size=30, embedding_dim=8, generator_dim=(16,),
                  discriminator_dim=(16,), epsilon=2.0, delta=1e-5, random_state=0,
                  verbose=False, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(df)
    path = tmp_path / f"{name}.tsmodel"
    model.save(path)
    return read_manifest(path)


@pytest.mark.parametrize("case", list(ADVERSARIAL))
def test_one_row_changes_nothing_outside_the_ledger(base, tmp_path, case):
    a = _public_part(_fit(base, tmp_path, "d"))
    b = _public_part(_fit(_row(base, **ADVERSARIAL[case]), tmp_path, "d2"))
    assert a == b
