"""The marginal route (tabsynth/models/marginal_fit.py): GEM-style fit of CTGAN/TVAE networks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from tabsynth import CTGAN, TVAE  # noqa: E402
from tabsynth.metadata import Metadata  # noqa: E402
from tabsynth.models import marginal_fit as mf  # noqa: E402
from tabsynth.models import marginal_fitter  # noqa: E402
from tabsynth.privacy.marginals import Measurement  # noqa: E402
from tabsynth.stats import exact as exact_stats  # noqa: E402


@pytest.fixture(autouse=True)
def _small(monkeypatch):
    monkeypatch.setattr(mf, "BATCH", 512)
    monkeypatch.setattr(mf, "STEPS_PER_ROUND", 40)
    monkeypatch.setattr(mf, "FINAL_STEPS", 300)
    monkeypatch.setattr(mf, "ROUNDS", 2)
    monkeypatch.setattr(mf, "PER_ROUND", 2)
    monkeypatch.setattr(marginal_fitter, "EVAL_ROWS", 2048)  # read by MarginalFitter
    # the route runs under DP, whose statistics never hold a column's support (atoms); the
    # tests' exact mode keeps `size` (about 60 values) in quantile bins, as when the support
    # threshold was 32 and the tolerances below were set
    monkeypatch.setattr(exact_stats, "MAX_ATOMS", 32)
    torch.set_num_threads(1)


def _table(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    color = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])
    big = np.where(color == "red", rng.random(n) < 0.8, rng.random(n) < 0.2)
    size = np.where(big, rng.normal(50, 5, n), rng.normal(20, 5, n)).round().astype("int64")
    return pd.DataFrame({"color": pd.array(color, dtype="str"), "big": big, "size": size})


def _model(cls, eps):
    kw = {"generator_dim": (64, 64)} if cls is CTGAN else {"decompress_dims": (64, 64)}
    m = cls(embedding_dim=32, device="cpu", random_state=0, verbose=False, **kw)
    m.epsilon = eps  # the route is chosen by BaseSynthesizer.fit's dispatch; called directly here
    m.route = "marginals"
    return m


def _tvd(a, b):
    return 0.5 * np.abs(a - b).sum()


@pytest.mark.parametrize("cls", [CTGAN, TVAE])
def test_exact_mode_reproduces_the_marginals(cls, monkeypatch):
    if cls is TVAE:  # a plain MLP decoder converges more slowly than CTGAN's residual blocks
        monkeypatch.setattr(mf, "FINAL_STEPS", 800)
    df = _table()
    model = _model(cls, None)
    mf.fit_to_marginals(model, df, Metadata.detect(df), rng=np.random.default_rng(0),
                        _exact=True)
    t = model.transformer_
    real = t.column_codes(df)
    syn = t.column_codes(model.sample(20000, random_state=1))
    dom = t.column_domains
    for j in range(len(dom)):
        assert _tvd(np.bincount(real[:, j], minlength=dom[j]) / len(real),
                    np.bincount(syn[:, j], minlength=dom[j]) / len(syn)) < 0.02
    for clique in [m for m in model.training_summary_["marginals"] if len(m) == 2]:
        a, b = (t.columns.index(c) for c in clique)
        r = np.bincount(real[:, a] * dom[b] + real[:, b], minlength=dom[a] * dom[b])
        s = np.bincount(syn[:, a] * dom[b] + syn[:, b], minlength=dom[a] * dom[b])
        # TVAE's MLP decoder fits a 34-cell pair to ~0.04 in this test's step budget
        assert _tvd(r / r.sum(), s / s.sum()) < (0.03 if cls is CTGAN else 0.05)


def test_fitting_receives_only_measurements(monkeypatch):
    df = _table(1500)
    calls = []
    original = mf.MarginalFitter.fit

    def spy(self, measurements, *, final=False):
        calls.append(measurements)
        return original(self, measurements, final=final)

    monkeypatch.setattr(mf.MarginalFitter, "fit", spy)
    model = _model(CTGAN, 2.0)
    mf.fit_to_marginals(model, df, Metadata.detect(df), rng=np.random.default_rng(0))
    assert calls and all(isinstance(m, Measurement) for ms in calls for m in ms)
    # the fitter holds no data: only the model, its RNGs and optimisation state
    assert model.privacy_spent_["epsilon"] <= 2.0 + 1e-9
    assert model.privacy_spent_["accountant"] == "rdp"
    assert model.ledger_.effective_accountant == "rdp"
    assert model.ledger_.spent()[0] <= 2.0 + 1e-9
    assert any(e.mechanism == "exponential" for e in model.ledger_.entries)


def test_canary_category_never_appears_and_conditions_are_exact():
    df = _table(3000)
    df.loc[0, "color"] = "CANARY"
    model = _model(CTGAN, 1.0)
    mf.fit_to_marginals(model, df, Metadata.detect(df), rng=np.random.default_rng(0))
    out = model.sample(5000, random_state=0)
    assert "CANARY" not in set(out["color"].astype(str))
    assert "CANARY" not in model.ledger_.to_json()
    cond = model.sample(300, conditions={"color": "blue"}, random_state=0)
    assert len(cond) == 300 and set(cond["color"]) == {"blue"}
    assert list(out.columns) == list(df.columns)
    assert out["size"].dtype == df["size"].dtype


def test_save_load_round_trip(tmp_path):
    df = _table(1500)
    model = CTGAN(epsilon=2.0, route="marginals", embedding_dim=32, generator_dim=(64, 64),
                  device="cpu", random_state=0, verbose=False).fit(df)
    import tabsynth

    path = model.save(tmp_path / "m.tsmodel")
    loaded = tabsynth.load(path)
    pd.testing.assert_frame_equal(model.sample(200, random_state=3),
                                  loaded.sample(200, random_state=3))


def test_bin_count_is_stored_in_the_model_file(tmp_path, monkeypatch):
    df = _table(1500)
    monkeypatch.setattr(mf, "N_BINS", 6)
    model = CTGAN(epsilon=2.0, route="marginals", embedding_dim=32, generator_dim=(64, 64),
                  device="cpu", random_state=0, verbose=False).fit(df)
    assert model.training_summary_["n_bins"] == 6 == model.transformer_.n_bins
    monkeypatch.setattr(mf, "N_BINS", 16)  # a later release changes the default
    import tabsynth

    loaded = tabsynth.load(model.save(tmp_path / "m.tsmodel"))
    assert loaded.transformer_.n_bins == 6
    pd.testing.assert_frame_equal(model.sample(200, random_state=3),
                                  loaded.sample(200, random_state=3))


def test_batchnorm_running_stats_match_the_fitted_network():
    """After a fit, eval mode (sampling) gives the marginals the train-mode loss fitted."""
    import copy

    df = _table(1500)
    model = _model(CTGAN, None)
    mf.fit_to_marginals(model, df, Metadata.detect(df), rng=np.random.default_rng(0),
                        _exact=True)
    net = model._generator
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in net.modules())
    assert not net.training
    cliques = [(j,) for j in range(len(model.transformer_.columns))]

    def marginals(train):  # the same latent and conditional draws in both modes
        f = mf.MarginalFitter(model, generator=torch.Generator().manual_seed(1),
                              rng=np.random.default_rng(1))
        state = copy.deepcopy(net.state_dict())  # a train-mode pass moves the running stats
        net.train(train)
        with torch.no_grad():
            probs, _ = f._soft_rows(4096, train=False)
        net.load_state_dict(state)
        net.eval()
        return {c: f._marginal(probs, c).numpy() for c in cliques}

    ev, tr = marginals(False), marginals(True)
    for c in cliques:
        assert _tvd(ev[c], tr[c]) < 0.005


def test_dead_edge_bins_masks_only_empty_edges_of_dp_bounded_columns():
    df = _table(3000)
    model = _model(CTGAN, None)
    mf.fit_to_marginals(model, df, Metadata.detect(df), rng=np.random.default_rng(0),
                        _exact=True)
    t = model.transformer_
    j = t.columns.index("size")
    spec = t._specs[j]
    counts = np.full(spec.dim, 500.0)
    counts[[0, 1, spec.n_bins - 1]] = 3.0  # empty-looking edges ...
    counts[spec.n_bins // 2] = 3.0  # ... and an inner bin, which stays
    m = Measurement((j,), (spec.dim,), counts, 20.0)
    dead = mf._dead_edge_bins(t, [m])
    assert dead == [spec.start, spec.start + 1, spec.start + spec.n_bins - 1]
    # declared public bounds: the range is the data's, nothing is masked
    meta = Metadata.detect(df).update_column("size", public_bounds=(0, 80))
    model2 = _model(CTGAN, None)
    mf.fit_to_marginals(model2, df, meta, rng=np.random.default_rng(0), _exact=True)
    spec2 = model2.transformer_._specs[j]
    counts2 = np.full(spec2.dim, 500.0)
    counts2[[0, spec2.n_bins - 1]] = 3.0
    m2 = Measurement((j,), (spec2.dim,), counts2, 20.0)
    assert mf._dead_edge_bins(model2.transformer_, [m2]) == []
