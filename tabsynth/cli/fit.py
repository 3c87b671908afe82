"""``tabsynth fit DATA -o MODEL``: train a synthesizer and save it as a model file."""

from __future__ import annotations

import time

import click

from ._app import cli, handle_errors
from ._common import check_writable


@cli.command("fit")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, help="Model file to write (e.g. model.tsmodel).")
@click.option(
    "--model", "model_type", type=click.Choice(["ctgan", "tvae"]), default="ctgan",
    show_default=True, help="Synthesizer family.",
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
              default=None, help="Share of epsilon spent on DP statistics (default 0.1).")
@click.option("--accountant", type=click.Choice(["prv", "rdp"]), default=None,
              help="Privacy accountant (default prv).")
@click.option("--route", type=click.Choice(["dpsgd", "marginals"]), default=None,
              help="Private route with --epsilon: DP-SGD on rows (default) or fitting the "
                   "generator to DP-measured marginals.")
@click.option("--seed", type=int, default=None, help="Random seed for reproducible training.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto",
              show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@handle_errors
def fit_command(
    data: str,
    output: str,
    model_type: str,
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
) -> None:
    """Train a CTGAN or TVAE on DATA (CSV/Parquet) and save it to OUTPUT."""
    from tabsynth.io import read_table
    from tabsynth.metadata import Metadata

    check_writable(output)
    df = read_table(data)
    metadata = None
    if metadata_path is not None:
        metadata = (
            Metadata.load(metadata_path)
            if _is_tabsynth_metadata(metadata_path)
            else Metadata.from_sdv(metadata_path)
        )
    params: dict[str, object] = {"device": device, "random_state": seed, "verbose": not quiet}
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
    if model_type == "ctgan":
        from tabsynth.models.ctgan import CTGAN as cls
    else:
        from tabsynth.models.tvae import TVAE as cls
    start = time.perf_counter()
    model = cls(**params).fit(df, metadata=metadata)
    seconds = time.perf_counter() - start
    model.save(output)
    click.echo(
        f"Trained {cls.__name__} on {len(df):,} rows x {len(model.columns_)} columns "
        f"in {seconds:.1f} s on {model.device_}."
    )
    spent = getattr(model, "privacy_spent_", None)
    if spent is not None:
        click.echo(f"Privacy spent: {_format_spent(spent)}")
    else:
        click.echo("No differential privacy (non-private model).")
    click.echo(f"Wrote {output}")


def _is_tabsynth_metadata(path: str) -> bool:
    import json

    with open(path, encoding="utf-8") as fh:
        try:
            doc = json.load(fh)
        except json.JSONDecodeError as exc:
            from tabsynth.errors import MetadataError

            raise MetadataError(f"{path!r} is not valid JSON: {exc}") from None
    return isinstance(doc, dict) and "schema_version" in doc


def _format_spent(spent: object) -> str:
    if isinstance(spent, dict):
        eps, delta = spent.get("epsilon"), spent.get("delta")
        acct = spent.get("accountant", "")
    else:
        eps, delta = getattr(spent, "epsilon", None), getattr(spent, "delta", None)
        acct = getattr(spent, "accountant", "")
    return f"epsilon={eps:.4g}, delta={delta:.3g} ({acct} accountant)"
