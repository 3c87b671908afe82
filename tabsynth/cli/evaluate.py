"""``tabsynth evaluate``: score a synthetic release and write the sign-off report.

Exit codes: 0 the policy passes, 1 it fails (or another error), 2 usage, 3 bad data.
Reads the privacy ledger of a tabsynth model file with ``zipfile`` + ``json`` only, so this
command never imports torch.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import click

from ._app import EXIT_OTHER, cli, handle_errors


def read_model_ledger(path: str | Path) -> dict[str, Any] | None:
    """The ``ledger`` entry of a model file's ``manifest.json`` (None when it has none)."""
    from tabsynth.errors import ModelFileError

    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read("manifest.json").decode("utf-8"))
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(
            f"{path} is not a tabsynth model file (a zip with manifest.json): {exc}"
        ) from None
    if not isinstance(manifest, dict):
        raise ModelFileError(f"{path}: manifest.json is not a JSON object.")
    return manifest.get("ledger")


@cli.command("evaluate")
@click.argument("real", type=click.Path(exists=True, dir_okay=False))
@click.argument("synthetic", type=click.Path(exists=True, dir_okay=False))
@click.option("--holdout", type=click.Path(exists=True, dir_okay=False),
              help="Real rows the generator never saw (enables utility and privacy figures).")
@click.option("--target", help="Column to predict (utility, rarest-class fidelity).")
@click.option("--metadata", type=click.Path(exists=True, dir_okay=False),
              help="Metadata JSON (tabsynth or SDV single-table).")
@click.option("--model", type=click.Path(exists=True, dir_okay=False),
              help="tabsynth model file whose privacy ledger goes into the report.")
@click.option("--policy", type=click.Path(exists=True, dir_okay=False),
              help="Policy YAML/JSON with the thresholds (default: the built-in policy).")
@click.option("-o", "--output", "html_out", type=click.Path(dir_okay=False),
              default="report.html", show_default=True, help="HTML report to write.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False),
              help="Also write the JSON report here.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--max-rows", type=click.IntRange(min=100), default=100_000, show_default=True,
              help="Subsample larger tables to this many rows.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@handle_errors
def evaluate_cmd(real: str, synthetic: str, holdout: str | None, target: str | None,
                 metadata: str | None, model: str | None, policy: str | None, html_out: str,
                 json_out: str | None, seed: int, max_rows: int, no_progress: bool) -> None:
    """Score SYNTHETIC against REAL (the training table) and write a sign-off report.

    \b
    tabsynth evaluate train.csv synth.csv --holdout test.csv --target income \\
        --model adult.tsmodel -o report.html --json report.json
    """
    from ..evaluation import evaluate, load_policy

    pol = load_policy(policy)  # bad policy -> exit 2 before any work
    ledger = read_model_ledger(model) if model else None
    for out in (html_out, json_out):
        if out and not Path(out).resolve().parent.is_dir():
            raise click.UsageError(f"the folder of {out} does not exist")
    report = evaluate(real, synthetic, holdout=holdout, metadata=metadata, target=target,
                      ledger=ledger, policy=pol, random_state=seed,
                      progress=not no_progress, max_rows=max_rows)
    if json_out:
        report.to_json(json_out)
    report.to_html(html_out)
    for c in report.checks:
        if c["status"] != "PASS":
            value = "—" if c["value"] is None else f"{c['value']:.4g}"
            click.echo(f"  {c['status']:<7} {c['name']}: {value} (threshold {c['threshold']})"
                       + (f" — {c['reason']}" if c.get("reason") else ""))
    click.echo(f"Verdict: {report.verdict}")
    click.echo(f"HTML report: {html_out}")
    if json_out:
        click.echo(f"JSON report: {json_out}")
    if not report.passed:
        sys.exit(EXIT_OTHER)
