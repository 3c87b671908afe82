"""Shared loading and scoring for the benchmarks (the protocol every issue refers to).

adult: /work/shared/datasets/adult.csv (or ``--data``), complete rows, stratified 80/20 split
with seed 0, column types from dtypes.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(os.environ.get("TABSYNTH_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def load_adult(path: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Complete rows of adult, stratified 80/20 split on ``income`` (seed 0)."""
    from sklearn.model_selection import train_test_split

    src = path or SHARED / "datasets" / "adult.csv"
    df = pd.read_csv(src, skipinitialspace=True, na_values=["?"]).dropna().reset_index(drop=True)
    train, holdout = train_test_split(df, test_size=0.2, stratify=df["income"], random_state=0)
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def quality(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame,
            target: str, seed: int = 0) -> dict[str, float]:
    """Column Shapes, Column Pair Trends (SDMetrics definitions) and TSTR AUC on the holdout."""
    from tabsynth.evaluation._schema import infer_kinds
    from tabsynth.evaluation.fidelity import column_pair_trends, column_shapes
    from tabsynth.evaluation.utility import utility_metrics

    kinds = infer_kinds(train)
    shapes = column_shapes(train, synthetic, kinds)
    # SDMetrics' QualityReport bins each table on its own range: "own" reproduces it, so the
    # figures compare with published ones (e.g. TabularARGN's).
    trends = column_pair_trends(train, synthetic, kinds, pair_binning="own")
    util = {m.name: m.value for m in utility_metrics(train, synthetic, holdout, kinds=kinds,
                                                      target=target, random_state=seed)}
    return {"shapes": float(shapes.value), "trends": float(trends.value),
            "tstr_auc": float(util.get("tstr_roc_auc", np.nan)),
            "trtr_auc": float(util.get("trtr_roc_auc", np.nan))}


class Timer:
    """Wall-clock ``seconds`` and this process's CPU time ``cpu_seconds`` (on a shared machine
    the CPU time is the steadier figure: it leaves out the time spent waiting for a core)."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        self.cpu_start = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
        self.cpu_seconds = time.process_time() - self.cpu_start


def machine() -> str:
    import torch

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
