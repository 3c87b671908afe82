"""ARSynthesizer: an autoregressive synthesizer over column cells (TabularARGN-style).

Every modelled column becomes one sequence of cells ("tokens") through the project's
:class:`~tabsynth.transformer.DataTransformer` with ``numeric_encoding="bins"``: categories
(rare ones folded as for every model, :mod:`tabsynth.stats.categories`), numerics and datetimes cut
into ``n_bins`` quantile bins (point masses such as exact zeros as their own cell, decoded
exactly; small integer ranges one cell per integer), missing values as their own cell. A value
is drawn within its bin from the quantile function (integers stay integers, bounds hold).

The network (:mod:`tabsynth.models.ar_network`) predicts each column from the ones before it;
trained on random column orders (``column_order="random"``), any subset of columns can be
generated first. Conditions (:mod:`tabsynth.sampling.conditions`: values, sets of values, numeric
and datetime ranges) are met exactly: the conditioned columns are generated first, each with
the logits of the cells outside its condition masked, and values are drawn within the part of
a bin inside a range. No rejection loop, exactly ``n`` rows, a class with a handful of rows
included.

Non-private fits stop early on a 10% validation split. With ``epsilon`` the fit is private:
bins and category domains from DP statistics (:func:`tabsynth.stats.private.
compute_private_stats`, declared metadata costs nothing), weights by DP-SGD through Opacus
(:mod:`tabsynth.models.ar_dp`), all in one ledger.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..stats.passes import is_streamed
from .base import BaseSynthesizer, _is_float, _is_int

__all__ = ["ARSynthesizer"]


class ARSynthesizer(BaseSynthesizer):
    """Autoregressive synthesizer: a chain of per-column heads over binned columns.

    Parameters
    ----------
    n_bins : int, default=48
        Quantile bins per numerical/datetime column (point masses and small integer ranges
        add or replace bins).
    hidden_dim : int, default=128
        Width of each column head's hidden layer.
    max_embedding_dim : int, default=16
        Widest share of the context per column: the heads read the sum of the earlier
        columns' embeddings, all of one width, the sum over columns of about ``2 sqrt(cells)``
        (at most ``max_embedding_dim`` each), capped at ``max(64, 4096 / columns)`` on wide
        tables (:func:`tabsynth.models.ar_network.context_width`).
    dropout : float, default=0.25
        Dropout on the heads' hidden layers (training only).
    column_order : "flexible", "random", "fixed" or list of str, default="flexible"
        The orders the network is trained on. Sampling generates the conditioned columns
        first, then the others in the table's order. ``"flexible"``: half of the training
        rows use the table's order, the other half a random subset of the columns first (in
        a random order) and the rest in the table's order: exactly the orders sampling
        uses, so unconditional rows come from a well-trained order and conditional ones from
        the right conditional distribution. ``"random"``: a uniformly random order per row.
        ``"fixed"`` (the table's order) or a list: one order; conditions are still met
        exactly, but a conditioned column that is not first in the order is drawn given the
        columns before it only (not the exact conditional distribution).
    learning_rate : float, default=2e-3
        Adam learning rate.
    weight_decay : float, default=0.0
        Adam weight decay.
    batch_size : int, default=512
        Rows per step (DP: the expected Poisson batch; left at the default, the DP schedule).
    epochs : int, default=100
        Most passes over the data (non-DP fits stop early on the validation split).
    patience : int, default=4
        Epochs without a better validation loss before a non-DP fit stops; each such epoch
        halves the learning rate.
    validation_share : float, default=0.1
        Rows held out for early stopping (non-DP only; the final weights are the best).
    epsilon, delta, max_grad_norm, accountant, secure_mode :
        Differential privacy, as for :class:`~tabsynth.TVAE` (DP-SGD only: ``route`` must
        be ``"dpsgd"``).
    grad_sample_mode : str, default="auto"
        How DP-SGD clips each row's gradient. ``"auto"`` and ``"direct"``: in closed form for
        this network, every column's layers in one batched product
        (:mod:`tabsynth.models.ar_clip`; the same clipped sums as Opacus' ghost clipping,
        in about half the time a step: adult's epsilon-1 fit 23-55 s against 71-78 s);
        ``"ghost"``, ``"hooks"``, ``"functorch"``: Opacus' per-sample gradients, as for
        :class:`~tabsynth.TVAE`.
    preprocessing_share : float, default=0.5
        Share of epsilon for the DP statistics (as TVAE/CTGAN since 2026-12-07). Half, as
        the statistics are this model's bins, domains and starting point (each head starts at
        its column's DP marginal): on adult / fraud at epsilon 1, 0.1 / 0.3 / 0.5 gave
        shapes 0.93 / 0.96 / 0.97 and pair trends 0.73-0.78 / 0.86 / 0.86 (adult),
        0.67 / 0.89-0.90 / 0.92 (fraud); ``benchmarks/bench_ar.py --preprocessing-share``.
    device : str or torch.device, default="auto"
    random_state : int or None, default=None
        Seeds initialisation, orders, the validation split and sampling; never privacy noise.
    verbose : bool, default=True
        Progress bar.

    Attributes
    ----------
    metadata_, stats_, transformer_, device_, columns_, n_features_in_, loss_history_,
    privacy_spent_, ledger_, training_summary_ :
        As for the other synthesizers; ``training_summary_`` also has ``n_bins`` and
        ``best_epoch``.

    References
    ----------
    P. Tiwald, I. Krchova, A. Sidorenko, M. Vieyra, M. Scriminaci, M. Platzer. "TabularARGN:
    A Flexible and Efficient Auto-Regressive Framework for Generating High-Fidelity Synthetic
    Data". arXiv:2501.12012, 2025.
    """

    _ROUTES: ClassVar[tuple[str, ...]] = ("dpsgd",)
    _GRAD_SAMPLE_MODES: ClassVar[tuple[str, ...]] = (*BaseSynthesizer._GRAD_SAMPLE_MODES,
                                                     "direct")
    #: Rows per sampling pass.
    _sample_batch_size: ClassVar[int] = 50_000
    #: The DP marginal correction (tabsynth/sampling/correction.py) is off: it maps numeric values
    #: after sampling and would move them out of a range condition; the marginals are learnt
    #: directly (a column first in an order is predicted from nothing).
    marginal_correction: ClassVar[bool] = False
    #: Fits a Parquet folder, a glob of files or a SQL source in record batches.
    _streaming: ClassVar[bool] = True
    #: Numeric columns are binned at their quantiles: the mixture modes are never read.
    _uses_modes: ClassVar[bool] = False

    def __init__(
        self,
        *,
        n_bins: int = 48,
        hidden_dim: int = 128,
        max_embedding_dim: int = 16,
        dropout: float = 0.25,
        column_order: Any = "flexible",
        learning_rate: float = 2e-3,
        weight_decay: float = 0.0,
        batch_size: int = 512,
        epochs: int = 100,
        patience: int = 4,
        validation_share: float = 0.1,
        epsilon: float | None = None,
        delta: float | None = None,
        max_grad_norm: float = 1.0,
        preprocessing_share: float = 0.5,
        accountant: str = "prv",
        secure_mode: bool = False,
        grad_sample_mode: str = "auto",
        route: str = "dpsgd",
        device: Any = "auto",
        random_state: int | None = None,
        verbose: bool = True,
    ) -> None:
        self.n_bins = n_bins
        self.hidden_dim = hidden_dim
        self.max_embedding_dim = max_embedding_dim
        self.dropout = dropout
        self.column_order = column_order
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.validation_share = validation_share
        self.epsilon = epsilon
        self.delta = delta
        self.max_grad_norm = max_grad_norm
        self.preprocessing_share = preprocessing_share
        self.accountant = accountant
        self.secure_mode = secure_mode
        self.grad_sample_mode = grad_sample_mode
        self.route = route
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ params
    def _check_model_params(self) -> None:
        c = self._check
        c("n_bins", _is_int(self.n_bins) and 2 <= self.n_bins <= 100, "an int in [2, 100]")
        c("hidden_dim", _is_int(self.hidden_dim) and self.hidden_dim >= 1, "an int >= 1")
        c("max_embedding_dim", _is_int(self.max_embedding_dim) and self.max_embedding_dim >= 2,
          "an int >= 2")
        c("dropout", _is_float(self.dropout) and 0 <= self.dropout < 1, "a float in [0, 1)")
        order = self.column_order
        c("column_order", order in ("flexible", "random", "fixed") or (
            isinstance(order, (list, tuple)) and all(isinstance(x, str) for x in order)),
          "'flexible', 'random', 'fixed' or a list of column names")
        c("learning_rate", _is_float(self.learning_rate) and self.learning_rate > 0,
          "a float > 0")
        c("weight_decay", _is_float(self.weight_decay) and self.weight_decay >= 0,
          "a float >= 0")
        c("patience", _is_int(self.patience) and self.patience >= 1, "an int >= 1")
        c("validation_share", _is_float(self.validation_share)
          and 0 < self.validation_share < 0.5, "a float in (0, 0.5)")

    def _resolve_order(self, columns: list[str]) -> list[int] | None:
        """The base order as column indices (``None``: uniformly random orders)."""
        order = self.column_order
        if order == "random":
            return None
        if order in ("fixed", "flexible"):
            return list(range(len(columns)))
        if sorted(order) != sorted(columns):
            self._check("column_order", False,
                        f"a permutation of the modelled columns {columns}")
        return [columns.index(c) for c in order]

    # ------------------------------------------------------------------ fitting
    # fit: BaseSynthesizer.fit (in a torchrun group, rank 0 prepares and the others
    # receive it: models/distributed.py); the steps below are the AR's own
    def _prepare(self, df: Any, md: Any, device: Any, *,
                 stack: contextlib.ExitStack | None = None, encode: bool = True) -> Any:
        """Everything before training, read from the table once: statistics (DP: budget,
        DP statistics, ledger and DP-SGD plan), transformer and the rows' cells
        (:class:`~tabsynth.models.distributed.Prepared`; ``encode=False``: no cells, each
        process of a group encodes its own copy)."""
        from ..transformer import DataTransformer
        from .distributed import Prepared
        from .fit_result import FitResult

        private = self.epsilon is not None
        rng = np.random.default_rng(self.random_state)  # post-processing only
        ledger = plan = None
        if private:
            from ..privacy import noise_rng
            from .ar_dp import prepare_private_ar

            noise = noise_rng(self.secure_mode)
            stats, ledger, plan = prepare_private_ar(self, df, md, noise)
        else:
            stats = self._compute_stats(df, md, rng)
        transformer = DataTransformer(md, stats, numeric_encoding="bins", n_bins=self.n_bins)
        n_in = len(df.empty().columns) if is_streamed(df) else int(df.shape[1])
        result = FitResult(metadata=md, stats=stats, transformer=transformer, device=device,
                           n_features_in=n_in, ledger=ledger)
        prep = Prepared(result=result, codes=np.zeros((0, 0), dtype=np.int64), plan=plan,
                        rng=rng)
        if encode:
            self._encode_prepared(prep, df, stack)
        return prep

    def _encode_prepared(self, prep: Any, df: Any, stack: contextlib.ExitStack | None) -> Any:
        """The rows' cells into ``prep.codes`` (a streamed table: a file held by ``stack``,
        removed when it closes); returns them."""
        transformer = prep.result.transformer
        if is_streamed(df):
            if stack is None:
                raise ParameterError(
                    f"{type(self).__name__}: a table read in record batches needs the fit's "
                    "stack (its cell file lives until the fit ends).")
            from .streaming import encode_to_memmap

            prep.codes = stack.enter_context(encode_to_memmap(
                df, transformer.column_codes, transformer.column_domains, verbose=self.verbose))
        else:
            prep.codes = transformer.column_codes(df)  # the last read of the table
        return prep.codes

    def _fit_prepared(self, prep: Any, *, run: Any = None) -> ARSynthesizer:
        """Train on a :class:`~tabsynth.models.distributed.Prepared` fit and store the
        result. ``run`` (the multi-process launcher) trains elsewhere and loads the trained
        weights into this model's network; by default the training runs here."""
        result, plan = prep.result, prep.plan
        self._store_fit(result)  # what the training reads
        history, seconds, spent, schedule = self._run_training(
            lambda: self._train_networks(prep, run=run), result.ledger, plan)
        summary = {
            **self.__dict__.pop("_best", {}),  # non-DP: the best epoch (set by _train)
            "epochs": int((schedule or {}).get("epochs", len(history))),
            "batch_size": int((schedule or {}).get("batch_size", self.batch_size)),
            "n_bins": int(self.n_bins),
        }
        if prep.processes > 1:
            summary["processes"] = int(prep.processes)
        if plan is None:
            summary["seconds"] = round(seconds, 3)
        self._store_fit(result.with_training(
            loss_history=pd.DataFrame(history), training_summary=summary,
            privacy_spent=spent, dp_schedule=schedule))
        return self

    def _train_networks(self, prep: Any, *, run: Any = None) -> list[dict[str, float]]:
        """Build the network (initialisation from ``random_state``; DP: heads at the DP
        marginals), then train it (here, or by ``run``); one dict per epoch."""
        from .distributed import current, rank_generator

        private = prep.plan is not None
        rng = prep.rng
        self._order = self._resolve_order(list(self.metadata_.modelled_columns))
        self._build_networks(self._torch_generator(rng, "cpu"))
        if private:
            from .ar_dp import init_from_marginals

            init_from_marginals(self)  # post-processing of the DP statistics
        # orders and dropout: data-independent; each process draws its own rows' orders
        generator = rank_generator(self._torch_generator(rng, self.device_), current())
        if run is not None:
            return run(self)
        if private:
            from .ar_dp import calibrate_marginals, train_ar_dp

            history = train_ar_dp(self, prep.codes, rng=rng, generator=generator)
            # post-processing (no row read): the launcher's workers did it for `run`
            calibrate_marginals(self, seed=int(rng.integers(2**31)))
            return history
        return self._train(np.empty((len(prep.codes), 0), np.float32), prep.codes, rng=rng,
                           generator=generator)

    def _restore_transformer(self, metadata: Any, stats: Any, training: Any) -> Any:
        from ..transformer import DataTransformer

        self._order = self._resolve_order(list(metadata.modelled_columns))
        n_bins = int(training.get("n_bins") or self.n_bins)
        return DataTransformer(metadata, stats, numeric_encoding="bins", n_bins=n_bins)

    # ------------------------------------------------------------------ networks
    def _build_networks(self, init_generator: Any) -> None:
        from .ar_network import ARNetwork, context_width

        domains = self.transformer_.column_domains
        width = context_width(domains, max_dim=self.max_embedding_dim)
        net = ARNetwork(domains, width, hidden=self.hidden_dim, dropout=float(self.dropout))
        net.reset_parameters(init_generator)
        self._net = net.to(self.device_)
        for cache in ("_tables", "_noise_cells"):  # a refit or a load: the caches are stale
            self.__dict__.pop(cache, None)

    def _restore(self, *, state: Any, **parts: Any) -> None:
        """As for every model; a file of the earlier network layout (per-head layers over
        every column's embedding, ``ar.embeddings.*``) is refused with a clear error."""
        from ..errors import ModelFileError

        if any(k.startswith("ar.embeddings.") for k in state) and "ar.cells.weight" not in state:
            raise ModelFileError(
                "This ARSynthesizer model file holds the earlier network layout (each column "
                "head reading every column's embedding), which this version no longer "
                "builds; fit the model again with this version.")
        super()._restore(state=state, **parts)

    def _sampling_networks(self) -> dict[str, Any]:
        return {"ar": self._net}

    def _before(self, batch: int, generator: Any) -> Any:
        """Each training row's column order, as ``(batch, columns)`` ranks."""
        from .ar_network import fixed_ranks, flexible_before, random_before

        if self.column_order == "random":
            return random_before(batch, len(self.columns_), generator=generator,
                                 device=self.device_)
        if self.column_order == "flexible":
            return flexible_before(batch, self._order, generator=generator, device=self.device_)
        return fixed_ranks(batch, self._order, device=self.device_)

    def _train(self, X: np.ndarray, codes: np.ndarray, *, rng: np.random.Generator,
               generator: Any) -> list[dict[str, float]]:
        """Non-private training with early stopping (:func:`tabsynth.models.ar_train.
        train_ar`); the private loop is :func:`tabsynth.models.ar_dp.train_ar_dp`."""
        from .ar_train import train_ar

        history, best_epoch = train_ar(self, codes, rng=rng, generator=generator)
        self._best = {"best_epoch": best_epoch}  # read by fit (training_summary_)
        return history

    # ------------------------------------------------------------------ sampling
    # the network's side of sampling: tabsynth/models/ar_sampling.py
    def _plan_conditions(self, parsed: Any) -> tuple[Any, tuple]:
        """Every condition is met exactly by the network (masked logits): nothing by
        rejection. The parsed conditions travel to :meth:`_generate_rows` as ``exact``."""
        return (parsed if parsed else None), ()

    def _generate(self, n: int, *, exact: Any, rng: np.random.Generator,
                  generator: Any) -> np.ndarray:
        """``(n, columns)`` cells meeting the conditions ``exact`` (parsed; or ``None``)."""
        from .ar_sampling import generate_cells

        return generate_cells(self, n, exact, generator=generator)

    def _generate_rows(self, n: int, *, exact: Any, rng: np.random.Generator,
                       generator: Any) -> pd.DataFrame:
        from .ar_sampling import generate_rows

        return generate_rows(self, n, exact, rng=rng, generator=generator)
