"""``BaseSynthesizer``: the estimator contract shared by :class:`CTGAN`, :class:`TVAE` and
:class:`ARSynthesizer`.

scikit-learn conventions: ``__init__`` only stores its keyword arguments; ``fit`` validates
them, starts from scratch and returns ``self``; what was learned ends in ``_``.
``random_state`` is resolved inside ``fit``/``sample`` into a local
:class:`numpy.random.Generator` and seeded :class:`torch.Generator` objects (never global
seeds), so the same seed gives the same model and the same samples on the CPU.

Subclasses implement the network-specific hooks:

``_check_model_params()``
    extra parameter checks (``check_param``);
``_build_networks(init_generator)``
    create the networks for ``self.transformer_`` on ``self.device_``;
``_train(X, codes, rng, generator) -> list[dict]``
    the training loop (one dict of mean losses per epoch);
``_generate(n, exact, rng, generator) -> np.ndarray``
    ``n`` rows in the transformer's output space (one-hot / tanh values);
``_sampling_networks() -> dict[str, nn.Module]``
    the networks a model file holds (what sampling needs).

``sample`` / ``sample_to`` / ``sample_rare`` and their hooks ``_plan_conditions`` and
``_generate_rows`` are in :mod:`tabsynth.models.sampling_methods`.
"""

from __future__ import annotations

import abc
import contextlib
import inspect
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._device import resolve_device
from .._estimator import Estimator
from ..errors import NotFittedError, ParameterError, TrainingError, check_param
from ..metadata import check_modelled
from ..privacy.accounting import fallback_warned_once
from ..sampling.conditions import Condition
from ..stats.passes import is_streamed
from .fit_result import FitResult
from .params import (  # noqa: F401 - _is_*: re-exported (the models import them from here)
    GRAD_SAMPLE_MODES,
    MAX_EPSILON,
    _is_dims,
    _is_float,
    _is_int,
    check_common_params,
    check_privacy_params,
    resolve_metadata,
)
from .persistence import restore_fitted, save_model
from .sampling_methods import SamplingMethods

__all__ = ["BaseSynthesizer"]

_SEED_BOUND = 2**63 - 1


