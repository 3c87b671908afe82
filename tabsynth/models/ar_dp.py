"""DP-SGD route of :class:`~tabsynth.models.ar.ARSynthesizer` (Opacus).

Follows DESIGN.md's rules with the project's planning and wiring, imported (not copied) from
:mod:`tabsynth.privacy.dpsgd_plan` and :mod:`tabsynth.models.dp_training`:

1. **Budget**: :func:`~tabsynth.privacy.resolve_budget` (``delta=None``: from a charged noisy
   count).
2. **Statistics**: :func:`~tabsynth.stats.private.compute_private_stats` with
   ``preprocessing_share`` of epsilon: DP bounds, 101 quantiles per numeric column from a
   :data:`STATS_HIST_BINS`-bin noisy histogram (the bins' cut points), category domains from
   declared metadata or thresholded noisy histograms; every measurement in the ledger. The
   bounds keep the DP range (``tighten_bounds=False``, as the marginal route: the bins carry
   the tails).
3. **Plan**: :func:`~tabsynth.privacy.dpsgd_plan.plan_dpsgd` with the DP row count: Poisson
   sample rate, steps and the noise multiplier that makes statistics + DP-SGD compose to at
   most ``epsilon`` in one accountant; the DP-SGD entry is in the ledger before training
   starts. Left at their defaults, ``epochs``/``batch_size`` follow the DP schedule
   (:func:`~tabsynth.models.dp_training.resolve_dp_schedule`).
4. **Training**: the whole network (embeddings and heads; no BatchNorm) in one Opacus
   ``GradSampleModule``; each row's loss is its negative log-likelihood under its own random
   column order (orders and initialisation from ``random_state``: data-independent); Poisson
   masks and gradient noise from OS entropy; per-sample clipping at ``max_grad_norm``. No
   validation split and no early stopping (they would read real rows outside the
   accountant); losses on real rows are not recorded in the model. By default
   (``grad_sample_mode="direct"``) each row's gradient and its clipping are computed in
   closed form (:mod:`tabsynth.models.ar_clip`) and Opacus' optimizer adds the noise;
   ``"ghost"`` and the other modes go through Opacus' ``GradSampleModule``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..stats.noise_cells import NOISE_CELL_Z, noise_level_cells

__all__ = ["NOISE_CELL_Z", "PRIOR_UNIFORM_SHARE", "STATS_HIST_BINS", "calibrate_marginals",
           "cell_norm_sample", "init_from_marginals", "noise_cell_masks", "prepare_private_ar",
           "register_cell_samplers", "train_ar_dp"]

#: Bins of the DP histograms behind each numeric column's quantiles (one per integer up to
#: this range, so point masses survive).
STATS_HIST_BINS = 100
#: Learning-rate multiplier of DP fits whose learning rate is left at the default (few,
#: large, noisy steps).
DP_LR_SCALE = 1.5
#: Share of uniform mass mixed into the DP marginals that initialise the heads' output biases
#: (a cell the DP statistics give no mass keeps a small probability the training can raise).
PRIOR_UNIFORM_SHARE = 0.01


def noise_cell_masks(model: Any) -> dict[int, np.ndarray]:
    """Cells of a DP model that sampling leaves out: ``{column index: allowed cells}``.

    A numeric column's point cells without DP mass, and a small-range integer column's
    values beyond the lowest and highest ones with DP mass (:func:`_values_with_mass`). A DP
    histogram's missing cell, and the ``"__other__"`` bucket that DP category discovery adds
    to a text column, exist in every DP fit; where the noise alone gave them their mass
    (:func:`~tabsynth.stats.noise_cells.noise_level_cells`, below :data:`NOISE_CELL_Z` noise
    sd), the cell is not generated. Declared and released
    categories are never left out, nor a cell a condition asks for. Post-processing of the
    statistics and the ledger (both in the model file): no row is read, nothing is charged,
    old model files get the same masks.
    """
    from ..stats import CategoricalStats

    stats = model.stats_
    if model.ledger_ is None or stats is None or stats.source != "dp" or not stats.n_rows:
        return {}
    cells = noise_level_cells(stats, model.ledger_, list(model.columns_))
    out: dict[int, np.ndarray] = {}
    marginals = None
    for j, (name, dim) in enumerate(zip(model.columns_, model.transformer_.column_domains,
                                        strict=True)):
        keep = np.ones(dim, dtype=bool)
        if not isinstance(stats[name], CategoricalStats):
            if marginals is None:
                marginals = model.transformer_.cell_marginals()
            keep &= _values_with_mass(model.transformer_, name, marginals[j])
        missing, other = cells.get(name, (False, None))
        if missing:
            keep[dim - 1] = False
        if other is not None:
            keep[other] = False
        if not keep.all() and keep.any():
            out[j] = keep
    return out


def _values_with_mass(transformer: Any, name: str, p: np.ndarray) -> np.ndarray:
    """Cells of a numeric column to keep (the missing slot is decided by the caller): all of
    them, except

    - the point cells (one value: the lower bound's, 0's, a small-range integer's) that the
      DP statistics give no mass: every column has one at its lower bound, and only the
      heads' uniform prior and DP-SGD's noise gave it mass (ages of 0 from 17..90 declared
      on [0, 200]);
    - when every bin is one integer value (a small range: the DP histogram measured each
      value), the values beyond the lowest and highest ones with mass (weeks 6-10 of a
      month declared on [1, 10]); empty values between them stay.

    Interval bins beyond the DP quantiles' span stay: the histogram cannot tell a thin tail
    from noise there, and stopping at that span cut adult's synthetic hours-per-week to
    [10, 78] and fnlwgt below 520,000 (real [1, 99] and 1.46M; pair trends 0.883 -> 0.817
    on one model)."""
    lo, hi, is_integer, _ = transformer.bin_edges(name)
    n = len(lo)
    keep = np.ones(len(p), dtype=bool)
    point = lo == hi
    if is_integer and point.all():
        mass = np.flatnonzero(p[:n] > 0)
        if mass.size:
            keep[:mass[0]] = False
            keep[mass[-1] + 1:n] = False
        return keep
    keep[:n] &= ~(point & (p[:n] <= 0))
    return keep


def init_from_marginals(model: Any) -> None:
    """Start every head at its column's DP marginal: output bias ``log p`` (cells' masses
    from :meth:`~tabsynth.transformer.DataTransformer.cell_marginals`, mixed with
    :data:`PRIOR_UNIFORM_SHARE` of uniform mass), output weights scaled down tenfold.

    DP-SGD takes few, noisy steps: from PyTorch's initialisation the network would spend
    them learning the one-column frequencies (and keep generating cells the data never
    holds: a missing value, the "other" bucket); from the marginals it spends them on the
    dependencies. Post-processing of the charged statistics: no row is read and no budget
    spent.
    """
    import torch

    net = model._net
    with torch.no_grad():
        for head, p in zip(net.heads, model.transformer_.cell_marginals(), strict=True):
            p = (1.0 - PRIOR_UNIFORM_SHARE) * p / max(p.sum(), 1e-12) \
                + PRIOR_UNIFORM_SHARE / len(p)
            logp = np.log(p)
            head.bias.copy_(torch.as_tensor(logp - logp.mean(), dtype=head.bias.dtype))
            head.weight.mul_(0.1)


#: Rounds and generated rows of :func:`calibrate_marginals`.
CALIBRATION_ROUNDS = 4
CALIBRATION_ROWS = 20_000


def calibrate_marginals(model: Any, *, seed: int) -> None:
    """Pull each categorical column's generated frequencies, and each numeric column's
    missing rate, back to the DP marginals.

    DP-SGD moves a column's frequencies towards its majority cell (rows of rare cells have
    the largest gradients and are clipped the most: adult's income came out at total
    variation 0.065 from the data while its DP marginal is at 0.002; a 30%-missing column
    at 34-41% missing). Each round generates :data:`CALIBRATION_ROWS` rows and adds
    ``log(p / q)`` to the output bias of every categorical head (``p``: the DP marginal,
    ``q``: the generated frequency; cells either leaves at 0 are left alone), so a column's
    frequencies approach ``p`` while its dependence on the columns before it is kept. A
    numeric head with a missing slot moves only between missing and present (its present
    bins all get ``log((1 - p_missing) / (1 - q_missing))``): the missing rate is one DP
    count, while the bins' masses come from DP quantiles, which smear a point mass that is
    not at the lower bound or 0 (fraud's deductible of 400 in 96% of the rows: pulling the
    bins back too lowered fraud's shapes from 0.976 to 0.926). Post-processing of the DP
    statistics and the DP model: no row is read, no budget spent; the rows are drawn from
    ``seed`` (``random_state``)."""
    import torch

    from .ar_sampling import generate_cells

    names = {span.column for span in model.transformer_.discrete_spans}
    heads = []
    for j, (name, head, p) in enumerate(zip(model.columns_, model._net.heads,
                                            model.transformer_.cell_marginals(), strict=True)):
        p = np.asarray(p, dtype=float) / max(float(np.sum(p)), 1e-12)
        if name in names:
            heads.append((j, head, p, True))
        elif model.transformer_.bin_edges(name)[3] and 0 < p[-1] < 1:
            heads.append((j, head, p, False))  # a numeric column with a missing slot
    if not heads:
        return
    generator = torch.Generator(device=model.device_).manual_seed(int(seed))
    smooth = 0.5 / CALIBRATION_ROWS
    for _ in range(CALIBRATION_ROUNDS):
        cells = generate_cells(model, CALIBRATION_ROWS, None, generator=generator)
        with torch.no_grad():
            for j, head, p, categorical in heads:
                q = np.bincount(cells[:, j], minlength=len(p)) / CALIBRATION_ROWS
                if categorical:
                    step = np.where((p > 0) & (q > 0),
                                    np.log((p + smooth) / (q + smooth)), 0.0)
                elif 0 < q[-1] < 1:
                    step = np.full(len(p), np.log((1.0 - p[-1]) / (1.0 - q[-1])))
                    step[-1] = np.log(p[-1] / q[-1])
                else:  # the missing slot is never generated (a noise-cell mask) or always
                    continue
                head.bias.add_(torch.as_tensor(step, dtype=head.bias.dtype,
                                               device=head.bias.device))


def prepare_private_ar(model: Any, df: Any, metadata: Any,
                       noise: Any) -> tuple[Any, Any, Any]:
    """Budget, DP statistics, ledger and DP-SGD plan, before any training.

    Returns ``(stats, ledger, plan)``; the ledger already holds the DP-SGD entry.

    Raises
    ------
    BudgetError
        ``delta`` not below 1 / (noisy n); a budget the requested epochs cannot meet.
    ParameterError
        The table is too small for ``batch_size``.
    """
    from .dp_training import (
        _is_default,
        plan_private_training,
        private_statistics,
        resolve_dp_schedule,
    )

    budget, stats, ledger, n_noisy = private_statistics(
        model, df, metadata, noise, share=model.preprocessing_share,
        accountant=model.accountant, n_bins=STATS_HIST_BINS, tighten_bounds=False,
        point_bins=True)
    schedule = resolve_dp_schedule(model, n_noisy)
    lr_scale = {"learning_rate": DP_LR_SCALE if _is_default(model, "learning_rate") else 1.0}
    plan = plan_private_training(model, budget, ledger, n_noisy, schedule=schedule,
                                 lr_scale=lr_scale, target=f"{type(model).__name__} network",
                                 noise=noise)
    return stats, ledger, plan


def cell_norm_sample(layer: Any, activations: list, backprops: Any) -> dict:
    """Each row's gradient norm of the cells' embedding (an Opacus norm sampler, DP-SGD's
    ghost clipping): ``{layer.weight: (B,) norms}``.

    Where every row holds one index per column inside that column's range
    (:class:`~tabsynth.models.ar_network.CellEmbedding`: what the network feeds it), no index
    repeats within a row, so the row's gradient of the table is its backprops placed on
    distinct table rows and its norm is ``sqrt(sum of squared backprops)``. Anything else
    goes to Opacus' general embedding norm, which sums the backprops of repeated indices
    first (a ``torch.unique`` over the batch: 11 of the 74 s of an adult fit at epsilon 1)."""
    import torch
    from opacus.grad_sample.embedding_norm_sample import compute_embedding_norm_sample

    index = activations[0]
    starts, ends = getattr(layer, "starts", None), getattr(layer, "ends", None)
    if (starts is not None and index.dim() == 2 and backprops.dim() == 3
            and index.shape[1] == len(starts)):
        lo = torch.as_tensor(starts, dtype=index.dtype, device=index.device)
        hi = torch.as_tensor(ends, dtype=index.dtype, device=index.device)
        if bool(((index >= lo) & (index < hi)).all()):
            return {layer.weight: backprops.pow(2).sum(dim=(1, 2)).sqrt()}
    return compute_embedding_norm_sample(layer, activations, backprops)


def register_cell_samplers() -> None:
    """Opacus' samplers for :class:`~tabsynth.models.ar_network.CellEmbedding`: the general
    embedding's per-sample gradients, and :func:`cell_norm_sample` for ghost clipping."""
    import torch.nn as nn
    from opacus.grad_sample import GradSampleModule
    from opacus.grad_sample.grad_sample_module_fast_gradient_clipping import (
        GradSampleModuleFastGradientClipping,
    )

    from .ar_network import CellEmbedding

    for cls in (GradSampleModule, GradSampleModuleFastGradientClipping):
        cls.GRAD_SAMPLERS[CellEmbedding] = cls.GRAD_SAMPLERS[nn.Embedding]
    GradSampleModuleFastGradientClipping.NORM_SAMPLERS[CellEmbedding] = cell_norm_sample


def train_ar_dp(model: Any, codes: np.ndarray, *, rng: np.random.Generator,
                generator: Any) -> list[dict[str, float]]:
    """DP-SGD training of the network on the rows' cells (module docstring, step 4)."""

    from .dp_training import (
        _backward,
        _check_private,
        _epsilon_column,
        _progress,
        _release,
        start_private_loop,
    )
    from .networks import adam
    from .rows import RowStore

    plan = model._dp_plan
    dev = model.device_
    net = model._net
    _check_private(net)
    store = RowStore(codes, dev)  # minibatches gathered by index (a memmap stays on disk)
    lr = model.learning_rate * (plan.lr_scale or {}).get("learning_rate", 1.0)
    optim = adam(net.parameters(), lr=lr, weight_decay=model.weight_decay)  # fused kernel
    direct = plan.grad_sample_mode == "direct"
    if direct:
        from .ar_clip import clip_layout, clipped_gradients

        layout, clip = clip_layout(net), float(model.max_grad_norm)
    else:
        register_cell_samplers()
    gsm, optim, batches, bar = start_private_loop(net, optim, model, plan, generator,
                                                  len(codes))
    history: list[dict[str, float]] = []
    try:
        for epoch in bar:
            for _ in range(plan.steps_per_epoch):
                idx = next(batches)
                rows = store.take(idx)
                optim.zero_grad(set_to_none=True)
                if direct:  # each row's gradient clipped in closed form, into .grad
                    clipped_gradients(net, rows, model._before(len(idx), generator),
                                      max_grad_norm=clip, generator=generator, layout=layout)
                else:
                    per_row = gsm(rows, model._before(len(idx), generator), generator)
                    _backward(gsm, optim, per_row, plan.grad_sample_mode)
                optim.step()
            history.append({"epoch": epoch + 1,
                            "epsilon": _progress(model, plan, epoch, bar, {})})
    finally:
        bar.close()
        net.eval()
        store.close()  # the cell file's descriptor (a streamed fit)
        _release(gsm)
    _epsilon_column(model, plan, history)
    return history
