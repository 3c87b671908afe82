"""ARSynthesizer: column types round trip, exact conditioning, save/load, seeding, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import tabsynth
from tabsynth import ARSynthesizer
from tabsynth.errors import ConditionError, NotFittedError, ParameterError

N = 600
RARE = "rare-class"


def _table(n: int = N, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2]).astype(object)
    group[:5] = RARE  # a class with a handful of rows
    level = rng.integers(18, 90, size=n)
    amount = np.where(rng.random(n) < 0.6, 0.0, np.round(rng.lognormal(6, 1, n), 2))
    score = rng.normal(50, 10, n).round(3)
    score[rng.random(n) < 0.1] = np.nan
    day = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 730, n), unit="D")
    day = pd.Series(day)
    day[rng.random(n) < 0.1] = pd.NaT
    flag = (level > 50) ^ (rng.random(n) < 0.1)
    # "tier" is a function of "group": conditioning on tier must bring its group along
    tier = pd.Series(group).map({"a": "low", "b": "mid", "c": "high", RARE: "high"})
    return pd.DataFrame({"group": pd.Series(group, dtype="str"), "level": level,
                         "amount": amount, "score": score, "day": day, "flag": flag,
                         "tier": tier.astype("str")})


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _table()


@pytest.fixture(scope="module")
def model(data) -> ARSynthesizer:
    torch.set_num_threads(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ARSynthesizer(epochs=15, hidden_dim=32, batch_size=100, random_state=0,
                             verbose=False, device="cpu").fit(data)


def test_fit_summary_and_early_stopping(model):
    hist = model.loss_history_
    assert list(hist.columns) == ["epoch", "loss", "val_loss"]
    assert 1 <= model.training_summary_["best_epoch"] <= len(hist) <= 15
    assert model.training_summary_["n_bins"] == 48
    assert hist["val_loss"].min() < hist["val_loss"].iloc[0]  # it learnt something


def test_validation_orders_are_the_same_every_epoch(data):
    """The validation rows' column orders are drawn once and replayed every epoch (from the
    generator's saved state, not held in memory): with a step size too small to move the
    weights, every epoch's validation loss is the same; drawn anew they differed."""
    tiny = ARSynthesizer(epochs=4, patience=10, learning_rate=1e-12, hidden_dim=16,
                         batch_size=100, random_state=3, verbose=False, device="cpu").fit(data)
    val = tiny.loss_history_["val_loss"].to_numpy()
    assert len(val) == 4 and np.ptp(val) < 1e-6 * abs(val[0]), val


def test_every_column_type_round_trips(model, data):
    s = model.sample(3000, random_state=1)
    assert list(s.columns) == list(data.columns)
    assert s.dtypes.to_dict() == data.dtypes.to_dict() | {"score": s.dtypes["score"]}
    assert s["score"].dtype.kind == "f" and s["level"].dtype == data["level"].dtype
    # integers stay integers, bounds hold
    assert (s["level"] == np.round(s["level"])).all()
    assert s["level"].between(data["level"].min(), data["level"].max()).all()
    assert s["amount"].between(0, data["amount"].max()).all()
    # the point mass at 0 comes out exactly, at about its share
    assert abs((s["amount"] == 0).mean() - (data["amount"] == 0).mean()) < 0.08
    # within-bin draws: many distinct values, not one per bin
    assert s["amount"][s["amount"] > 0].nunique() > 200
    # missing values as their own cell, at about their rate; none where the data has none
    for c in ("score", "day"):
        assert 0.03 < s[c].isna().mean() < 0.2
    assert not s[["group", "level", "amount", "flag", "tier"]].isna().any().any()
    present = s["day"].dropna()
    assert present.min() >= data["day"].min() and present.max() <= data["day"].max()
    assert (present == present.dt.normalize()).all()  # day resolution kept
    assert set(s["group"]) <= set(data["group"]) and set(s["flag"]) <= {True, False}


CONDITIONS = [
    {"group": "b"},
    {"group": RARE},
    {"group": ["a", RARE]},
    {"level": (30, 40)},
    {"level": (89, None)},
    {"amount": 0.0},
    {"amount": (100.5, 300.25)},
    {"score": (None, 41.5)},
    {"day": ("2020-03-01", "2020-03-31")},
    {"flag": True, "group": RARE, "level": (20, 60), "amount": (1.0, None)},
]


@pytest.mark.parametrize("conditions", CONDITIONS, ids=lambda c: ",".join(c))
def test_conditions_are_met_exactly_by_every_row(model, conditions):
    from tabsynth.sampling.conditions import condition_mask, parse_conditions

    s = model.sample(2000, conditions=conditions, random_state=2)
    assert len(s) == 2000
    mask, _ = condition_mask(s, parse_conditions(conditions, model.transformer_))
    assert mask.all()


