"""``tabsynth fit`` on a table larger than memory: a folder, a glob, --sql, --engine dask."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def parts(small_csv, tmp_path_factory):
    df = pd.read_csv(small_csv)
    folder = tmp_path_factory.mktemp("stream") / "ds"
    folder.mkdir()
    for j, idx in enumerate(np.array_split(np.arange(len(df)), 3)):
        df.iloc[idx].to_parquet(folder / f"part-{j}.parquet", index=False)
    return df, folder


def test_fit_parquet_folder_then_sample(run, parts, tmp_path):
    df, folder = parts
    out = tmp_path / "m.tsmodel"
    res = run("fit", folder, "-o", out, "--epochs", "1", "--batch-size", "100", "--seed", "0",
              "--quiet", "--batch-rows", "1024")
    assert res.exit_code == 0, res.output
    assert f"on {len(df):,} rows" in res.output and "ARSynthesizer" in res.output
    res = run("sample", out, "-n", "30", "-o", tmp_path / "s.csv", "--seed", "0")
    assert res.exit_code == 0, res.output
    assert list(pd.read_csv(tmp_path / "s.csv").columns) == list(df.columns)


def test_fit_glob_and_sql(run, parts, tmp_path):
    df, folder = parts
    res = run("fit", str(folder / "part-*.parquet"), "-o", tmp_path / "g.tsmodel",
              "--epochs", "1", "--quiet")
    assert res.exit_code == 0, res.output
    db = tmp_path / "t.db"
    with sqlite3.connect(db) as con:
        df.to_sql("adult", con, index=False)
    res = run("fit", "--sql", "SELECT * FROM adult ORDER BY rowid", "--url", f"sqlite:///{db}",
              "-o", tmp_path / "q.tsmodel", "--epochs", "1", "--quiet")
    assert res.exit_code == 0, res.output
    assert f"on {len(df):,} rows" in res.output


def test_fit_engine_dask(run, parts, tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    from tabsynth import engine

    init = engine.DaskEngine.__init__

    def threads(self, scheduler=None, **kw):  # worker threads: fast in CI
        init(self, scheduler, **{**kw, "processes": False})

    monkeypatch.setattr(engine.DaskEngine, "__init__", threads)
    _, folder = parts
    res = run("fit", folder, "-o", tmp_path / "d.tsmodel", "--epochs", "1", "--quiet",
              "--engine", "dask", "--workers", "2")
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("args, words", [
    (["--sql", "SELECT 1"], "--sql and --url go together"),
    (["DATA", "--sql", "SELECT 1", "--url", "sqlite:///x.db"], "not both"),
    ([], "Give DATA"),
    (["FOLDER", "--model", "ctgan", "--epsilon", "1", "--route", "marginals"],
     "--route dpsgd"),
    (["FOLDER", "--scheduler", "tcp://x:1"], "--scheduler needs --engine dask"),
    (["FOLDER", "--sql-partitions", "2"], "split --sql"),
    (["--sql", "SELECT 1", "--url", "sqlite:///x.db", "--sql-partitions", "2"], "go together"),
    (["--sql", "SELECT 1", "--url", "sqlite:///x.db", "--sql-partition-column", "id"],
     "go together"),
])
def test_usage_errors(run, parts, tmp_path, args, words):
    _, folder = parts
    args = [str(folder) if a in ("DATA", "FOLDER") else a for a in args]
    res = run("fit", *args, "-o", tmp_path / "x.tsmodel")
    assert res.exit_code == 2, res.output
    assert words in res.output
    assert not (tmp_path / "x.tsmodel").exists()


def test_fit_sql_in_pieces_on_dask(run, parts, tmp_path, monkeypatch):
    """--sql-partitions: the query's pieces read by 2 Dask workers (threads in CI); without
    the split, --engine dask refuses a query with the option's name."""
    pytest.importorskip("distributed")
    from tabsynth import engine

    init = engine.DaskEngine.__init__
    monkeypatch.setattr(engine.DaskEngine, "__init__", lambda self, scheduler=None, **kw:
                        init(self, scheduler, **{**kw, "processes": False}))
    df, _ = parts
    db = tmp_path / "t.db"
    with sqlite3.connect(db) as con:
        df.to_sql("adult", con, index=True, index_label="row")
    sql = ["--sql", "SELECT age, sex, income, row FROM adult ORDER BY row", "--url",
           f"sqlite:///{db}", "--epochs", "1", "--quiet", "--engine", "dask"]
    res = run("fit", *sql, "-o", tmp_path / "p.tsmodel", "--sql-partitions", "3",
              "--sql-partition-column", "row")
    assert res.exit_code == 0, res.output
    assert f"on {len(df):,} rows" in res.output
    res = run("fit", *sql, "-o", tmp_path / "one.tsmodel")
    assert res.exit_code == 2 and "--sql-partitions" in res.output, res.output
    assert not (tmp_path / "one.tsmodel").exists()
    res = run("fit", *sql, "-o", tmp_path / "bad.tsmodel", "--sql-partitions", "3",
              "--sql-partition-column", "sex")
    assert res.exit_code == 3 and "must hold integers" in res.output, res.output


def test_bad_folder_is_a_data_error(run, tmp_path):
    (tmp_path / "empty").mkdir()
    res = run("fit", tmp_path / "empty", "-o", tmp_path / "x.tsmodel")
    assert res.exit_code == 3, res.output
    assert "No table files" in res.output


@pytest.mark.parametrize("model", ["ctgan", "tvae"])
def test_ctgan_and_tvae_fit_a_folder(run, parts, tmp_path, model):
    """CTGAN and TVAE fit a Parquet folder too (the encoded rows in a memory-mapped file)."""
    _, folder = parts
    out = tmp_path / f"{model}.tsmodel"
    res = run("fit", folder, "-o", out, "--model", model, "--epochs", "1", "--quiet")
    assert res.exit_code == 0, res.output
    res = run("sample", out, "-n", "50", "-o", tmp_path / "s.csv")
    assert res.exit_code == 0, res.output


def test_dask_logs_stay_quiet_without_verbose(parts, tmp_path):
    """dask.distributed's INFO lines (scheduler start, workers joining: about 30 of them)
    went to stderr on every --engine dask run, --quiet included; now only with -v."""
    import subprocess
    import sys

    pytest.importorskip("distributed")
    _, folder = parts
    res = subprocess.run([sys.executable, "-m", "tabsynth", "fit", str(folder), "--engine",
                          "dask", "--workers", "2", "--epochs", "1", "--quiet", "-o",
                          str(tmp_path / "m.tsmodel")], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    assert "INFO distributed" not in res.stderr + res.stdout, res.stderr
