"""``tabsynth sample MODEL -n N -o OUT``: generate rows, streamed to CSV/Parquet in chunks."""

from __future__ import annotations

import time

import click

from ._app import cli, handle_errors
from ._common import check_writable, parse_conditions


@cli.command("sample")
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.option("-n", "--num-rows", "n", type=click.IntRange(min=1), required=True,
              help="Number of rows to generate (> 0).")
@click.option("-o", "--output", required=True, help="Output table (.csv or .parquet).")
@click.option("--condition", "conditions", multiple=True, metavar="COND",
              help="col=value (exact, categorical) or col>=x / col<=x (numeric range); repeatable.")
@click.option("--seed", type=int, default=None, help="Random seed for reproducible samples.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=50_000, show_default=True,
              help="Rows generated and written per chunk (bounds memory).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="cpu",
              show_default=True)
@handle_errors
def sample_command(
    model_path: str,
    n: int,
    output: str,
    conditions: tuple[str, ...],
    seed: int | None,
    chunk_size: int,
    device: str,
) -> None:
    """Generate N synthetic rows from MODEL and write them to OUTPUT."""
    from tabsynth.artifact import load

    check_writable(output, table=True)
    model = load(model_path, device=device)
    cats = {s.column: list(s.categories) for s in model.transformer_.discrete_spans}
    parsed = parse_conditions(conditions, cats) if conditions else None
    start = time.perf_counter()
    model.sample_to(output, n, conditions=parsed, random_state=seed, chunk_size=chunk_size)
    seconds = time.perf_counter() - start
    click.echo(f"Wrote {n:,} rows to {output} in {seconds:.1f} s.")
