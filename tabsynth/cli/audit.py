"""``tabsynth audit DATA --metadata M --epsilon E -o audit.json``: empirical privacy audit.

Thin wrapper over :func:`tabsynth.audit.audit_one_run` / :func:`~tabsynth.audit.audit_multi_run`;
the JSON it writes is what ``tabsynth evaluate --audit audit.json`` puts in the report.
"""

from __future__ import annotations

import json

import click

from tabsynth.metadata import Metadata

from ._app import EXIT_OTHER, cli, handle_errors
from ._common import check_distinct, check_writable, csv_options


@cli.command("audit")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--metadata", "metadata_path", type=click.Path(dir_okay=False), required=True,
              help="Metadata JSON; a categorical column must declare its public_domain.")
@click.option("--epsilon", type=click.FloatRange(min=0, min_open=True), required=True,
              help="The epsilon of the DP fit being audited (the claim).")
@click.option("--delta", type=float, default=None, help="DP delta of the fit (default rule).")
@click.option("--model", "model_type", type=click.Choice(["tvae", "ctgan"]), default="tvae",
              show_default=True)
@click.option("--route", type=click.Choice(["dpsgd", "marginals"]), default="dpsgd",
              show_default=True, help="Private training route of the audited fit.")
@click.option("--method", type=click.Choice(["one-run", "multi-run"]), default="one-run",
              show_default=True, help="One training run with many canaries, or many runs.")
@click.option("--canaries", type=click.IntRange(min=10), default=100, show_default=True,
              help="One-run: number of canaries (about half are trained on).")
@click.option("--trials", type=click.IntRange(min=8), default=100, show_default=True,
              help="Multi-run: fits with and (as many) without the canary.")
@click.option("--canary-column", default=None,
              help="Categorical column that carries the canaries' categories.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Training epochs.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Batch size.")
@click.option("--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.95, show_default=True)
@click.option("--positive-control/--no-positive-control", default=True, show_default=True,
              help="Also audit a non-private fit (its bound must exceed the claim).")
@click.option("--seed", type=int, default=None, help="Seed of the audit (canaries, sampling).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto",
              show_default=True)
@click.option("-o", "--output", required=True, help="Audit result to write (JSON).")
@csv_options
@handle_errors
def audit_command(data: str, metadata_path: str, epsilon: float, delta: float | None,
                  model_type: str, route: str, method: str, canaries: int, trials: int,
                  canary_column: str | None, epochs: int | None, batch_size: int | None,
                  confidence: float, positive_control: bool, seed: int | None, device: str,
                  output: str, sep: str | None, decimal: str | None,
                  na_values: tuple[str, ...]) -> None:
    """Audit a DP fit on DATA: insert canaries, train, and bound epsilon from below.

    Exit code 1 when the lower bound exceeds the claimed epsilon (the claim is refuted).
    The figure is computed from the real table: keep it for an internal sign-off.
    """
    from tabsynth._atomic import atomic_path
    from tabsynth.audit import audit_multi_run, audit_one_run
    from tabsynth.io import read_table

    check_distinct({"DATA": data, "--metadata": metadata_path}, {"-o": output})
    check_writable(output)
    metadata = Metadata.from_json_any(metadata_path)
    text_columns = [n for n, c in metadata.to_dict()["columns"].items()
                    if c.get("sdtype") != "numerical"]
    df = read_table(data, sep=sep, decimal=decimal, na_values=list(na_values) or metadata.na_values,
                    text_columns=text_columns)
    params: dict[str, object] = {"device": device, "route": route, "verbose": False}
    if epochs is not None:
        params["epochs"] = epochs
    if batch_size is not None:
        params["batch_size"] = batch_size
    common = {"epsilon": epsilon, "delta": delta, "model": model_type, "model_params": params,
              "confidence": confidence, "canary_column": canary_column,
              "positive_control": positive_control, "random_state": seed}
    if method == "one-run":
        result = audit_one_run(df, metadata, n_canaries=canaries, **common)
    else:
        result = audit_multi_run(df, metadata, n_trials=trials, **common)
    with atomic_path(output) as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    click.echo(f"{method} audit of {model_type.upper()} at epsilon {epsilon:g}: lower bound "
               f"{result['epsilon_lower']:.3f} at {confidence:.0%} confidence "
               f"({result['n_correct']}/{result['n_guesses']} guesses right).")
    if result["positive_control_epsilon_lower"] is not None:
        click.echo(f"Positive control (non-private fit): lower bound "
                   f"{result['positive_control_epsilon_lower']:.3f}.")
    click.echo(f"Wrote {output}")
    if not result["passed"]:
        click.echo("The lower bound exceeds the claimed epsilon: the claim is refuted.",
                   err=True)
        raise SystemExit(EXIT_OTHER)
