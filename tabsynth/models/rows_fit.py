"""CTGAN's and TVAE's fit in steps: prepare (statistics, ledger, plan, encoded rows), train,
finish. The steps are those of :class:`~tabsynth.ARSynthesizer` (:mod:`tabsynth.models.ar`)
so that :func:`tabsynth.fit_distributed` and ``torchrun`` train every family in several
processes the same way (:mod:`tabsynth.models.distributed`).

The rows' encoding is ``X`` (``transformer.transform``: mode-specific normalisation and
one-hot columns, ``float32``) and ``codes`` (the categories of the discrete columns, the
training-by-sampling index). The mixture modes of ``X`` are drawn from ``random_state``'s
generator (post-processing); every process of a group that encodes its own copy draws them
from the same state, so the copies are equal.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..stats.passes import is_streamed

__all__ = ["encode_rows", "fit_prepared_rows", "prepare_rows", "train_rows"]


def prepare_rows(model: Any, df: Any, md: Any, device: Any, *,
                 stack: contextlib.ExitStack | None = None, encode: bool = True) -> Any:
    """Everything before training, read from the table once: statistics (DP: budget, DP
    statistics, ledger and DP-SGD plan, their noise drawn once), transformer and the encoded
    rows (:class:`~tabsynth.models.distributed.Prepared`; ``encode=False``: none, each
    process of a group encodes its own copy with :func:`encode_rows`)."""
    from ..transformer import DataTransformer
    from .distributed import Prepared
    from .fit_result import FitResult

    private = model.epsilon is not None
    # random_state seeds post-processing only (initialisation, latent noise, sampling);
    # privacy noise comes from OS entropy (tabsynth.privacy.noise): never replayable.
    rng = np.random.default_rng(model.random_state)
    ledger = plan = None
    if private:  # DP-SGD: checks, DP stats, ledger, calibration
        from ..privacy import noise_rng
        from .dp_training import prepare_private_fit

        stats, ledger, plan = prepare_private_fit(model, df, md, noise_rng(model.secure_mode))
    else:
        stats = model._compute_stats(df, md, rng)
    transformer = DataTransformer(md, stats)
    n_in = len(df.empty().columns) if is_streamed(df) else int(df.shape[1])
    result = FitResult(metadata=md, stats=stats, transformer=transformer, device=device,
                       n_features_in=n_in, ledger=ledger)
    prep = Prepared(result=result, codes=np.zeros((0, 0), np.int64), plan=plan, rng=rng)
    if encode:
        encode_rows(model, prep, df, stack)
    return prep


def encode_rows(model: Any, prep: Any, df: Any, stack: contextlib.ExitStack | None) -> Any:
    """Set ``prep.X`` and ``prep.codes`` from the table (a streamed table: into temporary
    files held open by ``stack``, removed when it closes); returns ``prep.X`` (what a process
    group compares between its processes)."""
    transformer, rng = prep.result.transformer, prep.rng
    if is_streamed(df):
        if stack is None:
            raise ParameterError(
                f"{type(model).__name__}: a table read in record batches needs the fit's stack "
                "(its encoded rows live in files until the fit ends).")
        from .streaming import transform_to_memmaps

        prep.X, prep.codes = stack.enter_context(
            transform_to_memmaps(df, transformer, rng, verbose=model.verbose))
        return prep.X
    prep.X = np.ascontiguousarray(transformer.transform(df, rng=rng), dtype=np.float32)
    if transformer.discrete_spans:
        prep.codes = np.asarray(transformer.category_codes(df), dtype=np.int64)
    else:
        prep.codes = np.zeros((len(df), 0), dtype=np.int64)
    return prep.X


def train_rows(model: Any, prep: Any, *, run: Any = None) -> list[dict[str, float]]:
    """Build the networks (initialisation from ``random_state``), then train them here, or
    by ``run`` (the multi-process launcher, which loads the trained weights into them); one
    dict of losses per epoch. In a process group every process draws the same global
    batches (``prep.rng`` alike) and its own latent noise (:func:`~tabsynth.models.
    distributed.rank_generator`)."""
    from .distributed import current, rank_generator

    rng = prep.rng
    init_gen = model._torch_generator(rng, "cpu")
    train_gen = rank_generator(model._torch_generator(rng, model.device_), current())
    model._build_networks(init_gen)
    if run is not None:
        return run(model)
    return model._train(prep.X, prep.codes, rng=rng, generator=train_gen)


def fit_prepared_rows(model: Any, prep: Any, *, run: Any = None) -> Any:
    """Train on a prepared fit and store the result (summary, privacy spent, and the DP
    post-processing correction built from the fitted model's own pilot sample)."""
    result, plan = prep.result, prep.plan
    model._store_fit(result)  # what the training reads
    history, seconds, spent, schedule = model._run_training(
        lambda: model._train_networks(prep, run=run), result.ledger, plan)
    summary = {
        "epochs": int((schedule or {}).get("epochs", model.epochs)),
        "batch_size": int((schedule or {}).get("batch_size", model.batch_size)),
    }
    if prep.processes > 1:
        summary["processes"] = int(prep.processes)
    if plan is None:  # a DP model file holds no timing (a side channel that grows with n)
        summary["seconds"] = round(seconds, 3)
    model._store_fit(model._with_correction(result.with_training(
        loss_history=pd.DataFrame(history), training_summary=summary,
        privacy_spent=spent, dp_schedule=schedule)))
    return model
