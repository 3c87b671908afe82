"""The sampling methods every synthesizer offers: ``sample``, ``sample_to``, ``sample_rare``.

:class:`SamplingMethods` is a mixin of :class:`~tabsynth.models.base.BaseSynthesizer`: it checks
a sampling call and hands it to :mod:`tabsynth.sampling` (:func:`~tabsynth.sampling.chunks.
iter_chunks`, :func:`~tabsynth.sampling.rare.sample_rare`), which reads the fitted model through
two hooks with defaults here: ``_plan_conditions`` (which conditions the network meets exactly)
and ``_generate_rows`` (``n`` decoded rows). It writes no fitted attribute.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._progress import counted_rows
from ..errors import check_param
from ..sampling.conditions import Condition, ParsedConditions
from .params import _is_int

__all__ = ["SamplingMethods"]


class SamplingMethods:
    """``sample`` / ``sample_to`` / ``sample_rare`` of a fitted synthesizer (a mixin of
    :class:`~tabsynth.models.base.BaseSynthesizer`, which provides ``_check_is_fitted``,
    ``_generate`` and ``transformer_``)."""

    def sample(
        self,
        n: int,
        *,
        conditions: Mapping[str, Any] | None = None,
        random_state: int | None = None,
        batch_size: int | None = None,
    ) -> pd.DataFrame:
        """Generate ``n`` synthetic rows.

        Parameters
        ----------
        n : int
            Number of rows (exactly this many are returned).
        conditions : dict, optional
            ``{column: value}`` for categorical/boolean columns, ``{column: (lo, hi)}`` for
            numerical/datetime ranges (inclusive, ``None`` open). See
            :mod:`tabsynth.sampling.conditions`.
        random_state : int, optional
            Seed; the same seed gives the same rows (on the same device).
        batch_size : int, optional
            Rows per network pass (default 20,000).

        Raises
        ------
        ConditionError
            Unknown column/value, or the conditions cannot be met within the rejection budget.
        """
        self._check_is_fitted()
        chunks = list(self._iter_chunks(n, None, conditions, random_state, batch_size, "sample"))
        if len(chunks) == 1:
            return chunks[0]
        return pd.concat(chunks, ignore_index=True)

    def sample_rare(self, n: int, *, column: str, **kwargs: Any) -> pd.DataFrame:
        """``n`` rows from a rare region of ``column``: a numeric tail (``quantile``, ``tail``)
        or its rare categories (``rare_threshold``).
        See :func:`tabsynth.sampling.rare.sample_rare`."""
        from ..sampling.rare import sample_rare

        return sample_rare(self, n, column=column, **kwargs)

    def sample_to(
        self,
        path: str | os.PathLike,
        n: int,
        *,
        conditions: Mapping[str, Any] | None = None,
        random_state: int | None = None,
        chunk_size: int = 50_000,
        batch_size: int | None = None,
        na_rep: str = "",
        progress: bool = False,
        sep: str = ",",
        decimal: str = ".",
    ) -> Path:
        """Stream ``n`` synthetic rows to a CSV or Parquet file in chunks (bounded memory).

        ``na_rep`` is the CSV token written for missing values (the input's, e.g. ``"NA"``);
        ``sep`` and ``decimal`` the CSV separator and decimal mark (``tabsynth sample`` passes
        the training CSV's).
        ``progress``: a bar over the rows written (``tqdm.auto``; the CLI's default).

        The file is written under a temporary name in the same folder and renamed at the end,
        so a failed run leaves nothing behind. CSV (``.csv``, ``.csv.gz``) gets its header
        once; Parquet (``.parquet``, ``.pq``) gets one row group per chunk.

        Returns
        -------
        pathlib.Path
            The written file.
        """
        from ..io import table_format, write_table_chunks

        self._check_is_fitted()
        owner = f"{type(self).__name__}.sample_to"
        fmt = table_format(path)
        check_param(owner, "path", str(path), fmt is not None,
                    "a path ending in .csv, .csv.gz, .parquet or .pq")
        check_param(owner, "chunk_size", chunk_size, _is_int(chunk_size) and chunk_size >= 1,
                    "an int >= 1")
        for name, mark in (("sep", sep), ("decimal", decimal)):
            check_param(owner, name, mark, isinstance(mark, str) and len(mark) == 1
                        and mark not in "\r\n\"", "one character (not a quote or line break)")
        check_param(owner, "decimal", decimal, decimal != sep, "unlike sep")
        dialect = {"na_rep": str(na_rep), "sep": sep, "decimal": decimal}
        chunks = self._iter_chunks(n, chunk_size, conditions, random_state, batch_size, owner)
        return write_table_chunks(counted_rows(chunks, n, desc="sample", shown=progress), path,
                                  **dialect)

    def _iter_chunks(self, n: int, chunk_size: int | None, conditions: Mapping[str, Any] | None,
                     random_state: Any, batch_size: int | None,
                     owner: str) -> Iterator[pd.DataFrame]:
        """Validate a sampling call (eagerly), then yield DataFrames of ``chunk_size`` rows
        (total ``n``): :func:`tabsynth.sampling.chunks.iter_chunks`."""
        from ..sampling.chunks import iter_chunks
        from ..sampling.correction import correction_for

        return iter_chunks(self, n, chunk_size, conditions, random_state, batch_size,
                           owner=owner, correction=correction_for(self))

    def _generate_rows(self, n: int, *, exact: Any, rng: np.random.Generator,
                       generator: Any) -> pd.DataFrame:
        """``n`` decoded rows (``_generate`` then the transformer's inverse); a model that
        decodes differently (the autoregressive one: cells, not one-hot rows) overrides it."""
        X = self._generate(n, exact=exact, rng=rng, generator=generator)
        return self.transformer_.inverse_transform(X, rng=rng)

    def _plan_conditions(
        self, parsed: ParsedConditions
    ) -> tuple[Condition | None, tuple[Condition, ...]]:
        """Split conditions into one met exactly by the network and those met by rejection.

        Default: everything by rejection. CTGAN overrides this.
        """
        return None, parsed.conditions

