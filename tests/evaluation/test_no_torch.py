"""A full evaluate(...) never imports torch (it can score any tool's release)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_evaluate_does_not_import_torch(tmp_path) -> None:
    code = textwrap.dedent("""
        import sys
        import numpy as np, pandas as pd
        import tabsynth.evaluation as ev
        rng = np.random.default_rng(0)
        def t(n):
            return pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(list("abc"), n),
                                 "y": rng.choice(["p", "q"], n)})
        rep = ev.evaluate(t(200), t(200), holdout=t(100), target="y", random_state=0,
                          progress=False, ledger={"spent": {"epsilon": 1.0, "delta": 1e-6}})
        rep.to_html(sys.argv[1]); rep.to_json(sys.argv[2])
        bad = sorted(m for m in sys.modules if m == "torch" or m.startswith(("torch.",
                     "opacus", "tabsynth.models", "tabsynth.artifact")))
        print("BAD", bad)
    """)
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r.html"),
                          str(tmp_path / "r.json")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "BAD []" in out.stdout
