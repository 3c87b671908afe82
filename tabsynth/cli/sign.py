"""``tabsynth keygen | sign | verify``: Ed25519 signatures of model files and reports."""

from __future__ import annotations

import click

from ._app import cli, handle_errors
from ._common import check_writable


@cli.command("keygen")
@click.option("-o", "--output", required=True, metavar="KEY.pem",
              help="Private key to write (mode 0600); the public key goes to KEY.pub.pem.")
@handle_errors
def keygen_command(output: str) -> None:
    """Make an Ed25519 key pair for signing model files and reports."""
    from tabsynth.signing import generate_key

    check_writable(output)
    priv, pub = generate_key(output)
    click.echo(f"Wrote {priv} (private: keep it secret) and {pub} (public: give it to "
               "reviewers).")


@cli.command("sign")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--key", "key", required=True, type=click.Path(dir_okay=False),
              help="Ed25519 private key (PEM).")
@click.option("-o", "--output", default=None, help="Signature file (default: FILE.sig).")
@handle_errors
def sign_command(file: str, key: str, output: str | None) -> None:
    """Sign FILE (a model file, a report, any file); writes a detached FILE.sig.

    A model file is verified first, so only intact files get signed.
    """
    from tabsynth.signing import is_model_file, load_private_key, sign_file, signature_path

    out = output or str(signature_path(file))
    check_writable(out)
    private_key = load_private_key(key)
    from pathlib import Path

    if is_model_file(Path(file)):
        from tabsynth.artifact import verify_model_file

        verify_model_file(file)
    sign_file(file, private_key, out)
    click.echo(f"Signed {file}; wrote {out}")


@cli.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--key", "key", required=True, type=click.Path(dir_okay=False),
              help="Trusted Ed25519 public key (PEM).")
@click.option("--signature", default=None, help="Signature file (default: FILE.sig).")
@handle_errors
def verify_command(file: str, key: str, signature: str | None) -> None:
    """Check FILE against its signature and a public key you trust (exit 4 if it fails)."""
    from tabsynth.signing import verify_file

    doc = verify_file(file, key, signature)
    click.echo(f"Signature OK: {file} (sha256 {doc['sha256'][:16]}...) was signed by the key "
               f"{key} (fingerprint {doc['public_key_sha256'][:16]}...).")
