"""End-to-end tests of ``tabsynth metadata | fit | sample | info`` (in-process)."""

from __future__ import annotations

import json

import pandas as pd
import pytest


def no_files_like(folder, stem: str) -> bool:
    return not [p for p in folder.iterdir() if stem in p.name]


def test_help_everywhere(run):
    for cmd in ([], ["fit"], ["sample"], ["info"], ["metadata"], ["evaluate"]):
        res = run(*cmd, "--help")
        assert res.exit_code == 0, cmd
        assert "Usage" in res.output


def test_the_top_level_help_names_every_command_and_the_default_model(run):
    from tabsynth.cli._app import cli

    text = run("--help").output.split("Options:")[0]
    for name in cli.commands:
        assert f"tabsynth {name}" in text or name in ("keygen", "sign", "verify"), name
    assert "tabsynth keygen | sign | verify" in text
    assert "autoregressive by default" in text


def test_metadata_writes_editable_json(run, small_csv, tmp_path):
    out = tmp_path / "meta.json"
    res = run("metadata", small_csv, "-o", out)
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["columns"]["workclass"]["sdtype"] == "categorical"
    assert doc["columns"]["age"]["sdtype"] == "numerical"


def test_fit_sample_info_round_trip(run, model_file, tmp_path):
    out = tmp_path / "synth.csv"
    res = run("sample", model_file, "-n", "250", "-o", out, "--seed", "1")
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    assert len(df) == 250
    assert list(df.columns) == ["age", "workclass", "education-num", "sex", "hours-per-week",
                                "income"]
    again = tmp_path / "again.csv"
    run("sample", model_file, "-n", "250", "-o", again, "--seed", "1")
    assert out.read_bytes() == again.read_bytes()

    info = run("info", model_file)
    assert info.exit_code == 0, info.output
    assert "ARSynthesizer" in info.output and "workclass" in info.output  # the default
    assert "non-private" in info.output


def test_sample_parquet_in_chunks_with_condition(run, model_file, tmp_path):
    out = tmp_path / "synth.parquet"
    res = run("sample", model_file, "-n", "1000", "-o", out, "--chunk-size", "300",
              "--condition", "sex=Female", "--seed", "3")
    assert res.exit_code == 0, res.output
    df = pd.read_parquet(out)
    assert len(df) == 1000
    assert (df["sex"] == "Female").all()


@pytest.mark.parametrize(
    "args, code, words",
    [
        (["-n", "0"], 2, "0"),
        (["-n", "10", "--condition", "nosuchcol=1"], 2, "nosuchcol"),
        (["-n", "10", "--condition", "sex=Unknown"], 2, "Unknown"),
    ],
)
def test_sample_bad_input(run, model_file, tmp_path, args, code, words):
    out = tmp_path / "x.csv"
    res = run("sample", model_file, "-o", out, *args)
    assert res.exit_code == code, res.output
    assert words in res.output
    assert no_files_like(tmp_path, "x.csv")


def test_fit_missing_file(run, tmp_path):
    res = run("fit", tmp_path / "nope.csv", "-o", tmp_path / "m.tsmodel")
    assert res.exit_code == 3
    assert "nope.csv" in res.output
    assert no_files_like(tmp_path, "m.tsmodel")


def test_fit_unknown_model_type(run, small_csv, tmp_path):
    res = run("fit", small_csv, "-o", tmp_path / "m.tsmodel", "--model", "gan9000")
    assert res.exit_code == 2
    assert "gan9000" in res.output


def test_fit_unwritable_output_fails_before_training(run, small_csv, tmp_path):
    res = run("fit", small_csv, "-o", tmp_path / "missing-dir" / "m.tsmodel")
    assert res.exit_code == 5
    assert "missing-dir" in res.output


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "empty"),
        (b"a,b,c\n", "no rows"),
        (b"a,b\n\xff\xfe\x00bad,1\n", "utf-8"),
    ],
)
def test_fit_bad_files(run, tmp_path, content, words):
    src = tmp_path / "bad.csv"
    src.write_bytes(content)
    res = run("fit", src, "-o", tmp_path / "m.tsmodel")
    assert res.exit_code == 3, res.output
    assert words in res.output.lower()
    assert no_files_like(tmp_path, "m.tsmodel")


def test_sample_from_foreign_file(run, tmp_path):
    bogus = tmp_path / "model.tsmodel"
    bogus.write_bytes(b"\x80\x04\x95 pickle-looking bytes")
    res = run("sample", bogus, "-n", "5", "-o", tmp_path / "o.csv")
    assert res.exit_code == 4
    assert "pickle" in res.output.lower()
    assert no_files_like(tmp_path, "o.csv")


def _table(rows: int = 30) -> str:
    lines = ["num,cat,other"]
    for i in range(rows):
        lines.append(f"{i * 1.5},{'ab'[i % 2]},{i % 3}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "content, words",
    [
        ("num,cat,num\n1,a,2\n2,b,3\n", "duplicate"),
        ("num,cat,empty\n1,a,\n2,b,\n3,a,\n", "empty"),
        ("num,cat\n1,a\n", "2 rows"),
        ("num,cat\n1,a\ninf,b\n3,a\n", "inf"),
        ("num,cat\n-inf,a\n2,b\n3,a\n", "inf"),
    ],
    ids=["duplicate-columns", "all-nan-column", "one-row", "plus-inf", "minus-inf"],
)
def test_fit_bad_tables(run, tmp_path, content, words):
    src = tmp_path / "bad.csv"
    src.write_text(content)
    res = run("fit", src, "-o", tmp_path / "m.tsmodel", "--epochs", "1", "--quiet")
    assert res.exit_code == 3, res.output
    assert words in res.output.lower()
    assert no_files_like(tmp_path, "m.tsmodel")


def test_fit_mixed_types_in_one_column_is_refused():
    # CSV/Parquet cannot carry a mixed column (pyarrow refuses it); a DataFrame can.
    from tabsynth import CTGAN, DataError

    df = pd.DataFrame({"num": [float(i) for i in range(20)], "mixed": [1, "a"] * 10})
    df["mixed"] = df["mixed"].astype(object)
    with pytest.raises(DataError, match="mixed"):
        CTGAN(epochs=1, verbose=False).fit(df)


def test_fit_constant_column_is_fine(run, tmp_path):
    src = tmp_path / "const.csv"
    lines = ["num,const,cat"] + [f"{i},7,{'xy'[i % 2]}" for i in range(40)]
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "m.tsmodel"
    res = run("fit", src, "-o", out, "--epochs", "1", "--batch-size", "20", "--quiet")
    assert res.exit_code == 0, res.output
    synth = tmp_path / "s.csv"
    assert run("sample", out, "-n", "50", "-o", synth, "--seed", "0").exit_code == 0
    assert (pd.read_csv(synth)["const"] == 7).all()


def test_info_verifies_checksums(run, model_file, tmp_path):
    res = run("info", model_file)
    assert res.exit_code == 0 and "checksums verified" in res.output
    import zipfile

    with zipfile.ZipFile(model_file) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        weights = zf.read("weights.safetensors")
    manifest["ledger"] = {"entries": []}  # a copied ledger, stale checksum
    bad = tmp_path / "tampered.tsmodel"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("weights.safetensors", weights)
    res = run("info", bad)
    assert res.exit_code == 4
    assert "tampered" in res.output and "Traceback" not in res.output
    assert "Privacy" not in res.output
