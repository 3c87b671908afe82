"""``privacy_spent_``: the one shape of "what a fit spent", for every model and the Oversampler.

A plain dict (JSON in the model file, ``spent["epsilon"]`` in user code) typed as
:class:`PrivacySpent`: ``epsilon`` and ``delta`` spent (all entries of the ledger composed in one
accountant), the ``accountant`` that composed them, and the ``composition`` of the release
(``"single model"``; ``"parallel"`` for the Oversampler's disjoint per-class models: the
maximum epsilon and the maximum delta over the parts, each taken separately).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

__all__ = ["PrivacySpent", "as_privacy_spent", "parallel_spent", "spent_of"]


class PrivacySpent(TypedDict):
    epsilon: float
    delta: float
    accountant: str | None
    composition: str


def spent_of(ledger: Any, *, composition: str = "single model") -> PrivacySpent:
    """What ``ledger`` spent (:meth:`Ledger.spent`), labelled with the accountant that produced
    the figure: its effective accountant, or ``"rdp"`` when PRV failed and the figure is RDP's."""
    from .accounting import tracking_fallback

    with tracking_fallback() as fell_back:
        eps, delta = ledger.spent()
    accountant = getattr(ledger, "effective_accountant", ledger.accountant)
    if fell_back[0]:
        accountant = "rdp"
    return PrivacySpent(epsilon=float(eps), delta=float(delta), accountant=accountant,
                        composition=composition)


def as_privacy_spent(value: Mapping[str, Any] | None) -> PrivacySpent | None:
    """A stored ``privacy_spent`` (a model file's JSON; older files lack ``composition``)."""
    if value is None:
        return None
    return PrivacySpent(epsilon=float(value["epsilon"]), delta=float(value.get("delta", 0.0)),
                        accountant=value.get("accountant"),
                        composition=str(value.get("composition", "single model")))


def parallel_spent(parts: Iterable[Mapping[str, Any] | None], *,
                   composition: str) -> PrivacySpent | None:
    """Parallel composition over disjoint partitions: the maximum epsilon and the maximum delta,
    taken separately (a maximum over ``(epsilon, delta)`` pairs would under-report delta).
    ``None`` when no part is private."""
    given = [p for p in (as_privacy_spent(p) for p in parts) if p is not None]
    if not given:
        return None
    return PrivacySpent(epsilon=max(p["epsilon"] for p in given),
                        delta=max(p["delta"] for p in given),
                        accountant=given[0]["accountant"], composition=composition)
