"""``tabsynth metadata DATA -o meta.json``: detect column types for editing."""

from __future__ import annotations

import click

from ._app import cli, handle_errors
from ._common import check_writable


@cli.command("metadata")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, help="Where to write the metadata JSON.")
@handle_errors
def metadata_command(data: str, output: str) -> None:
    """Detect the column types of DATA (CSV/Parquet) and write them as editable JSON.

    Declare public knowledge by editing the file: "public_domain" (a category list) or
    "public_bounds" ([low, high]) cost no privacy budget.
    """
    import warnings

    from tabsynth.io import read_table
    from tabsynth.metadata import Metadata

    check_writable(output)
    df = read_table(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        meta = Metadata.detect(df)
    for w in caught:
        click.echo(f"Warning: {w.message}", err=True)
    meta.save(output)
    for name, col in meta.to_dict()["columns"].items():
        click.echo(f"  {name:<30} {col.get('sdtype')}")
    click.echo(f"Wrote {output} ({len(meta.to_dict()['columns'])} columns).")
