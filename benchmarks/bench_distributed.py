"""Multi-process training (torch.distributed, gloo): fit time with 1 and 2 processes.

ARSynthesizer on a bundled table (adult: 10,000 rows x 15 columns), a fixed number of epochs
(non-DP: no early stop, ``patience`` = epochs), then the DP route at one epsilon; each setting
with ``nproc`` 1 (``model.fit``) and 2 (:func:`tabsynth.fit_distributed`: the workers use
``cores // nproc`` threads each). Prints seconds per fit (statistics + spawning + training), the
final validation loss (non-DP) and the privacy spent (DP, identical by construction).

    python benchmarks/bench_distributed.py --table adult --epochs 10 --dp-epochs 5
"""

from __future__ import annotations

import argparse
import time
import warnings


def main() -> None:
    from tabsynth import ARSynthesizer, datasets, fit_distributed

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", default="adult")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--dp-epochs", type=int, default=5)
    ap.add_argument("--epsilon", type=float, default=1.0)
    ap.add_argument("--nproc", default="1,2")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    df = datasets.load(args.table)
    print(f"{args.table}: {len(df):,} rows x {df.shape[1]} columns")
    for label, params in (
        ("non-DP", {"epochs": args.epochs, "patience": args.epochs}),
        (f"DP eps={args.epsilon:g}", {"epochs": args.dp_epochs, "epsilon": args.epsilon,
                                      "delta": 1e-5}),
    ):
        for nproc in (int(x) for x in args.nproc.split(",")):
            model = ARSynthesizer(random_state=0, verbose=False, **params)
            start = time.perf_counter()
            if nproc == 1:
                model.fit(df)
            else:
                fit_distributed(model, df, nproc=nproc)
            seconds = time.perf_counter() - start
            extra = ""
            if "val_loss" in model.loss_history_:
                extra = f"val_loss {float(model.loss_history_['val_loss'].iloc[-1]):.4f}"
            if model.privacy_spent_ is not None:
                extra = (f"epsilon {model.privacy_spent_['epsilon']:.4f}, noise multiplier "
                         f"{model.dp_schedule_['noise_multiplier']:.4f}")
            print(f"{label:14s} nproc={nproc}: {seconds:7.1f} s  {extra}", flush=True)


if __name__ == "__main__":
    main()
