"""The HTML report renders in a real browser (headless Chromium) and is not blank.

Needs a Chromium binary: ``chromium`` / ``chromium-browser`` / ``google-chrome`` on PATH, or
the path in ``TABSYNTH_CHROMIUM``. Without one the test is skipped with the command to get it.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest
from eval_tables import adult_split

from tabsynth.evaluation import evaluate

CHROMIUM = (os.environ.get("TABSYNTH_CHROMIUM") or shutil.which("chromium")
            or shutil.which("chromium-browser") or shutil.which("google-chrome"))
SKIP_REASON = (
    "headless Chromium not found, so the HTML report's browser rendering check did not run. "
    "Install it with `sudo apt-get install chromium` (Debian/Ubuntu; `brew install --cask "
    "chromium` on macOS) or point TABSYNTH_CHROMIUM at a Chrome/Chromium binary, then run "
    "`python -m pytest tests/evaluation/test_html_render.py`."
)


@pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
def test_report_renders_in_headless_chromium(tmp_path) -> None:
    from matplotlib.image import imread

    train, holdout, syn = adult_split(600, 200)
    rep = evaluate(train, syn, holdout=holdout, target="income", random_state=0, progress=False,
                   ledger={"spent": {"epsilon": 1.0, "delta": 1e-6}})
    page = tmp_path / "report.html"
    rep.to_html(page)
    png = tmp_path / "shot.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}",
           "--window-size=1280,2000", page.as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=90, check=False)
    assert png.is_file(), "chromium wrote no screenshot"
    assert png.stat().st_size > 20_000
    img = imread(str(png))
    assert img.shape[0] == 2000 and img.shape[1] == 1280
    gray = img[..., :3].mean(axis=2)
    assert float(np.var(gray)) > 0.005  # not a blank page
    # the verdict banner (red or green) is drawn near the top
    top = img[:400, :, :3]
    red = (top[..., 0] > 0.7) & (top[..., 1] < 0.3) & (top[..., 2] < 0.3)
    green = (top[..., 1] > 0.4) & (top[..., 0] < 0.2) & (top[..., 2] < 0.3)
    assert (red | green).sum() > 5_000
