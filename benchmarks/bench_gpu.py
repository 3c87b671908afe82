"""One GPU, one prepared run (<= 5 minutes): epoch time, DP epoch time and sampling speed of
every tabsynth family against SDV's CTGAN / TVAE on the same GPU (issue 16 item 6).

Per family (``ar``, ``ctgan``, ``tvae``) on the adult protocol's training split (the shared
adult table; the bundled 10,000-row sample where the shared folder is absent, e.g. on a lent GPU
machine that only has the repository):

* non-DP seconds per epoch, as the slope between a fit of ``E1`` and one of ``E2`` epochs (the
  one-off preprocessing cancels out);
* DP seconds per epoch: one DP-SGD fit (epsilon 1, delta 1e-5, dtypes + the published codebook
  declared public, as the demo) divided by the epochs its budget gave (``training_summary_``);
* sampling rows/s (``--sample-rows`` rows after a warm-up);
* SDV's CTGAN / TVAE (``enable_gpu=True``) measured the same way in the same run, when ``sdv``
  is importable (the interop environment), and the ratios ours / SDV.

    python benchmarks/bench_gpu.py                       # on a CUDA machine
    python benchmarks/bench_gpu.py --device cpu --epochs 1,2 --sample-rows 20000 --quick
                                                        # dry run of the script on a CPU

Without CUDA and without ``--device cpu`` it stops with exit code 2 and says so.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SHARED, Timer, load_adult  # noqa: E402

warnings.filterwarnings("ignore")

FAMILIES = ("ar", "ctgan", "tvae")


def _data(quick: bool):
    if (SHARED / "datasets" / "adult.csv").exists():
        train, _ = load_adult()
        source = "shared adult, training split (complete rows, 80%)"
    else:
        from tabsynth import datasets

        train = datasets.load("adult").dropna().reset_index(drop=True)
        source = "bundled adult sample (complete rows)"
    if quick:
        train = train.head(3000).reset_index(drop=True)
        source += ", first 3,000 rows (--quick)"
    return train, source


def _ours(family: str, device: str, epochs: int, **kw):
    from tabsynth import CTGAN, TVAE, ARSynthesizer

    cls = {"ar": ARSynthesizer, "ctgan": CTGAN, "tvae": TVAE}[family]
    extra = {"patience": 10 ** 6} if family == "ar" and "epsilon" not in kw else {}
    return cls(epochs=epochs, random_state=0, verbose=False, device=device, **extra, **kw)


def _sdv(family: str, train, epochs: int, gpu: bool):
    from sdv.metadata import Metadata as SDVMetadata
    from sdv.single_table import CTGANSynthesizer, TVAESynthesizer

    meta = SDVMetadata.detect_from_dataframes({"table": train}, infer_keys=None)
    cls = CTGANSynthesizer if family == "ctgan" else TVAESynthesizer
    synth = cls(meta, epochs=epochs, batch_size=500, enable_gpu=gpu)
    with Timer() as t:
        synth.fit({"table": train})
    return synth, t.seconds


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def measure_ours(family: str, train, device: str, epochs: tuple[int, int],
                 sample_rows: int, dp: bool) -> dict:
    fits = {}
    model = None
    for e in epochs:
        model = _ours(family, device, e)
        start = time.perf_counter()
        model.fit(train)
        _sync(device)
        fits[e] = time.perf_counter() - start
    out = {"epoch_s": (fits[epochs[1]] - fits[epochs[0]]) / (epochs[1] - epochs[0]),
           "fit_s": fits}
    model.sample(1000, random_state=0)
    start = time.perf_counter()
    model.sample(sample_rows, random_state=1)
    _sync(device)
    out["sample_rows_s"] = sample_rows / (time.perf_counter() - start)
    if dp:
        from tabsynth import Metadata
        from tabsynth.datasets.codebooks import declare_public

        md = declare_public(Metadata.from_dtypes(train), "adult")
        model = _ours(family, device, epochs[1], epsilon=1.0, delta=1e-5)
        start = time.perf_counter()
        model.fit(train, md)
        _sync(device)
        seconds = time.perf_counter() - start
        done = int(model.training_summary_["epochs"])
        out.update(dp_fit_s=seconds, dp_epochs=done, dp_epoch_s=seconds / max(done, 1),
                   dp_epsilon_spent=float(model.privacy_spent_["epsilon"]))
    return out


def measure_sdv(family: str, train, gpu: bool, epochs: tuple[int, int], sample_rows: int):
    fits, synth = {}, None
    for e in epochs:
        synth, fits[e] = _sdv(family, train, e, gpu)
    synth.sample(1000)
    start = time.perf_counter()
    synth.sample(sample_rows)
    return {"epoch_s": (fits[epochs[1]] - fits[epochs[0]]) / (epochs[1] - epochs[0]),
            "fit_s": fits, "sample_rows_s": sample_rows / (time.perf_counter() - start)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu (dry run)")
    ap.add_argument("--epochs", default="2,6", help="two epoch counts for the per-epoch slope")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--sample-rows", type=int, default=1_000_000)
    ap.add_argument("--no-dp", action="store_true", help="skip the DP fits")
    ap.add_argument("--no-sdv", action="store_true", help="skip SDV even where installed")
    ap.add_argument("--quick", action="store_true", help="3,000 rows (a dry run of the script)")
    ap.add_argument("--json", help="write the figures here as well")
    args = ap.parse_args(argv)

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("bench_gpu: no CUDA device on this machine; run it where one is, or pass "
              "--device cpu for a dry run of the script", file=sys.stderr)
        return 2
    e1, e2 = (int(x) for x in args.epochs.split(","))
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    bad = sorted(set(families) - set(FAMILIES))
    if bad or e2 <= e1 or e1 < 1:
        ap.error(f"--families from {FAMILIES} and --epochs E1,E2 with 1 <= E1 < E2 "
                 f"(got {args.families!r}, {args.epochs!r})")
    train, source = _data(args.quick)
    gpu_name = (torch.cuda.get_device_name(torch.device(args.device))
                if args.device.startswith("cuda") else "cpu")
    print(f"device: {gpu_name}; torch {torch.__version__}; data: {source}, {len(train):,} rows "
          f"x {train.shape[1]} columns; epochs {e1},{e2}; {args.sample_rows:,} sampled rows")
    try:
        import sdv  # noqa: F401
        have_sdv = not args.no_sdv
    except ImportError:
        have_sdv = False
        print("sdv is not installed here: tabsynth alone (no ratios)")
    results: dict[str, dict] = {}
    started = time.perf_counter()
    for fam in families:
        ours = measure_ours(fam, train, args.device, (e1, e2), args.sample_rows, not args.no_dp)
        results[fam] = {"tabsynth": ours}
        line = (f"{fam:6s} tabsynth: {ours['epoch_s']:.3f} s/epoch, "
                f"{ours['sample_rows_s']:,.0f} rows/s")
        if "dp_epoch_s" in ours:
            line += (f", DP {ours['dp_epoch_s']:.3f} s/epoch ({ours['dp_epochs']} epochs, "
                     f"{ours['dp_fit_s']:.1f} s, epsilon {ours['dp_epsilon_spent']:.3f})")
        print(line, flush=True)
        if have_sdv and fam in ("ctgan", "tvae"):
            peer = measure_sdv(fam, train, args.device.startswith("cuda"), (e1, e2),
                               args.sample_rows)
            results[fam]["sdv"] = peer
            print(f"{fam:6s} SDV:      {peer['epoch_s']:.3f} s/epoch, "
                  f"{peer['sample_rows_s']:,.0f} rows/s; ratio ours/SDV epoch time "
                  f"{ours['epoch_s'] / peer['epoch_s']:.2f}x, sampling speed "
                  f"{ours['sample_rows_s'] / peer['sample_rows_s']:.2f}x", flush=True)
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": gpu_name, "data": source,
                                               "results": results}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
