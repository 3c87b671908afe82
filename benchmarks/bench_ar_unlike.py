"""ARSynthesizer at default settings on generated tables unlike adult (issue #14).

Five seeded tables, each stressing one thing the issue asks the defaults to hold:

* ``factors``  - 40 numeric columns from a 3-factor model (+ noise) and 3 categoricals cut
  from the factors: many correlated numerics;
* ``wide``     - 200 columns: 120 numeric (4 factors) and 80 categoricals (5 levels, half
  cut from the factors);
* ``highcard`` - a Zipf(1.1) categorical over 2,000 values, one with 20 values, an amount
  that depends on the 20-value one;
* ``amounts``  - an amount with 60% exact zeros and a lognormal tail, a balance with the
  sentinel -999 in 5% of the rows, an integer count (negative binomial, range ~0-100);
* ``dates``    - two datetimes (10% / 20% missing; the second after the first) and a
  categorical.

Per table and setting (no DP; DP at epsilon 1, delta 1e-5 with public bounds/domains
declared from the generator, never from the rows) it prints fit (wall and CPU) and sampling
seconds, the peak resident memory of a fresh process doing the fit (each run is a child
process), the SDMetrics Column Shapes / Column Pair Trends
(:mod:`tabsynth.evaluation.fidelity`) and the table's own properties (zero / sentinel shares,
tail quantiles, integers, coverage of the high-cardinality column, datetime range, missing
rates), real beside synthetic.

    OMP_NUM_THREADS=2 python benchmarks/bench_ar_unlike.py                  # all, both
    python benchmarks/bench_ar_unlike.py --tables amounts,dates --settings nodp
    python benchmarks/bench_ar_unlike.py --tables wide --settings eps1,eps1-ghost
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

TABLES = ("factors", "wide", "highcard", "amounts", "dates")
SENTINEL = -999.0


# ---------------------------------------------------------------------------- tables
def _factor_numerics(rng: np.random.Generator, n: int, k: int, f: int) -> np.ndarray:
    z = rng.normal(size=(n, f))
    load = rng.normal(size=(f, k))
    return z @ load + 0.5 * rng.normal(size=(n, k)), z


def make_factors(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    x, z = _factor_numerics(rng, n, 40, 3)
    df = pd.DataFrame({f"x{i:02d}": x[:, i] for i in range(40)})
    for i in range(3):
        df[f"c{i}"] = pd.Series(np.asarray(["a", "b", "c", "d"])[np.digitize(
            z[:, i] + 0.3 * rng.normal(size=n), [-0.7, 0.0, 0.7])], dtype="str")
    public = {f"c{i}": {"public_domain": ("a", "b", "c", "d")} for i in range(3)}
    public.update({f"x{i:02d}": {"public_bounds": (-30.0, 30.0)} for i in range(40)})
    return df, public


def make_wide(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    x, z = _factor_numerics(rng, n, 120, 4)
    cols: dict[str, object] = {f"x{i:03d}": x[:, i] for i in range(120)}
    levels = np.asarray(["v0", "v1", "v2", "v3", "v4"])
    for i in range(80):
        if i % 2 == 0:
            score = z[:, i % 4] + 0.5 * rng.normal(size=n)
            cols[f"c{i:02d}"] = levels[np.digitize(score, [-1.0, -0.3, 0.3, 1.0])]
        else:
            cols[f"c{i:02d}"] = levels[rng.choice(5, size=n, p=[0.4, 0.3, 0.15, 0.1, 0.05])]
    df = pd.DataFrame(cols)
    for c in df.columns:
        if c.startswith("c"):
            df[c] = df[c].astype("str")
    public = {c: ({"public_domain": tuple(levels)} if c.startswith("c")
                  else {"public_bounds": (-40.0, 40.0)}) for c in df.columns}
    return df, public


def make_highcard(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    vocab = np.asarray([f"m{i:04d}" for i in range(2000)])
    w = 1.0 / np.arange(1, 2001) ** 1.1
    merchant = vocab[rng.choice(2000, size=n, p=w / w.sum())]
    regions = np.asarray([f"r{i:02d}" for i in range(20)])
    region = rng.choice(20, size=n)
    amount = np.round(np.exp(2.0 + 0.1 * region + 0.6 * rng.normal(size=n)), 2)
    df = pd.DataFrame({"merchant": pd.Series(merchant, dtype="str"),
                       "region": pd.Series(regions[region], dtype="str"), "amount": amount})
    public = {"merchant": {"public_domain": tuple(vocab)},
              "region": {"public_domain": tuple(regions)},
              "amount": {"public_bounds": (0.0, 1000.0)}}
    return df, public


def make_amounts(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    kind = rng.choice(np.asarray(["card", "cash", "wire"]), size=n, p=[0.6, 0.3, 0.1])
    zero = rng.random(n) < 0.6
    amount = np.where(zero, 0.0, np.round(np.exp(3.0 + 1.5 * rng.normal(size=n)), 2))
    balance = np.round(rng.normal(2000, 800, size=n), 2)
    balance[rng.random(n) < 0.05] = SENTINEL
    count = rng.negative_binomial(2, 0.1, size=n).astype("int64")
    df = pd.DataFrame({"kind": pd.Series(kind, dtype="str"), "amount": amount,
                       "balance": balance, "count": count})
    public = {"kind": {"public_domain": ("card", "cash", "wire")},
              "amount": {"public_bounds": (0.0, 1e6)},
              "balance": {"public_bounds": (-1000.0, 10000.0)},
              "count": {"public_bounds": (0, 500)}}
    return df, public


def make_dates(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2015-01-01")
    opened = start + pd.to_timedelta(rng.integers(0, 9 * 365, size=n), unit="D")
    closed = opened + pd.to_timedelta(np.round(np.exp(4 + rng.normal(size=n))), unit="D")
    opened = pd.Series(opened).where(rng.random(n) >= 0.10)
    closed = pd.Series(closed).where(rng.random(n) >= 0.20)
    status = rng.choice(np.asarray(["open", "closed", "frozen"]), size=n, p=[0.5, 0.4, 0.1])
    df = pd.DataFrame({"opened": opened, "closed": closed,
                       "status": pd.Series(status, dtype="str")})
    public = {"opened": {"public_bounds": ("2015-01-01", "2024-12-31")},
              "closed": {"public_bounds": ("2015-01-01", "2040-12-31")},
              "status": {"public_domain": ("open", "closed", "frozen")}}
    return df, public


MAKERS = {"factors": make_factors, "wide": make_wide, "highcard": make_highcard,
          "amounts": make_amounts, "dates": make_dates}


def metadata_for(df: pd.DataFrame, public: dict | None):
    """Detected metadata; with ``public``, the declared bounds/domains added (for DP)."""
    from tabsynth.metadata import Metadata

    md = Metadata.detect(df, warn=False)
    for name, fields in (public or {}).items():
        md = md.update_column(name, **fields)
    return md


# ---------------------------------------------------------------------------- properties
def properties(table: str, real: pd.DataFrame, syn: pd.DataFrame,
               public: dict | None = None) -> dict[str, object]:
    """The table's own properties, ``{name: (real, synthetic)}``. Datetimes are checked
    against the real range, or under DP (``public``) against the declared bounds."""
    out: dict[str, object] = {}
    if table == "amounts":
        for name, r, s in (("zero share", real.amount == 0, syn.amount == 0),
                           ("sentinel share", real.balance == SENTINEL,
                            syn.balance == SENTINEL)):
            out[name] = (float(r.mean()), float(s.mean()))
        for q in (0.5, 0.9, 0.99, 0.999):
            out[f"amount q{q}"] = (float(real.amount.quantile(q)), float(syn.amount.quantile(q)))
        rb, sb = real.balance[real.balance != SENTINEL], syn.balance[syn.balance != SENTINEL]
        out["balance mean (no sentinel)"] = (float(rb.mean()), float(sb.mean()))
        out["balance in (-999, 0)"] = (float(((real.balance > SENTINEL) & (real.balance < 0))
                                             .mean()),
                                       float(((syn.balance > SENTINEL) & (syn.balance < 0))
                                             .mean()))
        out["count integer"] = (bool((real["count"] == np.round(real["count"])).all()),
                                bool((syn["count"] == np.round(syn["count"])).all()))
        out["count dtype"] = (str(real["count"].dtype), str(syn["count"].dtype))
        out["count q0.99"] = (float(real["count"].quantile(0.99)),
                              float(syn["count"].quantile(0.99)))
    elif table == "highcard":
        rv = real.merchant.value_counts()
        out["merchant distinct"] = (int(rv.size), int(syn.merchant.nunique()))
        top = rv.index[:50]
        out["top-50 mass"] = (float(real.merchant.isin(top).mean()),
                              float(syn.merchant.isin(top).mean()))
        seen = rv.index[rv >= 5]
        out["values with >=5 rows covered"] = (1.0, float(pd.Index(seen).isin(
            syn.merchant.unique()).mean()))
        out["region distinct"] = (int(real.region.nunique()), int(syn.region.nunique()))
        out["amount~region corr"] = (
            float(real.region.str[1:].astype(int).corr(np.log(real.amount))),
            float(syn.region.str[1:].astype(int).corr(np.log(syn.amount.clip(lower=1e-9)))))
    elif table == "dates":
        for c in ("opened", "closed"):
            out[f"{c} missing"] = (float(real[c].isna().mean()), float(syn[c].isna().mean()))
            lo, hi = ((pd.Timestamp(b) for b in public[c]["public_bounds"]) if public
                      else (real[c].min(), real[c].max()))
            inside = ((syn[c] >= lo) & (syn[c] <= hi)) | syn[c].isna()
            out[f"{c} in range"] = (True, bool(inside.all()))
        both_r = real.dropna()
        both_s = syn.dropna()
        out["closed >= opened"] = (float((both_r.closed >= both_r.opened).mean()),
                                   float((both_s.closed >= both_s.opened).mean()))
        out["dtype"] = (str(real.opened.dtype), str(syn.opened.dtype))
    else:
        num = [c for c in real.columns if pd.api.types.is_numeric_dtype(real[c])]
        cr = real[num].corr().to_numpy()
        cs = syn[num].corr().to_numpy()
        iu = np.triu_indices(len(num), 1)
        out["mean |corr diff|"] = (0.0, float(np.abs(cr[iu] - cs[iu]).mean()))
        out["real |corr| mean"] = (float(np.abs(cr[iu]).mean()), float(np.abs(cs[iu]).mean()))
    return out


def fidelity(real: pd.DataFrame, syn: pd.DataFrame) -> tuple[float, float]:
    from tabsynth.evaluation._schema import infer_kinds
    from tabsynth.evaluation.fidelity import column_pair_trends, column_shapes

    kinds = infer_kinds(real)
    return (float(column_shapes(real, syn, kinds).value),
            float(column_pair_trends(real, syn, kinds, pair_binning="own").value))


def run_one(table: str, setting: str, seed: int = 0) -> dict[str, object]:
    """Fit and sample one table in this process; the figures as a dict."""
    from tabsynth import ARSynthesizer

    df, public = MAKERS[table](seed=seed)
    dp = setting != "nodp"
    md = metadata_for(df, public if dp else None)
    kwargs = {"epsilon": 1.0, "delta": 1e-5} if dp else {}
    if setting.endswith("-ghost"):  # Opacus' ghost clipping instead of the closed form
        kwargs["grad_sample_mode"] = "ghost"
    t0, c0 = time.perf_counter(), time.process_time()
    model = ARSynthesizer(random_state=seed, verbose=False, **kwargs).fit(df, md)
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    syn = model.sample(len(df))
    sample_s = time.perf_counter() - t0
    shapes, trends = fidelity(df, syn)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"table": table, "setting": setting, "rows": len(df), "columns": df.shape[1],
            "fit_s": round(fit_s, 1), "fit_cpu_s": round(fit_cpu, 1),
            "sample_s": round(sample_s, 2),
            "peak_rss_mb": round(peak), "epochs": int(model.training_summary_["epochs"]),
            "shapes": round(shapes, 3), "trends": round(trends, 3),
            "properties": properties(table, df, syn, public if dp else None)}


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tables", default=",".join(TABLES))
    ap.add_argument("--settings", default="nodp,eps1")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--one", nargs=2, metavar=("TABLE", "SETTING"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], args.seed)))
        return
    rows = []
    for table in args.tables.split(","):
        for setting in args.settings.split(","):
            proc = subprocess.run([sys.executable, __file__, "--one", table, setting,
                                   "--seed", str(args.seed)], capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{table} {setting}: FAILED\n{proc.stderr[-2000:]}", flush=True)
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append(r)
            print(f"\n{table} ({r['rows']} rows x {r['columns']} cols), {setting}: "
                  f"fit {r['fit_s']} s, CPU {r.get('fit_cpu_s')} s ({r['epochs']} epochs), "
                  f"sample {r['sample_s']} s, "
                  f"peak RSS {r['peak_rss_mb']} MB, shapes {r['shapes']}, "
                  f"trends {r['trends']}", flush=True)
            for name, (real, syn) in r["properties"].items():
                print(f"    {name:32s} real {_fmt(real):>12s}   synthetic {_fmt(syn):>12s}",
                      flush=True)
    print("\n| table | setting | fit s | fit CPU s | sample s | peak RSS MB | shapes | trends |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['table']} | {r['setting']} | {r['fit_s']} | {r.get('fit_cpu_s')} | "
              f"{r['sample_s']} | "
              f"{r['peak_rss_mb']} | {r['shapes']} | {r['trends']} |")


if __name__ == "__main__":
    main()
