"""Metadata written by SDV itself imports into tabsynth (interop env: SDV pins pandas < 3)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.interop

sdv_metadata = pytest.importorskip("sdv.metadata")


def test_sdv_detected_metadata_json_imports_and_trains(tmp_path) -> None:
    from tabsynth import TVAE, Metadata, datasets

    df = datasets.load("adult").sample(600, random_state=0).reset_index(drop=True)
    sdv_meta = sdv_metadata.Metadata.detect_from_dataframes({"adult": df})
    path = tmp_path / "sdv.json"
    sdv_meta.save_to_json(str(path))

    meta = Metadata.from_sdv(path)
    sdv_cols = sdv_meta.to_dict()["tables"]["adult"]["columns"]
    assert set(meta.to_dict()["columns"]) == set(sdv_cols)
    for name, spec in sdv_cols.items():
        ours = meta[name].sdtype
        if spec["sdtype"] in ("numerical", "categorical", "boolean", "datetime", "id"):
            assert ours == spec["sdtype"], name
        else:  # PII-like sdtypes are excluded from modelling
            assert not meta[name].modelled, name

    model = TVAE(epochs=1, batch_size=100, random_state=0, verbose=False).fit(df, metadata=meta)
    assert list(model.sample(20, random_state=0).columns) == meta.modelled_columns
