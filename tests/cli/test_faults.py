"""Bad-input and fault corpus: every case asserts the message, the exit code, that no traceback
is shown and that nothing was half-written or destroyed.

In-process cases use the ``run`` fixture (click's runner); signal and concurrency cases run
``python -m tabsynth`` in subprocesses on tiny tables.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tabsynth.cli._app import EXIT_CODES

ROWS = "\n".join(f"{i * 1.5},{'ab'[i % 2]},{i % 3}" for i in range(40))
GOOD = "num,cat,k\n" + ROWS + "\n"


def check(res, code: int, words: str) -> None:
    out = res.output
    assert res.exit_code == code, out
    assert words.lower() in out.lower(), out
    assert "Traceback" not in out and 'File "' not in out, out


def leftovers(folder: Path) -> list[str]:
    """Temporary or partial files left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or "probe" in p.name)


@pytest.fixture()
def good_csv(tmp_path) -> Path:
    p = tmp_path / "good.csv"
    p.write_text(GOOD)
    return p


@pytest.fixture()
def old_model(tmp_path, model_file) -> Path:
    """An existing model file at the output path (it must survive every failure)."""
    p = tmp_path / "m.tsmodel"
    shutil.copy(model_file, p)
    return p


# --- fit: bad inputs ---------------------------------------------------------------------

def _parquet_with_list(p: Path) -> None:
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "tags": [[1, 2], [3], []]}).to_parquet(p)


FIT_INPUTS = [
    ("wrong-sep-one-column", "d.csv", "a;b;c\n1;2;3\n4;5;6\n", ["--sep", ","], 3, "--sep ';'"),
    ("header-only", "d.csv", "a,b,c\n", [], 3, "no rows"),
    ("empty-file", "d.csv", "", [], 3, "empty"),
    ("not-utf8", "d.csv", b"a,b\n\xff\xfe,1\n", [], 3, "not valid utf-8"),
    ("too-many-fields", "d.csv", "a,b\n1,2\n3,4,5\n", [], 3, "line 3 has more fields"),
    ("text-in-numeric", "d.csv", "x,c\n" + "".join(f"{i},a\n" for i in range(30)) + "oops,b\n",
     [], 3, "'oops'"),
    ("duplicate-columns", "d.csv", "a,a\n1,2\n3,4\n", [], 3, "duplicate column"),
    ("unknown-extension", "d.xlsx", "a,b\n1,2\n", [], 3, "extension"),
    ("parquet-list-column", "d.parquet", _parquet_with_list, [], 3, "lists or records"),
    ("two-char-sep", "d.csv", GOOD, ["--sep", ";;"], 2, "one character"),
    ("zero-epochs", "d.csv", GOOD, ["--epochs", "0"], 2, "epochs"),
]


@pytest.mark.parametrize("name, fname, content, args, code, words", FIT_INPUTS,
                         ids=[c[0] for c in FIT_INPUTS])
def test_fit_bad_input(run, tmp_path, old_model, name, fname, content, args, code, words):
    src = tmp_path / fname
    if callable(content):
        content(src)
    elif isinstance(content, bytes):
        src.write_bytes(content)
    else:
        src.write_text(content)
    before = old_model.read_bytes()
    res = run("fit", src, "-o", old_model, "--epochs", "1", "--quiet", *args)
    check(res, code, words)
    assert old_model.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_fit_missing_input(run, tmp_path):
    res = run("fit", tmp_path / "nope.csv", "-o", tmp_path / "m.tsmodel")
    check(res, 3, "does not exist")
    assert list(tmp_path.iterdir()) == []


METADATA_FILES = [
    ("not-utf8", b'{"columns": {"a": "\xff"}}', "not utf-8"),
    ("not-json", b"{columns:", "not valid json"),
    ("json-list", b"[1, 2]", "json object"),
]


@pytest.mark.parametrize("name, content, words", METADATA_FILES, ids=[c[0] for c in METADATA_FILES])
def test_fit_bad_metadata_file(run, good_csv, tmp_path, name, content, words):
    meta = tmp_path / "meta.json"
    meta.write_bytes(content)
    res = run("fit", good_csv, "-o", tmp_path / "m.tsmodel", "--metadata", meta, "--quiet")
    check(res, 3, words)
    assert not (tmp_path / "m.tsmodel").exists() and leftovers(tmp_path) == []


