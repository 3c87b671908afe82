"""The privacy ledger: every mechanism that touched the real rows, and what was declared public.

One ledger per run (or per part of a disjoint partition, DESIGN.md rule 6). Its entries compose
in one accountant (:mod:`.accounting`); it serialises to versioned JSON for the model manifest and
the sign-off report.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .accounting import ACCOUNTANTS, compose
from .budget import PrivacyBudget
from .errors import BudgetExceededError, PrivacyParameterError

__all__ = ["LEDGER_SCHEMA_VERSION", "MECHANISM_FAMILIES", "Ledger", "LedgerEntry"]

LEDGER_SCHEMA_VERSION = 1
#: Families of ledger entries; "exponential" entries force the RDP accountant (see LedgerEntry).
MECHANISM_FAMILIES = ("gaussian", "exponential")


@dataclass(frozen=True)
class LedgerEntry:
    """One mechanism charged to the budget (or one item declared public).

    Attributes
    ----------
    mechanism : str
        ``"gaussian_histogram"``, ``"dpsgd"``, ``"public"``, ...
    target : str
        What was measured, e.g. ``"column 'age' bounds"``.
    params : dict
        JSON-able mechanism parameters (sigma, bins, threshold...), for the report.
    noise_multiplier : float
        Noise std divided by the L2 sensitivity (``sigma/sensitivity``; for DP-SGD the optimizer's
        noise multiplier). ``0`` for public entries.
    sample_rate : float
        ``1`` for a measurement on the whole table; the Poisson rate ``q`` for DP-SGD.
    steps : int
        Number of compositions of this mechanism (``1`` for a measurement).
    sensitivity : float
        L2 sensitivity under add/remove of one row (clipping norm for DP-SGD).
    extra_delta : float
        Added delta of a thresholded release over an unknown domain (0 otherwise).
    public : bool
        Declared public by the user: costs nothing, listed in the report.
    note : str
        Free text for the report.
    mechanism_family : {"gaussian", "exponential"}
        ``"gaussian"`` (default): a (subsampled) Gaussian mechanism, composed by PRV or RDP.
        ``"exponential"``: an exponential mechanism recorded as its Gaussian-equivalent RDP curve
        (an ``eps0``-EM is ``eps0^2/8``-zCDP, Cesar & Rogers 2021, i.e. the RDP curve
        ``alpha * eps0^2/8`` of a Gaussian with noise multiplier ``2/eps0``). That equivalence
        holds for RDP only — the PRV of a Gaussian is *not* a valid bound for the EM — so a
        ledger holding such an entry always composes with the RDP accountant
        (:attr:`Ledger.effective_accountant`).
    """

    mechanism: str
    target: str
    params: dict = field(default_factory=dict)
    noise_multiplier: float = 0.0
    sample_rate: float = 1.0
    steps: int = 1
    sensitivity: float = 1.0
    extra_delta: float = 0.0
    public: bool = False
    note: str = ""
    mechanism_family: str = "gaussian"

    def __post_init__(self) -> None:
        def bad(name: str, expected: str) -> PrivacyParameterError:
            return PrivacyParameterError(
                f"The {name!r} parameter of LedgerEntry must be {expected}. "
                f"Got {getattr(self, name)!r} instead."
            )

        if not isinstance(self.mechanism, str) or not self.mechanism:
            raise bad("mechanism", "a non-empty str")
        if not isinstance(self.target, str):
            raise bad("target", "a str")
        if not isinstance(self.params, dict):
            raise bad("params", "a dict")
        if not self.public:
            if not (isinstance(self.noise_multiplier, (int, float))
                    and math.isfinite(self.noise_multiplier) and self.noise_multiplier > 0):
                raise bad("noise_multiplier", "a float > 0 and finite")
            if not (isinstance(self.sample_rate, (int, float)) and 0 < self.sample_rate <= 1):
                raise bad("sample_rate", "a float in (0, 1]")
            if not (isinstance(self.steps, int) and not isinstance(self.steps, bool)
                    and self.steps >= 0):
                raise bad("steps", "an int >= 0")
            if not (isinstance(self.sensitivity, (int, float)) and self.sensitivity > 0):
                raise bad("sensitivity", "a float > 0")
        if not (isinstance(self.extra_delta, (int, float)) and 0 <= self.extra_delta < 1):
            raise bad("extra_delta", "a float in [0, 1)")
        if self.mechanism_family not in MECHANISM_FAMILIES:
            raise bad("mechanism_family", f"one of {list(MECHANISM_FAMILIES)}")
        if self.mechanism_family == "exponential" and not self.public and self.sample_rate != 1:
            raise bad("sample_rate", "1 for an exponential-mechanism entry")

    @classmethod
    def gaussian(cls, mechanism: str, target: str, *, sigma: float, sensitivity: float = 1.0,
                 extra_delta: float = 0.0, params: dict | None = None,
                 note: str = "") -> LedgerEntry:
        """Entry for one Gaussian measurement of noise std ``sigma`` and L2 ``sensitivity``."""
        return cls(mechanism=mechanism, target=target,
                   params={"sigma": float(sigma), **(params or {})},
                   noise_multiplier=float(sigma) / float(sensitivity), sample_rate=1.0, steps=1,
                   sensitivity=float(sensitivity), extra_delta=float(extra_delta), note=note)

    @classmethod
    def dpsgd(cls, target: str, *, noise_multiplier: float, sample_rate: float, steps: int,
              max_grad_norm: float, params: dict | None = None, note: str = "") -> LedgerEntry:
        """Entry for ``steps`` DP-SGD steps with Poisson rate ``sample_rate``."""
        return cls(mechanism="dpsgd", target=target,
                   params={"max_grad_norm": float(max_grad_norm), **(params or {})},
                   noise_multiplier=float(noise_multiplier), sample_rate=float(sample_rate),
                   steps=int(steps), sensitivity=float(max_grad_norm), note=note)

    @classmethod
    def exponential(cls, target: str, *, epsilon: float, sensitivity: float = 1.0,
                    params: dict | None = None, note: str = "") -> LedgerEntry:
        """Entry for one ``epsilon``-exponential mechanism (quality of L1 ``sensitivity``).

        Recorded as its Gaussian-equivalent RDP curve: ``epsilon^2/8``-zCDP (bounded range,
        Cesar & Rogers 2021, "Bounding, Concentrating, and Truncating: Unifying Privacy Loss
        Composition for Data Analytics", Lemma 3.2 via Durfee & Rogers 2019), i.e. noise
        multiplier ``2/epsilon`` at sample rate 1. Forces the RDP accountant on its ledger.
        """
        if not (isinstance(epsilon, (int, float)) and math.isfinite(epsilon) and epsilon > 0):
            raise PrivacyParameterError(
                f"The 'epsilon' parameter of LedgerEntry.exponential must be a float > 0 and "
                f"finite. Got {epsilon!r} instead."
            )
        return cls(mechanism="exponential", target=target,
                   params={"epsilon": float(epsilon), **(params or {})},
                   noise_multiplier=2.0 / float(epsilon), sample_rate=1.0, steps=1,
                   sensitivity=float(sensitivity), note=note, mechanism_family="exponential")

    @property
    def history_item(self) -> tuple[float, float, int] | None:
        """``(noise_multiplier, sample_rate, steps)`` for the accountant; ``None`` if public."""
        if self.public or self.steps == 0:
            return None
        return (float(self.noise_multiplier), float(self.sample_rate), int(self.steps))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> LedgerEntry:
        valid = {f.name for f in fields(cls)}
        unknown = set(d) - valid
        if unknown:
            raise PrivacyParameterError(
                f"Unknown ledger entry keys {sorted(unknown)}; valid keys are {sorted(valid)}."
            )
        return cls(**d)


_LEDGER_KEYS = {"schema_version", "budget", "accountant", "partition", "entries"}


@dataclass
class Ledger:
    """All mechanisms of one run, composed in one accountant.

    Parameters
    ----------
    budget : PrivacyBudget or None
        The requested budget. With a budget, :meth:`add` refuses (``BudgetExceededError``) an entry
        that would make the composition exceed it (DESIGN.md rule 4: the run stops).
    accountant : {"prv", "rdp"}
        Accountant used by :meth:`spent` by default.
    partition : dict or None
        Set when this ledger covers one part of a disjoint partition by a record's own value
        (e.g. ``{"column": "fraud", "value": 1}``): parts compose in parallel (rule 6).
    entries : list of LedgerEntry
    """

    budget: PrivacyBudget | None = None
    accountant: str = "prv"
    partition: dict | None = None
    entries: list[LedgerEntry] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.accountant not in ACCOUNTANTS:
            raise PrivacyParameterError(
                f"The 'accountant' parameter of Ledger must be one of {list(ACCOUNTANTS)}. "
                f"Got {self.accountant!r} instead."
            )

    # -- recording -----------------------------------------------------------------------------
    def add(self, entry: LedgerEntry, *, enforce: bool = True) -> LedgerEntry:
        """Record ``entry``. With a budget and ``enforce``, raise :class:`BudgetExceededError`
        (and record nothing) if the composition with it would exceed the budget."""
        if not isinstance(entry, LedgerEntry):
            raise PrivacyParameterError(
                f"Ledger.add expects a LedgerEntry. Got {type(entry).__name__} instead."
            )
        if enforce and self.budget is not None and not entry.public:
            trial = Ledger(self.budget, self.accountant, self.partition, [*self.entries, entry])
            eps, _ = trial.spent()
            if eps > self.budget.epsilon:
                raise BudgetExceededError(
                    f"Recording {entry.mechanism} on {entry.target} would spend epsilon="
                    f"{eps:.4g} > the budget epsilon={self.budget.epsilon:g} "
                    f"(delta={self.budget.delta:g}); the run stops here."
                )
        self.entries.append(entry)
        return entry

    def declare_public(self, target: str, what: str) -> LedgerEntry:
        """Record that ``target`` (e.g. "column 'age' bounds") was declared public by the user."""
        return self.add(LedgerEntry(mechanism="public", target=target, public=True, note=what,
                                    noise_multiplier=0.0, steps=0))

    # -- accounting ----------------------------------------------------------------------------
    def history(self) -> list[tuple[float, float, int]]:
        """The accountant history of all charged entries."""
        return [e.history_item for e in self.entries if e.history_item is not None]

    @property
    def effective_accountant(self) -> str:
        """``"rdp"`` when an exponential-mechanism entry is recorded (its Gaussian equivalence
        holds only in RDP), else :attr:`accountant`."""
        if any(e.mechanism_family == "exponential" and not e.public for e in self.entries):
            return "rdp"
        return self.accountant

    @property
    def extra_delta(self) -> float:
        return float(sum(e.extra_delta for e in self.entries if not e.public))

    def spent(self, *, accountant: str | None = None, delta: float | None = None
              ) -> tuple[float, float]:
        """``(epsilon, delta)`` spent by ALL entries composed in one accountant.

        ``delta`` defaults to the budget's; the accountant runs at ``delta - extra_delta`` (see
        :func:`.accounting.compose`). Without budget and ``delta``, raises
        ``PrivacyParameterError``. With exponential-mechanism entries the accountant is RDP
        whatever ``accountant`` says (see :attr:`effective_accountant`).
        """
        if delta is None:
            if self.budget is None:
                raise PrivacyParameterError(
                    "Ledger.spent needs a delta: the ledger has no budget. Pass delta=..."
                )
            delta = self.budget.delta
        chosen = accountant or self.accountant
        if self.effective_accountant == "rdp":
            chosen = "rdp"
        return compose(self.history(), delta, extra_delta=self.extra_delta, accountant=chosen)

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": LEDGER_SCHEMA_VERSION,
            "budget": None if self.budget is None else self.budget.to_dict(),
            "accountant": self.accountant,
            "partition": self.partition,
            "entries": [e.to_dict() for e in self.entries],
        }

    @classmethod
    def from_dict(cls, d: dict) -> Ledger:
        unknown = set(d) - _LEDGER_KEYS
        if unknown:
            raise PrivacyParameterError(
                f"Unknown ledger keys {sorted(unknown)}; valid keys are {sorted(_LEDGER_KEYS)}."
            )
        version = d.get("schema_version")
        if version != LEDGER_SCHEMA_VERSION:
            raise PrivacyParameterError(
                f"Unsupported ledger schema_version {version!r}; this version of tabsynth reads "
                f"schema_version {LEDGER_SCHEMA_VERSION}."
            )
        budget = d.get("budget")
        return cls(
            budget=None if budget is None else PrivacyBudget.from_dict(budget),
            accountant=d.get("accountant", "prv"),
            partition=d.get("partition"),
            entries=[LedgerEntry.from_dict(e) for e in d.get("entries", [])],
        )

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **{"indent": 2, "sort_keys": True, **kwargs})

    @classmethod
    def from_json(cls, text: str) -> Ledger:
        return cls.from_dict(json.loads(text))

    # -- report --------------------------------------------------------------------------------
    def summary(self) -> str:
        """Human-readable table of the entries and the total spent (for CLI and report)."""
        header = ("mechanism", "target", "sigma/sens", "q", "steps", "extra delta", "note")
        rows = []
        for e in self.entries:
            if e.public:
                rows.append(("public", e.target, "-", "-", "-", "-", e.note))
            else:
                rows.append((e.mechanism, e.target, f"{e.noise_multiplier:.4g}",
                             f"{e.sample_rate:.4g}", str(e.steps),
                             f"{e.extra_delta:.2g}" if e.extra_delta else "0", e.note))
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
                  for i, h in enumerate(header)]
        line = "  ".join(f"{{:<{w}}}" for w in widths)
        out = [line.format(*header), line.format(*("-" * w for w in widths))]
        out += [line.format(*r) for r in rows]
        if self.budget is not None:
            eps, delta = self.spent()
            out.append(f"spent: epsilon={eps:.4g}, delta={delta:.3g} ({self.effective_accountant} "
                       f"accountant) of budget epsilon={self.budget.epsilon:g}, "
                       f"delta={self.budget.delta:.3g}")
        if self.partition:
            out.append(f"partition (parallel composition): {self.partition}")
        return "\n".join(out).rstrip() + "\n"
