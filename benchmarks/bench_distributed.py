"""Multi-process training (torch.distributed, gloo): fit time with 1 and 2 processes.

A model (``--model ar|ctgan|tvae``, default ar) on a bundled table (adult: 10,000 rows x 15
columns), a fixed number of epochs (the AR without DP: no early stop, ``patience`` = epochs),
then the DP-SGD route at one epsilon; each setting with ``nproc`` 1 (``model.fit``) and 2
(:func:`tabsynth.fit_distributed`: the workers use ``cores // nproc`` threads each). Prints
seconds per fit (statistics + spawning + training), the final loss (non-DP: the AR's
validation loss, CTGAN's generator loss, TVAE's loss) and the privacy spent (DP, identical
by construction), and, with ``--quality``, the SDMetrics-style shapes / trends of 5,000 rows
sampled from each fit against the table.

    python benchmarks/bench_distributed.py --table adult --epochs 10 --dp-epochs 5
    python benchmarks/bench_distributed.py --model tvae --epochs 30 --dp-epochs 10 --quality
"""

from __future__ import annotations

import argparse
import time
import warnings


def main() -> None:
    from tabsynth import CTGAN, TVAE, ARSynthesizer, datasets, fit_distributed

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", default="adult")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--dp-epochs", type=int, default=5)
    ap.add_argument("--epsilon", type=float, default=1.0)
    ap.add_argument("--nproc", default="1,2")
    ap.add_argument("--model", choices=["ar", "ctgan", "tvae"], default="ar")
    ap.add_argument("--seed", type=int, default=0, help="random_state of every fit")
    ap.add_argument("--quality", action="store_true",
                    help="also score 5,000 sampled rows per fit (shapes / trends)")
    args = ap.parse_args()
    cls = {"ar": ARSynthesizer, "ctgan": CTGAN, "tvae": TVAE}[args.model]
    warnings.simplefilter("ignore")
    df = datasets.load(args.table)
    print(f"{args.table}: {len(df):,} rows x {df.shape[1]} columns, {cls.__name__}")
    nodp = {"epochs": args.epochs}
    if cls is ARSynthesizer:
        nodp["patience"] = args.epochs
    for label, params in (
        ("non-DP", nodp),
        (f"DP eps={args.epsilon:g}", {"epochs": args.dp_epochs, "epsilon": args.epsilon,
                                      "delta": 1e-5}),
    ):
        for nproc in (int(x) for x in args.nproc.split(",")):
            model = cls(random_state=args.seed, verbose=False, **params)
            start = time.perf_counter()
            if nproc == 1:
                model.fit(df)
            else:
                fit_distributed(model, df, nproc=nproc)
            seconds = time.perf_counter() - start
            extra = ""
            last = model.loss_history_.iloc[-1]
            for key in ("val_loss", "generator_loss", "loss"):
                if key in last.index:
                    extra = f"{key} {float(last[key]):.4f}"
                    break
            if model.privacy_spent_ is not None:
                extra = (f"epsilon {model.privacy_spent_['epsilon']:.4f}, noise multiplier "
                         f"{model.dp_schedule_['noise_multiplier']:.4f}")
            if args.quality:
                from tabsynth.evaluation._schema import infer_kinds
                from tabsynth.evaluation.fidelity import column_pair_trends, column_shapes

                syn, kinds = model.sample(5000, random_state=0), infer_kinds(df)
                shapes = column_shapes(df, syn, kinds).value
                trends = column_pair_trends(df, syn, kinds, pair_binning="own").value
                extra += f"  shapes {shapes:.3f} trends {trends:.3f}"
            print(f"{label:14s} nproc={nproc}: {seconds:7.1f} s  {extra}", flush=True)


if __name__ == "__main__":
    main()
