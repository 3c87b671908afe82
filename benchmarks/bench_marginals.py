"""Marginal route vs DP-SGD route on adult at small epsilon (issue 7).

    OMP_NUM_THREADS=1 python benchmarks/bench_marginals.py --eps 0.5,1,3

For each epsilon: Column Shapes, Column Pair Trends, TSTR AUC (target ``income``, 20% holdout)
and fit seconds of ``route="marginals"`` (CTGAN generator fitted to DP marginals) and
``route="dpsgd"`` (DP-CTGAN/TVAE via Opacus), with AIM/MST figures quoted from the issue.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timer, load_adult, machine, quality  # noqa: E402

warnings.filterwarnings("ignore")

QUOTED = [  # from issue 7 (epsilon = 1)
    ("AIM (quoted)", 1.0, 0.80, 0.83, "0.76", "412"),
    ("MST (quoted)", 1.0, 0.80, 0.80, "0.71-0.74", "-"),
]


def run(route: str, family: str, eps: float, train, holdout, seed: int, dpsgd_epochs: int):
    import torch

    from tabsynth import CTGAN, TVAE

    torch.set_num_threads(1)
    if family == "ctgan":
        kw = dict(generator_dim=(128, 128), embedding_dim=128)
        cls = CTGAN
    else:
        kw = dict(decompress_dims=(128, 128), compress_dims=(128, 128), embedding_dim=128)
        cls = TVAE
    if route == "dpsgd":
        kw["epochs"] = dpsgd_epochs
    model = cls(epsilon=eps, route=route, device="cpu", random_state=seed, verbose=False, **kw)
    with Timer() as t:
        model.fit(train)
    syn = model.sample(len(train), random_state=seed + 1)
    q = quality(train, syn, holdout, "income", seed=seed)
    return q, t.seconds, model.privacy_spent_


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--eps", default="0.5,1,3")
    ap.add_argument("--routes", default="marginals:ctgan,dpsgd:tvae")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dpsgd-epochs", type=int, default=10)
    args = ap.parse_args()
    train, holdout = load_adult()
    print(f"adult: {len(train)} train / {len(holdout)} holdout rows; {machine()}")
    rows = []
    for eps in [float(e) for e in args.eps.split(",")]:
        for spec in args.routes.split(","):
            route, family = spec.split(":")
            name = f"{route}/{family}"
            try:
                q, secs, spent = run(route, family, eps, train, holdout, args.seed,
                                     args.dpsgd_epochs)
                rows.append((name, eps, q["shapes"], q["trends"], f"{q['tstr_auc']:.3f}",
                             f"{secs:.0f}", f"{spent['epsilon']:.3f}"))
            except Exception as exc:  # noqa: BLE001 - report and go on
                rows.append((name, eps, float("nan"), float("nan"), "-", "-",
                             f"failed: {type(exc).__name__}: {str(exc)[:60]}"))
            print(rows[-1], flush=True)
    for name, eps, s, t, a, secs in QUOTED:
        rows.append((name, eps, s, t, a, secs, "-"))
    print(f"\n{'route':<18}{'eps':>5}{'shapes':>8}{'trends':>8}{'TSTR AUC':>11}{'fit s':>7}"
          f"  spent")
    for name, eps, s, t, a, secs, spent in rows:
        print(f"{name:<18}{eps:>5g}{s:>8.3f}{t:>8.3f}{a:>11}{secs:>7}  {spent}")
    print("(TRTR AUC on the same holdout: "
          f"{quality(train, train, holdout, 'income', seed=args.seed)['trtr_auc']:.3f})")


if __name__ == "__main__":
    main()
