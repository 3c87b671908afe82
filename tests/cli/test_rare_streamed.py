"""``tabsynth sample --rare`` streams its rows in chunks, and ``--rare`` / ``--oversample``
draw a progress bar.

Before, ``--rare`` built the whole release in memory (``sample_rare``: every part generated,
concatenated and shuffled) and ignored ``--chunk-size``, and neither it nor ``--oversample``
drew a bar, where ``sample`` to one file streams and draws one. Now the rare parts are
interleaved chunk by chunk (:func:`tabsynth.sampling.rare.iter_rare_chunks`): each chunk's
share of every part is a multivariate hypergeometric draw from the rows each part still owes,
shuffled inside the chunk, which is the distribution of a random permutation of the whole
cut into chunks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tabsynth.io
from tabsynth.sampling.rare import iter_rare_chunks, rare_categories, sample_rare


def _bar(output: str, desc: str) -> bool:
    return f"{desc}: " in output and "%|" in output


@pytest.fixture(scope="module")
def model(model_file):
    from tabsynth import load

    return load(model_file)


def test_chunks_are_bounded_and_add_up(model):
    rare = rare_categories(model, "workclass", rare_threshold=0.1)
    chunks = list(iter_rare_chunks(model, 1_000, chunk_size=128, column="workclass",
                                   rare_threshold=0.1, random_state=0))
    assert [len(c) for c in chunks] == [128] * 7 + [104]
    out = pd.concat(chunks, ignore_index=True)
    counts = out["workclass"].value_counts()
    assert set(counts.index) == set(rare)
    assert counts.max() - counts.min() <= 1  # n split evenly ("uniform"), exactly
    # every part is spread over the chunks, not written one after the other
    firsts = {c: int(np.flatnonzero(out["workclass"].to_numpy() == c)[0]) for c in rare}
    assert max(firsts.values()) < 128


def test_a_chunks_mix_follows_the_parts_shares():
    """Parts owing 1,200 and 8,800 rows, a chunk of 50: over 2,000 seeded draws the first
    part's count averages 6 with a hypergeometric spread (variance 50 * 0.12 * 0.88 *
    9,950 / 9,999 = 5.25), and no draw asks a part for more than it owes."""
    from tabsynth.sampling.rare import _chunk_counts

    rng = np.random.default_rng(0)
    draws = np.array([_chunk_counts(rng, np.array([1200, 8800]), 50) for _ in range(2000)])
    assert (draws.sum(axis=1) == 50).all()
    assert abs(draws[:, 0].mean() - 6.0) < 0.2
    assert 4.6 < draws[:, 0].var() < 5.9
    assert (_chunk_counts(rng, np.array([3, 0, 2]), 5) == [3, 0, 2]).all()


def test_same_seed_same_rows_and_sample_rare_agrees(model):
    kw = dict(column="workclass", rare_threshold=0.1, random_state=3)
    a = pd.concat(iter_rare_chunks(model, 300, chunk_size=64, **kw), ignore_index=True)
    b = pd.concat(iter_rare_chunks(model, 300, chunk_size=64, **kw), ignore_index=True)
    pd.testing.assert_frame_equal(a, b)
    one = sample_rare(model, 300, **kw)
    pd.testing.assert_frame_equal(
        one, pd.concat(iter_rare_chunks(model, 300, chunk_size=None, **kw), ignore_index=True))


def test_a_numeric_tail_streams_too(model):
    from tabsynth.sampling.rare import tail_cutoffs

    lo, hi = tail_cutoffs(model, "age", quantile=0.1)
    chunks = list(iter_rare_chunks(model, 250, chunk_size=100, column="age", quantile=0.1,
                                   tail="both", random_state=1))
    assert [len(c) for c in chunks] == [100, 100, 50]
    out = pd.concat(chunks, ignore_index=True)
    assert ((out["age"] <= lo + 1e-9) | (out["age"] >= hi - 1e-9)).all()
    assert (out["age"] <= lo + 1e-9).sum() == 125


def test_bad_input_is_refused_before_the_first_chunk(model):
    from tabsynth import ConditionError, ParameterError

    with pytest.raises(ParameterError, match="chunk_size"):
        iter_rare_chunks(model, 10, chunk_size=0, column="workclass", rare_threshold=0.1)
    with pytest.raises(ConditionError, match="nope"):
        iter_rare_chunks(model, 10, chunk_size=5, column="nope")


def test_cli_rare_writes_in_chunks(run, model_file, tmp_path, monkeypatch):
    sizes: list[int] = []
    write = tabsynth.io.write_table_chunks

    def spy(chunks, path, **kw):
        def counted():
            for c in chunks:
                sizes.append(len(c))
                yield c
        return write(counted(), path, **kw)

    monkeypatch.setattr(tabsynth.io, "write_table_chunks", spy)
    out = tmp_path / "rare.csv"
    res = run("sample", model_file, "-n", "500", "--rare", "workclass:0.1", "-o", out,
              "--chunk-size", "200", "--seed", "0", "--quiet")
    assert res.exit_code == 0, res.output
    assert sizes == [200, 200, 100]
    assert len(pd.read_csv(out)) == 500


@pytest.mark.parametrize("flag", [[], ["--quiet"]])
def test_cli_rare_bar(run, model_file, tmp_path, flag):
    out = tmp_path / "rare.csv"
    res = run("sample", model_file, "-n", "300", "--rare", "age:0.1", "-o", out,
              "--chunk-size", "100", "--seed", "0", *flag)
    assert res.exit_code == 0, res.output
    assert _bar(res.output, "sample --rare") is not bool(flag)
    if not flag:
        assert "300/300" in res.output


@pytest.mark.parametrize("flag", [[], ["--quiet"]])
def test_cli_oversample_bar(run, model_file, small_csv, tmp_path, flag):
    out = tmp_path / "aug.csv"
    res = run("sample", model_file, "--oversample", "income=>50K", "--ratio", "0.9",
              "--data", small_csv, "-o", out, "--seed", "0", *flag)
    assert res.exit_code == 0, res.output
    assert _bar(res.output, "sample --oversample") is not bool(flag)


def test_the_bar_does_not_change_the_oversampled_table(model, small_csv):
    from tabsynth.sampling.augment import oversample_table

    a = oversample_table(model, small_csv, column="income", value=">50K", ratio=0.9,
                         random_state=2)
    b = oversample_table(model, small_csv, column="income", value=">50K", ratio=0.9,
                         random_state=2, progress=True)
    pd.testing.assert_frame_equal(a, b)
