"""Mixed precision (issue 16 item 6): bfloat16 autocast in the autoregressive family's non-DP
training step on a CUDA GPU. The CPU has bfloat16 autocast too, so the same code path is
checked here by forcing it: the fit must reach the quality of the float32 fit."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def test_no_autocast_on_the_cpu():
    from tabsynth._device import mixed_precision

    assert isinstance(mixed_precision("cpu"), contextlib.nullcontext)


def _shapes(real, synth) -> float:
    from tabsynth.evaluation._schema import infer_kinds
    from tabsynth.evaluation.fidelity import column_shapes

    return float(column_shapes(real, synth, infer_kinds(real)).value)


def test_bfloat16_training_step_keeps_the_quality(monkeypatch):
    from tabsynth import ARSynthesizer, datasets

    torch.set_num_threads(1)
    df = datasets.load("stroke").head(2000).reset_index(drop=True)
    full = ARSynthesizer(epochs=12, random_state=0, verbose=False, device="cpu").fit(df)
    calls = []

    def forced(device):
        calls.append(str(device))
        return torch.autocast("cpu", dtype=torch.bfloat16)

    monkeypatch.setattr("tabsynth._device.mixed_precision", forced)
    half = ARSynthesizer(epochs=12, random_state=0, verbose=False, device="cpu").fit(df)
    assert calls, "the training step did not ask for its autocast context"
    assert np.isfinite(half.loss_history_["loss"]).all()
    s_full = _shapes(df, full.sample(2000, random_state=1))
    s_half = _shapes(df, half.sample(2000, random_state=1))
    print(f"shapes float32 {s_full:.4f}, bfloat16 {s_half:.4f}")
    assert s_full > 0.9
    assert s_half >= s_full - 0.02, (s_half, s_full)
