"""Rare-event oversampling benchmark (issue 5).

Datasets (``/work/shared/datasets``, or ``TABSYNTH_SHARED``):

* ``fraud_oracle.csv`` — target ``FraudFound_P`` (about 6% positive), ``PolicyNumber`` dropped;
* ``stroke.csv`` — target ``stroke`` (about 5% positive), ``id`` dropped, shuffled (seed 0).

Protocol: one fixed stratified 70/30 split (seed 0). A HistGradientBoostingClassifier (native
categorical support) is trained on

(a) the real training rows only;
(b) real + SMOTE-NC (imbalanced-learn) up to minority/majority = ``--ratio``;
(c) real + tabsynth oversampling (non-DP) up to ``--ratio``. Default: the recipe
    ``Oversampler("tvae", per_class=True, filter_synthetic=0.5)`` — a TVAE trained on the
    minority rows only, synthetic rows that a classifier trained on the real training rows
    scores below half the base rate dropped (cleaning; non-private). These settings were
    chosen by 3-fold cross-validation on the TRAINING part only (never the holdout).
    ``--c-model ctgan --c-filter 0 --no-c-per-class`` gives the former setting (one
    conditional CTGAN on X+y, exact conditional sampling, no cleaning);
(d) a fully synthetic training set from a DP CTGAN (epsilon=1; ``--d-route``: the marginals
    route by default, ``dpsgd`` for DP-SGD), minority class oversampled to
    ``--ratio`` (``Oversampler(keep_real=False)``; class sizes from the model's DP statistics);

and evaluated on the real holdout: minority PR-AUC (average precision) and recall at
precision >= 0.5, mean ± std over ``--seeds`` seeds (the seed drives the generator and the
classifier; the split is fixed).

Timing: seconds to generate 10,000 minority rows (``FraudFound_P = 1``) from a fitted tabsynth
CTGAN versus SDV's ``CTGANSynthesizer.sample_from_conditions`` (same epochs). The SDV part runs
only where SDV is importable (the interop environment)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_rare.py --seeds 2 --epochs 10
    OMP_NUM_THREADS=1 .venv-interop/bin/python benchmarks/bench_rare.py --timing-only
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SHARED, machine  # noqa: E402

warnings.filterwarnings("ignore")

DATASETS = {
    "fraud_oracle": ("fraud_oracle.csv", "FraudFound_P", ["PolicyNumber"]),
    "stroke": ("stroke.csv", "stroke", ["id"]),
}


def load(name: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    from sklearn.model_selection import train_test_split

    file, target, drop = DATASETS[name]
    df = pd.read_csv(SHARED / "datasets" / file).drop(columns=drop)
    df = df.sample(frac=1.0, random_state=0).reset_index(drop=True)  # shuffle (stroke is sorted)
    train, holdout = train_test_split(df, test_size=0.3, stratify=df[target], random_state=0)
    return train.reset_index(drop=True), holdout.reset_index(drop=True), target


# ----------------------------------------------------------------------------- scoring
def _prepare(X: pd.DataFrame, domains: dict[str, list]) -> pd.DataFrame:
    X = X.copy()
    for col, cats in domains.items():
        X[col] = pd.Categorical(X[col].astype(object).where(X[col].notna(), None), categories=cats)
    return X


def score(X_train: pd.DataFrame, y_train, X_test: pd.DataFrame, y_test, seed: int,
          domains: dict[str, list]) -> dict[str, float]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import average_precision_score, precision_recall_curve

    clf = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    clf.fit(_prepare(X_train, domains), np.asarray(y_train).astype(int))
    p = clf.predict_proba(_prepare(X_test, domains))[:, 1]
    y = np.asarray(y_test).astype(int)
    precision, recall, _ = precision_recall_curve(y, p)
    ok = precision >= 0.5
    return {"pr_auc": float(average_precision_score(y, p)),
            "recall_at_p50": float(recall[ok].max()) if ok.any() else 0.0}


def smote_nc(X: pd.DataFrame, y: pd.Series, ratio: float, seed: int):
    from imblearn.over_sampling import SMOTENC

    cat = [i for i, c in enumerate(X.columns) if not pd.api.types.is_numeric_dtype(X[c])]
    Xo = X.copy()
    for c in Xo.columns[cat]:
        Xo[c] = Xo[c].astype(object)
    num = [c for c in Xo.columns if c not in Xo.columns[cat]]
    Xo[num] = Xo[num].fillna(Xo[num].median())  # SMOTE cannot take NaN (bmi has some)
    return SMOTENC(categorical_features=cat, sampling_strategy=ratio,
                   random_state=seed).fit_resample(Xo, y)


# ----------------------------------------------------------------------------- main parts
def run_dataset(name: str, seeds: list[int], epochs: int, ratio: float, dp_epsilon: float,
                dp_epochs: int, methods: list[str], c_model: str = "tvae",
                c_per_class: bool = True, c_filter: float | None = 0.5,
                d_route: str = "marginals", d_model: str = "ctgan",
                d_public_labels: bool = False) -> dict[str, list[dict]]:
    from tabsynth import Oversampler

    train, holdout, target = load(name)
    X, y = train.drop(columns=[target]), train[target]
    Xh, yh = holdout.drop(columns=[target]), holdout[target]
    full = pd.concat([X, Xh])
    domains = {c: sorted(full[c].dropna().astype(object).unique().tolist(), key=str)
               for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])}
    print(f"\n## {name}: train {len(train):,} rows ({y.mean():.2%} positive), holdout "
          f"{len(holdout):,}", flush=True)
    res: dict[str, list[dict]] = {m: [] for m in methods}
    for seed in seeds:
        t0 = time.perf_counter()
        if "a" in methods:
            res["a"].append(score(X, y, Xh, yh, seed, domains))
        if "b" in methods:
            Xs, ys = smote_nc(X, y, ratio, seed)
            res["b"].append(score(Xs, ys, Xh, yh, seed, domains))
        if "c" in methods:
            over = Oversampler(c_model, sampling_strategy=ratio, random_state=seed,
                               per_class=c_per_class, filter_synthetic=c_filter or None,
                               model_params={"epochs": epochs, "verbose": False})
            Xc, yc = over.fit_resample(X, y)
            res["c"].append(score(Xc, yc, Xh, yh, seed, domains))
        if "d" in methods:
            try:
                params = {"route": d_route, "verbose": False}
                if d_route == "dpsgd" and dp_epochs:
                    params["epochs"] = dp_epochs
                if d_model == "ar":  # DP-SGD only; its own DP schedule unless --dp-epochs
                    params = {"verbose": False} | ({"epochs": dp_epochs} if dp_epochs else {})
                # both data cards document a 0/1 flag: declaring it is allowed (public)
                labels = {"classes": [0, 1]} if d_public_labels else {}
                over = Oversampler(d_model, epsilon=dp_epsilon, **labels, sampling_strategy=ratio,
                                   random_state=seed, keep_real=False, model_params=params)
                Xd, yd = over.fit_resample(X, y)
                r = score(Xd, yd, Xh, yh, seed, domains)
                r["epsilon_spent"] = over.privacy_report_["epsilon"]
                res["d"].append(r)
            except Exception as exc:  # noqa: BLE001 - DP may not be wired yet
                print(f"  (d) skipped: {type(exc).__name__}: {exc}", flush=True)
                methods = [m for m in methods if m != "d"]
                res.pop("d", None)
        print(f"  seed {seed}: " + ", ".join(
            f"({m}) {res[m][-1]['pr_auc']:.3f}" for m in res if res[m]) +
            f"  [{time.perf_counter() - t0:.0f} s]", flush=True)
    return res


LABELS = {"a": "(a) real only", "b": "(b) real + SMOTE-NC",
          "c": "(c) real + tabsynth CTGAN", "d": "(d) synthetic only, DP CTGAN eps=1"}


def c_label(model: str, per_class: bool, filt: float | None) -> str:
    parts = [model.upper() + (" per class" if per_class else "")]
    if filt:
        parts.append(f"cleaned @ {filt:g}x base rate")
    return "(c) real + tabsynth " + ", ".join(parts)


def paired(results: dict[str, dict[str, list[dict]]]) -> str:
    """Paired t-tests over seeds (same seed = same classifier seed): (c) and (d) against (a)
    and (b), on PR-AUC and on recall at precision 0.5."""
    from scipy.stats import ttest_rel

    lines = ["| dataset | comparison | PR-AUC diff (mean) | p | recall diff (mean) | p |",
             "|---|---|---|---|---|---|"]
    for ds, res in results.items():
        for m in ("c", "d"):
            for ref in ("a", "b"):
                x, r = res.get(m) or [], res.get(ref) or []
                if len(x) < 2 or len(x) != len(r):
                    continue
                cells = []
                for key in ("pr_auc", "recall_at_p50"):
                    u = np.array([v[key] for v in x])
                    w = np.array([v[key] for v in r])
                    p = ttest_rel(u, w).pvalue if np.any(u != w) else 1.0
                    cells += [f"{(u - w).mean():+.3f}", f"{p:.3f}"]
                lines.append(f"| {ds} | ({m}) - ({ref}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table(results: dict[str, dict[str, list[dict]]]) -> str:
    lines = ["| dataset | training set | PR-AUC | recall @ precision 0.5 |",
             "|---|---|---|---|"]
    for ds, res in results.items():
        for m, runs in res.items():
            if not runs:
                continue
            pr = np.array([r["pr_auc"] for r in runs])
            rc = np.array([r["recall_at_p50"] for r in runs])
            lines.append(f"| {ds} | {LABELS[m]} | {pr.mean():.3f} ± {pr.std():.3f} | "
                         f"{rc.mean():.3f} ± {rc.std():.3f} |")
    return "\n".join(lines)


def timing(epochs: int, n_rows: int = 10_000) -> dict[str, float | str]:
    """Seconds to generate ``n_rows`` rows of FraudFound_P = 1: tabsynth vs SDV."""
    from tabsynth import CTGAN

    train, _, target = load("fraud_oracle")
    out: dict[str, float | str] = {"minority_share": float(train[target].mean())}
    model = CTGAN(epochs=epochs, random_state=0, verbose=False).fit(train)
    model.sample(100, conditions={target: 1}, random_state=0)  # warm-up
    t = time.perf_counter()
    rows = model.sample(n_rows, conditions={target: 1}, random_state=1)
    out["tabsynth_s"] = time.perf_counter() - t
    assert len(rows) == n_rows and (rows[target] == 1).all()
    try:
        from sdv.metadata import Metadata as SDVMetadata
        from sdv.sampling import Condition
        from sdv.single_table import CTGANSynthesizer
    except ImportError:
        print("SDV is not importable here: skipping the SDV timing (run this script with "
              ".venv-interop/bin/python).", flush=True)
        return out
    if hasattr(SDVMetadata, "detect_from_dataframe"):
        meta = SDVMetadata.detect_from_dataframe(train)
    else:  # SDV 2.x
        meta = SDVMetadata.detect_from_dataframes({"table": train})
    synth = CTGANSynthesizer(meta, epochs=epochs)
    try:
        synth.fit(train)
    except Exception:  # noqa: BLE001 - SDV 2.x takes {table_name: DataFrame}
        synth.fit({"table": train})
    t = time.perf_counter()
    try:
        sdv_rows = synth.sample_from_conditions(
            [Condition(num_rows=n_rows, column_values={target: 1})])
        out["sdv_s"] = time.perf_counter() - t
        out["sdv_rows"] = int(len(sdv_rows))
    except Exception as exc:  # noqa: BLE001 - report SDV's failure as a result
        out["sdv_s"] = time.perf_counter() - t
        out["sdv_error"] = f"{type(exc).__name__}: {exc}"[:300]
    if "sdv_rows" in out:
        out["speedup"] = float(out["sdv_s"]) / float(out["tabsynth_s"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5, help="number of seeds (0..N-1)")
    ap.add_argument("--epochs", type=int, default=100, help="CTGAN epochs for (c) and timing")
    ap.add_argument("--dp-epochs", type=int, default=None, help="epochs of the DP model (d)")
    ap.add_argument("--ratio", type=float, default=0.5, help="minority/majority after (b)-(d)")
    ap.add_argument("--epsilon", type=float, default=1.0, help="budget of the DP model (d)")
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    ap.add_argument("--methods", default="abcd", help="subset of abcd")
    ap.add_argument("--c-model", default="tvae", choices=["tvae", "ctgan", "ar"],
                    help="synthesizer of (c)")
    ap.add_argument("--c-per-class", default=True, action=argparse.BooleanOptionalAction,
                    help="(c): one model per class (minority-only model) vs one conditional")
    ap.add_argument("--c-filter", type=float, default=0.5,
                    help="(c): Oversampler(filter_synthetic=...); 0 = no cleaning")
    ap.add_argument("--d-model", default="ctgan", choices=["ctgan", "ar"],
                    help="model of (d); ar runs DP-SGD (its only route)")
    ap.add_argument("--d-public-labels", action="store_true",
                    help="(d): declare the label set {0, 1} public (both data cards document "
                         "it) instead of releasing it with a thresholded DP histogram")
    ap.add_argument("--d-route", default="marginals", choices=["marginals", "dpsgd"],
                    help="private training route of the DP model (d)")
    ap.add_argument("--timing-only", action="store_true")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--json", default=None, help="write the raw results here")
    args = ap.parse_args()
    print(f"machine: {machine()}; seeds {args.seeds}, epochs {args.epochs}, ratio {args.ratio}"
          f"; (c) {args.c_model}, per_class={args.c_per_class}, filter={args.c_filter}",
          flush=True)
    results: dict = {}
    if not args.timing_only:
        for ds in args.datasets:
            results[ds] = run_dataset(ds, list(range(args.seeds)), args.epochs, args.ratio,
                                      args.epsilon, args.dp_epochs or args.epochs,
                                      list(args.methods), args.c_model, args.c_per_class,
                                      args.c_filter, args.d_route, args.d_model,
                                      args.d_public_labels)
        LABELS["c"] = c_label(args.c_model, args.c_per_class, args.c_filter)
        d_route = "dpsgd" if args.d_model == "ar" else args.d_route
        LABELS["d"] = (f"(d) synthetic only, DP {args.d_model.upper()} ({d_route}) "
                       f"eps={args.epsilon:g}")
        print("\n" + table(results), flush=True)
        print("\n" + paired(results), flush=True)
    tim = None
    if not args.no_timing:
        tim = timing(args.epochs)
        print("\n10,000 rows of FraudFound_P = 1 (share "
              f"{tim['minority_share']:.1%}): tabsynth {tim['tabsynth_s']:.2f} s"
              + (f", SDV {tim['sdv_s']:.2f} s ({tim.get('speedup', float('nan')):.0f}x)"
                 if "sdv_s" in tim else "")
              + (f"; SDV error: {tim['sdv_error']}" if "sdv_error" in tim else ""), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results,
                                               "timing": tim}, indent=2))


if __name__ == "__main__":
    main()
