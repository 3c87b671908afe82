"""ARSynthesizer against its targets (issue #14), TabularARGN in the same run when installed.

Protocol (``_common.py``): adult complete rows, stratified 80/20 split seed 0 (fraud_oracle
and stroke: the 70/30 split of ``bench_rare.py``), column kinds from dtypes, SDMetrics'
Column Shapes / Column Pair Trends, TSTR ROC AUC with HistGradientBoosting on the real
holdout, as many synthetic rows as the train split has.

Per table and per setting (no DP, then each ``--epsilons`` value with delta 1e-5) it prints
shapes, trends, TSTR, fit seconds, sampling rows/s; for the non-DP model also the
distance-to-closest-record share against the holdout and the exact-copy rates, and the time to
sample ``--cond-rows`` rows of a class with about 1% frequency (adult: ``native-country``
value nearest to 1%). ``mostlyai-engine`` (TabularARGN) runs side by side when it imports
(``pip install mostlyai-engine`` in a separate environment, see ../shared/BENCHMARKS.md);
without it the peer columns are "not run".

    OMP_NUM_THREADS=2 python benchmarks/bench_ar.py                      # adult, no DP + eps 1
    python benchmarks/bench_ar.py --tables adult --epsilons 1,0.3,0.1 --no-peer
    python benchmarks/bench_ar.py --epsilons 1 --no-nodp --no-peer --grad-sample-mode ghost
    python benchmarks/bench_ar.py --tables fraud_oracle --epsilons "" --params '{"patience": 2}'

``--params`` passes more ``ARSynthesizer`` parameters (a JSON object) to every fit of ours.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, load_adult, machine, quality  # noqa: E402

from tabsynth.errors import TabsynthError  # noqa: E402
from tabsynth.privacy import PrivacyError  # noqa: E402

warnings.filterwarnings("ignore")

TARGETS = {"adult": "income", "fraud_oracle": "FraudFound_P", "stroke": "stroke"}


def load(table: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    if table == "adult":
        train, holdout = load_adult()
        return train, holdout, "income"
    from bench_rare import load as load_rare

    return load_rare(table)


def rare_value(train: pd.DataFrame, target: str) -> tuple[str, object, float]:
    """A (column, value) with frequency nearest to 1% among the categorical columns."""
    best = None
    for col in train.columns:
        if col == target or pd.api.types.is_numeric_dtype(train[col]):
            continue
        freq = train[col].value_counts(normalize=True)
        for value, share in freq.items():
            gap = abs(np.log(share / 0.01))
            if best is None or gap < best[0]:
                best = (gap, col, value, float(share))
    if best is None:  # no categorical column: the rarer target class
        share = train[target].value_counts(normalize=True)
        return target, share.idxmin(), float(share.min())
    return best[1], best[2], best[3]


def privacy(train: pd.DataFrame, syn: pd.DataFrame, holdout: pd.DataFrame) -> dict[str, float]:
    from tabsynth.evaluation._schema import infer_kinds
    from tabsynth.evaluation.privacy_risk import privacy_risk_metrics

    kinds = infer_kinds(train)
    res = privacy_risk_metrics(train, syn, holdout, kinds=kinds, target=None, random_state=0,
                               max_rows=6000)
    got = {m.name: m.value for m in res}
    return {k: float(got[k]) for k in ("dcr_closer_to_train_share", "exact_copy_rate",
                                       "exact_copy_rate_holdout") if k in got}


def range_diagnosis(train: pd.DataFrame, syn: pd.DataFrame) -> dict[str, float]:
    """Diagnostic, not a release: trends with each numeric column of ``syn`` clipped to the
    real column's range and one row each set to the real minimum and maximum.

    SDMetrics' pair trends bin each table's numeric column on its own range, so a release's
    single most extreme row moves every bin of every pair that column is in. The gap between
    this figure and the release's shows how much of a trends shortfall is range alignment
    (extremes held by a few rows, which a DP fit cannot see) rather than dependence."""
    from tabsynth.evaluation._schema import infer_kinds
    from tabsynth.evaluation.fidelity import column_pair_trends

    kinds = infer_kinds(train)
    x = syn.copy()
    for col in train.columns:
        if kinds.get(col) != "numerical" or not pd.api.types.is_numeric_dtype(x[col]):
            continue
        lo, hi = train[col].min(), train[col].max()
        col_vals = x[col].clip(lo, hi)
        if col_vals.notna().sum() >= 2:
            col_vals.loc[col_vals.idxmin()], col_vals.loc[col_vals.idxmax()] = lo, hi
        x[col] = col_vals.astype(x[col].dtype)
    return {"trends_real_ranges": float(column_pair_trends(train, x, kinds,
                                                           pair_binning="own").value)}


def rare_fidelity(train: pd.DataFrame, syn: pd.DataFrame, target: str) -> dict[str, float]:
    """Shapes and trends of the rarer target class's own rows (real train vs release)."""
    from tabsynth.evaluation._schema import infer_kinds
    from tabsynth.evaluation.fidelity import column_pair_trends, column_shapes

    rare = train[target].value_counts().idxmin()
    a, b = train[train[target] == rare], syn[syn[target] == rare]
    if len(b) < 2:
        return {"rare_shapes": float("nan"), "rare_trends": float("nan")}
    kinds = {k: v for k, v in infer_kinds(train).items() if k != target}
    a, b = a.drop(columns=[target]), b.drop(columns=[target])
    return {"rare_shapes": float(column_shapes(a, b, kinds).value),
            "rare_trends": float(column_pair_trends(a, b, kinds, pair_binning="own").value)}


