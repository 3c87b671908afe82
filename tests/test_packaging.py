"""A regular (non-editable) install ships the three packages, the bundled data and the policy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_install_ships_packages_and_data(tmp_path: Path) -> None:
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps",
                    "--no-build-isolation", "-q", "-w", str(wheels)], check=True,
                   capture_output=True)
    wheel = next(wheels.glob("tabsynth_dp-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    code = (
        "import tabsynth, tabsynth.privacy, tabsynth.evaluation\n"
        "from tabsynth import datasets\n"
        "from tabsynth.evaluation.policy import load_policy\n"
        f"assert tabsynth.__file__.startswith({str(target)!r}), tabsynth.__file__\n"
        "assert datasets.list() == ['adult', 'fraud', 'stroke']\n"
        "df = datasets.load('fraud')\n"
        "assert len(df) == 8000 and 'PolicyNumber' not in df.columns\n"
        "load_policy(None)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
