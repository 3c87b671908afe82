"""One entry of the privacy ledger: a mechanism charged to the budget, or an item declared public.

Its own module so that :mod:`.budget` (which charges the row count behind the default delta) and
:mod:`.ledger` (which composes the entries against a budget) import it one way, without a cycle.
Re-exported by :mod:`.ledger` and :mod:`tabsynth.privacy`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .errors import PrivacyParameterError

__all__ = ["MECHANISM_FAMILIES", "LedgerEntry"]

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