def ours(train, holdout, target, epsilon, seed, cond_rows, with_privacy, dp_params=None,
         params=None):
    """Fit, sample and score ``ARSynthesizer``: ``params`` for every fit, ``dp_params`` for
    the DP fits only (``epsilon`` not None)."""
    from tabsynth import ARSynthesizer

    kw = dict(params or {})
    if epsilon is not None:
        kw |= {"epsilon": epsilon, "delta": 1e-5, **(dp_params or {})}
    model = ARSynthesizer(random_state=seed, verbose=False, device="cpu", **kw)
    with Timer() as t_fit:
        model.fit(train)
    with Timer() as t_s:
        syn = model.sample(len(train), random_state=seed)
    out = {"fit_s": t_fit.seconds, "fit_cpu_s": t_fit.cpu_seconds,
           "rows_per_s": len(syn) / t_s.seconds,
           "epochs": int(model.training_summary_.get("epochs", 0) or 0)}
    out |= quality(train, syn, holdout, target, seed=seed)
    if target != "income":
        out |= rare_fidelity(train, syn, target)
    out |= range_diagnosis(train, syn)
    if epsilon is not None:
        out["epsilon_spent"] = float(model.privacy_spent_["epsilon"])
    if with_privacy:
        out |= privacy(train, syn, holdout)
    if cond_rows:
        col, value, share = rare_value(train, target)
        t0 = time.perf_counter()
        cond = model.sample(cond_rows, conditions={col: value}, random_state=seed)
        out["cond_s"] = time.perf_counter() - t0
        out["cond"] = f"{col}={value!r} ({share:.2%})"
        out["cond_exact"] = bool(len(cond) == cond_rows and (cond[col] == value).all())
    return out


def peer_dp_config(epsilon: float, vp_share: float = 0.5) -> dict:
    """TabularARGN's DP mode at a total ``epsilon`` (delta 1e-5): ``vp_share`` of it for its
    value protection (DP ranges and category sets; 0.5 as our ``preprocessing_share``), training
    stopped by the engine when analysis + DP-SGD reach ``epsilon`` (it adds the two); its
    noise multiplier and clipping at their defaults. Its early stopping reads a validation
    split of real rows outside that budget (the engine's design, not ours)."""
    return {"max_epsilon": epsilon, "delta": 1e-5, "value_protection_epsilon": epsilon * vp_share}


