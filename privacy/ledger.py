"""The privacy ledger: every mechanism that touched the real rows, and what was declared public.

One ledger per run (or per part of a disjoint partition, DESIGN.md rule 6). Its entries compose
in one accountant (:mod:`.accounting`); it serialises to versioned JSON for the model manifest and
the sign-off report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .accounting import ACCOUNTANTS, compose
from .budget import PrivacyBudget
from .errors import BudgetExceededError, PrivacyParameterError
from .ledger_entry import MECHANISM_FAMILIES, LedgerEntry

__all__ = ["LEDGER_SCHEMA_VERSION", "MECHANISM_FAMILIES", "Ledger", "LedgerEntry"]

LEDGER_SCHEMA_VERSION = 1
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
