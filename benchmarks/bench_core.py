"""Core benchmark: tabsynth CTGAN/TVAE vs SDV's CTGANSynthesizer/TVAESynthesizer, one run.

Run in the interop environment (SDV pins pandas < 3):

    .venv-interop/bin/python benchmarks/bench_core.py --epochs 50

Prints, for each family: seconds per epoch (ours, SDV, ratio), sampling rows/s (ours, SDV,
ratio) and quality (Column Shapes, Column Pair Trends with SDMetrics' definitions, and
train-on-synthetic AUC on the 20% holdout) at equal epochs, batch size and network sizes.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timer, load_adult, machine, quality  # noqa: E402

warnings.filterwarnings("ignore")


def sdv_fit(family: str, train, epochs: int, batch_size: int):
    from sdv.metadata import Metadata as SDVMetadata
    from sdv.single_table import CTGANSynthesizer, TVAESynthesizer

    meta = SDVMetadata.detect_from_dataframes({"table": train}, infer_keys=None)
    if family == "ctgan":
        synth = CTGANSynthesizer(meta, epochs=epochs, batch_size=batch_size,
                                 generator_dim=(256, 256), discriminator_dim=(256, 256),
                                 embedding_dim=128, enforce_rounding=True, enable_gpu=False)
    else:
        synth = TVAESynthesizer(meta, epochs=epochs, batch_size=batch_size,
                                compress_dims=(128, 128), decompress_dims=(128, 128),
                                embedding_dim=128, enable_gpu=False)
    with Timer() as t:
        synth.fit({"table": train})  # SDV 2: single-table fit/sample take/return {name: df}
    return synth, t


def sdv_sample(synth, n: int):
    out = synth.sample(n)
    return out["table"] if isinstance(out, dict) else out


def ours_fit(family: str, train, epochs: int, batch_size: int, seed: int):
    from tabsynth import CTGAN, TVAE

    if family == "ctgan":
        model = CTGAN(epochs=epochs, batch_size=batch_size, generator_dim=(256, 256),
                      discriminator_dim=(256, 256), embedding_dim=128, random_state=seed,
                      verbose=False, device="cpu")
    else:
        model = TVAE(epochs=epochs, batch_size=batch_size, compress_dims=(128, 128),
                     decompress_dims=(128, 128), embedding_dim=128, random_state=seed,
                     verbose=False, device="cpu")
    with Timer() as t:
        model.fit(train)
    return model, t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--families", default="ctgan,tvae")
    ap.add_argument("--sample-rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-sdv", action="store_true", help="only measure tabsynth")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()

    train, holdout = load_adult()
    print(f"adult: {len(train)} train / {len(holdout)} holdout rows; {machine()}")
    results = {}
    for family in args.families.split(","):
        row = {}
        peers = [("tabsynth", None)] + ([] if args.no_sdv else [("sdv", None)])
        for who, _ in peers:
            if who == "tabsynth":
                model, fit_t = ours_fit(family, train, args.epochs, args.batch_size, args.seed)
                sample = lambda n, m=model: m.sample(n, random_state=args.seed)  # noqa: E731
            else:
                model, fit_t = sdv_fit(family, train, args.epochs, args.batch_size)
                sample = lambda n, m=model: sdv_sample(m, n)  # noqa: E731
            sample(1000)  # warm-up
            with Timer() as t:
                big = sample(args.sample_rows)
            synth = big.iloc[: len(train)]
            q = quality(train, synth, holdout, target="income", seed=args.seed)
            row[who] = {"fit_s": fit_t.seconds, "s_per_epoch": fit_t.seconds / args.epochs,
                        "cpu_s_per_epoch": fit_t.cpu_seconds / args.epochs,
                        "rows_per_s": args.sample_rows / t.seconds,
                        "rows_per_cpu_s": args.sample_rows / t.cpu_seconds, **q}
            r = row[who]
            print(f"{family:6s} {who:9s} {r['s_per_epoch']:7.3f} s/epoch "
                  f"({r['cpu_s_per_epoch']:.3f} CPU s)  "
                  f"{r['rows_per_s']:10,.0f} rows/s  shapes {r['shapes']:.3f}  "
                  f"trends {r['trends']:.3f}  TSTR AUC {r['tstr_auc']:.3f} "
                  f"(TRTR {r['trtr_auc']:.3f})", flush=True)
        if "sdv" in row:
            o, s = row["tabsynth"], row["sdv"]
            epoch_ratio = o["s_per_epoch"] / s["s_per_epoch"]
            print(f"{family:6s} ratio     epoch time ours/SDV = {epoch_ratio:.2f}x"
                  f" (CPU {o['cpu_s_per_epoch'] / s['cpu_s_per_epoch']:.2f}x)"
                  f"   sampling ours/SDV = {o['rows_per_s'] / s['rows_per_s']:.2f}x"
                  f" (CPU {o['rows_per_cpu_s'] / s['rows_per_cpu_s']:.2f}x)", flush=True)
        results[family] = row
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
