"""DP streaming fits: the exact counts of the record batches are merged first and the noise is
added once, so the ledger of a streamed table is the in-memory fit's (same mechanisms, same
targets, sensitivities and noise multipliers), and a neighbouring table (one adversarial row
added, in a part of its own) changes nothing in the model file outside the charged outputs."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabsynth import ARSynthesizer, Metadata, open_source
from tabsynth.artifact import read_manifest
from tabsynth.privacy import PrivacyBudget, noise_rng
from tabsynth.stats import compute_private_stats

N = 2000


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "age": rng.integers(18, 90, N),
        "city": rng.choice(["north", "south", "east", "west"], N, p=[.4, .3, .2, .1]),
        "income": np.where(rng.random(N) < 0.05, np.nan, rng.lognormal(10, 0.5, N)),
        "member": rng.random(N) < 0.4,
    })


def declared(df: pd.DataFrame) -> Metadata:
    md = Metadata.from_dtypes(df)
    md.update_column("age", public_bounds=[0, 120])
    md.update_column("income", public_bounds=[0, 1e6])
    md.update_column("city", public_domain=["north", "south", "east", "west", "other"])
    return md


def parts(df: pd.DataFrame, folder: Path, k: int = 3) -> Path:
    folder.mkdir()
    for j, idx in enumerate(np.array_split(np.arange(len(df)), k)):
        df.iloc[idx].to_parquet(folder / f"part-{j}.parquet", index=False)
    return folder


def entries(ledger) -> list[dict]:
    return [e.to_dict() for e in ledger.entries]


def assert_same_ledger(streamed, memory) -> None:
    """The same entries, but for DP-SGD's sample rate and steps (and so its noise
    multiplier): they derive from the noisy row count, a DP output that differs from run to
    run."""
    a, b = entries(streamed), entries(memory)
    assert [e for e in a if e["mechanism"] != "dpsgd"] == [e for e in b
                                                           if e["mechanism"] != "dpsgd"]
    noisy = ("sample_rate", "noise_multiplier", "steps")
    sa, sb = ([{k: v for k, v in e.items() if k not in noisy}
               for e in x if e["mechanism"] == "dpsgd"] for x in (a, b))
    assert sa == sb and len(sa) == 1


@pytest.mark.parametrize("point_bins", [False, True])  # True: the ARSynthesizer's layout
def test_streamed_ledger_equals_in_memory_ledger(table, tmp_path, point_bins):
    md = declared(table)
    source = open_source(parts(table, tmp_path / "ds"))
    source.batch_rows = 300  # batches split the parts
    budget = PrivacyBudget(1.0, 1e-6)
    kw = {"share": 0.5, "n_bins": 100, "tighten_bounds": False, "point_bins": point_bins}
    s_stats, s_ledger = compute_private_stats(source, md, budget, rng=noise_rng(), **kw)
    m_stats, m_ledger = compute_private_stats(table, md, budget, rng=noise_rng(), **kw)
    assert s_ledger.to_dict() == m_ledger.to_dict()  # entries, sensitivities, noise scales
    assert len(s_ledger.entries) == 8  # 4 public declarations + 4 histograms
    assert s_stats.source == "dp"
    # the noise is added once, to the merged counts: its scale is the in-memory one, not
    # sqrt(batches) times it (the noisy row counts of the two agree within a few sigma)
    sigma = max(e.noise_multiplier for e in s_ledger.entries if not e.public)
    assert abs(s_stats.n_rows - m_stats.n_rows) < 8 * sigma


def test_streamed_ledger_structure_without_declarations(table, tmp_path):
    """DP bounds and category discovery (two passes): the same measurements, in the same
    order, with the same noise multipliers, sensitivities and extra deltas."""
    md = Metadata.from_dtypes(table)
    source = open_source(parts(table, tmp_path / "ds"))
    budget = PrivacyBudget(2.0, 1e-6)
    _, s_ledger = compute_private_stats(source, md, budget, rng=noise_rng())
    _, m_ledger = compute_private_stats(table, md, budget, rng=noise_rng())

    def shape(ledger):
        return [(e["mechanism"], e["target"], e["noise_multiplier"], e["sensitivity"],
                 e["extra_delta"], e["public"]) for e in entries(ledger)]

    assert shape(s_ledger) == shape(m_ledger)
    assert {e[0] for e in shape(s_ledger)} >= {"dp_bounds", "discover_categories",
                                               "gaussian_histogram"}


def test_streamed_dp_fit_ledger_equals_in_memory(table, tmp_path):
    md = declared(table)
    folder = parts(table, tmp_path / "ds")
    kw = {"epsilon": 1.0, "delta": 1e-6, "epochs": 1, "batch_size": 200, "random_state": 0,
          "verbose": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        streamed = ARSynthesizer(**kw).fit(folder, metadata=md)
        memory = ARSynthesizer(**kw).fit(table, metadata=md)
    assert_same_ledger(streamed.ledger_, memory.ledger_)
    assert streamed.privacy_spent_["epsilon"] <= 1.0 + 1e-9


def test_neighbouring_streamed_tables(table, tmp_path):
    """D and D' (D plus one adversarial row in a part of its own), streamed, same public
    inputs: everything in the file that is not a charged mechanism's output is identical."""
    extra = table.iloc[[0]].copy()
    extra["income"] = 9e5
    extra["age"] = 119
    d = parts(table, tmp_path / "d")
    d2 = parts(table, tmp_path / "d2")
    extra.to_parquet(d2 / "part-9.parquet", index=False)
    md = declared(table)
    mans = []
    for name, folder in (("a", d), ("b", d2)):
        model = ARSynthesizer(epsilon=1.0, delta=1e-6, epochs=1, batch_size=200,
                              random_state=0, verbose=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(folder, metadata=md)
        path = tmp_path / f"{name}.tsmodel"
        model.save(path)
        mans.append(read_manifest(path))

    def public(man):
        return {"params": man["params"], "metadata": man["metadata"],
                "columns": man["training"]["columns"],
                "n_features_in": man["training"]["n_features_in"],
                "budget": man["ledger"]["budget"],
                "mechanisms": [(e["mechanism"], e["target"]) for e in man["ledger"]["entries"]],
                "training_keys": sorted(man["training"])}

    assert public(mans[0]) == public(mans[1])
    assert "seconds" not in mans[0]["training"]
