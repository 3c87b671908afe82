"""Duration (``timedelta64``) columns are modelled as numbers of seconds and come back as
durations of the training dtype. Before, ``fit`` typed them "text" and left them out ("These
columns are excluded from modelling: 't' (text)"), and a DP fit dropped them the same way: a
length of stay or a time since the last transaction vanished from the release."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import tabsynth
from tabsynth import CTGAN, TVAE, ARSynthesizer, Metadata
from tabsynth.errors import ConditionError
from tabsynth.metadata.dtypes import columns_from_dtypes


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _table(n: int = 800, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    kind = rng.choice(["short", "long"], n, p=[0.7, 0.3])
    minutes = np.where(kind == "short", rng.integers(1, 30, n), rng.integers(120, 600, n))
    stay = pd.Series(pd.to_timedelta(minutes * 60, unit="s")).astype("timedelta64[us]")
    stay[rng.random(n) < 0.1] = pd.NaT
    return pd.DataFrame({"kind": kind, "stay": stay, "x": rng.normal(size=n)})


def test_durations_are_typed_numerical_with_and_without_looking_at_values():
    df = _table()
    detected = Metadata.detect(df).columns["stay"]
    assert detected.sdtype == "numerical" and detected.dtype == "timedelta64[us]"
    by_dtype = columns_from_dtypes(df)["stay"]  # the DP typing rule: dtype only
    assert by_dtype.sdtype == "numerical" and by_dtype.representation == "float"


def test_a_fit_models_them_and_sampling_gives_durations_back(tmp_path):
    df = _table()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "excluded from modelling" warning
        model = ARSynthesizer(epochs=60, random_state=0, verbose=False).fit(df)
    s = model.sample(2_000, random_state=1)
    assert str(s["stay"].dtype) == "timedelta64[us]"
    secs = s["stay"].dt.total_seconds()
    assert secs.isna().mean() == pytest.approx(0.1, abs=0.03)
    present = secs.dropna()
    assert present.min() >= 60 and present.max() <= 599 * 60
    assert (present % 1 == 0).all()  # whole seconds, as in the data
    # the dependence on kind is learned: long stays go with "long"
    long_share = (present[s["kind"] == "long"] >= 120 * 60).mean()
    short_share = (present[s["kind"] == "short"] < 30 * 60).mean()
    assert long_share > 0.9 and short_share > 0.9  # 0.978 / 0.953 (the same as float seconds)
    path = tmp_path / "m.tsmodel"
    model.save(path)
    again = tabsynth.load(path).sample(50, random_state=3)
    pd.testing.assert_frame_equal(again, model.sample(50, random_state=3))


def test_conditions_on_a_duration_take_seconds_or_durations():
    model = ARSynthesizer(epochs=5, random_state=0, verbose=False).fit(_table())
    for lo in (3_600, "1h", pd.Timedelta(hours=1)):
        s = model.sample(200, conditions={"stay": (lo, None)}, random_state=0)
        assert len(s) == 200 and (s["stay"] >= pd.Timedelta(hours=1)).all()
    with pytest.raises(ConditionError, match="'stay' is a duration.*'soon'"):
        model.sample(10, conditions={"stay": ("soon", None)})
    # CTGAN meets a range by rejection: the generated durations are checked against it
    ctgan = CTGAN(epochs=1, batch_size=100, random_state=0).fit(_table(300))
    s = ctgan.sample(50, conditions={"stay": (None, "20min")}, random_state=0)
    assert len(s) == 50 and (s["stay"] <= pd.Timedelta(minutes=20)).all()


def test_a_dp_fit_models_them_within_the_dp_bounds():
    df = _table(1_500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ARSynthesizer(epochs=2, epsilon=1.0, random_state=0, verbose=False).fit(df)
    assert model.metadata_.columns["stay"].sdtype == "numerical"
    s = model.sample(500, random_state=0)
    assert str(s["stay"].dtype) == "timedelta64[us]"
    lo, hi = model.stats_.columns["stay"].lower, model.stats_.columns["stay"].upper
    secs = s["stay"].dt.total_seconds().dropna()
    assert len(secs) and secs.min() >= lo - 1e-6 and secs.max() <= hi + 1e-6


@pytest.mark.parametrize("cls", [CTGAN, TVAE])
def test_ctgan_and_tvae_give_durations_back(cls):
    model = cls(epochs=1, batch_size=100, random_state=0).fit(_table(300))
    s = model.sample(100, random_state=0)
    assert str(s["stay"].dtype) == "timedelta64[us]"
    assert s["stay"].dropna().dt.total_seconds().between(60, 599 * 60).all()


def test_neighbouring_tables_type_and_charge_a_duration_alike(tmp_path):
    """D and D' = D plus one row with a ten-year stay, DP fits without metadata: the duration
    column is typed from its dtype alone, so the metadata, the modelled columns and what the
    ledger charged, on what, are the same; only DP outputs (the noisy bounds, the weights,
    the spent epsilon) may differ."""
    from tabsynth.artifact import read_manifest

    d = _table(600, seed=4)
    far = d.iloc[[0]].assign(stay=pd.Series([pd.Timedelta(days=3650)], dtype="timedelta64[us]",
                                            index=d.index[:1]))
    d2 = pd.concat([d, far], ignore_index=True)
    parts = []
    for name, table in (("d", d), ("d2", d2)):
        model = ARSynthesizer(epochs=1, epsilon=1.0, random_state=0, verbose=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(table)
        model.save(tmp_path / f"{name}.tsmodel")
        man = read_manifest(tmp_path / f"{name}.tsmodel")
        parts.append({"metadata": man["metadata"], "columns": man["training"]["columns"],
                      "budget": man["ledger"]["budget"],
                      "charged": [(e["mechanism"], e["target"]) for e in man["ledger"]["entries"]]})
    assert parts[0] == parts[1]
    assert parts[0]["metadata"]["columns"]["stay"]["sdtype"] == "numerical"
    assert any("stay" in target for _, target in parts[0]["charged"])


def test_public_bounds_of_a_duration_take_durations_or_seconds():
    """A duration's declared bounds may be written as durations ("10h") or seconds; under DP
    they are used as declared (nothing measured for them), and a value that is neither is a
    MetadataError naming both forms."""
    from tabsynth.errors import MetadataError

    df = _table(1_000)
    for bounds in (["0s", "10h"], [0, 36_000], ["0 days 00:00:00", pd.Timedelta(hours=10)]):
        meta = Metadata.detect(df)
        meta.update_column("stay", public_bounds=bounds)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = ARSynthesizer(epochs=1, epsilon=1.0, verbose=False).fit(df, metadata=meta)
        st = model.stats_.columns["stay"]
        assert (st.lower, st.upper) == (0.0, 36_000.0)
        declared = [e for e in model.ledger_.entries if "'stay' bounds" in e.target]
        assert [e.public for e in declared] == [True]  # declared, nothing measured
        assert model.sample(300, random_state=0)["stay"].dropna().between(
            pd.Timedelta(0), pd.Timedelta(hours=10)).all()
    meta = Metadata.detect(df)
    with pytest.raises(MetadataError, match="durations .* or seconds"):
        meta.update_column("stay", public_bounds=["0s", "soon"])


def test_the_audit_canary_of_a_duration_sits_at_its_upper_bound():
    from tabsynth.audit import make_canaries

    df = _table(200)
    meta = Metadata.detect(df)
    meta.update_column("stay", public_bounds=["0s", "10h"])
    meta.update_column("kind", public_domain=["short", "long"])
    rows, _ = make_canaries(df, meta, 3, canary_column="kind", rng=np.random.default_rng(0))
    assert (rows["stay"] == pd.Timedelta(hours=10)).all()


def test_duration_text_is_detected_as_fit_reads_it_and_the_evaluator_does():
    """Text durations (a CSV's) are detected as durations when every value is one, by the
    pattern the evaluator reads them with; a value that is not one under a declared duration
    column is a DataError naming the column."""
    from tabsynth.errors import DataError
    from tabsynth.evaluation._schema import _DURATION
    from tabsynth.metadata.detect import DURATION_TEXT

    assert DURATION_TEXT.pattern == _DURATION.pattern  # fit and evaluate read the same text
    df = _table(400)
    text = df.assign(stay=df["stay"].astype(str).where(df["stay"].notna(), None))
    col = Metadata.detect(text).columns["stay"]
    assert col.is_duration and col.sdtype == "numerical"
    s = ARSynthesizer(epochs=2, random_state=0, verbose=False).fit(text).sample(100,
                                                                              random_state=0)
    assert str(s["stay"].dtype) == "timedelta64[us]"
    assert Metadata.detect(text.assign(stay="soon")).columns["stay"].sdtype == "categorical"
    bad = text.copy()
    bad.loc[5, "stay"] = "a while"
    with pytest.raises(DataError, match="'stay'.*duration"):
        ARSynthesizer(epochs=1, verbose=False).fit(bad, metadata=Metadata.detect(text))
