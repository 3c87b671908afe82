"""Privacy benchmark: DP-CTGAN and DP-TVAE (DP-SGD) against their non-DP twins, one run.

    OMP_NUM_THREADS=1 python benchmarks/bench_privacy.py --epsilons 1,3,10 --epochs 5 \\
        --data datasets/adult.csv

``--epochs auto --batch-size auto`` (the default) leaves both at the class defaults, so DP
models use their DP schedule (``tabsynth.models.dp_training.resolve_dp_schedule``: large
Poisson batches, few epochs) while the non-DP twin runs 5 epochs of batch 500 (s/epoch and
the ratio then compare epochs of different batch sizes). ``--no-correction`` samples the raw
generator (no post-processing onto the DP marginals, ``tabsynth.sampling.correction``).

Protocol (benchmarks/_common.py): adult, complete rows, stratified 80/20 split (seed 0). For
each family: the non-DP twin and one DP model per epsilon, same epochs, batch size and network
sizes. Prints seconds per epoch (training loop only; DP statistics and noise calibration are
reported separately as "prep s"), the DP/non-DP ratio, the epsilon actually spent, Column
Shapes, Column Pair Trends and TSTR ROC AUC on the holdout (target ``income``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timer, load_adult, machine, quality  # noqa: E402

warnings.filterwarnings("ignore")


_LOOP_SECONDS: list[float] = []


def _time_dp_loops() -> None:
    """A DP model file holds no training time (a side channel that grows with n), so the
    benchmark times the DP training loops itself by wrapping them."""
    from tabsynth.models import ctgan_dp, tvae_dp

    for module, name in ((ctgan_dp, "train_ctgan_dp"), (tvae_dp, "train_tvae_dp")):
        inner = getattr(module, name)

        def timed(*a, _inner=inner, **k):
            start = time.perf_counter()
            try:
                return _inner(*a, **k)
            finally:
                _LOOP_SECONDS.append(time.perf_counter() - start)

        setattr(module, name, timed)


def loop_seconds(model) -> float:
    """Seconds of the training loop of the last fit (DP: timed here; non-DP: the model's)."""
    if model.privacy_spent_:
        return _LOOP_SECONDS[-1]
    return model.training_summary_["seconds"]


def fit(family: str, train, *, epochs, batch_size, seed: int, epsilon=None,
        accountant: str = "prv"):
    from tabsynth import CTGAN, TVAE

    common = dict(random_state=seed, verbose=False, device="cpu", epsilon=epsilon,
                  accountant=accountant)
    if epochs != "auto" or epsilon is None:
        common["epochs"] = 5 if epochs == "auto" else int(epochs)
    if batch_size != "auto" or epsilon is None:
        common["batch_size"] = 500 if batch_size == "auto" else int(batch_size)
    model = CTGAN(**common) if family == "ctgan" else TVAE(**common)
    with Timer() as t:
        model.fit(train)
    return model, t.seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epsilons", default="1,3,10")
    ap.add_argument("--epochs", default="auto")
    ap.add_argument("--batch-size", default="auto")
    ap.add_argument("--no-correction", action="store_true")
    ap.add_argument("--models", default="ctgan,tvae")
    ap.add_argument("--accountant", default="prv", choices=["prv", "rdp"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default=None,
                    help="adult CSV (default: the shared full adult; datasets/adult.csv is the "
                         "bundled 10k-row sample)")
    ap.add_argument("--json", default=None, help="Also write the rows as JSON here.")
    args = ap.parse_args()
    _time_dp_loops()
    train, holdout = load_adult(args.data)
    eps_list = [float(e) for e in args.epsilons.split(",") if e]
    print(f"adult: {len(train)} train / {len(holdout)} holdout rows; {machine()}")
    print(f"epochs={args.epochs}, batch_size={args.batch_size}, accountant={args.accountant}")
    rows = []
    header = (f"{'model':<8} {'epsilon':>7} {'spent':>7} {'epochs':>6} {'batch':>6} "
              f"{'s/epoch':>8} {'ratio':>6} "
              f"{'prep s':>7} {'shapes':>7} {'trends':>7} {'TSTR AUC':>9}")
    print(header)
    print("-" * len(header))
    for family in args.models.split(","):
        base_epoch = None
        for eps in [None, *eps_list]:
            model, total = fit(family, train, epochs=args.epochs, batch_size=args.batch_size,
                               seed=args.seed, epsilon=eps, accountant=args.accountant)
            sched = getattr(model, "dp_schedule_", None) or {"epochs": model.epochs,
                                                             "batch_size": model.batch_size}
            loop = loop_seconds(model)
            per_epoch = loop / sched["epochs"]
            prep = total - loop
            if eps is None:
                base_epoch = per_epoch
            if args.no_correction:
                model.marginal_correction = False
            syn = model.sample(len(train), random_state=args.seed)
            q = quality(train, syn, holdout, target="income", seed=args.seed)
            spent = model.privacy_spent_["epsilon"] if model.privacy_spent_ else float("nan")
            row = {"model": family, "epsilon": eps, "spent": spent,
                   "s_per_epoch": per_epoch, "ratio": per_epoch / base_epoch,
                   "prep_s": prep, "epochs": sched["epochs"],
                   "batch_size": sched["batch_size"], **q}
            rows.append(row)
            print(f"{family:<8} {('-' if eps is None else f'{eps:g}'):>7} "
                  f"{('-' if eps is None else f'{spent:.3f}'):>7} {sched['epochs']:>6} "
                  f"{sched['batch_size']:>6} {per_epoch:>8.2f} "
                  f"{row['ratio']:>6.2f} {prep:>7.1f} {q['shapes']:>7.3f} {q['trends']:>7.3f} "
                  f"{q['tstr_auc']:>9.3f}", flush=True)
    print(f"TRTR AUC (real train -> holdout): {rows[0]['trtr_auc']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f} s")
