"""``tabsynth info MODEL``: parameters, metadata, training summary and privacy ledger."""

from __future__ import annotations

import json

import click

from ._app import cli, handle_errors


@cli.command("info")
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the model's manifest as JSON.")
@handle_errors
def info_command(model_path: str, as_json: bool) -> None:
    """Describe a saved model: what it is, what it learned from, what privacy it spent.

    The file is verified first (manifest and weights checksums, format, class), as
    ``tabsynth.load`` does; a tampered or corrupt file fails with exit code 4.
    """
    from tabsynth.artifact import verify_model_file

    manifest = verify_model_file(model_path)  # ModelFileError (exit 4) when tampered/corrupt
    if as_json:
        click.echo("checksums verified", err=True)
        click.echo(json.dumps(manifest, indent=2, sort_keys=True, default=str))
        return
    version = manifest.get("format_version")
    click.echo(f"Model:    {manifest.get('class')} (format version {version})")
    click.echo("Checks:   checksums verified (manifest and weights sha256); this proves the file "
               "is intact, not who made it (see 'tabsynth verify' for signatures)")
    versions = manifest.get("versions", {})
    if versions:
        click.echo("Built by: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())))
    click.echo("Parameters:")
    budget = (manifest.get("ledger") or {}).get("budget") or {}
    for key, value in sorted(manifest.get("params", {}).items()):
        derived = ""
        if key == "delta" and value is None and isinstance(budget.get("delta"), (int, float)):
            derived = f"  (derived: {budget['delta']:g}, from a noisy row count; see the ledger)"
        click.echo(f"  {key:<24} {value!r}{derived}")
    columns = manifest.get("metadata", {}).get("columns", {})
    stats = (manifest.get("stats") or {}).get("columns", {}) or {}
    click.echo(f"Columns ({len(columns)}):")
    for name, spec in columns.items():
        extra = []
        if spec.get("public_domain") is not None:
            extra.append("public domain")
        if spec.get("public_bounds") is not None:
            extra.append("public bounds")
        if spec.get("decimals") is not None:
            d = spec["decimals"]
            extra.append(f"{d} decimal{'' if d == 1 else 's'}")
        extra += _modelled(stats.get(name) or {}, spec)
        note = f" ({', '.join(extra)})" if extra else ""
        click.echo(f"  {name:<30} {spec.get('sdtype')}{note}")
    summary = manifest.get("training", {}) or {}
    if summary:
        click.echo("Training:")
        for key, value in summary.items():
            if key != "loss_history" and value is not None:
                click.echo(f"  {key:<24} {value}")
    ledger = manifest.get("ledger")
    if ledger is None:
        click.echo("Privacy:  none (non-private model; no differential-privacy guarantee)")
    else:
        from tabsynth.privacy.ledger import Ledger

        click.echo("Privacy ledger:")
        click.echo(Ledger.from_dict(ledger).summary())


def _modelled(st: dict, spec: dict) -> list[str]:
    """What the model's statistics hold of a column: its range (numeric, datetime; "DP
    bounds" when a DP measurement set it) or its number of categories."""
    kind = st.get("kind")
    if kind in ("numeric", "datetime") and "lower" in st and "upper" in st:
        lo, hi = float(st["lower"]), float(st["upper"])
        if kind == "datetime":
            text = f"range [{_when(lo)}, {_when(hi)}]"
        elif str(spec.get("dtype") or "").startswith("timedelta64"):  # seconds
            from datetime import timedelta

            text = f"duration, range [{timedelta(seconds=lo)}, {timedelta(seconds=hi)}]"
        else:
            text = f"range [{lo:g}, {hi:g}]"
        dp = st.get("source") == "dp" and spec.get("public_bounds") is None
        return [text + (", DP bounds" if dp else "")]
    if kind == "categorical" and st.get("categories") is not None:
        cats, other = list(st["categories"]), st.get("other")
        if st.get("source") == "dp" and isinstance(other, str) and cats and cats[-1] == other:
            n = len(cats) - 1  # a DP text column's "__other__" (the values below threshold)
            if n == 0:
                return [f"no category released under DP: every value is {other!r}"]
            return [f"{n} categor{'y' if n == 1 else 'ies'} + {other!r}"]
        n = len(cats)
        return [f"{n} categor{'y' if n == 1 else 'ies'}"]
    return []


def _when(seconds: float) -> str:
    """Epoch seconds as a date-time, or in seconds past the calendar's end (a DP bound can
    lie far from the data)."""
    from datetime import datetime, timedelta

    try:
        return str(datetime(1970, 1, 1) + timedelta(seconds=seconds))
    except OverflowError:
        return f"{abs(seconds):g} s {'after' if seconds > 0 else 'before'} 1970-01-01"
