"""Faults that need a real process: signals during sample, kill -9 during fit, two fits racing.

Each runs ``python -m tabsynth`` on a tiny table and asserts the exit code, the message, no
traceback, and that nothing was half-written or destroyed. Subprocesses start torch (seconds
each on a loaded machine), so all but the SIGTERM case are marked ``slow``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tabsynth.artifact import verify_model_file

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


def _start(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tabsynth", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(pred, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


def _temps(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize("sig, code, words", [
    pytest.param(signal.SIGINT, 130, "interrupted", marks=pytest.mark.slow, id="SIGINT"),
    pytest.param(signal.SIGTERM, 143, "terminated", id="SIGTERM"),
])
def test_signal_during_sample_cleans_up(model_file, tmp_path, sig, code, words):
    out = tmp_path / "big.csv"
    out.write_text("previous\n")
    proc = _start("sample", model_file, "-n", "20000000", "-o", out, "--chunk-size", "2000",
                  cwd=tmp_path)
    try:
        # the partial file exists and has data: we are in the middle of writing
        assert _wait_for(lambda: any(p.stat().st_size > 0 for p in _temps(tmp_path)))
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == code, stderr
    assert words in stderr and "Traceback" not in stderr
    assert _temps(tmp_path) == []
    assert out.read_text() == "previous\n"


@pytest.mark.slow
def test_kill_9_during_fit_keeps_old_model_and_next_run_cleans(model_file, small_csv, tmp_path):
    target = tmp_path / "m.tsmodel"
    shutil.copy(model_file, target)
    before = target.read_bytes()
    proc = _start("fit", small_csv, "-o", target, "--epochs", "100000", "--batch-size", "100",
                  cwd=tmp_path)
    seen: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for chunk in iter(lambda: proc.stderr.read(1), ""):
            seen.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert _wait_for(lambda: "it/s" in "".join(seen) or "s/it" in "".join(seen)
                         or "epoch" in "".join(seen).lower())  # training has started
    finally:
        proc.kill()  # SIGKILL: no cleanup can run
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert target.read_bytes() == before
    verify_model_file(target)
    # a partial file a killed process left behind is removed by the next write there
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".m.tsmodel.tmp-{dead.pid}-abcd"
    stale.write_bytes(b"half a model")
    from tabsynth._atomic import atomic_path

    with atomic_path(target) as tmp:
        tmp.write_bytes(before)
    assert not stale.exists() and target.read_bytes() == before


@pytest.mark.slow
def test_two_fits_writing_the_same_path(small_csv, tmp_path):
    target = tmp_path / "m.tsmodel"
    procs = [_start("fit", small_csv, "-o", target, "--model", "ctgan", "--epochs", "1",
                    "--batch-size", "100", "--seed", str(i), "--quiet", cwd=tmp_path)
             for i in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    for p, (_stdout, stderr) in zip(procs, results, strict=True):
        assert p.returncode == 0, stderr
        assert "Traceback" not in stderr
    assert verify_model_file(target)["class"] == "CTGAN"  # one whole file, the last rename wins
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tsmodel"]
