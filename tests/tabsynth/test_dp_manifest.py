"""A DP model file holds no training time and nothing that replays the noise (issue 11, 1 and 9).

The TVAE (DP-SGD) and ARSynthesizer routes are checked in ``test_neighbouring_tables.py`` and
``test_ar_dp.py``; here the DP CTGAN and the marginals route: every key of the manifest is
walked (no duration, no seed other than ``params.random_state``, which seeds post-processing
only), and two fits with the same ``random_state`` differ in their noisy statistics and
weights, so the noise cannot be regenerated from the file.
"""

from __future__ import annotations

import re
import warnings

import pytest
import torch

from tabsynth import CTGAN, TVAE
from tabsynth.artifact import read_manifest

_SUSPECT = re.compile(r"second|duration|elapsed|time|seed|random|clock", re.IGNORECASE)


@pytest.fixture(scope="module")
def table():
    from tabsynth import datasets

    torch.set_num_threads(1)
    return datasets.load("adult")[["age", "workclass", "hours-per-week", "income"]].head(300)


MODELS = {
    "ctgan-dpsgd": lambda: CTGAN(epochs=1, batch_size=30, embedding_dim=8, generator_dim=(16,),
                                 discriminator_dim=(16,), epsilon=2.0, delta=1e-5,
                                 random_state=0, verbose=False, device="cpu"),
    "tvae-marginals": lambda: TVAE(epochs=1, batch_size=30, embedding_dim=8,
                                   compress_dims=(16,), decompress_dims=(16,), epsilon=2.0,
                                   delta=1e-5, route="marginals", random_state=0,
                                   verbose=False, device="cpu"),
}


def _suspects(manifest) -> list[str]:
    names = [k for k in _keys(manifest) if _SUSPECT.search(k.rsplit(".", 1)[-1])]
    return [k for k in names if not k.endswith(".datetime_format")]  # a column's format


def _keys(obj, path=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield f"{path}.{k}"
            yield from _keys(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _keys(v, f"{path}[{i}]")


def _fit_and_read(name, table, tmp_path, tag):
    model = MODELS[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(table)
    path = tmp_path / f"{name}-{tag}.tsmodel"
    model.save(path)
    return read_manifest(path)


@pytest.mark.parametrize("name", list(MODELS))
def test_no_timing_no_noise_seed_and_fresh_noise(table, tmp_path, name):
    a = _fit_and_read(name, table, tmp_path, "a")
    b = _fit_and_read(name, table, tmp_path, "b")
    suspects = _suspects(a)
    # random_state seeds post-processing only; 'created' is when the file was written
    assert suspects == [".params.random_state"], suspects
    assert a["params"]["random_state"] == b["params"]["random_state"] == 0
    assert a["stats"] != b["stats"]
    assert a["weights_sha256"] != b["weights_sha256"]


def test_the_key_walk_sees_a_planted_duration():
    planted = {"params": {"random_state": 0}, "training": {"fit_seconds": 3.2},
               "metadata": {"columns": {"d": {"datetime_format": "%Y"}}},
               "ledger": {"entries": [{"params": {"noise_seed": 7}}]}}
    assert _suspects(planted) == [".params.random_state", ".training.fit_seconds",
                                  ".ledger.entries[0].params.noise_seed"]
