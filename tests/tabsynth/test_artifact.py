"""Model files: zip + manifest + safetensors; integrity and refusal of foreign files."""

from __future__ import annotations

import json
import pickle
import zipfile

import pandas as pd
import pytest
import torch

from tabsynth import TVAE, ModelFileError, __version__, datasets, load
from tabsynth.artifact import FORMAT_VERSION, _manifest_digest, read_manifest


@pytest.fixture(scope="module")
def model() -> TVAE:
    df = datasets.load("adult").sample(200, random_state=3).reset_index(drop=True)
    return TVAE(epochs=1, batch_size=100, embedding_dim=8, compress_dims=(8,),
                decompress_dims=(8,), verbose=False, device="cpu", random_state=0).fit(df)


@pytest.fixture()
def saved(model, tmp_path):
    return model.save(tmp_path / "model.tsmodel")


def _rewrite(src, dst, *, manifest=None, weights=None):
    with zipfile.ZipFile(src) as zf:
        m = zf.read("manifest.json")
        w = zf.read("weights.safetensors")
    with zipfile.ZipFile(dst, "w") as zf:
        zf.writestr("manifest.json", manifest if manifest is not None else m)
        zf.writestr("weights.safetensors", weights if weights is not None else w)
    return dst


def test_layout_and_manifest(saved, model):
    with zipfile.ZipFile(saved) as zf:
        assert sorted(zf.namelist()) == ["manifest.json", "weights.safetensors"]
        assert not any(n.endswith(".pkl") for n in zf.namelist())
    m = read_manifest(saved)
    assert m["format"] == "tabsynth-model" and m["format_version"] == FORMAT_VERSION
    assert m["class"] == "TVAE" and m["params"]["compress_dims"] == [8]
    assert m["metadata"] == model.metadata_.to_dict() and m["stats"] == model.stats_.to_dict()
    assert m["ledger"] is None
    assert set(m["versions"]) == {"tabsynth", "torch", "numpy", "pandas", "python"}
    assert m["versions"]["tabsynth"] == __version__
    assert m["training"]["epochs"] == 1 and len(m["training"]["loss_history"]["loss"]) == 1
    assert len(m["weights_sha256"]) == 64 and m["created"]


def test_no_partial_file_on_failure(model, tmp_path):
    with pytest.raises(OSError):
        model.save(tmp_path / "missing-dir" / "m.tsmodel")
    assert list(tmp_path.iterdir()) == []


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        load(tmp_path / "nope.tsmodel")


def test_flipped_byte_in_weights(saved, tmp_path):
    with zipfile.ZipFile(saved) as zf:
        info = zf.getinfo("weights.safetensors")
    data_start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw = bytearray(saved.read_bytes())
    raw[data_start + info.file_size - 5] ^= 0xFF  # inside the last tensor
    bad = tmp_path / "flipped.tsmodel"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="tampered with or is corrupt"):
        load(bad)


def test_replaced_weights_fail_sha256(saved, tmp_path, model):
    from safetensors.torch import save

    other = {f"decoder.{k}": torch.zeros_like(v) for k, v in model._decoder.state_dict().items()}
    bad = _rewrite(saved, tmp_path / "swapped.tsmodel", weights=save(other))
    with pytest.raises(ModelFileError, match="sha256: the file was tampered with or is corrupt"):
        load(bad)


def test_edited_manifest(saved, tmp_path):
    m = read_manifest(saved)
    m["params"]["embedding_dim"] = 9
    bad = _rewrite(saved, tmp_path / "edited.tsmodel", manifest=json.dumps(m))
    with pytest.raises(ModelFileError, match="checksum: the file was tampered with or is corrupt"):
        load(bad)


def test_manifest_not_json(saved, tmp_path):
    bad = _rewrite(saved, tmp_path / "garbage.tsmodel", manifest=b"{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load(bad)


def test_newer_format_version(saved, tmp_path):
    m = read_manifest(saved)
    m["format_version"] = FORMAT_VERSION + 1
    m["manifest_sha256"] = _manifest_digest(m)
    bad = _rewrite(saved, tmp_path / "future.tsmodel", manifest=json.dumps(m))
    with pytest.raises(ModelFileError, match="Upgrade tabsynth"):
        load(bad)


def test_foreign_format_and_unknown_class(saved, tmp_path):
    m = read_manifest(saved)
    m["format"] = "something-else"
    bad = _rewrite(saved, tmp_path / "foreign.tsmodel", manifest=json.dumps(m))
    with pytest.raises(ModelFileError, match="not a tabsynth model file"):
        load(bad)
    m = read_manifest(saved)
    m["class"] = "os.system"
    m["manifest_sha256"] = _manifest_digest(m)
    bad = _rewrite(saved, tmp_path / "class.tsmodel", manifest=json.dumps(m))
    with pytest.raises(ModelFileError, match="class 'os.system'"):
        load(bad)


def test_pickle_and_torch_files_are_refused(tmp_path):
    p = tmp_path / "model.pkl"
    p.write_bytes(pickle.dumps({"a": 1}, protocol=4))
    with pytest.raises(ModelFileError, match="pickle/torch.save file.*never contain code"):
        load(p)
    t = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2)}, t)
    with pytest.raises(ModelFileError, match="pickle/torch.save file"):
        load(t)


