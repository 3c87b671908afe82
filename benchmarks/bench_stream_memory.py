"""Peak memory of a streamed CTGAN / TVAE fit against the same fit from a DataFrame.

    python benchmarks/bench_stream_memory.py --rows 400000,800000 --model tvae

Writes a generated table (8 columns: normal, exponential, lognormal, integer, two text columns
of 4 and 30 values, a flag) as 8 Parquet parts per 400,000 rows in a temporary folder, then
fits ``--model`` for one epoch (batch 2000) in a fresh process per setting, from the folder
(streamed: the encoded rows in a temporary file, minibatches read with ``os.preadv``) and
from ``pandas.read_parquet`` of the same folder, and prints seconds and the process's peak
RSS. No peer: this compares tabsynth with itself (the in-memory fit is what SDV does).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import resource, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from tabsynth import CTGAN, TVAE
cls = {"ctgan": CTGAN, "tvae": TVAE}[sys.argv[1]]
data = sys.argv[3] if sys.argv[2] == "stream" else pd.read_parquet(sys.argv[3])
t = time.perf_counter()
cls(epochs=1, batch_size=2000, random_state=0, verbose=False, device="cpu").fit(data)
print(f"{time.perf_counter() - t:.1f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}")
"""


def write_table(folder: Path, rows: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    parts = max(rows // 50_000, 1)
    for i in range(parts):
        k = rows // parts
        pd.DataFrame({
            "a": rng.normal(size=k), "b": rng.exponential(size=k),
            "c": rng.integers(0, 50, k), "d": rng.choice(["x", "y", "z", "w"], k),
            "e": rng.choice([f"v{j}" for j in range(30)], k), "f": rng.normal(100, 20, k),
            "g": rng.random(k) < 0.3, "h": rng.lognormal(3, 1, k),
        }).to_parquet(folder / f"part-{i:04d}.parquet", index=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="400000,800000")
    ap.add_argument("--model", default="tvae", choices=["ctgan", "tvae"])
    args = ap.parse_args()
    print(f"{'rows':>9}  {'input':>9}  {'fit s':>6}  {'peak RSS MB':>11}")
    for rows in (int(r) for r in args.rows.split(",")):
        with tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp:
            write_table(Path(tmp), rows)
            for mode in ("stream", "memory"):
                out = subprocess.run([sys.executable, "-c", CHILD, args.model, mode, tmp],
                                     check=True, capture_output=True, text=True).stdout.split()
                print(f"{rows:>9,}  {mode:>9}  {out[-2]:>6}  {out[-1]:>11}", flush=True)


if __name__ == "__main__":
    main()
