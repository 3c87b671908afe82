"""``tabsynth fit DATA -o MODEL``: train a synthesizer and save it as a model file."""

from __future__ import annotations

import time
from pathlib import Path

import click

from tabsynth.metadata import Metadata

from ._app import cli, handle_errors
from ._common import check_distinct, check_writable, csv_options, quiet_option
from ._stream import check_options, open_streamed, stream_options, wants_stream


@cli.command("fit")
@click.argument("data", required=False)
@click.option("-o", "--output", required=True, help="Model file to write (e.g. model.tsmodel).")
@click.option(
    "--model", "model_type", type=click.Choice(["ctgan", "tvae", "ar"]), default=None,
    help="Synthesizer family (ar: autoregressive, ARSynthesizer). Default: ar (the best "
         "measured with and without --epsilon, see the README's Performance); ctgan with "
         "--route marginals (the route only CTGAN/TVAE have).",
)
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Training epochs.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Batch size.")
@click.option("--metadata", "metadata_path", type=click.Path(dir_okay=False), default=None,
              help="Metadata JSON (tabsynth or SDV format); detected when omitted.")
@click.option("--epsilon", type=float, default=None,
              help="Train with differential privacy at this epsilon (omit for non-private).")
@click.option("--delta", type=float, default=None,
              help="DP delta (default: well below 1/n, see the README).")
@click.option("--max-grad-norm", type=click.FloatRange(min=0, min_open=True), default=None,
              help="DP-SGD per-sample clipping norm (default 1.0).")
@click.option("--preprocessing-share", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=None, help="Share of epsilon spent on DP statistics (default 0.5).")
@click.option("--accountant", type=click.Choice(["prv", "rdp"]), default=None,
              help="Privacy accountant (default prv).")
@click.option("--route", type=click.Choice(["dpsgd", "marginals"]), default=None,
              help="Private route with --epsilon: DP-SGD on rows (default) or fitting the "
                   "generator to DP-measured marginals.")
@click.option("--seed", type=int, default=None,
              help="Random seed: makes a non-private fit reproducible. With --epsilon it seeds "
                   "only post-processing (initialisation); privacy noise comes from OS entropy, "
                   "so a DP fit is never bit-reproducible.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto",
              show_default=True)
@quiet_option()
@click.option("--nproc", type=int, default=1, show_default=True,
              help="Training processes (torch.distributed: gloo on the CPU, NCCL on GPUs); "
                   "every model, not --route marginals. Under torchrun leave it at 1: the "
                   "processes are torchrun's.")
@csv_options
@click.option("--sign-key", default=None, type=click.Path(dir_okay=False), metavar="KEY.pem",
              help="Also sign the model with this Ed25519 private key (writes MODEL.sig).")
