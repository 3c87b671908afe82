"""Aggregate plots as base64 PNG strings (matplotlib, Agg backend; no pyplot state).

Only aggregates are drawn, never individual records:

* numeric/datetime columns: density histograms of real vs synthetic on 30 bins over the
  real table's 1st-99th percentile range (values beyond fall into the edge bins, so no
  extreme real value is drawn);
* categorical columns: category shares, the 20 most frequent real categories; categories
  seen fewer than 10 times in the real table are pooled into "(other)" so no rare label
  (which may identify a person) is printed;
* a heatmap of ``1 - score`` of the column-pair trends.
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


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=90)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _style(ax, title: str) -> None:
    ax.set_title(title, fontsize=10, loc="left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=7)


def marginal_plot(real: pd.Series, synthetic: pd.Series, kind: Kind, title: str) -> str:
    """Real vs synthetic marginal of one column as a base64 PNG."""
    fig = _figure(4.2, 2.6)
    ax = fig.add_subplot()
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
            ax.set_xticks(ticks, [str(pd.Timestamp(int(t)).date()) for t in ticks])
    else:
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
        fig.set_figheight(max(1.8, 0.6 + 0.22 * len(cats)))
    _style(ax, title)
    ax.legend(fontsize=7, frameon=False)
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
