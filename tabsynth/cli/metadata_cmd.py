"""``tabsynth metadata DATA -o meta.json``: detect column types for editing."""

from __future__ import annotations

from typing import Any

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
    for name, col in meta.columns.items():
        click.echo(f"  {name:<30} {_described(col)}")
    click.echo(f"Wrote {output} ({len(meta.columns)} columns).")


def _described(col: Any) -> str:
    """A column's type (a ``ColumnMetadata``) as the listing shows it: what to review before
    a DP fit."""
    if col.is_duration:
        return "numerical (duration, in seconds)"
    if col.sdtype == "numerical":
        return f"numerical ({col.representation or 'float'})"
    if col.sdtype == "datetime" and col.datetime_format:
        return f"datetime ({col.datetime_format})"
    if not col.modelled:
        return f"{col.sdtype} (not modelled)"
    return str(col.sdtype)