def peer(train, holdout, target, seed, epochs, with_privacy, epsilon=None, vp_share=0.5):
    """TabularARGN (mostlyai-engine) on the same split, or None when it is not installed;
    ``epsilon``: its DP mode (:func:`peer_dp_config`)."""
    try:
        from mostlyai import engine
    except Exception:  # noqa: BLE001 - any import failure means "not run"
        return None
    from mostlyai.engine.domain import DifferentialPrivacyConfig

    dp = None if epsilon is None else DifferentialPrivacyConfig(**peer_dp_config(epsilon, vp_share))
    with tempfile.TemporaryDirectory() as ws:
        with Timer() as t_fit:
            engine.split(workspace_dir=ws, tgt_data=train)
            engine.analyze(workspace_dir=ws, differential_privacy=dp)
            engine.encode(workspace_dir=ws)
            engine.train(workspace_dir=ws, max_epochs=epochs, device="cpu",
                         differential_privacy=dp)
        with Timer() as t_s:
            engine.generate(workspace_dir=ws, sample_size=len(train), device="cpu")
        syn = pd.read_parquet(Path(ws) / "SyntheticData")
    syn = syn[train.columns].astype({c: train[c].dtype for c in train.columns}, errors="ignore")
    out = {"fit_s": t_fit.seconds, "fit_cpu_s": t_fit.cpu_seconds,
           "rows_per_s": len(syn) / t_s.seconds}
    out |= quality(train, syn, holdout, target, seed=seed)
    if target != "income":
        out |= rare_fidelity(train, syn, target)
    if with_privacy:
        out |= privacy(train, syn, holdout)
    return out


def rare_text(r: dict) -> str:
    if "rare_shapes" not in r:
        return ""
    return f"  rare class: shapes {r['rare_shapes']:.3f} trends {r['rare_trends']:.3f}"


def fmt(x, spec=".3f"):
    return "not run" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)


