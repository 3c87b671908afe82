"""``tabsynth fit``'s larger-than-memory inputs: a Parquet folder or a glob of files, ``--sql``
with ``--url`` (``--sql-partitions``, ``--sql-partition-column``), and ``--engine dask``
(``--scheduler``, ``--workers``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import click

from tabsynth.errors import ParameterError


def stream_options(func: Any) -> Any:
    """The options of a streaming fit."""
    opts = [
        click.option("--sql", default=None, metavar="QUERY",
                     help="Read the table from this SQL query (with --url) instead of DATA, in "
                          "record batches. Give it an ORDER BY: it runs once per pass."),
        click.option("--url", default=None, metavar="URL",
                     help="Connection URL of --sql: sqlite:///x.db, duckdb:///x.duckdb, or any "
                          "SQLAlchemy URL whose driver is installed."),
        click.option("--sql-partitions", type=click.IntRange(min=1), default=1,
                     show_default=True,
                     help="Read --sql as this many pieces (with --engine dask, in parallel "
                          "on the workers): the rows whose --sql-partition-column modulo N "
                          "is 0, 1, ... (NULLs in piece 0)."),
        click.option("--sql-partition-column", default=None, metavar="COLUMN",
                     help="The integer column of --sql's result that --sql-partitions splits "
                          "on (an id)."),
        click.option("--engine", type=click.Choice(["local", "dask"]), default="local",
                     show_default=True,
                     help="Where a streamed table's statistics and encoding are computed: "
                          "this process, or per partition on Dask workers (pip install "
                          "'tabsynth[scale]')."),
        click.option("--scheduler", default=None, metavar="ADDRESS",
                     help="With --engine dask: join this running scheduler (tcp://host:8786) "
                          "instead of starting a LocalCluster."),
        click.option("--scheduler-timeout", type=click.FloatRange(min=0, min_open=True),
                     default=None, metavar="SECONDS",
                     help="With --scheduler: how long to wait for it before giving up "
                          "(default 5)."),
        click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
                     help="With --engine dask: LocalCluster workers."),
        click.option("--batch-rows", type=click.IntRange(min=1024), default=None,
                     help="Rows per record batch of a streamed table (default 65536)."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def wants_stream(data: str | None, sql: str | None, engine: str) -> bool:
    from tabsynth.sources import is_source_spec

    if sql is None and data is None:
        raise click.UsageError("Give DATA (a file, a Parquet folder or a glob) or --sql.")
    if sql is not None and data is not None:
        raise click.UsageError("Give DATA or --sql, not both.")
    return sql is not None or engine == "dask" or is_source_spec(data)


def check_options(sql: str | None, url: str | None, engine: str,
                  scheduler: str | None, sql_partitions: int = 1,
                  sql_partition_column: str | None = None,
                  scheduler_timeout: float | None = None) -> None:
    if (sql is None) != (url is None):
        raise click.UsageError("--sql and --url go together.")
    if sql is None and (sql_partitions != 1 or sql_partition_column is not None):
        raise click.UsageError("--sql-partitions and --sql-partition-column split --sql.")
    if (sql_partitions > 1) != (sql_partition_column is not None):
        raise click.UsageError("--sql-partitions N (N > 1) and --sql-partition-column COLUMN "
                               "go together.")
    if scheduler is not None and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask.")
    if scheduler_timeout is not None and scheduler is None:
        raise click.UsageError("--scheduler-timeout goes with --scheduler ADDRESS.")


@contextlib.contextmanager
def open_streamed(data: str | None, *, sql: str | None, url: str | None, engine: str,
                  scheduler: str | None, workers: int, batch_rows: int | None,
                  csv: dict[str, Any], sql_partitions: int = 1,
                  sql_partition_column: str | None = None,
                  scheduler_timeout: float | None = None) -> Iterator[Any]:
    """The :class:`~tabsynth.sources.TableSource` to fit (with its Dask engine running)."""
    from tabsynth.sources import open_source, sql_source

    source = (sql_source(sql, url or "", partitions=sql_partitions,
                         partition_column=sql_partition_column)
              if sql is not None else open_source(data, **csv))
    if batch_rows is not None:
        source.batch_rows = int(batch_rows)
    if engine != "dask":
        yield source
        return
    from tabsynth.engine import DaskEngine

    if source.kind == "sql" and source.split is None:
        raise ParameterError("--engine dask reads partitions: a SQL query is one unless "
                             "--sql-partitions N --sql-partition-column COLUMN splits it.")
    with DaskEngine(scheduler, n_workers=workers, timeout=scheduler_timeout) as dask_engine:
        source.engine = dask_engine
        try:
            yield source
        finally:
            source.engine = None
