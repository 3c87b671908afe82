"""Power of the privacy audits: DP fits vs their non-private positive controls.

    python benchmarks/audit_power.py                 # one-run, epsilon 1 and 2 (minutes)
    python benchmarks/audit_power.py --multi-run     # + multi-run, 40 trials (tens of minutes)

Prints, per claim, the lower bound of the DP fit and of the same audit on a non-private fit
(same canaries, parameters and seed). The audit is informative only when the control exceeds
the claim: then a DP fit whose bound stays below it is evidence, not an audit that could not
fail. Figures in the README come from this script.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

from tabsynth import Metadata, datasets
from tabsynth.audit import audit_multi_run, audit_one_run

COLUMNS = ["age", "hours-per-week", "sex", "income"]
PARAMS = {"epochs": 10, "batch_size": 64, "embedding_dim": 8, "compress_dims": (32,),
          "decompress_dims": (32,), "learning_rate": 0.03, "device": "cpu"}


def table(n: int):
    df = datasets.load("adult").sample(n, random_state=2).reset_index(drop=True)[COLUMNS]
    meta = Metadata.detect(df, warn=False)
    meta.update_column("sex", public_domain=["Female", "Male"])
    meta.update_column("income", public_domain=["<=50K", ">50K"])
    meta.update_column("age", public_bounds=[17, 90])
    meta.update_column("hours-per-week", public_bounds=[1, 99])
    return df, meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--multi-run", action="store_true")
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    df, meta = table(args.rows)
    runs = [("one-run", eps, m) for eps in (1.0, 2.0) for m in (100, 200)]
    if args.multi_run:
        runs.append(("multi-run", 1.0, 40))
    for method, eps, size in runs:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method == "one-run":
                res = audit_one_run(df, meta, epsilon=eps, model_params=PARAMS,
                                    n_canaries=size, positive_control=True,
                                    random_state=args.seed)
            else:
                res = audit_multi_run(df, meta, epsilon=eps, model_params=PARAMS,
                                      n_trials=size, positive_control=True,
                                      random_state=args.seed)
        seconds = time.perf_counter() - start
        print(f"{method:9s} eps={eps:g} size={size:3d}: DP lower bound "
              f"{res['epsilon_lower']:.3f}, positive control "
              f"{res['positive_control_epsilon_lower']:.3f}, "
              f"{res['n_correct']}/{res['n_guesses']} right, passed={res['passed']} "
              f"({seconds:.0f} s)")
        print("   ", json.dumps(res))


if __name__ == "__main__":
    main()
