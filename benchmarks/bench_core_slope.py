"""Per-epoch time and sampling speed of tabsynth's CTGAN / TVAE against SDV's, as slopes.

One fit's wall time mixes one-off preprocessing (mode fits, encoding) with the epochs, and a
shared machine adds noise to both. This script fits each model at two epoch counts (``--epochs
2,8`` by default) ``--repeats`` times, alternating ours and SDV's back to back, and reports the
per-epoch time as the slope ``(t(8) - t(2)) / 6`` for every repeat: min / median / max of the
wall-clock and of the process CPU time, and the ratio ours / SDV of the medians. Sampling speed
is measured the same way (``--sample-rows`` rows, each repeat). Run it in the interop
environment (SDV pins pandas < 3), one thread per process so both sides get the same cores::

    OMP_NUM_THREADS=1 .venv-interop/bin/python benchmarks/bench_core_slope.py --repeats 3

``--no-sdv`` measures tabsynth alone (then no ratio is printed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timer, load_adult, machine  # noqa: E402
from bench_core import ours_fit, sdv_fit, sdv_sample  # noqa: E402

warnings.filterwarnings("ignore")


def _spread(xs: list[float]) -> dict[str, float]:
    return {"min": min(xs), "median": statistics.median(xs), "max": max(xs)}


def _fmt(s: dict[str, float], unit: str = "") -> str:
    return f"{s['median']:.3f}{unit} (min {s['min']:.3f}, max {s['max']:.3f})"


def measure(who: str, family: str, train, epochs: tuple[int, int], batch_size: int,
            sample_rows: int, seed: int) -> dict[str, float]:
    """One repeat for one side: fit at both epoch counts, sample from the longer fit."""
    fits = {}
    model = None
    for e in epochs:
        if who == "tabsynth":
            model, t = ours_fit(family, train, e, batch_size, seed)
        else:
            model, t = sdv_fit(family, train, e, batch_size)
        fits[e] = t
    lo, hi = epochs
    if who == "tabsynth":
        sample = lambda n: model.sample(n, random_state=seed)  # noqa: E731
    else:
        sample = lambda n: sdv_sample(model, n)  # noqa: E731
    sample(1000)  # warm-up
    with Timer() as st:
        sample(sample_rows)
    return {
        "wall_s_per_epoch": (fits[hi].seconds - fits[lo].seconds) / (hi - lo),
        "cpu_s_per_epoch": (fits[hi].cpu_seconds - fits[lo].cpu_seconds) / (hi - lo),
        "rows_per_s": sample_rows / st.seconds,
        "rows_per_cpu_s": sample_rows / st.cpu_seconds,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", default="2,8", help="two epoch counts for the slope")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--families", default="ctgan,tvae")
    ap.add_argument("--sample-rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-sdv", action="store_true", help="only measure tabsynth")
    ap.add_argument("--json", help="write every repeat's figures here")
    args = ap.parse_args()
    lo, hi = (int(x) for x in args.epochs.split(","))
    if not 0 < lo < hi:
        ap.error("--epochs takes two increasing positive counts, e.g. 2,8")

    train, _ = load_adult()
    print(f"adult: {len(train)} train rows; {machine()}; epochs {lo} vs {hi}, "
          f"{args.repeats} repeats", flush=True)
    sides = ["tabsynth"] + ([] if args.no_sdv else ["sdv"])
    out: dict[str, dict[str, list[dict[str, float]]]] = {}
    for family in args.families.split(","):
        runs: dict[str, list[dict[str, float]]] = {s: [] for s in sides}
        for who in sides:  # warm-up: imports, first-call set-up and caches stay out of the slope
            fit = ours_fit if who == "tabsynth" else sdv_fit
            fit(family, train.sample(2000, random_state=0), 1, args.batch_size,
                *([args.seed] if who == "tabsynth" else []))
        for r in range(args.repeats):
            for who in sides:  # back to back, so load drifts hit both sides alike
                m = measure(who, family, train, (lo, hi), args.batch_size, args.sample_rows,
                            args.seed + r)
                runs[who].append(m)
                print(f"{family:6s} {who:9s} repeat {r}: {m['wall_s_per_epoch']:.3f} s/epoch "
                      f"({m['cpu_s_per_epoch']:.3f} CPU s), {m['rows_per_s']:,.0f} rows/s",
                      flush=True)
        out[family] = runs
        for who in sides:
            keys = ("wall_s_per_epoch", "cpu_s_per_epoch", "rows_per_s")
            s = {k: _spread([m[k] for m in runs[who]]) for k in keys}
            print(f"{family:6s} {who:9s} epoch {_fmt(s['wall_s_per_epoch'], ' s')}; "
                  f"CPU {_fmt(s['cpu_s_per_epoch'], ' s')}; "
                  f"sampling {s['rows_per_s']['median']:,.0f} rows/s "
                  f"(min {s['rows_per_s']['min']:,.0f}, max {s['rows_per_s']['max']:,.0f})")
        if "sdv" in runs:
            def med(who: str, k: str, runs=runs) -> float:
                return statistics.median(m[k] for m in runs[who])

            print(f"{family:6s} ratio ours/SDV (medians): epoch wall "
                  f"{med('tabsynth', 'wall_s_per_epoch') / med('sdv', 'wall_s_per_epoch'):.2f}x"
                  f", epoch CPU "
                  f"{med('tabsynth', 'cpu_s_per_epoch') / med('sdv', 'cpu_s_per_epoch'):.2f}x"
                  f", sampling "
                  f"{med('tabsynth', 'rows_per_s') / med('sdv', 'rows_per_s'):.2f}x"
                  f" (CPU {med('tabsynth', 'rows_per_cpu_s') / med('sdv', 'rows_per_cpu_s'):.2f}x)",
                  flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
