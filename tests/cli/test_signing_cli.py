"""Ed25519 signing (keygen, sign, verify, fit --sign-key), atomic outputs, warnings."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

pytest.importorskip("cryptography")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    from tabsynth.signing import generate_key

    folder = tmp_path_factory.mktemp("keys")
    return generate_key(folder / "k.pem")


def test_keygen_sign_verify_round_trip(run, tmp_path):
    key = tmp_path / "key.pem"
    res = run("keygen", "-o", key)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "key.pub.pem").exists() and (key.stat().st_mode & 0o077) == 0
    report = tmp_path / "report.json"
    report.write_text('{"epsilon": 1.0}')
    assert run("sign", report, "--key", key).exit_code == 0
    res = run("verify", report, "--key", tmp_path / "key.pub.pem")
    assert res.exit_code == 0 and "Signature OK" in res.output
    assert run("keygen", "-o", key).exit_code == 2  # never overwrites a key


def test_fit_sign_key_writes_model_and_signature_together(run, small_csv, tmp_path, keys):
    out = tmp_path / "m.tsmodel"
    res = run("fit", small_csv, "-o", out, "--epochs", "1", "--batch-size", "100", "--quiet",
              "--sign-key", keys[0])
    assert res.exit_code == 0, res.output
    assert run("verify", out, "--key", keys[1]).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tsmodel", "m.tsmodel.sig"]


def _signed(tmp_path: Path, keys) -> Path:
    from tabsynth.signing import sign_file

    f = tmp_path / "r.html"
    f.write_text("<p>report</p>")
    sign_file(f, keys[0])
    return f


@pytest.mark.parametrize("fault, words", [
    ("unsigned", "unsigned"), ("changed", "not the file that was signed"),
    ("other-key", "another key"), ("forged", "not valid"), ("sig-not-json", "not json"),
    ("private-as-public", "public key"), ("missing-key", "does not exist"),
])
def test_verify_refuses(run, tmp_path, keys, fault, words):
    from tabsynth.signing import generate_key

    f = _signed(tmp_path, keys)
    sig = Path(str(f) + ".sig")
    pub = keys[1]
    if fault == "unsigned":
        sig.unlink()
    elif fault == "changed":
        f.write_text("<p>edited</p>")
    elif fault == "other-key":
        pub = generate_key(tmp_path / "o.pem")[1]
    elif fault == "forged":
        sig.write_text(sig.read_text().replace('"signature": "', '"signature": "AAAA'))
    elif fault == "sig-not-json":
        sig.write_text("nope")
    elif fault == "private-as-public":
        pub = keys[0]
    elif fault == "missing-key":
        pub = tmp_path / "none.pem"
    res = run("verify", f, "--key", pub)
    assert res.exit_code == 4, res.output
    assert words in res.output.lower() and "Traceback" not in res.output


def test_fit_with_a_bad_sign_key_fails_before_training(run, small_csv, tmp_path, keys):
    res = run("fit", small_csv, "-o", tmp_path / "m.tsmodel", "--sign-key", keys[1])
    assert res.exit_code == 4 and "private key" in res.output
    assert list(tmp_path.iterdir()) == []


def test_atomic_outputs_all_or_none(tmp_path, monkeypatch):
    from tabsynth._atomic import atomic_outputs
    from tabsynth.errors import OutputError

    a, b = tmp_path / "a.json", tmp_path / "b.html"
    a.write_text("old a")
    real = os.replace

    def fail_b(src, dst):
        if Path(dst) == b:
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", fail_b)
    with pytest.raises(OutputError, match="None of the outputs"):
        with atomic_outputs(a, b) as (ta, tb):
            ta.write_text("new a")
            tb.write_text("new b")
    assert a.read_text() == "old a" and not b.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
    monkeypatch.setattr(os, "replace", real)
    with atomic_outputs(a, None, b) as (ta, none, tb):
        assert none is None
        ta.write_text("new a")
        tb.write_text("new b")
    assert a.read_text() == "new a" and b.read_text() == "new b"


def test_warnings_are_one_line_without_source(capsys):
    from tabsynth.cli._app import _show_warning
    from tabsynth.errors import DataWarning

    _show_warning(DataWarning("3 of 10 rows\n  are short"), DataWarning, "/x/y.py", 12)
    err = capsys.readouterr().err
    assert err == "DataWarning: 3 of 10 rows are short\n"


def test_cli_warning_reaches_the_user_as_one_line(run, tmp_path):
    p = tmp_path / "short.csv"
    p.write_text("a,b,c\n" + "".join(f"{i},{'xy'[i % 2]},{i % 3}\n" for i in range(30))
                 + "1,x\n" * 2)
    res = run("metadata", p, "-o", tmp_path / "meta.json")
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.output.splitlines() if "fewer fields" in ln]
    assert lines == ["DataWarning: 2 of 32 rows of 'short.csv' have fewer fields than the "
                     "header (3); their missing fields were read as missing values."]
    assert ".py" not in res.output


@pytest.mark.parametrize("item, cats, expected", [
    ("avg_glucose_level=100", {}, {"avg_glucose_level": 100}),
    ("bmi=27.5", {}, {"bmi": 27.5}),
    ("fraud=1", {"fraud": [0, 1]}, {"fraud": 1}),
    ("sex=Female", {"sex": ["Female", "Male"]}, {"sex": "Female"}),
    ("age>=60", {}, {"age": (60.0, None)}),
])
def test_conditions_parse_numbers(item, cats, expected):
    from tabsynth.cli._common import parse_conditions

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_conditions((item,), cats) == expected