def test_numeric_range_values_are_drawn_within_the_range(model):
    s = model.sample(2000, conditions={"amount": (100.5, 300.25)}, random_state=3)
    assert s["amount"].nunique() > 100  # not clipped onto the bounds
    assert ((s["amount"] == 100.5) | (s["amount"] == 300.25)).mean() < 0.05
    lv = model.sample(500, conditions={"level": (30, 31)}, random_state=3)["level"]
    assert set(lv) == {30, 31}


def test_conditioned_columns_come_first(model):
    # tier is a function of group: p(group | tier) is right only if tier is drawn first
    # (drawn last, group would keep its marginal: 0.5 "a", 0.3 "b")
    s = model.sample(1000, conditions={"tier": "low"}, random_state=4)
    assert (s["group"] == "a").mean() > 0.7
    s = model.sample(1000, conditions={"tier": "mid"}, random_state=4)
    assert (s["group"] == "b").mean() > 0.6


def test_rare_class_is_fast_and_exact(model):
    import time

    start = time.perf_counter()
    s = model.sample(10_000, conditions={"group": RARE}, random_state=5)
    assert time.perf_counter() - start < 2.0
    assert len(s) == 10_000 and (s["group"] == RARE).all()


def test_impossible_and_bad_conditions(model):
    with pytest.raises(ConditionError, match="level"):
        model.sample(10, conditions={"level": (500, 600)})
    with pytest.raises(ConditionError, match="level"):
        model.sample(10, conditions={"level": (30.2, 30.8)})  # no integer inside
    with pytest.raises(ConditionError, match="nosuch"):
        model.sample(10, conditions={"group": "nosuch"})
    with pytest.raises(ConditionError):
        model.sample(10, conditions={"nosuchcol": 1})


def test_same_seed_same_rows_and_save_load(model, tmp_path):
    a = model.sample(500, random_state=7)
    pd.testing.assert_frame_equal(a, model.sample(500, random_state=7))
    assert not a.equals(model.sample(500, random_state=8))
    path = model.save(tmp_path / "ar.tsmodel")
    loaded = tabsynth.load(path, device="cpu")
    assert type(loaded) is ARSynthesizer and loaded.get_params() == model.get_params()
    pd.testing.assert_frame_equal(a, loaded.sample(500, random_state=7))
    cond = {"group": RARE, "amount": (1.0, 500.0)}
    pd.testing.assert_frame_equal(model.sample(300, conditions=cond, random_state=9),
                                  loaded.sample(300, conditions=cond, random_state=9))


def test_same_seed_same_model(data):
    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ARSynthesizer(epochs=2, hidden_dim=16, batch_size=200, random_state=3,
                                 verbose=False, device="cpu").fit(data)

    a, b = fit(), fit()
    for (ka, ta), (kb, tb) in zip(a._net.state_dict().items(), b._net.state_dict().items(),
                                  strict=True):
        assert ka == kb and torch.equal(ta, tb)


def test_sampling_path_equals_training_likelihood(model, data):
    """Both sampling paths (per-head lookup tables; running sums of the drawn cells'
    embeddings, used on wide tables) compute exactly the conditionals the loss trains, and
    the order given as ranks (training) or as a "before" mask gives the same loss."""
    from torch.nn import functional as F

    from tabsynth.models.ar_network import fixed_before, fixed_ranks

    net = model._net
    codes = torch.from_numpy(model.transformer_.column_codes(data))
    order = [6, 2, 0, 5, 1, 4, 3]
    with torch.no_grad():
        nll = net(codes, fixed_ranks(len(codes), order))
        assert torch.allclose(nll, net(codes, fixed_before(order)), atol=1e-4)
        tables = net.lookup_tables()
        done, by_table, by_sum = [], torch.zeros(len(codes)), torch.zeros(len(codes))
        ctx = torch.zeros(len(codes), net.context)
        for j in order:
            layer = net.hidden_layers[j]
            z = layer.bias.expand(len(codes), -1)
            if done:
                z = F.embedding_bag(codes[:, done] + net.offsets[done], tables[j],
                                    mode="sum") + z
            for total, pre in ((by_table, z), (by_sum, layer(ctx))):
                total += F.cross_entropy(net.heads[j](F.relu(pre)), codes[:, j],
                                         reduction="none")
            ctx += net.cells.weight[codes[:, j] + net.offsets[j]]
            done.append(j)
    assert torch.allclose(by_table, nll, atol=1e-4)
    assert torch.allclose(by_sum, nll, atol=1e-4)


