"""A CSV or Parquet file longer than ``max_rows`` is read as a seeded uniform sample of
``max_rows`` rows, so ``evaluate``'s memory follows ``max_rows``, not the release (a
5,000,000-row ``sample_to`` file took 1.9 GB to score before)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabsynth.evaluation import EvaluationDataError, _csvdialect, evaluate
from tabsynth.evaluation._table_io import load_table

FAST = {"random_state": 0, "progress": False}


def _table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"i": np.arange(n), "x": np.round(rng.normal(0, 1, n), 3),
                         "kind": rng.choice(["a", "b", "c"], n)})


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(_csvdialect, "CHUNK_ROWS", 300)  # many chunks on a small file
    monkeypatch.setattr(_csvdialect, "_LINE_BLOCK", 997)  # lines cut across blocks


def test_a_long_csv_is_sampled_while_read(tmp_path, small_chunks) -> None:
    _table(2_500).to_csv(tmp_path / "big.csv", sep=";", decimal=",", index=False)
    t = load_table(tmp_path / "big.csv", "synthetic", max_rows=1_000, seed=7)
    assert len(t.frame) == 1_000 and t.sample["rows_total"] == 2_500
    assert t.frame["i"].is_unique and t.frame["i"].is_monotonic_increasing  # file order
    assert t.frame["i"].min() < 100 and t.frame["i"].max() > 2_400  # the whole file, not a head
    assert str(t.frame["x"].dtype) == "float64"  # parsed as a file of those rows
    assert t.summary()["rows"] == 2_500 and t.summary()["rows_read"] == 1_000
    again = load_table(tmp_path / "big.csv", "synthetic", max_rows=1_000, seed=7)
    assert again.frame.equals(t.frame)
    other = load_table(tmp_path / "big.csv", "synthetic", max_rows=1_000, seed=8)
    assert not other.frame["i"].equals(t.frame["i"])


def test_the_sample_is_uniform_over_the_file(tmp_path, small_chunks) -> None:
    _table(20_000).to_csv(tmp_path / "big.csv", index=False)
    t = load_table(tmp_path / "big.csv", "real", max_rows=2_000, seed=0)
    per_tenth = np.bincount(t.frame["i"].to_numpy() // 2_000, minlength=10)
    # 200 expected per tenth of the file; a hypergeometric sd is about 13.4
    assert per_tenth.min() > 150 and per_tenth.max() < 250, per_tenth


def test_a_short_file_is_read_whole_as_before(tmp_path, small_chunks) -> None:
    df = _table(800)
    df.to_csv(tmp_path / "s.csv", index=False)
    t = load_table(tmp_path / "s.csv", "real", max_rows=1_000, seed=0)
    assert t.sample is None
    pd.testing.assert_frame_equal(t.frame, df, check_dtype=False)


def test_a_long_parquet_file_reads_only_sampled_row_groups(tmp_path) -> None:
    _table(2_500).to_parquet(tmp_path / "big.parquet", row_group_size=200)
    t = load_table(tmp_path / "big.parquet", "synthetic", max_rows=1_000, seed=3)
    assert len(t.frame) == 1_000 and t.sample["rows_total"] == 2_500
    assert t.source == "big.parquet" and t.frame["i"].is_monotonic_increasing


def test_the_report_says_what_was_sampled(tmp_path, small_chunks) -> None:
    real = _table(600, seed=1)
    _table(2_500).to_csv(tmp_path / "syn.csv", index=False)
    rep = evaluate(real, tmp_path / "syn.csv", max_rows=1_000, **FAST)
    assert rep.datasets["synthetic"]["rows"] == 2_500
    assert rep.datasets["synthetic"]["rows_read"] == 1_000
    notes = rep.parameters["subsampling"]
    assert any(n.startswith("synthetic: 2,500 rows subsampled uniformly to 1,000")
               and n.endswith("while reading the CSV file") for n in notes), notes


# -- the line-based pass (a file without quotes) -------------------------------------------
@pytest.mark.parametrize("form", ["plain", "crlf_bom_blank", "no_last_newline", "gz"])
def test_the_line_pass_keeps_the_same_rows_as_the_text_pass(tmp_path, small_chunks,
                                                            monkeypatch, form) -> None:
    """Without quotes a row is a line, so the sample is read line by line (about twice as
    fast on a 5M-row file); the same seed gives the same rows as pandas' chunked text pass,
    blank lines, a BOM, CRLF, a missing last newline and gzip included."""
    df = _table(2_500)
    name = "big.csv.gz" if form == "gz" else "big.csv"
    text = df.to_csv(index=False, sep=";", decimal=",")
    if form == "crlf_bom_blank":
        lines = text.splitlines()
        lines[10:10] = ["", "  "]
        lines.insert(2000, "")
        text = "\ufeff" + "\r\n".join(lines) + "\r\n"
    elif form == "no_last_newline":
        text = text.rstrip("\n")
    path = tmp_path / name
    if form == "gz":
        import gzip

        with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
            fh.write(text)
    else:
        path.write_bytes(text.encode("utf-8"))
    calls = []
    real = _csvdialect._sampled_lines
    monkeypatch.setattr(_csvdialect, "_sampled_lines",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    fast = load_table(path, "synthetic", max_rows=1_000, seed=7)
    assert calls  # the line pass ran ...
    monkeypatch.setattr(_csvdialect, "_sampled_lines", lambda *a, **k: None)
    slow = load_table(path, "synthetic", max_rows=1_000, seed=7)
    pd.testing.assert_frame_equal(fast.frame, slow.frame)  # ... and kept the same rows
    assert fast.sample == slow.sample and fast.sample["rows_total"] == 2_500


@pytest.mark.parametrize("odd", ["quoted", "ragged", "cr_only", "latin1"])
def test_files_the_line_pass_cannot_read_go_to_the_text_pass(tmp_path, small_chunks,
                                                            monkeypatch, odd) -> None:
    """A quote (a field may hold a separator or a line break), a line with more fields than
    the header (pandas' error names it), bare CR line ends, or a byte that is not UTF-8
    (pandas' read reports it, where the line pass would skip an unsampled line): pandas
    reads the file."""
    df = _table(2_500).astype({"kind": str})
    if odd == "quoted":
        df.loc[1_700, "kind"] = "a;b\nc"
    text = df.to_csv(index=False, sep=";", decimal=",")
    if odd == "ragged":
        lines = text.split("\n")
        lines[1_800] += ";extra"
        text = "\n".join(lines)
    if odd == "cr_only":
        text = text.replace("\n", "\r")
    data = text.encode("utf-8")
    if odd == "latin1":  # one byte that is not UTF-8, deep in the file
        cut = data.index(b"\n", len(data) - 2_000)
        data = data[:cut] + "é".encode("latin-1") + data[cut:]
    (tmp_path / "big.csv").write_bytes(data)
    assert _csvdialect._sampled_lines(tmp_path / "big.csv", ";", 1_000, 7) is None
    if odd == "ragged":
        with pytest.raises(Exception, match="line 1801|Expected 3 fields"):
            load_table(tmp_path / "big.csv", "synthetic", max_rows=1_000, seed=7)
    elif odd == "latin1":
        with pytest.raises(EvaluationDataError, match="not valid UTF-8"):
            load_table(tmp_path / "big.csv", "synthetic", max_rows=1_000, seed=7)
    else:  # (bare CR line ends are not sniffed: the separator is given)
        t = load_table(tmp_path / "big.csv", "synthetic", max_rows=1_000, seed=7,
                       csv_format={"sep": ";", "decimal": ","})
        assert len(t.frame) == 1_000 and t.sample["rows_total"] == 2_500
