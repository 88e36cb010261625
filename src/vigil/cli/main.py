"""Entry point of the ``vigil`` command: the Typer app and its sub-commands.

Exit codes: 0 success, 1 when some item failed (the run still finished),
2 for usage errors (bad options, missing paths).
"""

from __future__ import annotations

import sys

import typer

from vigil import __version__
from vigil.cli import (
    audit_cmd,
    export_cmd,
    hash_cmd,
    hashset_cmd,
    keys_cmd,
    match_cmd,
    refer_cmd,
    report_cmd,
    scan_cmd,
    serve_cmd,
)

app = typer.Typer(
    name="vigil",
    help="Find known material by hash in evidence, uploads and crawls.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vigil {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Vigil: hash, match, scan, report."""


app.command("hash")(hash_cmd.hash_command)
app.add_typer(hashset_cmd.app, name="hashset")
app.command("match")(match_cmd.match_command)
app.command("scan")(scan_cmd.scan_command)
app.command("results")(scan_cmd.results_command)
app.command("audit")(audit_cmd.audit_command)
app.command("export")(export_cmd.export_command)
app.command("refer")(refer_cmd.refer_command)
app.command("report")(report_cmd.report_command)
app.add_typer(keys_cmd.app, name="keys")
app.command("verify")(keys_cmd.verify_command)
app.command("serve")(serve_cmd.serve_command)
app.add_typer(serve_cmd.apikey_app, name="apikey")
app.add_typer(serve_cmd.webhook_app, name="webhook")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI (``argv`` for tests; defaults to sys.argv)."""
    app(args=argv if argv is not None else sys.argv[1:], prog_name="vigil")
