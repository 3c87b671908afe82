"""``tabsynth evaluate``: score a synthetic release and write the sign-off report.

Exit codes: 0 the policy passes, 1 it fails; usage, bad data, an invalid model file and an
unwritable output get the codes of the CLI's table (see ``tabsynth --help``).
A model file given with ``--model`` is verified exactly as ``tabsynth.load`` does
(:func:`tabsynth.artifact.verify_model_file`: members, manifest and weights checksums,
format, class) without importing torch; a tampered file is refused. Its ledger goes into the
report and its metadata (unless ``--metadata`` is given) tells which columns were modelled, so
an ID column the model dropped is left out of the comparison instead of refused. The report's
parameters name the model file and its sha256 (the digest ``tabsynth sign`` signs), so a
reviewer holding the signed model and the signed report can check that the ledger in the report
came from that model.
CSV inputs are read as ``fit`` reads them: the delimiter and decimal mark sniffed per file
(``--sep`` / ``--decimal`` for every file); the missing tokens from ``--na-values``, else the
model file's (how ``fit`` read its table), else the metadata's, else pandas' defaults
(:mod:`tabsynth.evaluation._csvdialect`).
Every output is checked writable before any work, and the HTML and JSON land together or not
at all. A missing table or metadata file exits 3 and a missing model file 4, as in ``fit`` and
``sample`` (not click's usage error).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ._app import EXIT_OTHER, cli, handle_errors
from ._common import parse_sep, quiet_option


def read_model_file(path: str | Path) -> dict[str, Any]:
    """The verified manifest of a model file (raises ModelFileError naming the problem)."""
    from tabsynth.errors import ModelFileError

    try:
        from tabsynth.artifact import verify_model_file
    except ImportError:  # pragma: no cover - an older tabsynth.artifact
        from tabsynth.artifact import read_manifest as verify_model_file

    manifest = verify_model_file(path)
    if not isinstance(manifest, dict):  # pragma: no cover - verify_model_file checks it
        raise ModelFileError(f"{path}: manifest.json is not a JSON object.")
    return manifest


def read_model_ledger(path: str | Path) -> dict[str, Any] | None:
    """The ``ledger`` entry of a verified model file's manifest (None when it has none)."""
    return read_model_file(path).get("ledger")


