"""DP-AR heads start at the DP marginals (post-processing of the charged statistics).

Under DP-SGD the network takes few, noisy steps; from PyTorch's initialisation it spent them
learning one-column frequencies and kept giving mass to cells the data never holds (on the
fraud demo at epsilon 1: 9.5% missing values in a column without any, "__other__" in 1.4% of
a binary column). :meth:`DataTransformer.cell_marginals` turns the statistics into per-cell
masses and :func:`init_from_marginals` sets the output biases to their logarithms.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from tabsynth import ARSynthesizer, Metadata
from tabsynth.metadata import Metadata as _Md
from tabsynth.models import ar_dp
from tabsynth.stats import compute_stats
from tabsynth.transformer import DataTransformer


def _table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], size=n, p=[0.7, 0.2, 0.1])
    level = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.05, 0.1, 0.2, 0.3, 0.35])
    amount = np.where(rng.random(n) < 0.4, 0.0, rng.lognormal(3, 1, n)).round(2)
    return pd.DataFrame({"colour": colour, "level": level, "amount": amount})


def _metadata() -> Metadata:
    return Metadata.from_dict({"columns": {
        "colour": {"sdtype": "categorical", "public_domain": ["red", "green", "blue"]},
        "level": {"sdtype": "numerical", "representation": "int", "public_bounds": [1, 5]},
        "amount": {"sdtype": "numerical", "public_bounds": [0.0, 500.0]},
    }})


def test_cell_marginals_match_the_encoded_table_on_exact_statistics():
    df = _table()
    md = _Md.detect(df, warn=False)
    tr = DataTransformer(md, compute_stats(df, md, random_state=0), numeric_encoding="bins",
                         n_bins=24)
    codes = tr.column_codes(df)
    for j, p in enumerate(tr.cell_marginals()):
        assert p.shape == (tr.column_domains[j],)
        assert p.sum() == pytest.approx(1.0)
        empirical = np.bincount(codes[:, j], minlength=len(p)) / len(df)
        # categories exactly; bins within the resolution of 101 quantile levels
        assert 0.5 * np.abs(p - empirical).sum() < (1e-9 if j == 0 else 0.03), tr.columns[j]


def test_init_from_marginals_sets_log_prior_biases():
    df = _table(500)
    model = ARSynthesizer(epsilon=5.0, delta=1e-5, epochs=1, batch_size=50, hidden_dim=8,
                          random_state=0, verbose=False, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(df, _metadata())
    fresh = ARSynthesizer(hidden_dim=8, random_state=0, verbose=False, device="cpu")
    fresh.transformer_ = model.transformer_
    fresh.device_ = "cpu"
    fresh._build_networks(torch.Generator().manual_seed(0))
    ar_dp.init_from_marginals(fresh)
    for head, p in zip(fresh._net.heads, model.transformer_.cell_marginals(), strict=True):
        q = torch.softmax(head.bias.detach().double(), 0).numpy()
        mixed = (1 - ar_dp.PRIOR_UNIFORM_SHARE) * p / p.sum() \
            + ar_dp.PRIOR_UNIFORM_SHARE / len(p)
        np.testing.assert_allclose(q, mixed, rtol=1e-5)


@pytest.mark.parametrize("noise_seed", [0, 1])
def test_dp_release_follows_the_dp_marginals_from_the_first_epoch(replayable_noise,
                                                                  noise_seed):
    """One DP epoch at epsilon 1: each column of the release stays close to its DP marginal
    (total variation < 0.08 per column; measured 0.013-0.058). From PyTorch's initialisation
    the same fits give 0.28-0.33 on ``colour`` and 0.23-0.24 on ``level``."""
    df = _table()
    model = ARSynthesizer(epsilon=1.0, delta=1e-5, epochs=1, random_state=0, verbose=False,
                          device="cpu")
    torch.set_num_threads(1)
    with replayable_noise(noise_seed), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(df, _metadata())
    out = model.sample(6000, random_state=0)
    codes = model.transformer_.column_codes(out)
    for j, p in enumerate(model.transformer_.cell_marginals()):
        got = np.bincount(codes[:, j], minlength=len(p)) / len(out)
        assert 0.5 * np.abs(got - p).sum() < 0.08, model.columns_[j]


def test_exact_point_masses_come_back_as_themselves():
    """A numeric column of a few values with small shares (a deductible of 300/500/700 next
    to 400 in 94% of the rows): every value keeps its own cell, so the release holds only
    the table's values (before: draws between 400 and 700, 500 lost)."""
    rng = np.random.default_rng(0)
    n = 4000
    ded = rng.choice([300, 400, 500, 700], size=n, p=[0.01, 0.95, 0.02, 0.02])
    df = pd.DataFrame({"deductible": ded, "flag": rng.choice(["a", "b"], size=n)})
    md = Metadata.from_dict({"columns": {
        "deductible": {"sdtype": "numerical", "representation": "int"},
        "flag": {"sdtype": "categorical"}}})
    st = compute_stats(df, md, random_state=0)
    assert st["deductible"].atoms == (300.0, 400.0, 500.0, 700.0)
    model = ARSynthesizer(random_state=0, verbose=False, device="cpu").fit(df, md)
    out = model.sample(20_000, random_state=0)
    assert set(out["deductible"].unique()) <= {300, 400, 500, 700}
    share = out["deductible"].value_counts(normalize=True)
    # measured 0.023 / 0.021 (early stopping after ~100 steps on 3,600 rows)
    assert share[500] == pytest.approx(0.02, abs=0.01)
    assert share[300] == pytest.approx(0.01, abs=0.015)


