"""``tabsynth fit``'s larger-than-memory inputs: a Parquet folder or a glob of files, ``--sql``
with ``--url``, and ``--engine dask`` (``--scheduler``, ``--workers``)."""

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
        click.option("--engine", type=click.Choice(["local", "dask"]), default="local",
                     show_default=True,
                     help="Where a streamed table's statistics and encoding are computed: "
                          "this process, or per partition on Dask workers (pip install "
                          "'tabsynth[scale]')."),
        click.option("--scheduler", default=None, metavar="ADDRESS",
                     help="With --engine dask: join this running scheduler (tcp://host:8786) "
                          "instead of starting a LocalCluster."),
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
                  scheduler: str | None) -> None:
    if (sql is None) != (url is None):
        raise click.UsageError("--sql and --url go together.")
    if scheduler is not None and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask.")


@contextlib.contextmanager
def open_streamed(data: str | None, *, sql: str | None, url: str | None, engine: str,
                  scheduler: str | None, workers: int, batch_rows: int | None,
                  csv: dict[str, Any]) -> Iterator[Any]:
    """The :class:`~tabsynth.sources.TableSource` to fit (with its Dask engine running)."""
    from tabsynth.sources import open_source, sql_source

    source = sql_source(sql, url or "") if sql is not None else open_source(data, **csv)
    if batch_rows is not None:
        source.batch_rows = int(batch_rows)
    if engine != "dask":
        yield source
        return
    from tabsynth.engine import DaskEngine

    if source.kind == "sql":
        raise ParameterError("--engine dask reads files (a Parquet folder or a glob): a SQL "
                             "query is one partition, read with --engine local.")
    with DaskEngine(scheduler, n_workers=workers) as dask_engine:
        source.engine = dask_engine
        try:
            yield source
        finally:
            source.engine = None