def json_object(text: str) -> dict:
    """``--params``: a JSON object (an argparse error otherwise)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON ({exc}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"not a JSON object: {text!r}")
    return value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tables", default="adult", help="comma list: adult,fraud_oracle,stroke")
    ap.add_argument("--epsilons", default="1", help="comma list; empty for no DP fits")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cond-rows", type=int, default=10_000)
    ap.add_argument("--peer-epochs", type=int, default=30)
    ap.add_argument("--no-peer", action="store_true", help="do not run TabularARGN")
    ap.add_argument("--peer-vp-share", type=float, default=0.5,
                    help="share of epsilon for TabularARGN's DP value protection (default 0.5)")
    ap.add_argument("--no-ours", action="store_true", help="run only the peer (TabularARGN)")
    ap.add_argument("--no-privacy", action="store_true", help="skip the DCR / copy figures")
    ap.add_argument("--preprocessing-share", type=float,
                    help="ARSynthesizer(preprocessing_share=...) of the DP fits (default: the "
                         "class default)")
    ap.add_argument("--grad-sample-mode", choices=["auto", "direct", "ghost", "hooks"],
                    help="ARSynthesizer(grad_sample_mode=...) of the DP fits (default: the class "
                         "default, 'auto': the closed-form clipping)")
    ap.add_argument("--params", type=json_object, default={},
                    help="more ARSynthesizer parameters for every fit of ours, as a JSON "
                         "object, e.g. '{\"patience\": 2}' or '{\"batch_size\": 4000}'")
    ap.add_argument("--no-nodp", action="store_true",
                    help="skip the non-DP fit (and the TabularARGN comparison)")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    epsilons = [float(e) for e in args.epsilons.split(",") if e.strip()]
    print(f"# bench_ar  seed {args.seed}  {machine()}  {time.strftime('%Y-%m-%d')}")
    results = []
    for table in args.tables.split(","):
        train, holdout, target = load(table)
        print(f"\n## {table}: train {len(train):,} / holdout {len(holdout):,}, target {target}")
        real = quality(train, holdout, holdout, target, seed=args.seed)
        print(f"real holdout as release: shapes {real['shapes']:.3f} trends {real['trends']:.3f}"
              f"  TRTR {real['trtr_auc']:.3f}")
        runs = ([] if args.no_nodp else [("AR", None)]) + [(f"AR eps={e:g}", e)
                                                           for e in epsilons]
        dp_params = ({} if args.preprocessing_share is None
                     else {"preprocessing_share": args.preprocessing_share})
        if args.grad_sample_mode is not None:
            dp_params["grad_sample_mode"] = args.grad_sample_mode
        for label, eps in [] if args.no_ours else runs:
            try:
                r = ours(train, holdout, target, eps, args.seed,
                         args.cond_rows if eps is None else 0,
                         eps is None and not args.no_privacy, dp_params, args.params)
            except (TabsynthError, PrivacyError) as exc:  # e.g. a budget too small
                print(f"{label:12s} refused: {exc}")
                results.append({"table": table, "model": label, "refused": str(exc)})
                continue
            results.append({"table": table, "model": label, **r})
            print(f"{label:12s} shapes {r['shapes']:.3f} trends {r['trends']:.3f} "
                  f"TSTR {r['tstr_auc']:.3f}  fit {r['fit_s']:.1f} s ({r['epochs']} ep) "
                  f"sample {r['rows_per_s']:,.0f} rows/s"
                  + (f"  eps spent {r['epsilon_spent']:.3f}" if eps is not None else "")
                  + (f"  DCR share {r['dcr_closer_to_train_share']:.3f} copies "
                     f"{r['exact_copy_rate']:.4f} (holdout {r['exact_copy_rate_holdout']:.4f})"
                     if "dcr_closer_to_train_share" in r else "") + rare_text(r))
            print(f"{'':12s} diagnostic: trends {r['trends_real_ranges']:.3f} with the real "
                  "numeric ranges planted (not a release; see range_diagnosis)")
            if "cond_s" in r:
                print(f"{'':12s} {args.cond_rows:,} rows of {r['cond']} in {r['cond_s']:.2f} s, "
                      f"all exact: {r['cond_exact']}")
        for eps in [] if args.no_peer else epsilons:
            pd_ = peer(train, holdout, target, args.seed, args.peer_epochs, False, eps,
                       args.peer_vp_share)
            if pd_ is None:
                break
            label = f"TabularARGN eps={eps:g} (value protection {args.peer_vp_share:g})"
            results.append({"table": table, "model": label, **pd_})
            print(f"{label:12s} shapes {pd_['shapes']:.3f} trends {pd_['trends']:.3f} "
                  f"TSTR {pd_['tstr_auc']:.3f}  fit {pd_['fit_s']:.1f} s" + rare_text(pd_))
        p = None if args.no_peer or args.no_nodp else peer(train, holdout, target, args.seed,
                                           args.peer_epochs, not args.no_privacy)
        if p is None:
            print("TabularARGN  not run (mostlyai-engine not installed or --no-peer)")
            continue
        results.append({"table": table, "model": "TabularARGN", **p})
        ar = next((r for r in results if r["table"] == table and r["model"] == "AR"), None)
        print(f"TabularARGN  shapes {p['shapes']:.3f} trends {p['trends']:.3f} "
              f"TSTR {p['tstr_auc']:.3f}  fit {p['fit_s']:.1f} s sample "
              f"{p['rows_per_s']:,.0f} rows/s"
              + (f"  DCR share {p['dcr_closer_to_train_share']:.3f}"
                 if "dcr_closer_to_train_share" in p else "") + rare_text(p))
        if ar is None:
            continue
        print(f"AR / TabularARGN: shapes {ar['shapes'] / p['shapes']:.3f}  trends "
              f"{ar['trends'] / p['trends']:.3f}  TSTR {ar['tstr_auc'] / p['tstr_auc']:.3f}  "
              f"fit time {ar['fit_s'] / p['fit_s']:.2f}  "
              f"sampling {ar['rows_per_s'] / p['rows_per_s']:.1f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
