"""Aggregate plots as base64 PNG strings (matplotlib, Agg backend; no pyplot state).

Only aggregates are drawn, never individual records:

* numeric/datetime columns: density histograms of real vs synthetic on 30 bins over the
  real table's 1st-99th percentile range (values beyond fall into the edge bins, so no
  extreme real value is drawn);
* categorical columns: category shares, the 20 most frequent real categories; categories
  seen fewer than 10 times in the real table are pooled into "(other)" so no rare label
  (which may identify a person) is printed;
* a heatmap of ``1 - score`` of the column-pair trends;
* for page one, the rare class (the target's rarest class, within the scenario of a
  conditioned release): its share of the real table vs the release, and the distribution of
  the column the release keeps least well, real vs synthetic, within the class.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._schema import Kind
from .fidelity import CONTINUOUS, as_float

REAL_COLOR, SYN_COLOR = "#1f4e79", "#e07b39"
TOP_CATEGORIES = 20
MIN_CATEGORY_COUNT = 10
MAX_PLOTTED_COLUMNS = 60
MIN_RARE_ROWS = 50  # real rows needed to draw a distribution within the rare class


def _figure(width: float, height: float, layout: str | None = None):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=90, layout=layout)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _style(ax, title: str) -> None:
    ax.set_title(title, fontsize=10, loc="left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=7)


def _draw(ax, real: pd.Series, synthetic: pd.Series, kind: Kind) -> int:
    """Real vs synthetic shares of one column on ``ax``; the number of category rows drawn."""
    if kind in CONTINUOUS:
        xr, xs = as_float(real), as_float(synthetic)
        xr, xs = xr[~np.isnan(xr)], xs[~np.isnan(xs)]
        lo, hi = np.percentile(xr, [1, 99]) if len(xr) else (0.0, 1.0)
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, 31)
        for x, color, label in ((xr, REAL_COLOR, "real"), (xs, SYN_COLOR, "synthetic")):
            counts, _ = np.histogram(np.clip(x, lo, hi), bins=edges)
            share = counts / max(counts.sum(), 1)
            ax.stairs(share, edges, color=color, label=label, linewidth=1.6,
                      fill=label == "real", alpha=0.35 if label == "real" else 1.0)
        ax.set_ylabel("share of rows", fontsize=7)
        if kind == "datetime":
            ticks = np.linspace(lo, hi, 4)
            ax.set_xticks(ticks, [str(pd.Timestamp(int(t // 1_000), unit="us").date())
                                  for t in ticks])  # (as_float: ns, past 2262 too)
        return 0
    r = real.astype("object").where(real.notna(), "(missing)")
    s = synthetic.astype("object").where(synthetic.notna(), "(missing)")
    counts = r.value_counts()
    shown = [c for c in counts.index[:TOP_CATEGORIES] if counts[c] >= MIN_CATEGORY_COUNT]
    r = r.where(r.isin(shown), "(other)")
    s = s.where(s.isin(shown), "(other)")
    cats = shown + (["(other)"] if (r == "(other)").any() or (s == "(other)").any() else [])
    pr = r.value_counts(normalize=True).reindex(cats, fill_value=0).to_numpy()
    ps = s.value_counts(normalize=True).reindex(cats, fill_value=0).to_numpy()
    y = np.arange(len(cats))
    ax.barh(y - 0.2, pr, height=0.4, color=REAL_COLOR, label="real")
    ax.barh(y + 0.2, ps, height=0.4, color=SYN_COLOR, label="synthetic")
    ax.set_yticks(y, [str(c)[:28] for c in cats], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("share of rows", fontsize=7)
    return len(cats)


def marginal_plot(real: pd.Series, synthetic: pd.Series, kind: Kind, title: str) -> str:
    """Real vs synthetic marginal of one column as a base64 PNG."""
    fig = _figure(4.2, 2.6)
    ax = fig.add_subplot()
    n_cats = _draw(ax, real, synthetic, kind)
    if n_cats:
        fig.set_figheight(max(1.8, 0.6 + 0.22 * n_cats))
    _style(ax, title)
    ax.legend(fontsize=7, frameon=False)
    return _png(fig)


def rare_class_plot(real: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, Kind],
                    minority: Any) -> str | None:
    """Page one's plot for the rare class (``minority``: the ``minority_column_shapes``
    result): its share of the real table vs the release, and the real vs synthetic
    distribution, within the class, of the column the release keeps least well.

    ``real`` holds the real rows the section compared (the class, within the scenario). With
    fewer than :data:`MIN_RARE_ROWS` of them only the shares are drawn.
    """
    if minority is None or not minority.ran:
        return None
    d = minority.details
    cols = [r for r in d.get("columns", []) if r["score"] is not None]
    if not cols or len(real) == 0 or len(synthetic) == 0:
        return None
    worst = min(cols, key=lambda r: r["score"])
    # too few real rows: a distribution would all but show them, so only the shares are drawn
    drawable = len(real) >= MIN_RARE_ROWS
    fig = _figure(8.4 if drawable else 3.4, 2.8, layout="constrained")
    if drawable:
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 2.2]})
    else:
        ax1 = fig.add_subplot()
    shares = [d.get("real_share") or 0.0, d.get("synthetic_share") or 0.0]
    ax1.bar([0, 1], shares, color=[REAL_COLOR, SYN_COLOR], width=0.6)
    ax1.set_xticks([0, 1], ["real", "synthetic"], fontsize=8)
    for x, v in enumerate(shares):
        ax1.text(x, v, f"{v:.1%}", ha="center", va="bottom", fontsize=8)
    label = f"class {d['class']}" if "class" in d else "scenario"
    where = " and scenario" if "class" in d and "scenario" in d else ""
    _style(ax1, f"share of rows in the {label}{where}")
    if not drawable:
        return _png(fig)
    n_cats = _draw(ax2, real[worst["column"]], synthetic[worst["column"]], worst["kind"])
    if n_cats:
        fig.set_figheight(max(2.8, 0.6 + 0.22 * n_cats))
    _style(ax2, f"{worst['column']} within the {label}{where} (least well kept; score "
                f"{worst['score']:.2f})")
    ax2.legend(fontsize=7, frameon=False)
    return _png(fig)


def marginal_plots(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, Kind],
    scores: Mapping[str, float | None] | None = None,
) -> dict[str, str]:
    """Column name -> base64 PNG of its real vs synthetic marginal (first 60 columns)."""
    out = {}
    for col in list(kinds)[:MAX_PLOTTED_COLUMNS]:
        score = (scores or {}).get(col)
        title = col if score is None else f"{col}  (score {score:.2f})"
        out[col] = marginal_plot(real[col], synthetic[col], kinds[col], title)
    return out


def pair_heatmap(pairs: list[dict[str, Any]], columns: list[str]) -> str | None:
    """Heatmap of ``1 - score`` over column pairs (darker = relationship less well kept)."""
    if not pairs:
        return None
    idx = {c: i for i, c in enumerate(columns)}
    n = len(columns)
    mat = np.full((n, n), np.nan)
    np.fill_diagonal(mat, 0.0)
    for p in pairs:
        if p["score"] is not None and p["column_1"] in idx and p["column_2"] in idx:
            i, j = idx[p["column_1"]], idx[p["column_2"]]
            mat[i, j] = mat[j, i] = 1.0 - p["score"]
    size = min(10.0, 2.5 + 0.38 * n)
    fig = _figure(size + 1.2, size)
    ax = fig.add_subplot()
    im = ax.imshow(np.ma.masked_invalid(mat), cmap="Reds", vmin=0.0, vmax=max(0.3, np.nanmax(mat)))
    ax.set_xticks(range(n), [c[:18] for c in columns], rotation=90, fontsize=7)
    ax.set_yticks(range(n), [c[:18] for c in columns], fontsize=7)
    cbar = fig.colorbar(im, ax=ax, shrink=0.8)
    cbar.ax.tick_params(labelsize=7)
    cbar.set_label("1 − pair score (0 = relationship kept)", fontsize=8)
    ax.set_title("Column pair trends: where relationships differ", fontsize=10, loc="left")
    return _png(fig)
