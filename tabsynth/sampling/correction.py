"""Post-processing of a DP model's samples onto its DP-measured marginals (free: DESIGN.md rule 7).

A DP-SGD model's column marginals are usually further from the data than the DP statistics
it already holds (``stats_``: 101 quantiles per numerical column, category frequencies and
missing rates, all measured by mechanisms recorded in the ledger). This module corrects the
generated rows towards those statistics. It reads ONLY the fitted model (its networks and
``stats_``): never real data, so it is post-processing and costs no epsilon.

How (a fixed correction, estimated once per model from an unconditional pilot sample)
---------------------------------------------------------------------------------------
1. A pilot of :data:`PILOT_ROWS` unconditional rows is drawn from the model with a FIXED seed
   (independent of the caller's seed; the same model always gives the same correction, also
   after save/load).
2. **Categorical columns: a log-linear tilt.** Iterative proportional fitting (raking) on the
   pilot finds per-column factors ``f_j(c)`` such that the pilot, weighted by
   ``w(row) = prod_j f_j(row_j)``, has each column's DP frequencies (missing values as their
   own level, at the DP missing rate). Factors are clipped to ``[1/MAX_FACTOR, MAX_FACTOR]``.
   At sampling time every chunk is resampled (systematic resampling) with these row weights:
   rows are never edited, only re-weighted, so each row stays a coherent model sample and the
   joint structure is kept (it samples the tilted model ``p(x) w(x) / Z``). A condition on a
   category stays exact: every resampled row is a row that met it (the tilt on the conditioned
   column is then constant and has no effect).
3. **Numerical columns: a monotone quantile map** ``v -> Q_dp(F_model(v))``, ``F_model`` the
   (weighted, mid-rank) CDF of the tilted pilot, ``Q_dp`` the DP quantile function
   (interpolated between the 101 DP quantiles). Rank-preserving, so rank correlations are
   unchanged; atoms stay atoms. Integer columns are rounded, float columns rounded to the
   stats' ``decimals``. Their missing rate is moved to the DP missing rate value by value
   (a share of the NaNs is filled with draws from the DP quantile function, or a share of the
   values is blanked): re-weighting whole rows for it distorted the categorical columns.
   The map is fixed (not re-ranked per chunk), so a conditional sample gets the same map as
   an unconditional one, and ``sample_to`` gives the same rows chunk by chunk as ``sample``.

The correction is deterministic for a given sampling seed (resampling uses the sampling rng).
A DP-SGD model (``route="dpsgd"``) builds it at the end of its fit (and when its model file is
loaded: the same pilot, so the same correction) and holds it as ``correction_``; sampling
(:mod:`tabsynth.sampling.chunks`) receives it explicitly and applies it when
``marginal_correction`` is true (the default for DP models; set
``model.marginal_correction = False`` on a fitted model to sample the raw generator).
Datetime columns are left as generated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MarginalCorrection", "apply_correction", "build_correction", "correction_for",
           "corrects"]

#: Rows of the unconditional pilot sample behind the correction.
PILOT_ROWS = 20_000
#: Seed of the pilot sample (fixed: the correction is a function of the model only).
PILOT_SEED = 20_240_601
#: Largest up/down-weighting of one category.
MAX_FACTOR = 8.0
RAKE_ITERATIONS = 25


@dataclass
class MarginalCorrection:
    """A fixed correction: categorical tilt factors and numerical quantile maps."""

    # column -> (categories, factors for [categories..., missing]); categories ``None`` marks a
    # numerical/datetime column whose missingness ([present, missing]) is tilted
    tilts: dict[str, tuple[list | None, np.ndarray]] = field(default_factory=dict)
    # column -> (model knots (increasing), DP values at those knots, is_integer, decimals)
    maps: dict[str, tuple[np.ndarray, np.ndarray, bool, int | None]] = field(default_factory=dict)
    # column -> (model missing rate, DP missing rate, DP quantiles)
    missing: dict[str, tuple[float, float, np.ndarray]] = field(default_factory=dict)


def _codes(values: pd.Series, categories: list) -> np.ndarray:
    """Category index, ``len(categories)`` for missing or unknown values."""
    k = len(categories)
    lookup = {c: i for i, c in enumerate(categories)}
    out = np.fromiter((lookup.get(v, k) for v in values.tolist()), dtype=np.int64,
                      count=len(values))
    return out


def _targets(st: Any) -> np.ndarray:
    freq = np.clip(np.asarray(st.frequencies, dtype=float), 0.0, None)
    freq = freq / freq.sum() if freq.sum() > 0 else np.full(len(freq), 1.0 / len(freq))
    miss = float(st.missing_rate)
    return np.append(freq * (1.0 - miss), miss)


def build_correction(model: Any, pilot: pd.DataFrame | None = None) -> MarginalCorrection:
    """Estimate the correction of a fitted DP model (from its own unconditional pilot)."""
    from ..stats import CategoricalStats, NumericStats

    stats = model.stats_
    if pilot is None:
        pilot = _pilot(model)
    corr = MarginalCorrection()
    n = len(pilot)
    w = np.ones(n)
    # --- categorical tilt by raking
    cat_cols = [c for c, st in stats.columns.items()
                if isinstance(st, CategoricalStats) and c in pilot.columns]
    codes = {}
    targets = {}
    factors = {}
    for c in cat_cols:
        st = stats[c]
        cats = list(st.categories)
        codes[c] = _codes(pilot[c], cats)
        targets[c] = _targets(st)
        factors[c] = np.ones(len(cats) + 1)
    for _ in range(RAKE_ITERATIONS if cat_cols else 0):
        worst = 0.0
        for c in cat_cols:
            k = len(targets[c])
            cur = np.bincount(codes[c], weights=w, minlength=k) / w.sum()
            ratio = np.where(cur > 0, targets[c] / np.where(cur > 0, cur, 1.0), 1.0)
            new = np.clip(factors[c] * ratio, 1.0 / MAX_FACTOR, MAX_FACTOR)
            step = new / factors[c]
            factors[c] = new
            w = w * step[codes[c]]
            worst = max(worst, float(np.abs(cur - targets[c]).max()))
        if worst < 1e-4:
            break
    for c in cat_cols:
        fac = factors[c] / np.exp(np.mean(np.log(factors[c])))
        st = stats[c]
        corr.tilts[c] = (list(st.categories), fac)
    w = w / w.sum()
    # --- numerical quantile maps on the tilted pilot
    for c, st in stats.columns.items():
        if not isinstance(st, NumericStats) or st.quantiles is None or c not in pilot.columns:
            continue
        v = pd.to_numeric(pilot[c], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(v)
        if ok.sum() < 2:
            continue
        order = np.argsort(v[ok], kind="stable")
        vs, ws = v[ok][order], w[ok][order]
        uniq, start = np.unique(vs, return_index=True)
        mass = np.add.reduceat(ws, start)
        mass = mass / mass.sum()
        cdf = np.cumsum(mass)
        mid = cdf - mass / 2.0  # mid-rank CDF: an atom maps to one value
        q = np.asarray(st.quantiles, dtype=float)
        grid = np.linspace(0.0, 1.0, len(q))
        dp_vals = np.interp(mid, grid, np.maximum.accumulate(q))
        corr.maps[c] = (uniq, dp_vals, bool(st.is_integer), st.decimals)
        # missingness: the rate in the (tilted) pilot vs the DP missing rate
        p_model = float(w[~ok].sum())
        target = min(max(float(st.missing_rate), 0.0), 1.0)
        if abs(p_model - target) > 1e-3:
            corr.missing[c] = (p_model, target, np.maximum.accumulate(q))
    return corr


def _pilot(model: Any) -> pd.DataFrame:
    rng = np.random.default_rng(PILOT_SEED)
    generator = model._torch_generator(rng, model.device_)
    X = model._generate(PILOT_ROWS, exact=None, rng=rng, generator=generator)
    return model.transformer_.inverse_transform(X, rng=rng)


def corrects(model: Any, stats: Any) -> bool:
    """Whether a fit of ``model`` with ``stats`` gets a correction: DP-SGD models (DP
    statistics, ``route="dpsgd"``) whose class has not turned it off."""
    if not getattr(type(model), "marginal_correction", True):
        return False  # e.g. ARSynthesizer: it would move values out of a range condition
    if getattr(model, "epsilon", None) is None or getattr(model, "route", "dpsgd") != "dpsgd":
        return False
    return stats is not None and stats.source == "dp"


def correction_for(model: Any) -> MarginalCorrection | None:
    """The correction sampling applies: the fitted ``correction_`` (built by the fit, or when
    a model file is loaded), ``None`` when the model has none or ``marginal_correction`` is
    off."""
    if not getattr(model, "marginal_correction", True):
        return None
    return getattr(model, "correction_", None)


def apply_correction(df: pd.DataFrame, corr: MarginalCorrection,
                     rng: np.random.Generator) -> pd.DataFrame:
    """Resample ``df``'s rows with the categorical tilt, then map its numerical columns."""
    m = len(df)
    if m == 0:
        return df
    if corr.tilts:
        logw = np.zeros(m)
        for c, (cats, fac) in corr.tilts.items():
            if c in df.columns:
                code = (df[c].isna().to_numpy().astype(np.int64) if cats is None
                        else _codes(df[c], cats))
                logw += np.log(fac[code])
        w = np.exp(logw - logw.max())
        cum = np.cumsum(w)
        u = (rng.random() + np.arange(m)) / m * cum[-1]
        idx = np.minimum(np.searchsorted(cum, u, side="right"), m - 1)
        df = df.iloc[idx].reset_index(drop=True)
    else:
        df = df.copy()
    for c, (knots, vals, is_int, decimals) in corr.maps.items():
        if c not in df.columns:
            continue
        s = df[c]
        v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(v)
        if not ok.any() and c not in corr.missing:
            continue
        out = v.copy()
        out[ok] = np.interp(v[ok], knots, vals)
        if c in corr.missing:  # move the missing rate to the DP rate, value by value
            p_model, target, q = corr.missing[c]
            u = rng.random(len(out))
            if p_model > target:  # fill a share of the NaNs with draws from the DP quantiles
                fill = ~ok & (u < (p_model - target) / p_model)
                out[fill] = np.interp(rng.random(int(fill.sum())),
                                      np.linspace(0.0, 1.0, len(q)), q)
                ok = ok | fill
            else:  # blank a share of the values
                blank = ok & (u < (target - p_model) / max(1.0 - p_model, 1e-12))
                out[blank] = np.nan
                ok = ok & ~blank
        if is_int:
            out[ok] = np.round(out[ok])
        elif decimals is not None:
            out[ok] = np.round(out[ok], decimals)
        if pd.api.types.is_float_dtype(s.dtype):
            df[c] = out.astype(s.dtype)
        else:
            try:
                df[c] = pd.Series(out, index=df.index).astype(s.dtype)
            except (TypeError, ValueError):
                df[c] = out
    return df
