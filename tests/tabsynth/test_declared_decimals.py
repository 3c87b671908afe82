"""``decimals`` declared in the metadata: how many decimals a float column's values are written
with (a codebook's "recorded to 0.1 kg/m²"). Public, so it costs no budget and works under DP,
where nothing may be read off the values (DP floats were not rounded at all before).

Neighbouring tables: D and D' = D plus one row whose value has many decimals. The declared
rounding in the model file comes from the metadata alone, so it is identical; without the
declaration a DP model holds no rounding in either file."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from tabsynth import TVAE, ARSynthesizer, Metadata
from tabsynth.artifact import read_manifest
from tabsynth.errors import MetadataError

N = 300


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "bmi": np.round(rng.normal(28.0, 5.0, N), 3),  # three decimals in the data
        "glucose": np.round(rng.gamma(5.0, 20.0, N), 2),
        "smoker": rng.choice(["yes", "no"], N),
    })


def _meta(df: pd.DataFrame, **decimals: int) -> Metadata:
    meta = Metadata.detect(df)
    meta.update_column("smoker", public_domain=["no", "yes"])
    meta.update_column("bmi", public_bounds=[10, 60])
    meta.update_column("glucose", public_bounds=[0, 400])
    for col, d in decimals.items():
        meta.update_column(col, decimals=d)
    return meta


def _decimals_written(values: pd.Series) -> int:
    text = values.dropna().map(repr)
    return int(text.str.split(".").str[1].str.rstrip("0").str.len().max())


# -- neighbouring tables (written before the change) ----------------------------------------

@pytest.mark.parametrize("cls", [ARSynthesizer, TVAE])
def test_neighbouring_tables_hold_the_same_declared_rounding(table, tmp_path, cls):
    neighbour = pd.concat([table, pd.DataFrame({"bmi": [31.234567], "glucose": [99.987654],
                                                "smoker": ["yes"]})], ignore_index=True)
    files = {}
    for name, df in (("d", table), ("d_prime", neighbour)):
        kw = ({"epochs": 1, "batch_size": 100} if cls is ARSynthesizer else
              {"epochs": 1, "batch_size": 50, "embedding_dim": 8, "compress_dims": (16,),
               "decompress_dims": (16,)})
        model = cls(epsilon=3.0, delta=1e-5, random_state=0, verbose=False, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(df, _meta(df, bmi=1))
        model.save(tmp_path / f"{name}.tsmodel")
        files[name] = read_manifest(tmp_path / f"{name}.tsmodel")
        sample = model.sample(2_000, random_state=0)
        assert _decimals_written(sample["bmi"]) <= 1
        assert _decimals_written(sample["glucose"]) > 2  # not declared: a DP float is not rounded
    d, d_prime = files["d"], files["d_prime"]
    assert d["metadata"] == d_prime["metadata"]
    public = [(e["target"], e["note"]) for e in d["ledger"]["entries"] if e.get("public")]
    assert ("column 'bmi' decimals", "decimals 1") in public  # listed, at no cost
    assert public == [(e["target"], e["note"]) for e in d_prime["ledger"]["entries"]
                      if e.get("public")]
    assert d["metadata"]["columns"]["bmi"]["decimals"] == 1
    for col, expected in (("bmi", 1), ("glucose", None)):
        assert d["stats"]["columns"][col]["decimals"] == expected
        assert d_prime["stats"]["columns"][col]["decimals"] == expected


# -- the metadata field -------------------------------------------------------------------

def test_non_private_fit_takes_the_declaration_over_the_data(table):
    model = ARSynthesizer(epochs=2, random_state=0, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(table, _meta(table, bmi=1, glucose=0))
    sample = model.sample(2_000, random_state=0)
    assert _decimals_written(sample["bmi"]) <= 1
    assert _decimals_written(sample["glucose"]) == 0
    inferred = ARSynthesizer(epochs=2, random_state=0, verbose=False).fit(table)
    assert _decimals_written(inferred.sample(2_000, random_state=0)["bmi"]) == 3  # from data


@pytest.mark.parametrize("bad,match", [
    (-1, "decimals must be an integer from 0 to 15"),
    (16, "decimals must be an integer from 0 to 15"),
    (1.5, "decimals must be an integer from 0 to 15"),
    (True, "decimals must be an integer from 0 to 15"),
    ("2", "decimals must be an integer from 0 to 15"),
])
def test_bad_decimals_are_refused(table, bad, match):
    with pytest.raises(MetadataError, match=match):
        Metadata.detect(table).update_column("bmi", decimals=bad)


def test_decimals_apply_to_float_columns_only(table):
    meta = Metadata.detect(table)
    with pytest.raises(MetadataError, match="decimals applies to numerical columns"):
        meta.update_column("smoker", decimals=1)
    meta = Metadata.detect(table.assign(count=np.arange(N) % 40))
    meta.update_column("count", sdtype="numerical", representation="int")
    with pytest.raises(MetadataError, match="integer columns have no decimals"):
        meta.update_column("count", decimals=1)
    meta.update_column("count", decimals=0)  # says nothing new: allowed


def test_json_round_trip_and_older_files(table, tmp_path):
    meta = _meta(table, bmi=1)
    meta.save(tmp_path / "m.json")
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["columns"]["bmi"]["decimals"] == 1
    assert "decimals" not in doc["columns"]["glucose"]  # undeclared: not written
    assert Metadata.load(tmp_path / "m.json")["bmi"].decimals == 1
    assert Metadata.from_json_any(tmp_path / "m.json")["bmi"].decimals == 1  # ours, not SDV's
    assert Metadata.load(tmp_path / "m.json")["glucose"].decimals is None


def test_changing_the_sdtype_drops_the_decimals(table):
    meta = _meta(table, bmi=1).update_column("bmi", sdtype="categorical")
    assert meta["bmi"].decimals is None


def test_info_shows_declared_decimals_and_the_derived_delta(table, tmp_path):
    from click.testing import CliRunner

    from tabsynth.cli._app import _register, cli

    model = ARSynthesizer(epsilon=3.0, epochs=1, batch_size=100, random_state=0, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(table, _meta(table, bmi=1))  # delta=None: derived from a noisy row count
    model.save(tmp_path / "m.tsmodel")
    _register()
    out = CliRunner().invoke(cli, ["info", str(tmp_path / "m.tsmodel")]).output
    assert "bmi                            numerical (public bounds, 1 decimal, range [" in out
    delta = read_manifest(tmp_path / "m.tsmodel")["ledger"]["budget"]["delta"]
    assert f"delta                    None  (derived: {delta:g}, from a noisy row count" in out