def test_not_a_zip_and_no_manifest(tmp_path):
    p = tmp_path / "text.tsmodel"
    p.write_text("hello")
    with pytest.raises(ModelFileError, match="not a zip archive"):
        load(p)
    z = tmp_path / "empty.tsmodel"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("other.txt", "x")
    with pytest.raises(ModelFileError, match="no manifest.json"):
        load(z)


def test_loaded_model_samples_like_original(saved, model):
    loaded = load(saved, device="cpu")
    pd.testing.assert_frame_equal(loaded.sample(64, random_state=0),
                                  model.sample(64, random_state=0))
    assert loaded.privacy_spent_ is None and loaded.ledger_ is None


# --- verify_model_file: the torch-free verification load() uses -------------------------------

def _bad_files(saved, tmp_path, model):
    """(name, path, message) for each kind of damage verify_model_file must refuse."""
    from safetensors.torch import save

    m = read_manifest(saved)
    out = []
    other = {f"decoder.{k}": torch.zeros_like(v) for k, v in model._decoder.state_dict().items()}
    out.append(("weights", _rewrite(saved, tmp_path / "w.tsmodel", weights=save(other)),
                "do not match the manifest's sha256"))
    edited = dict(m, created="1999-01-01T00:00:00+00:00")
    out.append(("manifest", _rewrite(saved, tmp_path / "m.tsmodel", manifest=json.dumps(edited)),
                "does not match its checksum"))
    cls = dict(m, **{"class": "Evil"})
    cls["manifest_sha256"] = _manifest_digest(cls)
    out.append(("class", _rewrite(saved, tmp_path / "c.tsmodel", manifest=json.dumps(cls)),
                "class 'Evil'"))
    extra = tmp_path / "x.tsmodel"
    _rewrite(saved, extra)
    with zipfile.ZipFile(extra, "a") as zf:
        zf.writestr("payload.pkl", b"x")
    out.append(("extra-member", extra, "unexpected members"))
    return out


def test_verify_model_file_returns_manifest(saved):
    from tabsynth.artifact import verify_model_file

    m = verify_model_file(saved)
    assert m["class"] == "TVAE" and m == read_manifest(saved)


def test_verify_and_load_refuse_the_same_files(saved, tmp_path, model):
    from tabsynth.artifact import verify_model_file

    for _name, path, words in _bad_files(saved, tmp_path, model):
        with pytest.raises(ModelFileError, match=words):
            verify_model_file(path)
        with pytest.raises(ModelFileError, match=words):
            load(path)


def test_verify_model_file_does_not_import_torch(saved):
    import subprocess
    import sys

    code = ("import sys; from tabsynth.artifact import verify_model_file; "
            f"verify_model_file({str(saved)!r}); "
            "bad = [m for m in sys.modules if m.split('.')[0] == 'torch' "
            "or m.startswith('tabsynth.models')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_registry_knows_exactly_the_classes_the_format_names():
    from tabsynth import CTGAN, TVAE, ARSynthesizer
    from tabsynth.artifact import MODEL_CLASSES
    from tabsynth.models.registry import MODEL_CLASSES as classes

    assert tuple(classes) == MODEL_CLASSES
    assert classes == {"CTGAN": CTGAN, "TVAE": TVAE, "ARSynthesizer": ARSynthesizer}


def test_old_artifact_paths_still_work(saved, tmp_path, model):
    """``tabsynth.artifact.load`` / ``save_model`` moved to the models package: a deprecation
    shim keeps them (same functions); the CLI's ``load_with_manifest`` is forwarded silently."""
    import warnings

    import tabsynth
    import tabsynth.artifact as artifact
    from tabsynth.models import persistence, registry

    with pytest.warns(DeprecationWarning, match="tabsynth.load"):
        old_load = artifact.load
    assert old_load is registry.load is tabsynth.load
    with pytest.warns(DeprecationWarning, match="model.save"):
        old_save = artifact.save_model
    assert old_save is persistence.save_model
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from tabsynth.artifact import load_with_manifest
    loaded, manifest = load_with_manifest(saved, device="cpu")
    assert manifest == read_manifest(saved)
    again = old_save(loaded, tmp_path / "again.tsmodel")
    pd.testing.assert_frame_equal(load(again, device="cpu").sample(20, random_state=1),
                                  model.sample(20, random_state=1))
    with pytest.raises(AttributeError):
        artifact.no_such_name  # noqa: B018
