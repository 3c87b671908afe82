"""``tabsynth sample MODEL -n N -o OUT``: generate rows, streamed to CSV/Parquet in chunks.

Rare events:

* ``--oversample COL=VALUE --ratio R --data REAL.csv`` writes REAL plus synthetic rows of class
  VALUE (exact, through the conditional vector) until count(VALUE) / count(largest other class)
  reaches R (:func:`tabsynth.sampling.augment.oversample_table`).
* ``--rare COL[:Q]`` generates N rows from a rare region of COL, streamed in ``--chunk-size``
  chunks (:func:`tabsynth.sampling.rare.iter_rare_chunks`): a numeric column's tail beyond
  the model's quantile Q (default 0.05; ``--tail``), or a categorical column's categories
  rarer than Q (default 0.02).

At scale: ``--partitions P`` writes OUT as a folder of P Parquet files from independent seeded
partitions, ``--workers W`` processes in parallel, or Dask workers with ``--engine dask``
(a LocalCluster of W workers, or ``--scheduler ADDRESS``)
(:func:`tabsynth.sampling.partitioned.sample_to_dataset`).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import click

from ._app import cli, handle_errors
from ._common import (
    check_distinct,
    check_writable,
    csv_options,
    parse_conditions,
    quiet_option,
    written_like,
)

_EPILOG = """\b
Examples:
  tabsynth sample m.tsmodel -n 10000 -o out.csv --condition fraud=1 --condition "age>=60"
  tabsynth sample m.tsmodel --oversample fraud=1 --ratio 0.5 --data train.csv -o aug.csv
  tabsynth sample m.tsmodel -n 5000 --rare avg_glucose_level:0.05 --tail upper -o tail.csv
  tabsynth sample m.tsmodel -n 5000 --rare work_type:0.02 -o rare_jobs.csv
  tabsynth sample m.tsmodel -n 100000000 -o out/ --partitions 64 --workers 8 --seed 1
  tabsynth sample m.tsmodel -n 100000000 -o out/ --partitions 64 --engine dask \
      --scheduler tcp://host:8786 --seed 1
