"""Balanced representation on adult: rebalance sex x race, then measure a downstream model.

Protocol (``_common.py``, ../shared/BENCHMARKS.md): adult complete rows, stratified 80/20 split
with seed 0 (24,129 train / 6,033 holdout). Protected: ``sex`` x ``race`` (10 groups); target
``income`` (positive ``>50K``). Every row trains a ``HistGradientBoostingClassifier`` (seeded,
the evaluator's settings) on its training table and scores it on the real holdout with
:func:`tabsynth.evaluation.fairness.fairness_section`: accuracy, ROC AUC, demographic-parity
difference and equalised-odds gap (groups with fewer than 20 holdout rows, or positives /
negatives for the TPR / FPR gaps, left out, as in the report).

Rows (seed ``s``: the model's ``random_state``, sampling and the classifier):

* ``real only`` — the real train split;
* ``AR + real, rebalanced`` — ``rebalance(train, keep_real=True)`` with a non-DP
  ``ARSynthesizer``: real rows plus synthetic rows of each group up to equal shares (not DP);
* ``AR synthetic, rebalanced`` — ``keep_real=False`` from the same non-DP model, as many rows as
  the train split, equal shares;
* ``DP AR synthetic`` — epsilon 1 (delta 1e-5): a plain sample of the DP model (its own shares);
* ``DP AR synthetic, rebalanced`` — epsilon 1: ``rebalance(keep_real=False)``, equal shares, as
  many rows as the train split. This is the DP form: post-processing of the DP model; the group
  domain (sex, race) is declared public from adult.names (``tabsynth.datasets.codebooks``).

Usage::

    OMP_NUM_THREADS=2 python benchmarks/bench_fairness.py --seeds 0
    python benchmarks/bench_fairness.py --seeds 0,1 --epochs 100     # AR at its defaults
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, load_adult, machine  # noqa: E402

PROTECTED = ["sex", "race"]
TARGET = "income"


def _metadata(train: pd.DataFrame, private: bool):
    from tabsynth import Metadata
    from tabsynth.datasets.codebooks import PUBLIC_DOMAINS

    md = Metadata.from_dtypes(train) if private else Metadata.detect(train)
    if private:  # the protected columns' domains, declared from adult.names (public)
        for col in PROTECTED:
            md.update_column(col, public_domain=list(PUBLIC_DOMAINS["adult"][col]))
    return md


def _score(name: str, table: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame,
           seed: int, extra: dict) -> dict:
    print(f"[{time.strftime('%H:%M:%S')}] scoring: {name}", file=sys.stderr, flush=True)
    from tabsynth.evaluation._schema import infer_kinds
    from tabsynth.evaluation.fairness import fairness_section

    kinds = infer_kinds(train)
    sec = fairness_section(train, table, holdout, kinds, protected=PROTECTED, target=TARGET,
                           positive=">50K", random_state=seed)
    m = sec["downstream"]["models"]["release"]
    shares = {g["label"]: g["release_share"] for g in sec["groups"]}
    return {"row": name, "seed": seed, "rows": len(table), **m, "shares": shares, **extra,
            "notes": sec["notes"]}


def run_seed(train, holdout, seed: int, epochs: int, dp_epochs: int | None) -> list[dict]:
    from tabsynth import ARSynthesizer, rebalance

    out = [_score("real only", train, train, holdout, seed, {})]
    ar = ARSynthesizer(epochs=epochs, random_state=seed, verbose=False, device="cpu")
    with Timer() as t:
        ar.fit(train, _metadata(train, private=False))
    fit = {"fit_s": round(t.seconds, 1)}
    with Timer() as t:
        aug = rebalance(train, protected=PROTECTED, model=ar, keep_real=True, random_state=seed,
                        verbose=False)
    out.append(_score("AR + real, rebalanced (not DP)", aug.table, train, holdout, seed,
                      {**fit, "sample_s": round(t.seconds, 1), "dp": aug.privacy["dp"]}))
    with Timer() as t:
        syn = rebalance(protected=PROTECTED, model=ar, keep_real=False, n=len(train),
                        random_state=seed, verbose=False)
    out.append(_score("AR synthetic, rebalanced (not DP)", syn.table, train, holdout, seed,
                      {**fit, "sample_s": round(t.seconds, 1), "dp": syn.privacy["dp"]}))
    params = {} if dp_epochs is None else {"epochs": dp_epochs}
    dp = ARSynthesizer(epsilon=1.0, delta=1e-5, random_state=seed, verbose=False, device="cpu",
                       **params)
    with Timer() as t:
        dp.fit(train, _metadata(train, private=True))
    fit = {"fit_s": round(t.seconds, 1), "epsilon": round(dp.privacy_spent_["epsilon"], 4)}
    plain = dp.sample(len(train), random_state=seed)
    out.append(_score("DP AR synthetic, eps 1 (own shares)", plain, train, holdout, seed,
                      {**fit, "dp": True}))
    with Timer() as t:
        dps = rebalance(protected=PROTECTED, model=dp, keep_real=False, n=len(train),
                        random_state=seed, verbose=False)
    out.append(_score("DP AR synthetic, eps 1, rebalanced", dps.table, train, holdout, seed,
                      {**fit, "sample_s": round(t.seconds, 1), "dp": dps.privacy["dp"]}))
    return out


def _fmt(x) -> str:
    return "—" if x is None else f"{x:.3f}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0", help="comma list of seeds")
    ap.add_argument("--epochs", type=int, default=100, help="most epochs of the non-DP AR "
                    "(early stopping on a validation split)")
    ap.add_argument("--dp-epochs", type=int, default=None,
                    help="epochs of the DP AR (default: its DP schedule)")
    ap.add_argument("--data", default=None, help="adult.csv (default: ../shared/datasets)")
    ap.add_argument("--train-rows", type=int, default=None,
                    help="smoke test only: a stratified subsample of the train split")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    train, holdout = load_adult(args.data)
    if args.train_rows:
        train = train.groupby(TARGET, group_keys=False).sample(
            frac=args.train_rows / len(train), random_state=0).reset_index(drop=True)
    start = time.perf_counter()
    rows = []
    for seed in seeds:
        rows += run_seed(train, holdout, seed, args.epochs, args.dp_epochs)
    print(f"# bench_fairness: adult {len(train):,} train / {len(holdout):,} holdout, protected "
          f"{' x '.join(PROTECTED)}, target {TARGET} (>50K); seeds {seeds}; AR epochs "
          f"{args.epochs}, DP epochs {args.dp_epochs or 'schedule'}; "
          f"{dt.date.today().isoformat()}; {machine()}; {time.perf_counter() - start:.0f} s")
    print("\n| row | seed | rows | accuracy | ROC AUC | DP difference | EO gap | fit s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['row']} | {r['seed']} | {r['rows']:,} | {_fmt(r['accuracy'])} | "
              f"{_fmt(r['roc_auc'])} | {_fmt(r['demographic_parity_difference'])} | "
              f"{_fmt(r['equalized_odds_gap'])} | {r.get('fit_s', '')} |")
    labels = list(rows[0]["shares"])
    print("\nGroup shares of each training table (seed " + str(seeds[0]) + "):\n")
    print("| group | " + " | ".join(r["row"] for r in rows if r["seed"] == seeds[0]) + " |")
    print("|---|" + "---|" * sum(r["seed"] == seeds[0] for r in rows))
    for lab in labels:
        vals = [f"{r['shares'].get(lab, 0.0):.3f}" for r in rows if r["seed"] == seeds[0]]
        print(f"| {lab} | " + " | ".join(vals) + " |")
    print("\nNotes (holdout groups left out of the gaps):")
    for note in rows[0]["notes"]:
        print(f"- {note}")


if __name__ == "__main__":
    main()
