"""A streamed fit from a PostgreSQL query (tabsynth.sources, tabsynth._sqltypes) equals the
in-memory fit, on a throw-away server started here (initdb + pg_ctl, a unix socket in a
temporary folder, trust authentication), always stopped at the end.

Skipped, with the reason, where the PostgreSQL binaries (initdb, pg_ctl) or a driver (psycopg
3 or psycopg2) are missing."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
import pytest

sa = pytest.importorskip("sqlalchemy", reason="SQL sources need SQLAlchemy (the scale extra)")

from tabsynth import ARSynthesizer, DataError, Metadata, sql_source  # noqa: E402

COLUMNS = "x, amount, k, i, y, flag, ts"
QUERY = f"SELECT {COLUMNS} FROM t ORDER BY id"


def _driver() -> str | None:
    for module, name in (("psycopg", "postgresql+psycopg"), ("psycopg2", "postgresql+psycopg2")):
        try:
            __import__(module)
        except ImportError:
            continue
        return name
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: argv: the server's folder, the pg_ctl command. Reads its stdin, a pipe from the test
#: process, until end of file (that process is gone, however it ended), then stops the
#: server and removes its folder.
_WATCHDOG = """
import shutil, subprocess, sys
home, pg_ctl = sys.argv[1], sys.argv[2:]
sys.stdin.buffer.read()
subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True, timeout=30)
shutil.rmtree(home, ignore_errors=True)
"""


@pytest.fixture(scope="module")
def pg_url(request, tmp_path_factory):
    """A PostgreSQL server of this test module: ``postgresql+<driver>://`` URL of its socket."""
    missing = [b for b in ("initdb", "pg_ctl") if shutil.which(b) is None]
    if missing:
        pytest.skip(f"PostgreSQL binaries not on PATH: {', '.join(missing)}")
    driver = _driver()
    if driver is None:
        pytest.skip("no PostgreSQL driver: pip install 'psycopg[binary]' (the scale extra)")
    prefix: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the postgres user
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server")
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser to start the server as 'postgres'")
        prefix = ["runuser", "-u", "postgres", "--"]
        home = tempfile.mkdtemp(prefix="tabsynth-pg-")  # /tmp: reachable by that user
        shutil.chown(home, "postgres")
    else:
        home = str(tmp_path_factory.mktemp("pg"))
    data = os.path.join(home, "data")
    port = _free_port()
    pg_ctl = [*prefix, "pg_ctl", "-D", data]

    # a killed test run (SIGKILL: no finalizer) must not leave the server running: a watchdog
    # in its own session stops it once this process is gone
    watchdog = subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, home, *pg_ctl], stdin=subprocess.PIPE,
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop() -> None:
        watchdog.kill()
        watchdog.wait()
        assert watchdog.stdin is not None
        watchdog.stdin.close()
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True,
                           timeout=30)
        shutil.rmtree(home, ignore_errors=True)

    request.addfinalizer(stop)
    subprocess.run([*prefix, "initdb", "-D", data, "-A", "trust", "-U", "tabsynth",
                    "--no-sync", "-E", "UTF8", "--locale=C"],
                   check=True, capture_output=True, timeout=60)
    started = subprocess.run(
        [*pg_ctl, "-o", f"-k {home} -p {port} -c listen_addresses= -c fsync=off",
         "-l", os.path.join(home, "log"), "-w", "-t", "30", "start"],
        capture_output=True, text=True, timeout=60)
    if started.returncode != 0:
        log = open(os.path.join(home, "log")).read() if os.path.exists(
            os.path.join(home, "log")) else ""
        pytest.fail(f"pg_ctl start failed: {started.stderr}\n{log}")
    return f"{driver}://tabsynth@/postgres?host={home}&port={port}"


def make_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00", "us")
    return pd.DataFrame({
        "x": rng.normal(10, 3, n).round(3),
        "amount": rng.gamma(2.0, 50.0, n).round(2),
        "k": pd.array(rng.choice(["a", "b", "c", "d"], n, p=[0.5, 0.3, 0.15, 0.05]), dtype="str"),
        "i": rng.integers(0, 7, n),
        # missing at random, and in the whole last fifth: a batch with no value at all
        "y": np.where((rng.random(n) < 0.1) | (np.arange(n) >= n * 4 // 5), np.nan,
                      rng.exponential(2.0, n)),
        "flag": rng.random(n) < 0.3,
        "ts": start + rng.integers(0, 86_400 * 365, n).astype("timedelta64[s]"),
    })


@pytest.fixture(scope="module")
def table(pg_url) -> pd.DataFrame:
    """The table, loaded with declared types: numeric, text, integer, boolean, timestamp."""
    df = make_table(2000)
    engine = sa.create_engine(pg_url)
    rows = [{"x": float(r.x), "amount": f"{r.amount:.2f}", "k": r.k, "i": int(r.i),
             "y": None if np.isnan(r.y) else float(r.y), "flag": bool(r.flag),
             "ts": r.ts.to_pydatetime()} for r in df.itertuples()]
    with engine.begin() as con:
        con.execute(sa.text(
            "CREATE TABLE t (id serial PRIMARY KEY, x double precision, amount numeric(12, 2), "
            "k text, i integer, y double precision, flag boolean, ts timestamp)"))
        con.execute(sa.text(f"INSERT INTO t ({COLUMNS}) VALUES "
                            "(:x, :amount, :k, :i, :y, :flag, :ts)"), rows)
    engine.dispose()
    return df


def test_batches_have_the_declared_types(pg_url, table):
    source = sql_source(QUERY, pg_url)
    source.batch_rows = 400  # 5 batches; y is NULL in the whole last one, still float64
    batches = list(source.iter_batches(source.batch_rows))
    assert [len(b) for b in batches] == [400] * 5
    assert batches[-1]["y"].isna().all() and batches[-1]["y"].dtype == np.float64
    pd.testing.assert_series_equal(source.empty().dtypes, table.dtypes)
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), table)
    assert source.n_rows == len(table)
    # DP metadata reads the dtypes only: the same as the in-memory table's
    assert Metadata.from_dtypes(source.empty()).to_dict() == Metadata.from_dtypes(table).to_dict()


