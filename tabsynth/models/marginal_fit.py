"""The marginal route to a private generator: fit CTGAN's/TVAE's network to DP marginals.

GEM (Liu, Vietri & Wu, NeurIPS 2021) and RAP (Aydore et al., ICML 2021): measure a workload of
low-order marginals with DP mechanisms, then train a generator so that its marginals match the
noisy answers. Training is pure post-processing: the network never sees a real row.

Reads top to bottom (as MST does in private-pgm):

1. **budget** — ``PrivacyBudget(epsilon, delta)``; the DP statistics (bounds, category domains,
   101 quantiles per numeric column) take ``STATS_SHARE`` of epsilon (RDP accountant); the rest,
   converted to zCDP ``rho``, goes to the marginals (:func:`tabsynth.privacy.marginals.
   rho_for_epsilon`);
2. **discretise** — a ``DataTransformer(numeric_encoding="bins")``: numeric columns become bins cut
   at their DP quantiles; ``transformer.column_codes(df)`` is the last read of the real table;
3. **measure** — :func:`tabsynth.privacy.marginals.measure_adaptively`: all one-way marginals,
   then rounds of select (exponential mechanism on the current generator's error) and measure
   (Gaussian), the generator being refitted between rounds through a callback that receives
   only :class:`~tabsynth.privacy.marginals.Measurement` objects;
4. **fit** — :class:`~tabsynth.models.marginal_fitter.MarginalFitter`: each step draws a large
   batch of *soft* rows (a softmax per column over its categories/bins), computes each measured
   marginal as the mean of products of the soft one-hots (the exact expected marginal of the
   sampled output, since columns are drawn independently given the latent) and minimises the
   inverse-variance weighted squared error to the normalised noisy answers. CTGAN's generator also
   gets conditional vectors drawn from the DP category frequencies with the usual cross-entropy on
   the conditioned column, so exact conditional sampling keeps working. After each fit the
   BatchNorm running statistics are recomputed from the final network
   (:meth:`MarginalFitter.refresh_batchnorm`), so sampling (eval mode) draws from the distribution
   the train-mode loss fitted; before the final fit the numeric columns' edge bins that the noisy
   one-way answers show empty are masked (:func:`_dead_edge_bins`, post-processing).

The numeric bins span the full DP bounds (``TIGHTEN_BOUNDS = False``): tightening them to the
histogram bins that clear a threshold clipped 2-7% of adult's rows per column (fnlwgt at 353k of
1.46M, capital-loss at 50) and capped pair trends at 0.835 even for the real holdout.

The fitted model is an ordinary CTGAN/TVAE (same model file, sampling, conditions, ledger); its
transformer uses bins (:func:`transformer_for` rebuilds it on load).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .fit_result import FitResult
from .marginal_fitter import BATCH, FINAL_STEPS, LR, STEPS_PER_ROUND, MarginalFitter

logger = logging.getLogger(__name__)

__all__ = ["MarginalFitter", "fit_to_marginals", "transformer_for", "uses_marginal_route"]

#: Bins per numeric column (point masses and small integer ranges add or replace bins). The
#: value used is stored in the model (``training_summary_["n_bins"]``, saved in the model file),
#: so changing it never breaks saved models.
N_BINS = 16
#: The bin count of model files saved before the count was stored in them.
LEGACY_N_BINS = 16
#: Fraction of epsilon spent on the DP statistics (bounds, domains, quantiles), and the bins of
#: their numeric histograms (one per integer up to this range, so point masses survive).
STATS_SHARE = 0.3
STATS_HIST_BINS = 100
#: Keep the DP bounds' full range (no tightening to the bins that clear a threshold): the bins
#: and the measured marginals carry the tails, and clipping them at a tight upper bound (adult:
#: fnlwgt at 353k of 1.46M, age at 61, capital-loss at 50) costs far more than the noisy tail.
TIGHTEN_BOUNDS = False
#: Before the final fit, mask the numeric columns' edge bins that the noisy one-way answers
#: show empty (:func:`_dead_edge_bins`), so the synthetic range stays within the data's.
TRIM_EDGES = True
#: Share of the marginal budget (zCDP) for the one-way marginals.
ONE_WAY_SHARE = 0.1
#: Adaptive rounds and selections per round.
ROUNDS = 6
PER_ROUND = 3
#: Largest marginal (cells) a round may select. At epsilon ~1 on ~30k rows a measurement's noise
#: is ~25 per cell: larger marginals are mostly noise (and the EM's penalty rarely picks them).
MAX_CELLS = 512
#: The optimisation settings (soft rows per step, steps per round and for the final fit, Adam
#: learning rate) are :mod:`tabsynth.models.marginal_fitter`'s, imported above.

def uses_marginal_route(model: Any) -> bool:
    """True for a DP model trained on marginals (its transformer encodes numerics as bins)."""
    return getattr(model, "epsilon", None) is not None and getattr(model, "route", None) == \
        "marginals"


def transformer_for(model: Any, metadata: Any, stats: Any, *, n_bins: int | None = None) -> Any:
    """The transformer a model of this route uses (also what ``_restore`` must build).

    ``n_bins`` is the bin count the model was fitted with (saved in the model file's training
    section); files written before it was saved used :data:`LEGACY_N_BINS`.
    """
    from ..transformer import DataTransformer

    if uses_marginal_route(model):
        nb = int(n_bins) if n_bins is not None else LEGACY_N_BINS
        return DataTransformer(metadata, stats, numeric_encoding="bins", n_bins=nb)
    return DataTransformer(metadata, stats)


# ---------------------------------------------------------------------------------- the route
def fit_to_marginals(model: Any, df: pd.DataFrame, metadata: Any, *, rng: np.random.Generator,
                     noise: Any = None, generator: Any = None, device: Any = None,
                     target: str | None = None, _exact: bool = False) -> FitResult:
    """Train ``model`` (CTGAN or TVAE) on DP marginals of ``df``; sets its fitted attributes.

    Parameters
    ----------
    model : CTGAN or TVAE
        ``model.epsilon`` (and ``model.delta`` when it has one, else the default delta) is the
        budget of the whole run: statistics + marginals, composed in one RDP accountant.
    df, metadata : the real table (validated) and its Metadata.
    rng : numpy.random.Generator
        Post-processing randomness only (initialisation, latent noise of the fitting), seeded
        by ``random_state``.
    noise : privacy noise source, optional
        :func:`tabsynth.privacy.noise_rng` (OS entropy): every measurement's noise, the
        exponential mechanism's choices and the row count; a fresh one when omitted.
    generator : torch.Generator, optional
        Latent noise of the fit (on the model's device); seeded from ``rng`` when omitted.
    target : str, optional
        A column the workload favours (half of the selections contain it; three-way marginals
        only with it). Defaults to ``model.target`` when the model has such a parameter.
    _exact : bool
        TESTING ONLY (not DP): exact statistics and noiseless marginals, argmax selection.

    device : torch.device, optional
        Where the network lives (resolved from ``model.device`` when omitted).

    Returns the :class:`~tabsynth.models.fit_result.FitResult`, which the model stores through
    its one writer (``_store_fit``, twice: before fitting what the fitter reads, then all):
    ``metadata_``, ``stats_``, ``transformer_``, ``device_``, ``columns_``, ``n_features_in_``,
    ``ledger_``, ``privacy_spent_`` (:class:`~tabsynth.privacy.spent.PrivacySpent`),
    ``loss_history_`` and ``training_summary_``; the network (``_generator`` / ``_decoder``)
    is built by the model's ``_build_networks``.
    """
    from tqdm.auto import tqdm

    # one bar over the whole run: its postfix names the phase (DP statistics, scoring the
    # candidate marginals for selection, fitting, batch-norm refresh), its count the fit steps
    with tqdm(total=ROUNDS * STEPS_PER_ROUND + FINAL_STEPS, unit="step",
              desc=f"{type(model).__name__} marginals", disable=not model.verbose,
              leave=True) as bar:
        return _fit_to_marginals(model, df, metadata, rng=rng, noise=noise,
                                 generator=generator, device=device, target=target,
                                 _exact=_exact, bar=bar)


def _fit_to_marginals(model: Any, df: pd.DataFrame, metadata: Any, *,
                      rng: np.random.Generator, noise: Any, generator: Any, device: Any,
                      target: str | None, _exact: bool, bar: Any) -> FitResult:
    from .._device import resolve_device
    from ..privacy import noise_rng
    from ..privacy.ledger import Ledger
    from ..privacy.marginals import (
        MarginalMeasurer,
        candidate_cliques,
        check_rho,
        measure_adaptively,
        rho_for_epsilon,
    )
    from ..privacy.spent import spent_of
    from ..stats import compute_stats
    from .base import check_finite
    from .dp_training import private_statistics

    owner = type(model).__name__
    target = target if target is not None else getattr(model, "target", None)
    if target is not None and target not in metadata.modelled_columns:
        from ..errors import ParameterError

        raise ParameterError(
            f"The target column {target!r} of {owner} is not a modelled column."
        )

    # 1. budget and DP statistics (the RDP accountant: the ledger will hold EM entries)
    bar.set_postfix_str("DP statistics" if not _exact else "statistics", refresh=True)
    if _exact:
        budget = None
        stats = compute_stats(df, metadata, random_state=int(rng.integers(2**32)))
        ledger = Ledger(budget=None, accountant="rdp")
    else:
        secure = bool(getattr(model, "secure_mode", False))
        if noise is None:
            noise = noise_rng(secure)
        budget, stats, ledger, _ = private_statistics(
            model, df, metadata, noise, share=STATS_SHARE, accountant="rdp",
            n_bins=STATS_HIST_BINS, tighten_bounds=TIGHTEN_BOUNDS)

    # 2. discretise on the DP bins: the last read of the real table
    model.route = getattr(model, "route", "marginals")
    transformer = _bins_transformer(metadata, stats)
    measurer = MarginalMeasurer(transformer.column_codes(df), transformer.column_domains,
                                ledger=ledger, rng=noise, names=transformer.columns,
                                exact=_exact)
    n_features = int(df.shape[1])
    del df  # nothing below reads the table; the measurer holds its codes

    # what the fitter reads (stored by the model's one writer), then the network
    if device is None:
        device = resolve_device(model.device, owner=owner)
    result = FitResult(metadata=metadata, stats=stats, transformer=transformer, device=device,
                       n_features_in=n_features, ledger=ledger)
    model._store_fit(result)
    model._build_networks(model._torch_generator(rng, "cpu"))
    if generator is None:
        generator = model._torch_generator(rng, model.device_)
    fitter = MarginalFitter(model, generator=generator, rng=rng, batch=BATCH,
                            steps_per_round=STEPS_PER_ROUND, final_steps=FINAL_STEPS, lr=LR)

    # 3. + 4. measure adaptively, fitting between rounds (the callback sees measurements only)
    if _exact:
        rho = 1.0
    else:
        rho = check_rho(ledger, rho_for_epsilon(budget.epsilon,
                                                budget.delta - ledger.extra_delta)) * (1 - 1e-9)
    domains = transformer.column_domains
    t_idx = None if target is None else transformer.columns.index(target)
    candidates = candidate_cliques(domains, max_way=3, max_cells=MAX_CELLS, target=t_idx)

    def fit_round(measurements: list[Any], final: bool) -> Any:
        if final and TRIM_EDGES and not _exact:
            fitter.mask_bins(_dead_edge_bins(transformer, measurements))
        return fitter.fit(measurements, final=final)

    note = "marginal route (GEM-style): measured, then fitted as post-processing"
    fitter.bar = bar
    measurements, _ = measure_adaptively(
        measurer, fit_round, rho=rho, rounds=ROUNDS, per_round=PER_ROUND,
        candidates=candidates, target=t_idx, one_way_share=ONE_WAY_SHARE, note=note,
    )
    fitter.bar = None
    del measurer
    model._generator.eval() if hasattr(model, "_generator") else model._decoder.eval()
    check_finite(model)

    result = result.with_training(
        privacy_spent=None if budget is None else spent_of(ledger),
        loss_history=pd.DataFrame(fitter.history),
        training_summary={
            "epochs": getattr(model, "epochs", None),
            "route": "marginals", "rounds": ROUNDS, "n_bins": int(transformer.n_bins),
            "marginals": [[transformer.columns[j] for j in m.clique] for m in measurements],
        })
    model._store_fit(result)
    return result


def _dead_edge_bins(transformer: Any, measurements: Sequence[Any]) -> list[int]:
    """Output cells of the numeric columns' empty edge bins, read off the noisy one-way answers.

    The bins span the DP bounds, which are coarse (a 1-2-5 grid) and usually wider than the data;
    the generator cannot put exactly zero mass on a bin, so without this the synthetic range
    overshoots the real one (e.g. education-num 1..16 sampled as 0..20), which distorts every
    range-based comparison. For each binned column, the outermost runs of bins whose noisy count
    is below ``sigma * Phi^-1(1 - 0.01/bins)`` (the ``dp_bounds`` rule: an empty bin passes with
    probability <= 1%) are masked; the missing slot too, when below it. Columns with declared
    ``public_bounds`` are left alone (their range is the data's; masking their sparse edges cost
    0.10 of pair trends on adult). Post-processing of the one-way
    :class:`~tabsynth.privacy.marginals.Measurement` objects only.
    """
    from scipy.stats import norm

    one_way = {m.clique[0]: m for m in measurements if len(m.clique) == 1}
    out: list[int] = []
    for j, spec in enumerate(transformer._specs):
        if not hasattr(spec, "n_bins") or j not in one_way or one_way[j].sigma <= 0:
            continue
        if getattr(spec.meta, "public_bounds", None) is not None:
            continue  # declared bounds are the data's range: its sparse edges are real
        noisy = np.asarray(one_way[j].noisy, dtype=float)
        thr = one_way[j].sigma * float(norm.isf(0.01 / len(noisy)))
        alive = noisy[: spec.n_bins] >= thr
        if not alive.any():
            continue
        first, last = int(np.argmax(alive)), spec.n_bins - 1 - int(np.argmax(alive[::-1]))
        dead = list(range(first)) + list(range(last + 1, spec.n_bins))
        if spec.has_nan and noisy[spec.n_bins] < thr:
            dead.append(spec.n_bins)
        out += [int(spec.start) + b for b in dead]
    return out


def _bins_transformer(metadata: Any, stats: Any) -> Any:
    from ..transformer import DataTransformer

    return DataTransformer(metadata, stats, numeric_encoding="bins", n_bins=N_BINS)