def test_wide_sampling_path_meets_conditions(model, monkeypatch):
    """Without lookup tables (a wide table's path) rows still meet conditions exactly."""
    import tabsynth.models.ar_network as arn

    monkeypatch.setattr(arn, "MAX_TABLE_FLOATS", 0)
    assert model._net.lookup_tables() is None
    rows = model._net.sample(500, [0, 1, 2, 3, 4, 5, 6], generator=torch.Generator(),
                             allowed={0: torch.tensor([False] * (model._net.domains[0] - 1)
                                                      + [True])}, tables=None)
    assert (rows[:, 0] == model._net.domains[0] - 1).all()
    assert all((rows[:, k] < v).all() for k, v in enumerate(model._net.domains))


def test_fixed_order_option(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = ARSynthesizer(epochs=2, hidden_dim=16, column_order=list(data.columns)[::-1],
                          random_state=0, verbose=False, device="cpu").fit(data)
    s = m.sample(300, conditions={"group": RARE, "level": (20, 30)}, random_state=0)
    assert (s["group"] == RARE).all() and s["level"].between(20, 30).all()


@pytest.mark.parametrize("param, value", [
    ("n_bins", 1), ("n_bins", 500), ("hidden_dim", 0), ("dropout", 1.0),
    ("column_order", "sideways"), ("validation_share", 0.7), ("patience", 0),
    ("route", "marginals"), ("epochs", 0),
])
def test_invalid_params(data, param, value):
    with pytest.raises(ParameterError, match=f"'{param}' parameter of ARSynthesizer"):
        ARSynthesizer(**{param: value}, epsilon=1.0 if param == "route" else None).fit(data)


def test_column_order_must_be_a_permutation(data):
    with pytest.raises(ParameterError, match="column_order"):
        ARSynthesizer(column_order=["group", "level"], verbose=False).fit(data)


def test_not_fitted():
    with pytest.raises(NotFittedError, match="ARSynthesizer instance is not fitted"):
        ARSynthesizer().sample(5)


def test_quality_floor_on_bundled_adult():
    """Seeded floor on a bundled table (columns of adult; 3,000 rows, a short fit)."""
    from tabsynth import datasets
    from tabsynth.evaluation._schema import infer_kinds
    from tabsynth.evaluation.fidelity import column_pair_trends, column_shapes

    df = datasets.load("adult").dropna().head(3000).reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = ARSynthesizer(epochs=8, random_state=0, verbose=False, device="cpu").fit(df)
    s = m.sample(len(df), random_state=0)
    kinds = infer_kinds(df)
    assert column_shapes(df, s, kinds).value > 0.95
    assert column_pair_trends(df, s, kinds, pair_binning="own").value > 0.92


def test_cli_fit_and_conditional_sample(tmp_path, data):
    from click.testing import CliRunner

    from tabsynth.cli._app import _register, cli

    _register()
    csv = tmp_path / "d.csv"
    data.drop(columns=["day"]).to_csv(csv, index=False)
    out = tmp_path / "m.tsmodel"
    run = CliRunner().invoke
    res = run(cli, ["fit", str(csv), "-o", str(out), "--model", "ar", "--epochs", "2",
                    "--seed", "0", "--quiet", "--device", "cpu"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "ARSynthesizer" in res.output
    rows = tmp_path / "s.csv"
    res = run(cli, ["sample", str(out), "-n", "200", "-o", str(rows), "--seed", "1",
                    "--condition", f"group={RARE}", "--condition", "level>=60"],
              catch_exceptions=False)
    assert res.exit_code == 0, res.output
    s = pd.read_csv(rows)
    assert len(s) == 200 and (s["group"] == RARE).all() and (s["level"] >= 60).all()


def test_model_file_of_the_earlier_network_layout_is_refused(model, tmp_path):
    """Files written before the heads read a sum of embeddings (``ar.embeddings.<k>``, each
    head a Linear over every column's embedding) cannot be rebuilt: a clear error, not a
    list of missing and unexpected tensors."""
    from tabsynth.artifact import write_model_file
    from tabsynth.errors import ModelFileError
    from tabsynth.models.persistence import model_file_contents

    contents, tensors = model_file_contents(model)
    old = {k: v for k, v in tensors.items() if not k.startswith("ar.cells.")}
    for k, d in enumerate(model._net.domains):
        old[f"ar.embeddings.{k}.weight"] = torch.zeros(d, 4)
    path = write_model_file(tmp_path / "old.tsmodel", contents=contents, tensors=old)
    with pytest.raises(ModelFileError, match="earlier network layout"):
        tabsynth.load(path)