"""


def _parse_rare(spec: str) -> tuple[str, float | None]:
    from tabsynth.errors import ParameterError

    column, sep, q = spec.rpartition(":")
    if not sep:
        return spec, None
    try:
        value = float(q)
    except ValueError:
        raise ParameterError(
            f"Cannot read --rare {spec!r}: write COL or COL:Q with Q a number (quantile or "
            "frequency threshold)."
        ) from None
    return column, value


@cli.command("sample", epilog=_EPILOG)
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.option("-n", "--num-rows", "n", type=click.IntRange(min=1), default=None,
              help="Number of rows to generate (> 0). Required unless --oversample.")
@click.option("-o", "--output", required=True, help="Output table (.csv or .parquet).")
@click.option("--condition", "conditions", multiple=True, metavar="COND",
              help="col=value (exact, categorical) or col>=x / col<=x (numeric range); repeatable.")
@click.option("--oversample", "oversample", default=None, metavar="COL=VALUE",
              help="Write the --data rows plus synthetic rows of class COL=VALUE up to --ratio.")
@click.option("--ratio", type=float, default=None, metavar="R",
              help="With --oversample: target count(VALUE) / count(largest other class).")
@click.option("--data", "data", default=None, type=click.Path(dir_okay=False), metavar="REAL",
              help="With --oversample: the real table to augment (CSV/Parquet).")
@click.option("--rare", "rare", default=None, metavar="COL[:Q]",
              help="Rows from a rare region of COL: numeric tail beyond quantile Q (default "
                   "0.05), or categories with frequency below Q (default 0.02).")
@click.option("--tail", type=click.Choice(["upper", "lower", "both"]), default="upper",
              show_default=True, help="With --rare on a numeric column: which tail.")
@click.option("--seed", type=int, default=None, help="Random seed for reproducible samples.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=50_000, show_default=True,
              help="Rows generated and written per chunk (bounds memory).")
@click.option("--partitions", type=int, default=None, metavar="P",
              help="Write OUTPUT as a folder of P Parquet files (part-00000.parquet ...), one "
                   "seeded partition each; the same --seed gives the same files for any "
                   "--workers.")
@click.option("--workers", type=int, default=1, show_default=True, metavar="W",
              help="With --partitions: worker processes (or, with --engine dask, LocalCluster "
                   "workers) generating partitions in parallel.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local",
              show_default=True,
              help="With --partitions: run the partitions in local processes or on Dask "
                   "workers (pip install 'tabsynth[scale]'); the same files either way.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="With --engine dask: join this running scheduler (tcp://host:8786; its "
                   "workers must see OUTPUT's folder) instead of starting a LocalCluster.")
@click.option("--scheduler-timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS",
              help="With --scheduler: how long to wait for it before giving up (default 5).")
@click.option("--overwrite", is_flag=True, default=False,
              help="With --partitions: replace an existing non-empty OUTPUT folder (once the "
                   "new dataset is complete).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="cpu",
              show_default=True)
@quiet_option()
@csv_options
@handle_errors
def sample_command(
    model_path: str,
    n: int | None,
    output: str,
    conditions: tuple[str, ...],
    oversample: str | None,
    ratio: float | None,
    data: str | None,
    rare: str | None,
    tail: str,
    seed: int | None,
    chunk_size: int,
    partitions: int | None,
    workers: int,
    engine: str,
    scheduler: str | None,
    scheduler_timeout: float | None,
    overwrite: bool,
    device: str,
    quiet: bool,
    sep: str | None,
    decimal: str | None,
    na_values: tuple[str, ...],
) -> None:
    """Generate N synthetic rows from MODEL and write them to OUTPUT.

    Sampling costs no privacy budget: it is post-processing of the model (its ledger applies).
    With --oversample the output also holds the real rows of --data (not a DP release).
    Missing values are written with the token the training CSV used (--na-values at fit).
    OUTPUT is written under a temporary name and renamed at the end; Ctrl-C or SIGTERM
    leaves nothing behind.
    """
    from tabsynth.errors import ParameterError
    from tabsynth.models.registry import load_with_manifest

    if oversample is not None:
        if n is not None or rare is not None or conditions:
            raise ParameterError("--oversample cannot be combined with -n, --rare or --condition.")
        if ratio is None or data is None:
            raise ParameterError("--oversample needs --ratio R and --data REAL.csv.")
    elif ratio is not None or data is not None:
        raise ParameterError("--ratio and --data go with --oversample COL=VALUE.")
    elif n is None:
        raise ParameterError("Missing option '-n' / '--num-rows' (the number of rows).")
    if scheduler is not None and engine != "dask":
        raise ParameterError("--scheduler needs --engine dask.")
    if scheduler_timeout is not None and scheduler is None:
        raise ParameterError("--scheduler-timeout goes with --scheduler ADDRESS.")
    if partitions is not None or workers != 1 or overwrite or engine != "local":
        _sample_dataset(model_path, n, output, conditions, oversample, rare, seed, chunk_size,
                        partitions, workers, overwrite, device, engine, scheduler,
                        scheduler_timeout, progress=not quiet)
        return
    check_distinct({"MODEL": model_path, "--data": data}, {"-o": output})
    check_writable(output, table=True)
    model, manifest = load_with_manifest(model_path, device=device)
    if not list(getattr(model, "columns_", None) or []):  # a file from before fit refused it
        from tabsynth.errors import ModelFileError

        raise ModelFileError(
            f"The model file {model_path!r} models no column: there is nothing to sample. "
            "Fit again (tabsynth fit now refuses such a table and says why)."
        )
    csv_format = manifest.get("csv_format") or {}
    na_rep = str(csv_format.get("na_rep", "") or "")
    dialect = written_like(csv_format)  # the training CSV's separator and decimal mark
    cats = {s.column: list(s.categories) for s in model.transformer_.discrete_spans}
    start = time.perf_counter()
    if oversample is not None:
        from tabsynth.io import read_table, write_table
        from tabsynth.sampling.augment import oversample_table

        parsed_os = parse_conditions((oversample,), cats)
        (column, value), = parsed_os.items()
        if isinstance(value, tuple):
            raise ParameterError(f"--oversample takes COL=VALUE (one class), got {oversample!r}.")
        real = read_table(data, sep=sep, decimal=decimal,
                          na_values=list(na_values) or csv_format.get("na_values"),
                          text_columns=_text_columns(model))
        table = oversample_table(model, real, column=column, value=value, ratio=ratio,
                                 random_state=seed, progress=not quiet)
        write_table(table, output, na_rep=real.attrs.get("na_rep", na_rep),
                    **written_like(real.attrs.get("csv") or csv_format))  # as --data was
        seconds = time.perf_counter() - start
        added = len(table) - len(real)
        click.echo(f"Wrote {len(table):,} rows ({added:,} synthetic rows of {column}={value}) "
                   f"to {output} in {seconds:.1f} s.")
        _echo_privacy(model)
        return
    parsed = parse_conditions(conditions, cats, _dates(model)) if conditions else None
    if rare is not None:
        import tabsynth.io
        from tabsynth._progress import counted_rows
        from tabsynth.sampling.rare import iter_rare_chunks

        column, q = _parse_rare(rare)
        discrete = column in cats
        kwargs = ({"rare_threshold": q} if discrete else {"quantile": q, "tail": tail})
        chunks = iter_rare_chunks(  # checked here, generated chunk by chunk as written
            model, n, chunk_size=chunk_size, column=column, conditions=parsed,
            random_state=seed,
            **{k: v for k, v in kwargs.items() if v is not None or k == "tail"})
        tabsynth.io.write_table_chunks(
            counted_rows(chunks, n, desc="sample --rare", shown=not quiet), output,
            na_rep=na_rep, **dialect)
    else:
        extra = {"na_rep": na_rep} if na_rep and _accepts(model.sample_to, "na_rep") else {}
        if dialect != {"sep": ",", "decimal": "."} and _accepts(model.sample_to, "sep"):
            extra |= dialect
        if _accepts(model.sample_to, "progress"):
            extra["progress"] = not quiet
        if na_rep and not extra:
            import warnings

            from tabsynth.errors import DataWarning

            warnings.warn(f"Missing values are written as empty fields (the training CSV used "
                          f"{na_rep!r}).", DataWarning, stacklevel=1)
        model.sample_to(output, n, conditions=parsed, random_state=seed, chunk_size=chunk_size,
                        **extra)
    seconds = time.perf_counter() - start
    click.echo(f"Wrote {n:,} rows to {output} in {seconds:.1f} s.")


def _dates(model: Any) -> frozenset[str]:
    """The model's datetime columns (their condition bounds are dates)."""
    meta = getattr(model, "metadata_", None)
    return frozenset(n for n, c in getattr(meta, "columns", {}).items()
                     if c.sdtype == "datetime")


