"""``BaseSynthesizer``: the estimator contract shared by :class:`CTGAN` and :class:`TVAE`.

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
"""

from __future__ import annotations

import abc
import gzip
import inspect
import math
import numbers
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._device import is_valid_device_spec, resolve_device
from ..errors import MetadataError, NotFittedError, ParameterError, check_param
from ..metadata import check_modelled
from ..privacy.accounting import fallback_warned_once
from .conditions import Condition, ParsedConditions, RejectionBudget, parse_conditions
from .persistence import save_model

__all__ = ["BaseSynthesizer"]

_SEED_BOUND = 2**63 - 1
#: Largest epsilon accepted: far beyond any meaningful guarantee; larger values made the
#: accountants divide by zero and the marginal route loop for minutes.
MAX_EPSILON = 1000.0


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_float(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_dims(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(_is_int(v) and v >= 1 for v in value)


def _table_format(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    return None


class BaseSynthesizer(abc.ABC):
    """Base class of tabsynth's synthesizers (:class:`~tabsynth.CTGAN`, :class:`~tabsynth.TVAE`).

    Holds the estimator contract (parameters, ``fit``, ``sample``, ``sample_to``, ``save``,
    device and seeding). Not meant to be instantiated directly.
    """

    #: Rows generated per network forward pass when sampling (``batch_size=None``).
    _sample_batch_size: ClassVar[int] = 20_000
    #: Tuple-valued parameters (restored as tuples when loaded from a model file).
    _tuple_params: ClassVar[tuple[str, ...]] = ()

    # ------------------------------------------------------------------ params
    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        ]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this synthesizer (scikit-learn convention)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> BaseSynthesizer:
        """Set parameters; validated at the next ``fit``. Returns ``self``.

        Raises
        ------
        ParameterError
            An unknown parameter name (the valid ones are listed).
        """
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ParameterError(
                    f"Invalid parameter {name!r} for {type(self).__name__}. "
                    f"Valid parameters: {valid}."
                )
            setattr(self, name, value)
        return self

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
        """Check every parameter; raise the project's standard :class:`ParameterError`."""
        self._check("epochs", _is_int(self.epochs) and self.epochs >= 1, "an int >= 1")
        self._check("batch_size", _is_int(self.batch_size) and self.batch_size >= 1, "an int >= 1")
        self._check(
            "random_state",
            self.random_state is None or (_is_int(self.random_state) and self.random_state >= 0),
            "None or an int >= 0",
        )
        self._check("verbose", isinstance(self.verbose, bool), "a bool")
        self._check(
            "device",
            is_valid_device_spec(self.device),
            "'auto', 'cpu', 'cuda', 'cuda:N', 'mps' or a torch.device",
        )
        self._check_model_params()
        self._validate_privacy_params()

    # --- differential privacy (DP-SGD: models/dp_training.py; marginals: models/marginal_fit.py)
    _GRAD_SAMPLE_MODES: ClassVar[tuple[str, ...]] = ("auto", "ghost", "hooks", "functorch", "ew")
    _ROUTES: ClassVar[tuple[str, ...]] = ("dpsgd", "marginals")

    def _validate_privacy_params(self) -> None:
        """Checks of ``epsilon``, ``delta``, ``max_grad_norm``, ``preprocessing_share``,
        ``accountant``, ``secure_mode``, ``grad_sample_mode`` and ``route``."""
        eps = self.epsilon
        self._check("epsilon", eps is None or (_is_float(eps) and math.isfinite(eps)
                                               and 0 < eps <= MAX_EPSILON),
                    f"None or a float in (0, {MAX_EPSILON:g}] (beyond, the guarantee is void and "
                    "the accountants lose precision)")
        delta = self.delta
        self._check("delta", delta is None or (_is_float(delta) and 0 < delta < 1),
                    "None or a float in (0, 1)")
        mgn = self.max_grad_norm
        self._check("max_grad_norm", _is_float(mgn) and math.isfinite(mgn) and mgn > 0,
                    "a float > 0 and finite")
        share = self.preprocessing_share
        self._check("preprocessing_share", _is_float(share) and 0 < share < 1, "a float in (0, 1)")
        self._check("accountant", self.accountant in ("prv", "rdp"), "'prv' or 'rdp'")
        self._check("secure_mode", isinstance(self.secure_mode, bool), "a bool")
        self._check("grad_sample_mode", self.grad_sample_mode in self._GRAD_SAMPLE_MODES,
                    f"one of {list(self._GRAD_SAMPLE_MODES)}")
        self._check("route", self.route in self._ROUTES, f"one of {list(self._ROUTES)}")
        if self.route == "marginals" and eps is None:
            self._check("route", False, "'dpsgd' when epsilon is None ('marginals' is a "
                        "private route: give epsilon)")

    @abc.abstractmethod
    def _check_model_params(self) -> None:
        """Model-specific parameter checks (``check_param``)."""

    # ------------------------------------------------------------------ fitting
    @fallback_warned_once()  # the PRV -> RDP fallback warning: once per fit
    def fit(self, data: Any, metadata: Any = None) -> BaseSynthesizer:
        """Fit the synthesizer on a table, from scratch.

        Parameters
        ----------
        data : pandas.DataFrame or path
            The real table (a ``.csv``/``.csv.gz``/``.parquet``/``.pq`` path is read with
            :func:`tabsynth.io.read_table`). The caller's DataFrame is not modified.
        metadata : Metadata, dict, path or None
            Column types. ``None`` detects them with :meth:`Metadata.detect`.

        Returns
        -------
        self
        """
        from ..io import read_table
        from ..metadata import Metadata, check_data
        from ..transformer import DataTransformer

        self._validate_params()
        self._reset_fitted()
        df = read_table(data)
        private = self.epsilon is not None
        md = self._resolve_metadata(metadata, df, Metadata, private=private)
        md.validate(df, private=private)
        check_data(df, md, private=private)
        check_modelled(md, type(self).__name__)
        device = resolve_device(self.device, owner=type(self).__name__)
        # random_state seeds post-processing only (initialisation, latent noise, sampling);
        # privacy noise comes from OS entropy (tabsynth.privacy.noise): never replayable.
        rng = np.random.default_rng(self.random_state)

        self.ledger_ = None
        self.privacy_spent_ = None
        if private:
            from ..privacy import noise_rng

            noise = noise_rng(self.secure_mode)
        if private and self.route == "marginals":
            return self._fit_marginals(df, md, device, rng, noise)
        if private:  # DP-SGD: checks, DP stats, ledger, calibration
            from .dp_training import prepare_private_fit

            stats, self.ledger_, self._dp_plan = prepare_private_fit(self, df, md, noise)
        else:
            stats = self._compute_stats(df, md, rng)
        transformer = DataTransformer(md, stats)
        X = np.ascontiguousarray(transformer.transform(df, rng=rng), dtype=np.float32)
        if transformer.discrete_spans:
            codes = np.asarray(transformer.category_codes(df), dtype=np.int64)
        else:
            codes = np.zeros((len(df), 0), dtype=np.int64)

        self.metadata_ = md
        self.stats_ = stats
        self.transformer_ = transformer
        self.device_ = device
        self.n_features_in_ = int(df.shape[1])
        self.columns_ = list(transformer.columns)

        init_gen = self._torch_generator(rng, "cpu")
        train_gen = self._torch_generator(rng, device)
        self._build_networks(init_gen)
        start = time.perf_counter()
        try:
            history = self._train(X, codes, rng=rng, generator=train_gen)
        finally:
            self.__dict__.pop("_dp_plan", None)
        seconds = time.perf_counter() - start
        self.loss_history_ = pd.DataFrame(history)
        schedule = getattr(self, "dp_schedule_", {})  # DP: the resolved schedule
        self.training_summary_ = {
            "epochs": int(schedule.get("epochs", self.epochs)),
            "batch_size": int(schedule.get("batch_size", self.batch_size)),
        }
        if not private:  # a DP model file holds no timing (a side channel that grows with n)
            self.training_summary_["seconds"] = round(seconds, 3)
        return self

    def _fit_marginals(self, df: pd.DataFrame, md: Any, device: Any,
                       rng: np.random.Generator, noise: Any) -> BaseSynthesizer:
        """``route="marginals"``: fit the generator to DP-measured marginals
        (:func:`tabsynth.models.marginal_fit.fit_to_marginals` sets ``stats_``,
        ``transformer_``, the networks, ``ledger_``, ``privacy_spent_``, ``loss_history_``)."""
        try:
            from .marginal_fit import fit_to_marginals
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.marginal_fit":
                raise
            raise ParameterError(
                f"route='marginals' is not available in this version of tabsynth: use "
                f"{type(self).__name__}(route='dpsgd')."
            ) from None
        self.metadata_ = md
        self.device_ = device
        self.n_features_in_ = int(df.shape[1])
        fit_to_marginals(self, df, md, rng=rng, noise=noise,
                         generator=self._torch_generator(rng, device))
        if not hasattr(self, "columns_"):
            self.columns_ = list(self.transformer_.columns)
        if not hasattr(self, "training_summary_"):
            self.training_summary_ = {"epochs": int(self.epochs)}
        return self

    def _compute_stats(self, df: pd.DataFrame, metadata: Any, rng: np.random.Generator) -> Any:
        """The one source of statistics about the real table (exact, non-DP for now).

        The DP version returns private statistics and records them in ``self.ledger_``.
        """
        from ..stats import compute_stats

        return compute_stats(df, metadata, random_state=int(rng.integers(2**32)))

    @staticmethod
    def _resolve_metadata(metadata: Any, df: pd.DataFrame, Metadata: Any,  # noqa: N803
                          private: bool = False) -> Any:
        if metadata is None and private:
            # Under DP nothing is inferred from the values: dtypes and names only.
            return Metadata.from_dtypes(df, announce=True)
        if metadata is None:
            return Metadata.detect(df)
        if isinstance(metadata, Metadata):
            return metadata.copy()
        if isinstance(metadata, Mapping):
            return Metadata.from_dict(metadata)
        if isinstance(metadata, (str, os.PathLike)):
            return Metadata.load(metadata)
        raise MetadataError(
            "metadata must be a Metadata, a dict, a path to a metadata JSON file or None, "
            f"got {type(metadata).__name__}."
        )

    def _reset_fitted(self) -> None:
        """Forget everything a previous fit left: fitted attributes (``name_``) and private
        state and caches (``_name``, e.g. the marginal correction); parameters stay."""
        params = set(self._get_param_names())
        for name in list(vars(self)):
            if name not in params and (name.endswith("_") or name.startswith("_")):
                delattr(self, name)

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

    # ------------------------------------------------------------------ sampling
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
            :mod:`tabsynth.models.conditions`.
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
        or its rare categories (``rare_threshold``). See :func:`tabsynth.rare.sample_rare`."""
        from ..rare import sample_rare

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
    ) -> Path:
        """Stream ``n`` synthetic rows to a CSV or Parquet file in chunks (bounded memory).

        ``na_rep`` is the CSV token written for missing values (the input's, e.g. ``"NA"``).

        The file is written under a temporary name in the same folder and renamed at the end,
        so a failed run leaves nothing behind. CSV (``.csv``, ``.csv.gz``) gets its header
        once; Parquet (``.parquet``, ``.pq``) gets one row group per chunk.

        Returns
        -------
        pathlib.Path
            The written file.
        """
        from ..io import atomic_path

        self._check_is_fitted()
        owner = f"{type(self).__name__}.sample_to"
        target = Path(path)
        fmt = _table_format(target)
        check_param(owner, "path", str(path), fmt is not None,
                    "a path ending in .csv, .csv.gz, .parquet or .pq")
        check_param(owner, "chunk_size", chunk_size, _is_int(chunk_size) and chunk_size >= 1,
                    "an int >= 1")
        chunks = self._iter_chunks(n, chunk_size, conditions, random_state, batch_size, owner)
        with atomic_path(target) as tmp:
            if fmt == "csv":
                opener = gzip.open if target.name.lower().endswith(".gz") else open
                with opener(tmp, "wt", encoding="utf-8", newline="") as fh:  # type: ignore[operator]
                    for i, chunk in enumerate(chunks):
                        chunk.to_csv(fh, header=(i == 0), index=False, na_rep=str(na_rep))
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                writer = None
                try:
                    for chunk in chunks:
                        table = pa.Table.from_pandas(chunk, preserve_index=False)
                        if writer is None:
                            writer = pq.ParquetWriter(tmp, table.schema)
                        elif not table.schema.equals(writer.schema):
                            table = table.cast(writer.schema)
                        writer.write_table(table)
                finally:
                    if writer is not None:
                        writer.close()
        return target

    def _iter_chunks(
        self,
        n: int,
        chunk_size: int | None,
        conditions: Mapping[str, Any] | None,
        random_state: Any,
        batch_size: int | None,
        owner: str,
    ) -> Iterator[pd.DataFrame]:
        """Validate a sampling call, then yield DataFrames of ``chunk_size`` rows (total ``n``).

        Arguments are checked eagerly (before the first chunk is requested).
        """
        name = type(self).__name__ if owner == "sample" else owner
        check_param(name, "n", n, _is_int(n) and n >= 1, "an int >= 1")
        check_param(
            name, "random_state", random_state,
            random_state is None or (_is_int(random_state) and random_state >= 0),
            "None or an int >= 0",
        )
        check_param(
            name, "batch_size", batch_size,
            batch_size is None or (_is_int(batch_size) and batch_size >= 1),
            "None or an int >= 1",
        )
        parsed = parse_conditions(conditions, self.transformer_)
        exact, rejected = self._plan_conditions(parsed)
        return self._chunks(
            int(n), int(chunk_size or n), parsed, exact, rejected, random_state,
            int(batch_size or self._sample_batch_size),
        )

    def _chunks(
        self,
        n: int,
        chunk: int,
        parsed: ParsedConditions,
        exact: Condition | None,
        rejected: tuple[Condition, ...],
        random_state: Any,
        batch_size: int,
    ) -> Iterator[pd.DataFrame]:
        rng = np.random.default_rng(random_state)
        generator = self._torch_generator(rng, self.device_)
        budget = RejectionBudget(n, rejected, original=parsed.original)
        from ..postprocess import apply_correction, correction_for  # DP post-processing hook

        correction = correction_for(self)
        buffer: list[pd.DataFrame] = []
        buffered = 0
        emitted = 0
        while emitted < n:
            if emitted + buffered < n:
                m = budget.next_batch(n - emitted - buffered, batch_size)
                df = self._generate_rows(m, exact=exact, rng=rng, generator=generator)
                # --- DP post-processing hook (tabsynth/postprocess.py): DP-SGD models only;
                # maps rows onto the model's own DP marginals (stats_), never real data.
                if correction is not None:
                    df = apply_correction(df, correction, rng)
                # --- end of hook
                mask = budget.update(df)
                if not mask.all():
                    df = df.loc[mask]
                if len(df):
                    buffer.append(df)
                    buffered += len(df)
                budget.check(emitted + buffered)
            while buffered >= chunk or (buffered and emitted + buffered >= n):
                data = buffer[0] if len(buffer) == 1 else pd.concat(buffer)
                take = min(chunk, n - emitted)
                out = data.iloc[:take].reset_index(drop=True)
                rest = data.iloc[take:]
                buffer = [rest] if len(rest) and emitted + take < n else []
                buffered = len(rest) if buffer else 0
                emitted += take
                yield out
                if emitted >= n:
                    return

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

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to ``path`` (a zip: ``manifest.json`` + ``weights.safetensors``).

        See :func:`tabsynth.models.persistence.save_model`; load it back with
        :func:`tabsynth.load`.
        """
        self._check_is_fitted()
        return save_model(self, path)

    def _restore(
        self,
        *,
        metadata: Any,
        stats: Any,
        training: Mapping[str, Any],
        ledger: Any,
        state: Mapping[str, Any],
        device: Any,
    ) -> None:
        """Rebuild a fitted model from a model file's parts (used by :func:`tabsynth.load`)."""
        import torch


        self._validate_params()
        self.metadata_ = metadata
        self.stats_ = stats
        self.transformer_ = self._restore_transformer(metadata, stats, training)
        self.device_ = resolve_device(device, owner="load")
        self.columns_ = list(training.get("columns", metadata.modelled_columns))
        self.n_features_in_ = int(training.get("n_features_in", len(self.columns_)))
        self.loss_history_ = pd.DataFrame(training.get("loss_history", {}))
        self.training_summary_ = {
            "epochs": training.get("epochs"),
            "batch_size": training.get("batch_size"),
        }
        if training.get("seconds") is not None:
            self.training_summary_["seconds"] = training["seconds"]
        if training.get("n_bins") is not None:  # marginal route: bins of the numeric columns
            self.training_summary_["n_bins"] = int(training["n_bins"])
        if isinstance(ledger, Mapping):
            from ..privacy import Ledger

            ledger = Ledger.from_dict(ledger)
        self.ledger_ = ledger
        self.privacy_spent_ = training.get("privacy_spent")
        self._build_networks(torch.Generator().manual_seed(0))
        nets = self._sampling_networks()
        grouped: dict[str, dict[str, Any]] = {name: {} for name in nets}
        for key, tensor in state.items():
            prefix, _, rest = key.partition(".")
            if prefix not in grouped:
                raise ValueError(f"unexpected tensor {key!r}")
            grouped[prefix][rest] = tensor
        for name, net in nets.items():
            net.load_state_dict(grouped[name], strict=True)
            net.to(self.device_)
            net.eval()

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

