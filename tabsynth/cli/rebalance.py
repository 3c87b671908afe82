"""``tabsynth rebalance MODEL --protected sex,race -o OUT``: balanced representation.

Calls :func:`tabsynth.rebalance` with a fitted model file:

* with ``--data REAL.csv``: REAL plus synthetic rows of the groups below their target share
  (``keep_real=True``; not a DP release: it holds the real rows and reads their group counts);
* without ``--data``: a synthetic release of ``-n`` rows (default: the model's row count, its DP
  estimate under DP) with the target shares — post-processing of the model, DP when it is.

``--shares`` is ``equal`` (default), a JSON object ``{"Female × White": 0.2, ...}`` (keys: a
group label with `` × `` or ``|`` between values, or one value for one protected column) or
the path of such a JSON file. ``--summary FILE`` also writes the per-group plan and the privacy
summary as JSON (``tabsynth evaluate --privacy FILE`` reads it); the outputs land together or
not at all.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from ._app import cli, handle_errors
from ._common import check_distinct, check_writable, csv_options, quiet_option, written_like

_EPILOG = """\b
Examples:
  tabsynth rebalance m.tsmodel --protected sex,race --data train.csv -o balanced.csv
  tabsynth rebalance dp.tsmodel --protected sex,race -n 20000 -o release.csv
  tabsynth rebalance m.tsmodel --protected sex --shares '{"Female": 0.5, "Male": 0.5}' \\
      --data train.csv -o balanced.csv --summary balanced.json
"""


def parse_shares(raw: str) -> Any:
    """``"equal"``, a JSON object, or the path of a JSON file holding one (ParameterError)."""
    from tabsynth.errors import ParameterError

    text = raw.strip()
    if text == "equal":
        return "equal"
    if not text.startswith("{"):
        path = Path(raw)
        if not path.is_file():
            raise ParameterError(f"--shares {raw!r} is not 'equal', a JSON object or a JSON "
                                 "file.")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ParameterError(f"--shares: cannot read {raw!r}: {exc}") from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ParameterError(f"--shares is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ParameterError("--shares must be a JSON object {group: share, ...}.")
    return value


def _write(table: Any, output: str, summary: str | None, info: dict[str, Any],
           na_rep: str, dialect: dict[str, str]) -> None:
    from tabsynth._atomic import atomic_outputs

    with atomic_outputs(output, summary) as (tmp, tmp_summary):
        name = output.lower()
        if name.endswith((".parquet", ".pq")):
            table.to_parquet(tmp, index=False)
        else:
            table.to_csv(tmp, index=False, na_rep=na_rep, **dialect,
                         compression="gzip" if name.endswith(".gz") else None)
        if tmp_summary is not None:
            Path(tmp_summary).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")


@cli.command("rebalance", epilog=_EPILOG)
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.option("--protected", required=True, metavar="COL[,COL...]",
              help="Protected categorical column(s); groups are the combinations of values.")
@click.option("--shares", default="equal", show_default=True, metavar="equal|JSON|FILE",
              help="Target share per group: equal, a JSON object or a JSON file.")
@click.option("--data", default=None, type=click.Path(dir_okay=False), metavar="REAL",
              help="Augment this real table (not a DP release). Without it: a synthetic "
                   "release of -n rows.")
@click.option("-n", "--num-rows", "n", type=click.IntRange(min=1), default=None,
              help="Without --data: rows of the release (default: the model's row count).")
@click.option("-o", "--output", required=True, help="Output table (.csv or .parquet).")
@click.option("--summary", default=None, type=click.Path(dir_okay=False), metavar="JSON",
              help="Also write the per-group plan and the privacy summary here.")
@click.option("--seed", type=int, default=None, help="Random seed for reproducible samples.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="cpu",
              show_default=True)
@quiet_option()
@csv_options
@handle_errors
def rebalance_command(model_path: str, protected: str, shares: str, data: str | None,
                      n: int | None, output: str, summary: str | None, seed: int | None,
                      device: str, quiet: bool, sep: str | None, decimal: str | None,
                      na_values: tuple[str, ...]) -> None:
    """Rebalance over the groups of --protected to target shares and write OUTPUT.

    With --data the output is REAL plus synthetic rows of the under-represented groups (each
    generated exactly through the model's conditions); without it, a synthetic release whose
    groups have exactly the target shares. Sampling costs no privacy budget.
    """
    from tabsynth.errors import ParameterError
    from tabsynth.models.registry import load_with_manifest
    from tabsynth.sampling.rebalancing import rebalance

    cols = [c.strip() for c in protected.split(",") if c.strip()]
    if not cols:
        raise ParameterError("--protected needs at least one column name.")
    if data is not None and n is not None:
        raise ParameterError("-n goes without --data (with --data the size follows from the "
                             "real counts and the target shares).")
    if seed is not None and seed < 0:
        raise ParameterError(f"--seed must be >= 0, got {seed}.")
    target_shares = parse_shares(shares)
    check_distinct({"MODEL": model_path, "--data": data}, {"-o": output, "--summary": summary})
    check_writable(output, table=True)
    if summary is not None:
        check_writable(summary)
    model, manifest = load_with_manifest(model_path, device=device)
    csv_format = manifest.get("csv_format") or {}
    na_rep = str(csv_format.get("na_rep", "") or "")
    dialect = written_like(csv_format)
    real = None
    if data is not None:
        from tabsynth.io import read_table

        columns = model.metadata_.to_dict()["columns"]
        real = read_table(data, sep=sep, decimal=decimal,
                          na_values=list(na_values) or csv_format.get("na_values"),
                          text_columns=[c for c, d in columns.items()
                                        if d.get("sdtype") != "numerical"])
        na_rep = str(real.attrs.get("na_rep", na_rep) or "")
        dialect = written_like(real.attrs.get("csv") or csv_format)  # as --data was written
    start = time.perf_counter()
    result = rebalance(real, protected=cols, model=model, shares=target_shares,
                       keep_real=real is not None, n=n, random_state=seed, verbose=not quiet)
    info = {"protected": cols, "groups": result.groups, "privacy": result.privacy}
    _write(result.table, output, summary, info, na_rep, dialect)
    seconds = time.perf_counter() - start
    added = int(result.synthetic_mask.sum())
    click.echo(f"Wrote {len(result.table):,} rows ({added:,} synthetic) to {output} in "
               f"{seconds:.1f} s.")
    width = max(len(g["label"]) for g in result.groups)
    for g in result.groups:
        click.echo(f"  {g['label']:<{width}}  target {g['target_share']:.3f}  now "
                   f"{g['share']:.3f}  (+{g['added']:,} synthetic)")
    p = result.privacy
    click.echo(p["note"] if p["dp"] else f"Not a DP release: {p['reason']}.")
