"""Singling-out, linkability and attribute-inference risks, after anonymeter.

Re-implements on current numpy/pandas the method of Giomi et al., "A Unified Framework for
Quantifying Privacy Risk in Synthetic Data", PoPETs 2023 (2), and of its reference code
``anonymeter`` (which pins numpy < 1.27). Each evaluator runs three attacks:

* the **main** attack uses the synthetic table against records of the training (``ori``) table;
* the **control** attack is the same attack against records of a holdout (``control``) table
  that the generator never saw: what the synthetic data reveals about *anyone*;
* the **baseline** attack guesses at random, to check the main attack is informative at all.

Success rates are Wilson score estimates ``(k + z²/2) / (n + z²)`` with error
``z / (n + z²) · sqrt(k (n - k) / n + z² / 4)`` (Wilson, 1927). The privacy risk is the
main attack's excess success over the control attack, normalised by the room left::

    risk = (main_rate - control_rate) / (1 - control_rate)

with its error propagated to first order from both rates, and value and interval clipped to
``[0, 1]`` (without a control table the risk is the main attack's success rate).

Distances are the Gower distances of :mod:`.distances` (numerics scaled by their range over the
synthetic table and the attacked records, as anonymeter does).
"""


from __future__ import annotations

from ._attack_stats import AttackResults, SuccessRate, attack_results, wilson_success_rate
from ._linkage import default_aux_cols, inference_risk, linkability_risk
from ._singling_out import singling_out_risk

__all__ = [
    "AttackResults",
    "SuccessRate",
    "attack_results",
    "default_aux_cols",
    "inference_risk",
    "linkability_risk",
    "singling_out_risk",
    "wilson_success_rate",
]