def test_streamed_fit_equals_in_memory(pg_url, table):
    md = Metadata.detect(table)
    kw = {"epochs": 1, "batch_size": 256, "random_state": 0, "verbose": False}
    source = sql_source(QUERY, pg_url)
    source.batch_rows = 1024
    streamed = ARSynthesizer(**kw).fit(source, metadata=md)
    memory = ARSynthesizer(**kw).fit(table, metadata=md)
    assert streamed.stats_.to_dict() == memory.stats_.to_dict()
    assert streamed.sample(50, random_state=1).equals(memory.sample(50, random_state=1))


def test_cli_fit_sql_on_postgres(pg_url, table, tmp_path):
    from click.testing import CliRunner

    from tabsynth.cli._app import _register, cli
    from tabsynth.models.registry import load

    _register()
    runner = CliRunner()
    table.to_parquet(tmp_path / "t.parquet", index=False)
    common = ["--epochs", "1", "--batch-size", "256", "--seed", "0", "--quiet"]
    res = runner.invoke(cli, ["fit", "--sql", QUERY, "--url", pg_url, "-o",
                              str(tmp_path / "q.tsmodel"), "--batch-rows", "1024", *common])
    assert res.exit_code == 0, res.output
    assert f"on {len(table):,} rows" in res.output
    res = runner.invoke(cli, ["fit", str(tmp_path / "t.parquet"), "-o",
                              str(tmp_path / "m.tsmodel"), *common])
    assert res.exit_code == 0, res.output
    q, m = load(tmp_path / "q.tsmodel"), load(tmp_path / "m.tsmodel")
    assert q.stats_.to_dict() == m.stats_.to_dict()
    assert q.sample(30, random_state=2).equals(m.sample(30, random_state=2))


def test_numeric_date_and_timezone_types(pg_url):
    source = sql_source(
        "SELECT 1.25::numeric AS n, 'NaN'::numeric AS nan, DATE '2024-02-03' AS d, "
        "TIMESTAMPTZ '2024-02-03 10:00+02' AS tz, NULL::integer AS missing", pg_url)
    df = source.head()
    assert df["n"].dtype == np.float64 and df["n"].iloc[0] == 1.25
    assert np.isnan(df["nan"].iloc[0])
    assert df["d"].iloc[0] == pd.Timestamp("2024-02-03")
    assert df["tz"].iloc[0] == pd.Timestamp(dt.datetime(2024, 2, 3, 8, tzinfo=dt.UTC))
    assert df["missing"].isna().all()


def test_an_interval_is_a_duration(pg_url):
    """``interval`` columns come as ``timedelta64[us]`` (before, the whole result fell back to
    pandas' inference: an object column of Python timedeltas), so a DP fit types them as
    durations from the declared type, a NULL batch included."""
    query = ("SELECT make_interval(mins => g) AS stay, NULL::interval AS none "
             "FROM generate_series(1, 3) AS g")
    source = sql_source(query, pg_url)
    df = source.head()
    assert str(df["stay"].dtype) == "timedelta64[us]" and str(df["none"].dtype) == \
        "timedelta64[us]"
    assert df["stay"].tolist() == [pd.Timedelta(minutes=m) for m in (1, 2, 3)]
    assert Metadata.from_dtypes(source.empty()).columns["stay"].sdtype == "numerical"
    month = sql_source("SELECT INTERVAL '1 month 2 hours' AS m", pg_url).head()["m"].iloc[0]
    assert month == pd.Timedelta(days=30, hours=2)  # the driver counts a month as 30 days


def test_bad_query_is_a_data_error(pg_url):
    with pytest.raises(DataError, match="SQL query failed: .*missing_table"):
        sql_source("SELECT * FROM missing_table", pg_url).head()
    with pytest.raises(DataError, match="SQL query failed"):
        sql_source("SELECT * FROM missing_table", pg_url).empty()


def test_query_in_pieces(pg_url, table):
    """Split on an integer column, the pieces (typed from the declared types, as the whole
    query) hold every row once; read here they come one piece after the other."""
    source = sql_source(QUERY, pg_url, partitions=3, partition_column="i")
    pieces = [pd.concat(list(p.iter_batches(500)), ignore_index=True)
              for p in source.partitions()]
    for j, piece in enumerate(pieces):
        assert (piece["i"] % 3 == j).all() and piece.dtypes.equals(table.dtypes)
    both = pd.concat(pieces, ignore_index=True)
    expected = pd.concat([table[table["i"] % 3 == j] for j in range(3)], ignore_index=True)
    pd.testing.assert_frame_equal(both, expected)
    assert source.n_rows == len(table)