def test_fit_missing_metadata_file(run, good_csv, tmp_path):
    res = run("fit", good_csv, "-o", tmp_path / "m.tsmodel", "--metadata", tmp_path / "no.json")
    check(res, 3, "does not exist")


def _outputs(tmp_path: Path) -> list[tuple[str, Path, str]]:
    (tmp_path / "adir").mkdir()
    cases = [("is-a-directory", tmp_path / "adir", "directory"),
             ("folder-missing", tmp_path / "nodir" / "m.tsmodel", "does not exist")]
    if Path("/proc/self").is_dir():
        cases.append(("proc", Path("/proc/x.tsmodel"), "cannot write"))
    return cases


@pytest.mark.parametrize("which", ["is-a-directory", "folder-missing", "proc"])
def test_fit_output_checked_before_any_work(run, good_csv, tmp_path, monkeypatch, which):
    cases = {n: (p, w) for n, p, w in _outputs(tmp_path)}
    if which not in cases:
        pytest.skip("no /proc here")
    out, words = cases[which]
    import tabsynth.io as tio

    def no_read(*a, **k):  # the check must come before reading (and training)
        raise AssertionError("read_table was called")

    monkeypatch.setattr(tio, "read_table", no_read)
    res = run("fit", good_csv, "-o", out, "--quiet")
    check(res, 5, words)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_fit_read_only_folder(run, good_csv, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        check(run("fit", good_csv, "-o", ro / "m.tsmodel", "--quiet"), 5, "cannot write")
    finally:
        ro.chmod(0o700)


def test_fit_output_equals_input(run, good_csv):
    check(run("fit", good_csv, "-o", good_csv, "--quiet"), 2, "also the input")
    assert good_csv.read_text() == GOOD


# --- fit: faults during the write --------------------------------------------------------

def test_disk_full_while_saving_keeps_old_model(run, good_csv, old_model, monkeypatch):
    before = old_model.read_bytes()

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", full)
    res = run("fit", good_csv, "-o", old_model, "--epochs", "1", "--quiet")
    check(res, 5, "no space left on device")
    assert "unchanged" in res.output
    assert old_model.read_bytes() == before and leftovers(old_model.parent) == []


def test_failed_rename_keeps_the_trained_model(run, good_csv, tmp_path, monkeypatch):
    from tabsynth.artifact import verify_model_file

    target = tmp_path / "m.tsmodel"
    real_replace = os.replace

    def refuse(src, dst):
        if Path(dst) == target:
            raise OSError(errno.EBUSY, "Device or resource busy")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", refuse)
    res = run("fit", good_csv, "-o", target, "--model", "ctgan", "--epochs", "1", "--quiet")
    check(res, 5, "kept as")
    kept = [p for p in tmp_path.iterdir() if ".kept-" in p.name]
    assert len(kept) == 1 and kept[0].name in res.output
    assert verify_model_file(kept[0])["class"] == "CTGAN"


def test_internal_error_is_one_line(run, good_csv, tmp_path, monkeypatch):
    from tabsynth.models.ctgan import CTGAN

    def boom(self, *a, **k):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(CTGAN, "fit", boom)
    res = run("fit", good_csv, "-o", tmp_path / "m.tsmodel", "--model", "ctgan", "--quiet")
    check(res, 1, "internal error (ZeroDivisionError")
    assert not (tmp_path / "m.tsmodel").exists()


# --- sample / info: bad model files and outputs ------------------------------------------

def _tampered(model_file: str, tmp_path: Path, how: str) -> Path:
    bad = tmp_path / f"{how}.tsmodel"
    raw = Path(model_file).read_bytes()
    with zipfile.ZipFile(model_file) as zf:
        manifest, weights = zf.read("manifest.json"), zf.read("weights.safetensors")
    if how == "truncated":
        bad.write_bytes(raw[: len(raw) // 2])
    elif how == "pickle":
        bad.write_bytes(b"\x80\x04\x95 pickle bytes")
    elif how == "csv":
        bad.write_text(GOOD)
    elif how == "missing":
        pass
    else:
        doc = json.loads(manifest)
        if how == "ledger":
            doc["ledger"] = {"entries": [{"epsilon": 1.0}]}
        with zipfile.ZipFile(bad, "w") as zf:
            zf.writestr("manifest.json", json.dumps(doc))
            zf.writestr("weights.safetensors", weights if how != "weights" else weights[:-8])
            if how == "extra":
                zf.writestr("extra.bin", b"x")
    return bad


BAD_MODELS = [("truncated", "corrupt"), ("pickle", "pickle"), ("csv", "not a zip"),
              ("missing", "does not exist"), ("ledger", "tampered"), ("weights", "tampered"),
              ("extra", "unexpected members")]


@pytest.mark.parametrize("command", ["sample", "info"])
@pytest.mark.parametrize("how, words", BAD_MODELS, ids=[c[0] for c in BAD_MODELS])
def test_bad_model_file(run, model_file, tmp_path, command, how, words):
    bad = _tampered(model_file, tmp_path, how)
    args = ["-n", "5", "-o", tmp_path / "o.csv"] if command == "sample" else []
    res = run(command, bad, *args)
    check(res, 4, words)
    assert not (tmp_path / "o.csv").exists() and leftovers(tmp_path) == []


SAMPLE_ARGS = [
    ("unknown-format", ["-n", "5", "-o", "{tmp}/o.xlsx"], 2, "output format"),
    ("output-is-model", ["-n", "5", "-o", "{model}"], 2, "also the input"),
    ("zero-rows", ["-n", "0", "-o", "{tmp}/o.csv"], 2, "0"),
    ("condition-syntax", ["-n", "5", "-o", "{tmp}/o.csv", "--condition", "sex"], 2,
     "cannot read the condition"),
    ("condition-column", ["-n", "5", "-o", "{tmp}/o.csv", "--condition", "zzz=1"], 2, "zzz"),
    ("oversample-no-data", ["--oversample", "sex=Female", "-o", "{tmp}/o.csv"], 2, "--data"),
    ("folder-missing", ["-n", "5", "-o", "{tmp}/nodir/o.csv"], 5, "does not exist"),
    ("oversample-huge-ratio", ["--oversample", "sex=Female", "--ratio", "1e9", "--data",
                               "{data}", "-o", "{tmp}/o.csv"], 2, "more than the limit"),
    ("oversample-numeric", ["--oversample", "age=200", "--ratio", "0.5", "--data", "{data}",
                            "-o", "{tmp}/o.csv"], 2, "numerical in the model"),
    ("condition-unseen-number", ["-n", "5", "-o", "{tmp}/o.csv", "--condition", "age=abc"], 2,
     "must be a number"),
]


@pytest.mark.parametrize("name, args, code, words", SAMPLE_ARGS, ids=[c[0] for c in SAMPLE_ARGS])
def test_sample_bad_arguments(run, model_file, small_csv, tmp_path, name, args, code, words):
    local = tmp_path / "m.tsmodel"
    shutil.copy(model_file, local)
    before = local.read_bytes()
    filled = [a.format(tmp=tmp_path, model=local, data=small_csv) for a in args]
    check(run("sample", local, *filled), code, words)
    assert local.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tsmodel"]


def test_disk_full_while_sampling(run, model_file, tmp_path, monkeypatch):
    out = tmp_path / "o.csv"
    out.write_text("previous release\n")

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    check(run("sample", model_file, "-n", "50", "-o", out), 5, "no space left")
    assert out.read_text() == "previous release\n" and leftovers(tmp_path) == []


def test_exit_code_table_is_documented():
    from tabsynth.cli import _app

    codes = [c for c, _ in EXIT_CODES]
    assert codes == sorted(set(codes)) and set(codes) >= {0, 1, 2, 3, 4, 5, 130, 143}
    for code in codes:
        assert f"\n{code} " in _app.__doc__
    readme = Path(__file__).resolve().parents[2] / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if "## Exit codes" in text:  # the README's table lists the same codes
        section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
        import re

        assert sorted({int(c) for c in re.findall(r"^\|\s*`?(\d+)`?\s*\|", section, re.M)}) \
            == codes
