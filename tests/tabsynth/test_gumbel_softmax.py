"""The training-time Gumbel-softmax of CTGAN (``OutputLayout.gumbel_softmax``).

Its Gumbel noise is ``-log(-log(U))`` with ``U`` uniform on [0, 1): a draw of exactly 0
(2^-24 per float32 cell) made the noise -inf, and a softmax span of width 1 (a numeric column
with one mode, a category list of one) then came out NaN. That NaN reached the DP critic's
gradient and then every weight: a DP CTGAN fit on the fraud table with the ARSynthesizer's
histogram layout diverged in 5 of 17 fits (the model sampled every numeric value as missing).
"""

from __future__ import annotations

from types import SimpleNamespace

import torch

from tabsynth.models.networks import OutputLayout


def _layout() -> OutputLayout:
    spans = [SimpleNamespace(start=0, dim=1, activation="tanh"),
             SimpleNamespace(start=1, dim=1, activation="softmax"),   # width 1
             SimpleNamespace(start=2, dim=3, activation="softmax"),
             SimpleNamespace(start=5, dim=2, activation="softmax")]
    return OutputLayout.from_output_info(spans, 7)


def test_a_uniform_draw_of_zero_gives_finite_outputs(monkeypatch):
    raw = torch.randn(4, 7, requires_grad=True)
    real_rand = torch.rand
    monkeypatch.setattr(torch, "rand", lambda *a, **k: torch.zeros_like(real_rand(*a, **k)))
    out = _layout().gumbel_softmax(raw, tau=0.2, generator=None)
    assert torch.isfinite(out).all()
    assert torch.allclose(out[:, 1], torch.ones(4))  # a width-1 span is its one slot
    out.sum().backward()
    assert torch.isfinite(raw.grad).all()


def test_spans_sum_to_one_and_follow_the_logits():
    g = torch.Generator().manual_seed(0)
    raw = torch.zeros(20_000, 7)
    raw[:, 2] = 2.0  # the 3-wide span favours its first slot: p = e^2 / (e^2 + 2) = 0.787
    out = _layout().gumbel_softmax(raw, tau=0.2, generator=g)
    assert torch.allclose(out[:, 2:5].sum(1), torch.ones(20_000), atol=1e-5)
    assert torch.allclose(out[:, 5:7].sum(1), torch.ones(20_000), atol=1e-5)
    share = float((out[:, 2:5].argmax(1) == 0).float().mean())
    assert abs(share - 0.787) < 0.01
