"""``tabsynth sample --partitions P [--workers W] [--overwrite]`` and ``tabsynth evaluate`` on
the folder it writes (issue 16, items 4 and 5): exit codes of the README table, no partial
output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as pds
import pyarrow.parquet as pq
import pytest


def _parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_sample_partitions_writes_a_dataset(run, model_file, tmp_path):
    out = tmp_path / "out"
    res = run("sample", model_file, "-n", "1000", "-o", out, "--partitions", "3", "--seed",
              "1", "--chunk-size", "200", "--condition", "sex=Female")
    assert res.exit_code == 0, res.output
    assert "Wrote 1,000 rows in 3 Parquet files" in res.output
    assert _parts(out) == [f"part-{i:05d}.parquet" for i in range(3)]
    assert [pq.ParquetFile(out / p).metadata.num_rows for p in _parts(out)] == [334, 333, 333]
    table = pds.dataset(str(out), format="parquet").to_table()
    assert table.num_rows == 1000 and set(table.column("sex").to_pylist()) == {"Female"}


@pytest.mark.parametrize(("args", "code", "words"), [
    (["--partitions", "0"], 2, "--partitions must be >= 1"),
    (["--partitions", "101"], 2, "more than the 100 rows"),
    (["--partitions", "2", "--workers", "0"], 2, "--workers must be >= 1"),
    (["--workers", "2"], 2, "go with --partitions"),
    (["--overwrite"], 2, "go with --partitions"),
    (["--partitions", "2", "--rare", "age"], 2, "cannot be combined"),
])
def test_sample_partitions_bad_usage(run, model_file, tmp_path, args, code, words):
    out = tmp_path / "out"
    res = run("sample", model_file, "-n", "100", "-o", out, *args)
    assert res.exit_code == code, res.output
    assert words in res.output
    assert not out.exists()


def test_sample_partitions_existing_outputs(run, model_file, tmp_path):
    a_file = tmp_path / "t.parquet"
    a_file.write_bytes(b"x")
    res = run("sample", model_file, "-n", "100", "-o", a_file, "--partitions", "2")
    assert res.exit_code == 5 and "it is a file" in res.output
    out = tmp_path / "out"
    assert run("sample", model_file, "-n", "100", "-o", out, "--partitions", "2",
               "--seed", "0").exit_code == 0
    before = {p: (out / p).read_bytes() for p in _parts(out)}
    res = run("sample", model_file, "-n", "100", "-o", out, "--partitions", "4")
    assert res.exit_code == 5 and "not empty" in res.output and "--overwrite" in res.output
    assert {p: (out / p).read_bytes() for p in _parts(out)} == before
    res = run("sample", model_file, "-n", "100", "-o", out, "--partitions", "4", "--overwrite")
    assert res.exit_code == 0, res.output
    assert len(_parts(out)) == 4
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_evaluate_a_partitioned_release(run, model_file, small_csv, tmp_path):
    out = tmp_path / "release"
    assert run("sample", model_file, "-n", "2000", "-o", out, "--partitions", "4",
               "--seed", "2").exit_code == 0
    res = run("evaluate", small_csv, out, "-o", tmp_path / "r.html", "--json",
              tmp_path / "r.json", "--max-rows", "500", "--seed", "3", "--no-progress")
    assert res.exit_code in (0, 1), res.output  # 1: the tiny model may fail the policy
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    syn = report["datasets"]["synthetic"]
    assert (syn["rows"], syn["rows_read"], syn["files"]) == (2000, 500, 4)
    assert any(s.startswith("synthetic: 2,000 rows subsampled uniformly to 500 (seed "
                            f"{syn['sample_seed']})") for s in report["parameters"]["subsampling"])


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_sigterm_with_two_workers_leaves_nothing(model_file, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "part-00000.parquet").write_bytes(b"previous")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tabsynth", "sample", model_file, "-n", "50000000", "-o",
         str(out), "--partitions", "4", "--workers", "2", "--chunk-size", "2000",
         "--overwrite"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def writing() -> bool:
        temps = [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
        return any(f.stat().st_size > 0 for t in temps for f in t.iterdir())

    try:
        end = time.monotonic() + 180
        while not writing() and time.monotonic() < end:
            time.sleep(0.05)
        assert writing(), "the workers never started writing"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, stderr
    assert "terminated" in stderr and "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (out / "part-00000.parquet").read_bytes() == b"previous"
