"""``tabsynth metadata DATA -o meta.json``: detect column types for editing."""

from __future__ import annotations

import click

from ._app import cli, handle_errors
from ._common import check_distinct, check_writable, csv_options


@cli.command("metadata")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, help="Where to write the metadata JSON.")
@csv_options
@handle_errors
def metadata_command(data: str, output: str, sep: str | None, decimal: str | None,
                     na_values: tuple[str, ...]) -> None:
    """Detect the column types of DATA (CSV/Parquet) and write them as editable JSON.

    Declare public knowledge by editing the file: "public_domain" (a category list),
    "public_bounds" ([low, high]) or "decimals" (a float column's rounding, e.g. 1) cost no
    privacy budget.
    """
    import warnings

    from tabsynth.io import read_table
    from tabsynth.metadata import Metadata

    check_distinct({"DATA": data}, {"-o": output})
    check_writable(output)
    df = read_table(data, sep=sep, decimal=decimal, na_values=list(na_values) or None)
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # every detection note, one line each (CLI hook)
        meta = Metadata.detect(df)
    meta.save(output)
    for name, col in meta.to_dict()["columns"].items():
        click.echo(f"  {name:<30} {_described(col)}")
    click.echo(f"Wrote {output} ({len(meta.to_dict()['columns'])} columns).")


def _described(col: dict) -> str:
    """A column's type as the listing shows it: what to review before a DP fit."""
    sdtype = str(col.get("sdtype"))
    if sdtype == "numerical":
        if str(col.get("dtype") or "").startswith("timedelta64"):
            return "numerical (duration, in seconds)"
        return f"numerical ({col.get('representation') or 'float'})"
    if sdtype == "datetime" and col.get("datetime_format"):
        return f"datetime ({col['datetime_format']})"
    if sdtype in ("id", "text"):
        return f"{sdtype} (not modelled)"
    return sdtype