def _sample_dataset(model_path: str, n: int | None, output: str, conditions: tuple[str, ...],
                    oversample: str | None, rare: str | None, seed: int | None,
                    chunk_size: int, partitions: int | None, workers: int, overwrite: bool,
                    device: str, engine: str = "local", scheduler: str | None = None,
                    scheduler_timeout: float | None = None, *, progress: bool = True) -> None:
    """``--partitions P [--workers W] [--engine dask] [--overwrite]``: a partitioned Parquet
    dataset."""

    from tabsynth.errors import ParameterError
    from tabsynth.models.registry import load
    from tabsynth.sampling.partitioned import check_output_folder, sample_to_dataset

    if partitions is None:
        raise ParameterError("--workers, --engine dask and --overwrite go with --partitions P "
                             "(a folder of Parquet files).")
    if oversample is not None or rare is not None:
        raise ParameterError("--partitions cannot be combined with --oversample or --rare.")
    if partitions < 1:
        raise ParameterError(f"--partitions must be >= 1; got {partitions}.")
    if workers < 1:
        raise ParameterError(f"--workers must be >= 1; got {workers}.")
    assert n is not None
    if partitions > n:
        raise ParameterError(f"--partitions {partitions:,} is more than the {n:,} rows: every "
                             "file must hold at least one row.")
    check_distinct({"MODEL": model_path}, {"-o": output})
    check_output_folder(output, overwrite=overwrite)  # before loading anything
    model = load(model_path, device=device)
    cats = {s.column: list(s.categories) for s in model.transformer_.discrete_spans}
    parsed = parse_conditions(conditions, cats, _dates(model)) if conditions else None
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        runner = None
        if engine == "dask":
            from tabsynth.engine import DaskEngine

            runner = stack.enter_context(DaskEngine(scheduler, n_workers=workers,
                                                    timeout=scheduler_timeout))
        sample_to_dataset(model, output, n, model_file=model_path, partitions=partitions,
                          workers=workers, conditions=parsed, random_state=seed,
                          chunk_size=chunk_size, overwrite=overwrite, device=device,
                          engine=runner, progress=progress)
    seconds = time.perf_counter() - start
    who = _workers_text(engine, scheduler, workers)
    click.echo(f"Wrote {n:,} rows in {partitions:,} Parquet files to {output} in {seconds:.1f} s "
               f"({n / max(seconds, 1e-9):,.0f} rows/s, {who}).")


def _workers_text(engine: str, scheduler: str | None, workers: int) -> str:
    if engine == "dask" and scheduler is not None:
        return f"Dask scheduler {scheduler}"
    plural = "s" if workers > 1 else ""
    return f"{workers} Dask worker{plural}" if engine == "dask" else f"{workers} worker{plural}"


def _accepts(func: object, name: str) -> bool:
    import inspect

    try:
        return name in inspect.signature(func).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _text_columns(model: object) -> list[str]:
    columns = model.metadata_.to_dict()["columns"]  # type: ignore[attr-defined]
    return [n for n, c in columns.items() if c.get("sdtype") != "numerical"]


def _echo_privacy(model: object) -> None:
    spent = getattr(model, "privacy_spent_", None)
    if spent is None:
        click.echo("Synthetic rows from a non-private model; the output holds the real rows.")
    else:
        click.echo(f"Synthetic rows are post-processing of a DP model ({spent}); the output also "
                   "holds the real rows of --data, so it is not a DP release.")
