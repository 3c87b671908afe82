"""Small real tables bundled with tabsynth (installed as ``tabsynth.datasets``).

>>> from tabsynth import datasets
>>> datasets.list()
['adult', 'fraud', 'stroke']
>>> df = datasets.load("stroke")

Sources, licences and checksums: ``datasets/README.md`` in the repository (also shipped here).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from importlib import resources

import pandas as pd

__all__ = ["DatasetInfo", "info", "list", "load"]


@dataclass(frozen=True)
class DatasetInfo:
    """What a bundled table is and how to model it."""

    name: str
    filename: str
    target: str
    positive: object
    drop: tuple[str, ...]
    source: str
    licence: str


_DATASETS: dict[str, DatasetInfo] = {
    "adult": DatasetInfo(
        "adult", "adult.csv", "income", ">50K", (),
        "UCI Adult / Census Income (10,000-row stratified sample)", "CC BY 4.0",
    ),
    "fraud": DatasetInfo(
        "fraud", "fraud.csv", "FraudFound_P", 1, ("PolicyNumber",),
        "Vehicle Insurance Claim Fraud, Oracle 'carclaims' (8,000-row stratified sample)",
        "not stated; research use only",
    ),
    "stroke": DatasetInfo(
        "stroke", "stroke.csv", "stroke", 1, ("id",),
        "Stroke Prediction Dataset (Kaggle fedesoriano), all 5,110 rows",
        "not stated; research use only",
    ),
}


def list() -> builtins.list[str]:  # noqa: A001 - mirrors the documented API
    """Names of the bundled tables."""
    return sorted(_DATASETS)


def info(name: str) -> DatasetInfo:
    """Source, licence, target and columns to drop for a bundled table."""
    try:
        return _DATASETS[name]
    except KeyError:
        raise ValueError(
            f"Unknown dataset {name!r}. Available: {', '.join(sorted(_DATASETS))}."
        ) from None


def load(name: str, *, drop_ids: bool = True) -> pd.DataFrame:
    """Load a bundled table as a DataFrame (id columns dropped unless ``drop_ids=False``)."""
    meta = info(name)
    with resources.files(__name__).joinpath(meta.filename).open("rb") as fh:
        df = pd.read_csv(fh)
    if drop_ids:
        df = df.drop(columns=builtins.list(meta.drop))
    return df