def _read_json(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise click.BadParameter(f"{path} is not a readable JSON file: {exc}",
                                 param_hint=what) from None


@cli.command("evaluate")
@click.argument("real", type=click.Path(dir_okay=False))
@click.argument("synthetic", type=click.Path())
@click.option("--holdout", type=click.Path(dir_okay=False),
              help="Real rows the generator never saw (enables utility and privacy figures).")
@click.option("--target", help="Column to predict (utility, rarest-class fidelity).")
@click.option("--metadata", type=click.Path(dir_okay=False),
              help="Metadata JSON (tabsynth or SDV single-table); default: the model's.")
@click.option("--model", type=click.Path(dir_okay=False),
              help="tabsynth model file (verified): its ledger and metadata go into the report.")
@click.option("--privacy", "privacy_json", type=click.Path(exists=True, dir_okay=False),
              help="A release's privacy summary or ledger JSON (e.g. an Oversampler's "
                   "privacy_report_, with \"dp\" and \"reason\"); overrides --model's ledger.")
@click.option("--audit", "audit_json", type=click.Path(exists=True, dir_okay=False),
              help="Empirical privacy audit JSON (method, epsilon_lower, confidence, ...).")
@click.option("--policy", type=click.Path(exists=True, dir_okay=False),
              help="Policy YAML/JSON with the thresholds (default: the built-in policy).")
@click.option("-o", "--output", "html_out", type=click.Path(dir_okay=False),
              default="report.html", show_default=True, help="HTML report to write.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False),
              help="Also write the JSON report here.")
@click.option("--form", type=click.Choice(["internal", "release"]), default="internal",
              show_default=True,
              help="internal: with the real tables' sha256 and sizes (for sign-off); release: "
                   "aggregate figures only, to publish with the synthetic table.")
@click.option("--release-form", is_flag=True, help="Same as --form release.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--max-rows", type=click.IntRange(min=100), default=100_000, show_default=True,
              help="Subsample larger tables to this many rows.")
@click.option("--condition", "conditions", multiple=True, metavar="COND",
              help="The scenario the release was generated under, as for tabsynth sample "
                   "(repeatable): COL=VALUE, COL>=X, COL<=X. The rarest-class section uses the "
                   "real rows meeting it; the report counts release rows that do not.")
@click.option("--pair-binning", type=click.Choice(["own", "real"]), default="own",
              show_default=True,
              help="Numeric columns in pair trends: own = each table on its own range "
                   "(SDMetrics' QualityReport); real = both on the real table's range.")
@quiet_option("no_progress")
@click.option("--sep", default=None, metavar="CHAR", callback=parse_sep,
              help="CSV field separator of every CSV input (default: sniffed per file among "
                   ", ; tab |, as tabsynth fit does).")
@click.option("--decimal", default=None, metavar="CHAR",
              help="CSV decimal mark of every CSV input (default: sniffed per file).")
@click.option("--na-values", "na_values", multiple=True, metavar="TOKEN",
              help="A CSV cell meaning 'missing' besides the empty field (repeatable); then "
                   "only those are missing, as in tabsynth fit. Default: the --model's "
                   "(how fit read its table), else the metadata's na_values, else pandas' "
                   "default tokens (NA, N/A, null, None...).")
@click.option("--protected", default=None, metavar="COL[,COL...]",
              help="Protected column(s): adds the fairness section (group shares; with "
                   "--target and --holdout, demographic-parity and equalised-odds gaps).")
@click.option("--ignore-columns", "ignore_columns", default=None, metavar="COL[,COL...]",
              help="Columns left out of the comparison in every table that has them (a "
                   "release's extra column, real columns that were not synthesised); the "
                   "report names them.")
@handle_errors
def evaluate_cmd(real: str, synthetic: str, holdout: str | None, target: str | None,
                 metadata: str | None, model: str | None, privacy_json: str | None,
                 audit_json: str | None, policy: str | None, html_out: str,
                 json_out: str | None, form: str, release_form: bool, seed: int, max_rows: int,
                 conditions: tuple[str, ...], pair_binning: str, no_progress: bool,
                 sep: str | None, decimal: str | None, na_values: tuple[str, ...],
                 protected: str | None, ignore_columns: str | None) -> None:
    """Score SYNTHETIC against REAL (the training table) and write a sign-off report.

    SYNTHETIC may be a folder of Parquet files (tabsynth sample --partitions): a seeded
    uniform sample of --max-rows rows is read from it; the report states the sample.

    \b
    tabsynth evaluate train.csv synth.csv --holdout test.csv --target income \\
        --model adult.tsmodel -o report.html --json report.json
    tabsynth evaluate train.csv synth.csv --model adult.tsmodel --form release \\
        -o public.html --json public.json
    tabsynth evaluate train.csv fraud_sport.csv --target FraudFound_P \\
        --condition FraudFound_P=1 --condition VehicleCategory=Sport
    """
    from ..evaluation.errors import EvaluationParameterError

    try:
        _run(real, synthetic, holdout, target, metadata, model, privacy_json, audit_json,
             policy, html_out, json_out, "release" if release_form else form, seed, max_rows,
             no_progress, {"conditions": conditions, "pair_binning": pair_binning,
                           "protected": protected, "ignore_columns": ignore_columns,
                           "csv": {"sep": sep, "decimal": decimal,
                                   "na_values": list(na_values) or None}})
    except EvaluationParameterError as exc:
        raise click.UsageError(str(exc)) from None


def _run(real: str, synthetic: str, holdout: str | None, target: str | None,
         metadata: str | None, model: str | None, privacy_json: str | None,
         audit_json: str | None, policy: str | None, html_out: str, json_out: str | None,
         form: str, seed: int, max_rows: int, no_progress: bool,
         options: dict[str, Any]) -> None:
    from ..evaluation import evaluate, load_policy
    from ..evaluation._audit import validate_audit
    from ..evaluation._outputs import check_outputs
    from ._common import parse_conditions

    pol = load_policy(policy)  # bad policy -> usage error before any work
    if metadata is not None and not Path(metadata).is_file():  # exit 3, as for fit
        from tabsynth.errors import MetadataError

        raise MetadataError(f"The metadata file {metadata!r} does not exist.")
    # the sampling syntax; values are matched type-tolerantly against the real table
    conditions = parse_conditions(options["conditions"], {}) or None
    outputs = [p for p in (html_out, json_out) if p]
    check_outputs(outputs)  # every output writable, before any work
    audit = validate_audit(_read_json(audit_json, "--audit")) if audit_json else None
    ledger: Any = None
    meta: Any = metadata
    generator = None
    from tabsynth.io import check_csv_marks

    csv_format = dict(options["csv"])
    check_csv_marks(csv_format["sep"], csv_format["decimal"])  # worded as fit's
    if model:
        manifest = read_model_file(model)
        model_csv = manifest.get("csv_format")
        if csv_format["na_values"] is None and isinstance(model_csv, dict):
            csv_format["na_values"] = model_csv.get("na_values")  # as fit read the table
        ledger = manifest.get("ledger")
        params = manifest.get("params") if isinstance(manifest.get("params"), dict) else {}
        generator = {"model": manifest.get("class"), "file": Path(model).name,
                     "route": params.get("route") if params.get("epsilon") is not None
                     else "non-private", "epsilon": params.get("epsilon")}
        if meta is None and isinstance(manifest.get("metadata"), dict):
            meta = manifest["metadata"]
    if privacy_json:
        ledger = _read_json(privacy_json, "--privacy")
    report = evaluate(real, synthetic, holdout=holdout, metadata=meta, target=target,
                      ledger=ledger, audit=audit, policy=pol, random_state=seed,
                      progress=not no_progress, max_rows=max_rows, conditions=conditions,
                      pair_binning=options["pair_binning"], generator=generator,
                      csv_format=csv_format,
                      protected=_names(options["protected"]),
                      ignore_columns=_names(options["ignore_columns"]))
    if model:  # which model file the ledger came from: the digest `tabsynth sign` signs
        import hashlib

        report.parameters["model_file"] = Path(model).name
        report.parameters["model_file_sha256"] = hashlib.sha256(
            Path(model).read_bytes()).hexdigest()
    report.save(html=html_out, json=json_out, form=form)
    for c in report.checks:
        if c["status"] != "PASS":
            value = "—" if c["value"] is None else f"{c['value']:.4g}"
            click.echo(f"  {c['status']:<7} {c['name']}: {value} (threshold {c['threshold']})"
                       + (f" — {c['reason']}" if c.get("reason") else ""))
    for note in report.warnings:
        click.echo(f"  Note: {note}")
    models = ((report.fairness or {}).get("downstream") or {}).get("models", {})
    for side, m in models.items():  # the fairness section (evaluation/fairness.py)
        f = {k: "—" if v is None else f"{v:.3f}" for k, v in m.items()}
        click.echo(f"  Fairness, trained on {side}: accuracy {f['accuracy']}, ROC AUC "
                   f"{f['roc_auc']}, demographic-parity difference "
                   f"{f['demographic_parity_difference']}, equalised-odds gap "
                   f"{f['equalized_odds_gap']}")
    click.echo(f"Verdict: {report.verdict}")
    click.echo(f"HTML report ({form} form): {html_out}")
    if json_out:
        click.echo(f"JSON report ({form} form): {json_out}")
    if not report.passed:
        sys.exit(EXIT_OTHER)


def _names(text: str | None) -> list[str] | None:
    """A ``COL[,COL...]`` option as a list of names (None when not given)."""
    return None if text is None else [c.strip() for c in text.split(",") if c.strip()]