def test_atoms_round_trip_in_the_statistics_and_dp_has_none():
    from tabsynth.stats import TableStats

    df = _table(500)
    st = compute_stats(df, _metadata(), random_state=0)
    again = TableStats.from_dict(st.to_dict())
    assert again["level"].atoms == st["level"].atoms == (1.0, 2.0, 3.0, 4.0, 5.0)
    model = ARSynthesizer(epsilon=5.0, delta=1e-5, epochs=1, batch_size=50, hidden_dim=8,
                          random_state=0, verbose=False, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(df, _metadata())
    assert model.stats_["amount"].atoms is None and model.stats_["level"].atoms is None


def _noisy_table(n: int = 3000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    kind = rng.choice(["Urban", "Rural"], size=n, p=[0.8, 0.2])  # undeclared: DP discovery
    label = rng.choice([0, 1], size=n, p=[0.9, 0.1])
    score = np.where(rng.random(n) < 0.3, np.nan, rng.normal(50, 10, n).round(1))
    return pd.DataFrame({"kind": kind, "label": label, "score": score})


def _noisy_dp_fit(replayable_noise, noise_seed: int, *, epochs: int) -> ARSynthesizer:
    """A DP fit (epsilon 1) of the noisy table with replayed privacy noise, one thread."""
    model = ARSynthesizer(epsilon=1.0, delta=1e-5, epochs=epochs, random_state=0,
                          verbose=False, device="cpu")
    torch.set_num_threads(1)
    with replayable_noise(noise_seed), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(_noisy_table(), _noisy_metadata())
    return model


def _noisy_metadata() -> Metadata:
    return Metadata.from_dict({"columns": {
        "kind": {"sdtype": "categorical"},
        "label": {"sdtype": "categorical", "public_domain": [0, 1]},
        "score": {"sdtype": "numerical", "public_bounds": [0.0, 100.0]},
    }})


@pytest.mark.parametrize("noise_seed", [0, 1, 2])
def test_dp_noise_cells_are_not_generated(replayable_noise, noise_seed):
    """A column without missing values gets no missing values, a binary text column whose
    two values were released gets no "__other__", whatever mass the noise gave those cells;
    a column with 30% missing values keeps them; a condition may still ask for a left-out
    cell (it overrides)."""
    from tabsynth.models.ar_dp import noise_cell_masks

    model = _noisy_dp_fit(replayable_noise, noise_seed, epochs=2)
    out = model.sample(5000, random_state=0)
    assert not out["label"].isna().any() and not out["kind"].isna().any()
    assert set(out["kind"]) <= {"Urban", "Rural"}
    assert out["score"].isna().mean() == pytest.approx(0.3, abs=0.08)
    masks = noise_cell_masks(model)
    score = masks.get(model.columns_.index("score"))
    assert score is None or score[-1]  # 30% missing is far above the noise: its cell stays
    if model.stats_["kind"].missing_rate > 0:  # the noise gave the missing cell some mass
        assert model.columns_.index("kind") in masks
        cond = model.sample(20, conditions={"kind": None}, random_state=0)
        assert cond["kind"].isna().all()


def test_noise_cell_masks_are_empty_without_dp():
    from tabsynth.models.ar_dp import noise_cell_masks

    df = _noisy_table(500)
    model = ARSynthesizer(epochs=1, random_state=0, verbose=False, device="cpu")
    model.fit(df, _noisy_metadata())
    assert noise_cell_masks(model) == {}


def _week_table(n: int = 3000, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    week = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.2, 0.25, 0.25, 0.2, 0.1])
    group = np.where(rng.random(n) < 0.5 + 0.08 * week, "a", "b")
    return pd.DataFrame({"week": week, "group": group})


def _week_metadata() -> Metadata:
    # a declared range wider than the data (as the DP bounds grid gives: 1..5 -> [1, 10])
    return Metadata.from_dict({"columns": {
        "week": {"sdtype": "numerical", "representation": "int", "public_bounds": [1, 10]},
        "group": {"sdtype": "categorical", "public_domain": ["a", "b"]},
    }})


@pytest.mark.parametrize("noise_seed", [0, 1])
def test_dp_integer_values_beyond_the_histogram_are_not_generated(replayable_noise,
                                                                 noise_seed):
    """A small-range integer column (one cell per value) whose DP histogram shows no mass
    above 5 gets no value above the highest value with mass: the uniform prior and DP-SGD's
    noise alone gave those cells mass (6-10 in weeks of a month). Neighbouring tables: one
    row moved to 9 changes neither the masks nor the values generated beyond the data, with
    the same noise draws (what may differ between the two model files: the charged
    statistics; the masks are a function of them)."""
    from tabsynth.models.ar_dp import noise_cell_masks

    def fit(df):
        model = ARSynthesizer(epsilon=1.0, delta=1e-5, epochs=2, random_state=0,
                              verbose=False, device="cpu")
        torch.set_num_threads(1)
        with replayable_noise(noise_seed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(df, _week_metadata())
        return model

    d = _week_table()
    d2 = d.copy()
    d2.loc[17, "week"] = 9  # D': one row at a value the data otherwise never holds
    models = [fit(d), fit(d2)]
    j = models[0].columns_.index("week")
    for model in models:
        p = model.transformer_.cell_marginals()[j][:10]  # values 1..10 (then: missing)
        top = int(np.flatnonzero(p > 0).max()) + 1  # the highest value with DP mass
        assert top <= 6  # the histogram put (almost) nothing beyond the data
        out = model.sample(5000, random_state=0)
        assert out["week"].max() <= top
        assert set(out["week"]) >= {1, 2, 3, 4, 5}  # the data's values all come back
    m0, m1 = (noise_cell_masks(m).get(j) for m in models)
    assert m0 is not None and np.array_equal(m0, m1)


@pytest.mark.parametrize("noise_seed", [0, 1])
def test_frequencies_are_pulled_back_to_the_dp_marginals(replayable_noise, noise_seed):
    """DP-SGD moved this table's 80/20 and 90/10 columns to about 85/15 and 94/6, and the
    30%-missing score column to 34-41% missing; calibrate_marginals (post-processing: the
    DP model and DP statistics only) brings the generated frequencies and the missing rate
    back to the DP marginals. The score's present values keep their shape: its head only
    moves between missing and present."""
    from tabsynth.models.ar_dp import calibrate_marginals

    model = _noisy_dp_fit(replayable_noise, noise_seed, epochs=10)
    out = model.sample(20_000, random_state=1)
    for column in ("kind", "label"):
        span = next(s for s in model.transformer_.discrete_spans if s.column == column)
        dp = dict(zip(span.categories, np.asarray(span.frequencies) / np.sum(span.frequencies),
                      strict=True))
        got = out[column].value_counts(normalize=True)
        for value, share in got.items():
            assert share == pytest.approx(dp[value], abs=0.015), (column, value)
    assert out["score"].isna().mean() == pytest.approx(model.stats_["score"].missing_rate,
                                                       abs=0.015)
    head = model._net.heads[model.columns_.index("score")]
    before = head.bias.clone()
    calibrate_marginals(model, seed=3)  # again: the present cells move together
    moved = (head.bias - before).detach()[:-1]
    assert torch.allclose(moved, moved[0].expand_as(moved), atol=1e-5)
    assert float(moved.abs().max()) < 0.05  # already calibrated: a small step


@pytest.mark.parametrize("noise_seed", [0, 1])
def test_dp_point_cells_without_mass_are_not_generated(replayable_noise, noise_seed):
    """An integer column of 17..90 declared on [0, 200] (more values than bins) and a float
    column of 5..60 declared on [0, 100]: the lower bound always has a point cell, and the
    1% uniform prior gave it mass, so ages and hours of exactly 0 came out. A point cell
    the DP statistics give no mass is not generated; interval bins beyond the DP
    quantiles stay (a thin tail the histogram cannot tell from noise)."""
    from tabsynth.models.ar_dp import noise_cell_masks

    rng = np.random.default_rng(0)
    n = 3000
    df = pd.DataFrame({"age": rng.integers(17, 91, n),
                       "hours": rng.uniform(5, 60, n).round(1),
                       "group": rng.choice(["a", "b"], n)})
    md = Metadata.from_dict({"columns": {
        "age": {"sdtype": "numerical", "representation": "int", "public_bounds": [0, 200]},
        "hours": {"sdtype": "numerical", "public_bounds": [0.0, 100.0]},
        "group": {"sdtype": "categorical", "public_domain": ["a", "b"]},
    }})
    model = ARSynthesizer(epsilon=1.0, delta=1e-5, epochs=2, random_state=0, verbose=False,
                          device="cpu")
    torch.set_num_threads(1)
    with replayable_noise(noise_seed), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(df, md)
    out = model.sample(20_000, random_state=0)
    masks = noise_cell_masks(model)
    for name in ("age", "hours"):
        assert (out[name] == 0).sum() == 0, name
        lo, hi, _, _ = model.transformer_.bin_edges(name)
        keep = masks[model.columns_.index(name)]
        assert not keep[0] and lo[0] == hi[0] == 0.0  # the lower bound's point cell
        assert keep[len(lo) - 1]  # the top interval bin stays
