"""Report.save: outputs are checked before any work, and land together or not at all."""

from __future__ import annotations

import os

import pytest
from eval_tables import adult_split

from tabsynth.evaluation import EvaluationOutputError, EvaluationParameterError, _outputs, evaluate


@pytest.fixture(scope="module")
def report():
    train, _, syn = adult_split(300, 0)
    return evaluate(train, syn, random_state=0, progress=False,
                    policy={"checks": {"column_shapes": {"min": 0}}})


def test_save_writes_both(report, tmp_path) -> None:
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    assert report.save(html=html, json=js) == [js, html]
    assert html.read_text().startswith("<!DOCTYPE html>") and js.read_text().startswith("{")
    assert sorted(os.listdir(tmp_path)) == ["r.html", "r.json"]


@pytest.mark.parametrize("case", ["missing_folder", "is_folder", "same_path", "parent_is_file"])
def test_unwritable_paths_are_refused_first(report, tmp_path, case, monkeypatch) -> None:
    ok = tmp_path / "ok.json"
    bad = {"missing_folder": tmp_path / "nope" / "r.html", "is_folder": tmp_path,
           "same_path": ok, "parent_is_file": ok / "r.html"}[case]
    if case == "parent_is_file":
        ok.write_text("old")
    rendered = []
    monkeypatch.setattr(type(report), "to_json",
                        lambda self, *a, **k: rendered.append(1) or "{}")
    with pytest.raises(EvaluationOutputError, match="Cannot write the report"):
        report.save(html=bad, json=ok)
    assert rendered == []  # nothing was rendered
    expected = ["ok.json"] if case == "parent_is_file" else []
    assert sorted(os.listdir(tmp_path)) == expected


def test_folder_that_takes_no_new_file(report, tmp_path, monkeypatch) -> None:
    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_outputs.tempfile, "mkstemp", refuse)
    with pytest.raises(EvaluationOutputError, match="does not take new files"):
        report.save(html=tmp_path / "r.html", json=tmp_path / "r.json")


def test_failure_midway_leaves_existing_files_untouched(report, tmp_path, monkeypatch) -> None:
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    html.write_text("old html")
    real_replace = os.replace
    calls = []

    def flaky(src, dst):
        calls.append(dst)
        if str(dst) == str(html) and str(src).endswith(".tmp"):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(_outputs.os, "replace", flaky)
    with pytest.raises(OSError, match="No space left"):
        report.save(html=html, json=js)  # json lands first, then html fails
    assert html.read_text() == "old html"
    assert not js.exists()  # rolled back: it did not exist before
    assert sorted(os.listdir(tmp_path)) == ["r.html"]  # no temp or backup left


def test_rollback_restores_a_replaced_file(tmp_path, monkeypatch) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.html"
    a.write_text("old a")
    b.write_text("old b")
    real_replace = os.replace

    def flaky(src, dst):
        if str(dst) == str(b) and str(src).endswith(".tmp"):
            raise OSError(5, "I/O error")
        return real_replace(src, dst)

    monkeypatch.setattr(_outputs.os, "replace", flaky)
    with pytest.raises(OSError):
        _outputs.write_all({a: "new a", b: "new b"})
    assert a.read_text() == "old a" and b.read_text() == "old b"
    assert sorted(os.listdir(tmp_path)) == ["a.json", "b.html"]


def test_save_needs_a_path_and_a_known_form(report, tmp_path) -> None:
    with pytest.raises(EvaluationParameterError, match="needs an 'html' or a 'json' path"):
        report.save()
    with pytest.raises(EvaluationParameterError, match="'form' parameter of Report.save"):
        report.save(json=tmp_path / "r.json", form="public")
    assert list(tmp_path.iterdir()) == []