class BaseSynthesizer(SamplingMethods, Estimator, abc.ABC):
    """Base class of tabsynth's synthesizers (:class:`~tabsynth.CTGAN`, :class:`~tabsynth.TVAE`).

    Holds the estimator contract (parameters, ``fit``, ``save``, device and seeding); the
    sampling methods (``sample``, ``sample_to``, ``sample_rare``) come from
    :class:`~tabsynth.models.sampling_methods.SamplingMethods`. Not meant to be instantiated
    directly.
    """

    #: Rows generated per network forward pass when sampling (``batch_size=None``).
    _sample_batch_size: ClassVar[int] = 20_000
    #: Tuple-valued parameters (restored as tuples when loaded from a model file).
    _tuple_params: ClassVar[tuple[str, ...]] = ()

    # ------------------------------------------------------------------ params
    # get_params / set_params / clone: tabsynth._estimator.Estimator (one place for all)
    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        parts = []
        for name, value in self.get_params().items():
            default = sig.parameters[name].default
            try:
                same = bool(value == default)
            except Exception:  # noqa: BLE001
                same = False
            if not same:
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def _check(self, name: str, ok: bool, expected: str) -> None:
        check_param(type(self).__name__, name, getattr(self, name), ok, expected)

    def _validate_params(self) -> None:
        """Check every parameter; raise the project's standard :class:`ParameterError`
        (:mod:`tabsynth.models.params`), then the model's own checks."""
        check_common_params(self)
        self._check_model_params()
        check_privacy_params(self)

    # differential privacy: DP-SGD (models/dp_training.py), marginals (models/marginal_fit.py)
    _GRAD_SAMPLE_MODES: ClassVar[tuple[str, ...]] = GRAD_SAMPLE_MODES
    _ROUTES: ClassVar[tuple[str, ...]] = ("dpsgd", "marginals")

    @abc.abstractmethod
    def _check_model_params(self) -> None:
        """Model-specific parameter checks (``check_param``)."""

    # ------------------------------------------------------------------ fitting
    @fallback_warned_once()  # the PRV -> RDP fallback warning: once per fit
    def fit(self, data: Any, metadata: Any = None) -> BaseSynthesizer:
        """Fit the synthesizer on a table, from scratch.

        Parameters
        ----------
        data : pandas.DataFrame, path, folder, glob or TableSource
            The real table (a ``.csv``/``.csv.gz``/``.parquet``/``.pq`` path is read with
            :func:`tabsynth.io.read_table`). The caller's DataFrame is not modified. A Parquet
            dataset folder, a glob of files or a :class:`~tabsynth.sources.TableSource`
            (:func:`tabsynth.sql_source`) is read in record batches, never whole
            (:mod:`tabsynth.models.streaming`; CTGAN and TVAE train from a temporary file
            of the encoded rows, not under ``route="marginals"``).
        metadata : Metadata, dict, path or None
            Column types. ``None`` detects them with :meth:`Metadata.detect`.

        Returns
        -------
        self

        Inside a ``torch.distributed`` process group of several processes (``torchrun``),
        every process calls ``fit`` on the same table: rank 0 alone measures the statistics
        (and, under DP, plans the run) and sends them to the others, each process encodes its
        own copy, then the processes train one model together
        (:mod:`tabsynth.models.distributed`; ``route="marginals"`` refuses).
        """
        from .distributed import current, share_prepared

        df, md, device = self._start_fit(data, metadata)
        ctx = current()
        if self.epsilon is not None and self.route == "marginals":
            if is_streamed(df):
                raise ParameterError(
                    f"{type(self).__name__}(route='marginals') needs the table in memory (a "
                    "DataFrame or one file); a streamed table fits with route='dpsgd'.")
            if ctx is not None:
                raise ParameterError(
                    f"{type(self).__name__}(route='marginals') trains in one process: fit it "
                    "without torchrun (or use route='dpsgd').")
            from ..privacy import noise_rng

            # random_state seeds post-processing only; privacy noise comes from OS entropy
            return self._fit_marginals(df, md, device, np.random.default_rng(self.random_state),
                                       noise_rng(self.secure_mode))
        with contextlib.ExitStack() as stack:  # a streamed fit's files live until its end
            if ctx is None:
                prep = self._prepare(df, md, device, stack=stack)
            else:  # rank 0 prepares; the others receive it; each encodes its own copy
                prep = share_prepared(self, ctx, self._prepare, df, md, device, stack=stack)
            del df
            return self._fit_prepared(prep)

    # the fit's steps (CTGAN/TVAE: models/rows_fit.py; the AR overrides them)
    def _prepare(self, df: Any, md: Any, device: Any, *,
                 stack: contextlib.ExitStack | None = None, encode: bool = True) -> Any:
        """Statistics, ledger, DP-SGD plan and encoded rows: a
        :class:`~tabsynth.models.distributed.Prepared` (``encode=False``: no rows)."""
        from .rows_fit import prepare_rows

        return prepare_rows(self, df, md, device, stack=stack, encode=encode)

    def _encode_prepared(self, prep: Any, df: Any, stack: contextlib.ExitStack | None) -> Any:
        """Encode the table into ``prep`` (a process of a group, each its own copy); returns
        the array the processes compare (:func:`~tabsynth.models.distributed.
        check_same_cells`)."""
        from .rows_fit import encode_rows

        return encode_rows(self, prep, df, stack)

    def _fit_prepared(self, prep: Any, *, run: Any = None) -> BaseSynthesizer:
        """Train on a prepared fit and store the result (``run``: the multi-process launcher
        trains elsewhere and loads the weights)."""
        from .rows_fit import fit_prepared_rows

        return fit_prepared_rows(self, prep, run=run)

    def _train_networks(self, prep: Any, *, run: Any = None) -> list[dict[str, float]]:
        """Build the networks and train them (here, or by ``run``)."""
        from .rows_fit import train_rows

        return train_rows(self, prep, run=run)

    def _start_fit(self, data: Any, metadata: Any) -> tuple[pd.DataFrame, Any, Any]:
        """Validate the parameters, forget a previous fit, read and check the table:
        ``(df, metadata, device)``."""
        from ..io import read_table
        from ..metadata import check_data
        from ..sources import is_source_spec

        self._validate_params()
        self._reset_fitted()
        private = self.epsilon is not None
        if is_source_spec(data):
            return self._start_streamed_fit(data, metadata, private)
        df = read_table(data)
        md = resolve_metadata(metadata, df, private=private)
        md.validate(df, private=private)
        check_data(df, md, private=private)
        check_modelled(md, type(self).__name__)
        return df, md, resolve_device(self.device, owner=type(self).__name__)

    #: Whether ``fit`` can read a table in record batches (a directory, a glob, a SQL
    #: source: :mod:`tabsynth.models.streaming`).
    _streaming: ClassVar[bool] = True
    #: Whether the numeric encoding reads the statistics' mixture modes (CTGAN/TVAE's
    #: mode-specific normalisation); models that bin numeric columns skip the mixture fits.
    _uses_modes: ClassVar[bool] = True

    def _start_streamed_fit(self, data: Any, metadata: Any, private: bool) -> tuple:
        """:meth:`_start_fit` for a table read in record batches: ``(source, metadata,
        device)``. Metadata: declared, else from the schema's dtypes and names (DP) or detected
        on the first batch (non-DP); each batch is checked by the statistics pass."""
        from ..sources import open_source

        name = type(self).__name__
        if not self._streaming:
            raise ParameterError(
                f"A streaming fit (a Parquet dataset folder, a glob of files or a SQL source) "
                f"is not supported by {name}; it needs the table in memory (a DataFrame or one "
                "file).")
        source = open_source(data)
        if metadata is None:
            md = resolve_metadata(None, source.empty() if private else source.head(),
                                  private=private)
        else:
            md = resolve_metadata(metadata, None, private=private)
        check_modelled(md, name)
        return source, md, resolve_device(self.device, owner=name)

    def _run_training(self, train: Any, ledger: Any,
                      plan: Any) -> tuple[list[dict[str, float]], float, Any, Any]:
        """Run ``train()`` (the DP-SGD ``plan`` readable as ``_dp_plan`` meanwhile):
        ``(history, seconds, privacy_spent, dp_schedule)``; the last two ``None`` without a
        plan (:func:`tabsynth.models.dp_training.finish_private` otherwise)."""
        self._dp_plan = plan
        start = time.perf_counter()
        try:
            history = train()
            check_finite(self)
        finally:
            self.__dict__.pop("_dp_plan", None)
        seconds = time.perf_counter() - start
        if plan is None:
            return history, seconds, None, None
        from .dp_training import finish_private

        return (history, seconds, *finish_private(ledger, plan))

    def _store_fit(self, result: FitResult) -> None:
        """THE writer of fitted state: every fitted attribute (``name_``) comes from
        ``result`` (see :mod:`tabsynth.models.fit_result`)."""
        for name, value in result.attributes().items():
            setattr(self, name, value)

    def _with_correction(self, result: FitResult) -> FitResult:
        """``result`` with the DP post-processing correction of a DP-SGD model (built from the
        fitted model's own pilot sample; see :mod:`tabsynth.sampling.correction`)."""
        from ..sampling.correction import build_correction, corrects

        if not corrects(self, result.stats):
            return result
        return result.with_training(correction=build_correction(self))

    def _fit_marginals(self, df: pd.DataFrame, md: Any, device: Any,
                       rng: np.random.Generator, noise: Any) -> BaseSynthesizer:
        """``route="marginals"``: fit the generator to DP-measured marginals
        (:func:`tabsynth.models.marginal_fit.fit_to_marginals` returns the
        :class:`FitResult`, stored through :meth:`_store_fit`)."""
        try:
            from .marginal_fit import fit_to_marginals
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.marginal_fit":
                raise
            raise ParameterError(
                f"route='marginals' is not available in this version of tabsynth: use "
                f"{type(self).__name__}(route='dpsgd')."
            ) from None
        fit_to_marginals(self, df, md, rng=rng, noise=noise, device=device,
                         generator=self._torch_generator(rng, device))
        return self

    def _compute_stats(self, df: pd.DataFrame, metadata: Any, rng: np.random.Generator) -> Any:
        """The one source of statistics about the real table (exact, non-DP for now).

        The DP version returns private statistics and records them in ``self.ledger_``.
        """
        from ..stats import compute_stats
        from ..stats.passes import is_streamed

        seed = int(rng.integers(2**32))
        if is_streamed(df):
            from .streaming import streamed_stats

            return streamed_stats(df, metadata, seed, mixtures=self._uses_modes)
        return compute_stats(df, metadata, random_state=seed, mixtures=self._uses_modes)

    @staticmethod
    def _torch_generator(rng: np.random.Generator, device: Any) -> Any:
        import torch

        gen = torch.Generator(device=device)
        gen.manual_seed(int(rng.integers(_SEED_BOUND)))
        return gen

    def _check_is_fitted(self) -> None:
        if not hasattr(self, "transformer_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' first."
            )

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to ``path`` (a zip: ``manifest.json`` + ``weights.safetensors``).

        See :func:`tabsynth.models.persistence.save_model`; load it back with
        :func:`tabsynth.load`.
        """
        self._check_is_fitted()
        return save_model(self, path)

    def _restore(self, *, metadata: Any, stats: Any, training: Mapping[str, Any], ledger: Any,
                 state: Mapping[str, Any], device: Any) -> None:
        """Rebuild a fitted model from a model file's parts (used by :func:`tabsynth.load`;
        :func:`tabsynth.models.persistence.restore_fitted`)."""
        restore_fitted(self, metadata=metadata, stats=stats, training=training, ledger=ledger,
                       state=state, device=device)

    def _restore_transformer(self, metadata: Any, stats: Any, training: Mapping[str, Any]) -> Any:
        """The transformer a loaded model uses (the one its fit built)."""
        from .marginal_fit import transformer_for  # bins encoding for route="marginals"

        return transformer_for(self, metadata, stats, n_bins=training.get("n_bins"))

    # ------------------------------------------------------------------ hooks
    @abc.abstractmethod
    def _build_networks(self, init_generator: Any) -> None:
        """Create the networks for ``self.transformer_`` on ``self.device_``."""

    @abc.abstractmethod
    def _train(
        self, X: np.ndarray, codes: np.ndarray, *, rng: np.random.Generator, generator: Any
    ) -> list[dict[str, float]]:
        """Train on the transformed rows; one dict of mean losses per epoch."""

    @abc.abstractmethod
    def _generate(
        self, n: int, *, exact: Condition | None, rng: np.random.Generator, generator: Any
    ) -> np.ndarray:
        """``n`` rows in the transformer's output space."""

    @abc.abstractmethod
    def _sampling_networks(self) -> dict[str, Any]:
        """The networks a model file holds (what sampling needs)."""


def check_finite(model: BaseSynthesizer) -> None:
    """Raise :class:`~tabsynth.errors.TrainingError`, the model reset to unfitted, when a
    network the model file would hold (:meth:`BaseSynthesizer._sampling_networks`) has a
    weight or buffer that is NaN or infinite: training diverged, and sampling would give
    wrong rows (every numeric value missing) without an error."""
    import torch

    for name, net in model._sampling_networks().items():
        for key, t in net.state_dict().items():
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                model._reset_fitted()
                raise TrainingError(
                    f"Training diverged: the {name} network's {key!r} is not finite (NaN or "
                    f"infinite) after training, so {type(model).__name__} was not fitted and "
                    "nothing was written. Fit again (another random_state), or with a lower "
                    "learning rate or fewer epochs.")