@stream_options
@handle_errors
def fit_command(
    data: str,
    output: str,
    model_type: str | None,
    epochs: int | None,
    batch_size: int | None,
    metadata_path: str | None,
    epsilon: float | None,
    delta: float | None,
    max_grad_norm: float | None,
    preprocessing_share: float | None,
    accountant: str | None,
    route: str | None,
    seed: int | None,
    device: str,
    quiet: bool,
    nproc: int,
    sep: str | None,
    decimal: str | None,
    na_values: tuple[str, ...],
    sign_key: str | None,
    sql: str | None,
    url: str | None,
    sql_partitions: int,
    sql_partition_column: str | None,
    engine: str,
    scheduler: str | None,
    scheduler_timeout: float | None,
    workers: int,
    batch_rows: int | None,
) -> None:
    """Train a CTGAN, TVAE or ARSynthesizer on DATA (CSV/Parquet) and save it to OUTPUT.

    DATA may also be a Parquet dataset folder or a quoted glob of Parquet/CSV files, or the
    table may come from --sql QUERY --url URL: the table is then read in record batches,
    never whole (every model; CTGAN/TVAE not with --route marginals; see the README's
    "Larger than memory").

    CSV: the delimiter and decimal mark are sniffed (--sep, --decimal override); only the
    empty field is missing unless --na-values names tokens. OUTPUT is written at the end
    under a temporary name, so an existing model file survives a failed or killed fit.

    Several training processes: --nproc N, or torchrun --nproc-per-node N -m tabsynth fit
    ... (every process reads DATA; rank 0 measures the statistics and writes OUTPUT; a
    streamed table is read in record batches by every process, each into its own cell file).
    """
    from tabsynth.errors import ParameterError
    from tabsynth.io import read_table
    from tabsynth.models.distributed import init_from_env, leave_group

    group = init_from_env(device)  # torchrun: WORLD_SIZE > 1
    if group is not None:
        click.get_current_context().call_on_close(leave_group)
        if nproc != 1:
            raise ParameterError(
                "--nproc is for a fit started without torchrun; under torchrun the processes "
                "are torchrun's (--nproc-per-node): leave --nproc at 1.")
    rank0 = group is None or group.rank == 0

    check_distinct({"DATA": data, "--metadata": metadata_path, "--sign-key": sign_key},
                   {"-o": output, "signature": output + ".sig" if sign_key else None})
    check_writable(output)
    private_key = None
    if sign_key is not None:
        from tabsynth.signing import load_private_key

        check_writable(output + ".sig")
        private_key = load_private_key(sign_key)  # a bad key fails before training
    metadata = Metadata.from_json_any(metadata_path) if metadata_path is not None else None
    text_columns = ([n for n, c in metadata.to_dict()["columns"].items()
                     if c.get("sdtype") != "numerical"] if metadata is not None else [])
    na = list(na_values) or (metadata.na_values if metadata is not None else None)
    check_options(sql, url, engine, scheduler, sql_partitions, sql_partition_column,
                  scheduler_timeout)
    if wants_stream(data, sql, engine):
        if route == "marginals":
            raise click.UsageError("A streamed table (a folder, a glob, --sql, --engine dask) "
                                   "is fitted with --route dpsgd: the marginals route needs "
                                   "the table in memory.")
        model_type = model_type or "ar"
        csv = {"sep": sep, "decimal": decimal, "na_values": na, "text_columns": text_columns}
        stream = open_streamed(data, sql=sql, url=url, engine=engine, scheduler=scheduler,
                               workers=workers, batch_rows=batch_rows, csv=csv,
                               sql_partitions=sql_partitions,
                               sql_partition_column=sql_partition_column,
                               scheduler_timeout=scheduler_timeout)
    else:
        stream = None
        df = read_table(data, sep=sep, decimal=decimal, na_values=na,
                        text_columns=text_columns)
    params: dict[str, object] = {"device": device, "random_state": seed,
                                 "verbose": not quiet and rank0}
    if epochs is not None:
        params["epochs"] = epochs
    if batch_size is not None:
        params["batch_size"] = batch_size
    if epsilon is not None:
        params["epsilon"] = epsilon
    for key, value in (("delta", delta), ("max_grad_norm", max_grad_norm),
                       ("preprocessing_share", preprocessing_share), ("accountant", accountant),
                       ("route", route)):
        if value is not None:
            params[key] = value
    if model_type is None:
        model_type = "ctgan" if route == "marginals" else "ar"
    if model_type == "ctgan":
        from tabsynth.models.ctgan import CTGAN as cls
    elif model_type == "ar":
        from tabsynth.models.ar import ARSynthesizer as cls
    else:
        from tabsynth.models.tvae import TVAE as cls
    start = time.perf_counter()
    if stream is not None:
        with stream as source:
            if nproc != 1:  # statistics and cells here (or on Dask), training in nproc
                from tabsynth.models.distributed_launch import fit_distributed

                model = fit_distributed(cls(**params), source, metadata, nproc=nproc)
            else:
                model = cls(**params).fit(source, metadata=metadata)
            csv_format, n_rows = source.csv_attrs, source.n_rows
    else:
        if nproc != 1:
            from tabsynth.models.distributed_launch import fit_distributed

            model = fit_distributed(cls(**params), df, metadata, nproc=nproc)
        else:
            model = cls(**params).fit(df, metadata=metadata)
        read_as = df.attrs.get("csv") or {}
        csv_format = {"na_rep": df.attrs.get("na_rep", ""),
                      "na_values": read_as.get("na_values", [""]),
                      "sep": read_as.get("sep", ","), "decimal": read_as.get("decimal", ".")}
        n_rows = len(df)
    seconds = time.perf_counter() - start
    if not rank0:  # torchrun: rank 0 alone writes the model file and reports
        return
    _save(model, output, csv_format, private_key)
    click.echo(
        f"Trained {cls.__name__} on {n_rows:,} rows x {len(model.columns_)} columns "
        f"in {seconds:.1f} s on {model.device_}."
    )
    spent = getattr(model, "privacy_spent_", None)
    if spent is not None:
        click.echo(f"Privacy spent: {_format_spent(spent)}")
    else:
        click.echo("No differential privacy (non-private model).")
    click.echo(f"Wrote {output}")


def _save(model: object, output: str, csv_format: dict, private_key: object) -> None:
    from tabsynth.models.persistence import save_model

    if private_key is None:
        save_model(model, output, csv_format=csv_format)
        return
    from tabsynth._atomic import atomic_outputs
    from tabsynth.signing import sign_file

    with atomic_outputs(output, output + ".sig") as (model_tmp, sig_tmp):
        save_model(model, model_tmp, csv_format=csv_format)
        sign_file(model_tmp, private_key, sig_tmp, name=Path(output).name)
    click.echo(f"Signed: {output}.sig")


def _format_spent(spent: object) -> str:
    if isinstance(spent, dict):
        eps, delta = spent.get("epsilon"), spent.get("delta")
        acct = spent.get("accountant", "")
    else:
        eps, delta = getattr(spent, "epsilon", None), getattr(spent, "delta", None)
        acct = getattr(spent, "accountant", "")
    return f"epsilon={eps:.4g}, delta={delta:.3g} ({acct} accountant)"
