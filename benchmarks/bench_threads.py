"""Torch threads and OpenMP's wait policy: fit and sampling speed with 1 and 2 threads, idle
threads spinning (``OMP_WAIT_POLICY=ACTIVE``, torch's default) or sleeping (``PASSIVE``, what
``import tabsynth`` sets unless the variable is already set).

Each setting runs in a fresh child process (the policy is read when torch starts): an AR model
on the first 5,000 bundled adult rows (3 epochs), then 200,000 sampled rows. Run it on an idle
machine and on a busy one (e.g. beside ``python -m pytest``): the spinning threads cost little
on idle cores and a lot on busy ones.

    python benchmarks/bench_threads.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = """
import json, time, torch
import tabsynth
from tabsynth import ARSynthesizer, datasets
df = datasets.load("adult").head(5000)
torch.set_num_threads({threads})
s = time.perf_counter()
m = ARSynthesizer(epochs=3, patience=99, random_state=0, verbose=False, device="cpu").fit(df)
fit = time.perf_counter() - s
m.sample(10_000, random_state=0)
s = time.perf_counter(); m.sample(200_000, random_state=1); smp = time.perf_counter() - s
print(json.dumps({{"fit_s": fit, "rows_s": 200_000 / smp}}))
"""


def main() -> int:
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load:.1f} at the start")
    for policy in ("ACTIVE", "PASSIVE"):
        for threads in (1, 2):
            env = dict(os.environ, OMP_WAIT_POLICY=policy)
            env.pop("OMP_NUM_THREADS", None)
            out = subprocess.run([sys.executable, "-c", CHILD.format(threads=threads)], env=env,
                                 capture_output=True, text=True, check=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(f"OMP_WAIT_POLICY={policy:7s} threads {threads}: fit {r['fit_s']:5.1f} s, "
                  f"sampling {r['rows_s']:9,.0f} rows/s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
