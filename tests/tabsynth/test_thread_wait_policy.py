"""``import tabsynth`` sets ``OMP_WAIT_POLICY=PASSIVE`` unless the user set it (idle torch
threads sleep instead of spinning: spinning threads starved the working ones on a loaded
machine, 6-15x slower sampling with two threads)."""

from __future__ import annotations

import os
import subprocess
import sys

CODE = "import os, tabsynth; print(os.environ.get('OMP_WAIT_POLICY'))"


def _run(env: dict) -> str:
    return subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_passive_by_default():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert _run(env) == "PASSIVE"


def test_the_users_choice_is_kept():
    env = dict(os.environ, OMP_WAIT_POLICY="ACTIVE")
    assert _run(env) == "ACTIVE"
