"""``vigil keys`` (signing keys) and ``vigil verify`` (check a signed package).

Exit codes: ``verify`` 0 when the package is valid and signed by the key given with
``--key`` (and made for ``--expect-recipient``, if given); 1 when anything was altered,
the signature is bad, the signer is not verified (no ``--key``: "signature valid,
signer not verified") or the recipient differs; 2 for usage errors (a missing or
unreadable key, a missing package).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from vigil.keys import PRIVATE_FILE, key_folder
from vigil.refer.signing import (
    SigningKeyError,
    fingerprint,
    generate_key,
    load_private_key,
    load_public_key,
    public_pem,
    verify_package,
)
from vigil.settings import Settings

app = typer.Typer(
    help="Ed25519 signing keys for referral packages.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def default_key() -> Path:
    """Where the signing key lives unless --key says otherwise."""
    return key_folder(Settings.from_env().vigil_home) / PRIVATE_FILE


def passphrase(path: Path | None) -> bytes | None:
    """The key's passphrase, read from a file (never from the command line)."""
    if path is None:
        return None
    try:
        return path.read_bytes().rstrip(b"\r\n")
    except OSError as exc:
        typer.echo(f"vigil keys: cannot read passphrase file {path}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None


@app.command("generate")
def generate_command(
    key: Path = typer.Option(None, "--key", help="Private key file (default: in VIGIL_HOME)."),
    passphrase_file: Path | None = typer.Option(
        None, "--passphrase-file", help="Encrypt the key with the passphrase in this file."
    ),
) -> None:
    """Create a signing key; print its fingerprint and where the public key went."""
    path = key or default_key()
    try:
        private = generate_key(path, passphrase(passphrase_file))
    except SigningKeyError as exc:
        typer.echo(f"vigil keys: {exc}", err=True)
        raise typer.Exit(2) from None
    public = path.with_suffix(".pub")
    public.write_bytes(public_pem(private))
    typer.echo(f"private key: {path}\npublic key:  {public}")
    typer.echo(f"fingerprint: {fingerprint(private.public_key())}")


@app.command("export-public")
def export_public_command(
    key: Path = typer.Option(None, "--key", help="Private key file (default: in VIGIL_HOME)."),
    passphrase_file: Path | None = typer.Option(None, "--passphrase-file"),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write here (default: stdout)."),
) -> None:
    """Print the public key (PEM) to hand to the agencies that will verify your packages."""
    try:
        private = load_private_key(key or default_key(), passphrase(passphrase_file))
    except SigningKeyError as exc:
        typer.echo(f"vigil keys: {exc}", err=True)
        raise typer.Exit(2) from None
    pem = public_pem(private)
    if out is None:
        sys.stdout.write(pem.decode())
    else:
        out.write_bytes(pem)
    typer.echo(f"fingerprint: {fingerprint(private.public_key())}", err=True)


def verify_command(
    package: Path = typer.Argument(..., help="A signed package (zip)."),
    key: Path | None = typer.Option(
        None, "--key", help="The sender's public key (PEM), obtained out of band."
    ),
    expect_recipient: str | None = typer.Option(
        None, "--expect-recipient", help="Fail unless the package was made for this recipient."
    ),
) -> None:
    """Verify a signed package: valid, or which member changed, was added or removed."""
    if not package.exists():
        typer.echo(f"vigil verify: no such file: {package}", err=True)
        raise typer.Exit(2)
    try:
        public = load_public_key(key) if key is not None else None
    except SigningKeyError as exc:
        typer.echo(f"vigil verify: {exc}", err=True)
        raise typer.Exit(2) from None
    result = verify_package(package, public, expect_recipient=expect_recipient)
    for line in result.lines():
        typer.echo(line)
    raise typer.Exit(0 if result.verified else 1)
