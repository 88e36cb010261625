"""Entry point of the ``vigil`` command: the Typer app and its sub-commands.

Exit codes: 0 success, 1 when some item failed (the run still finished),
2 for usage errors (bad options, missing paths).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
from typer.core import TyperCommand

from vigil import __version__
from vigil.errors import UsageError, VigilError

#: Every command: name -> (module, attribute, one-line help). The module is imported
#: only when the command runs (or its own help is asked for): ``vigil --help`` and a
#: quick ``vigil hash`` do not pay for the service, the report or the referral.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "hash": ("hash_cmd", "hash_command", "Hash files: MD5, SHA-1, SHA-256, PDQ, vPDQ."),
    "hashset": ("hashset_cmd", "app", "Import, list, show, export, delete and look up hash sets."),
    "match": ("match_cmd", "match_command", "Report every hash set holding each file or hash."),
    "scan": ("scan_cmd", "scan_command", "Scan evidence into a case: hash, match, record."),
    "results": ("scan_cmd", "results_command", "Export a case's items (docs/scan.md)."),
    "audit": ("audit_cmd", "audit_command", "Print a case's audit log; --verify checks it."),
    "export": ("export_cmd", "export_command", "Export a case's media as VICS 2.0 or CSV."),
    "refer": ("refer_cmd", "refer_command", "Write a signed referral package of hashes and facts."),
    "report": ("report_cmd", "report_command", "Write a self-contained HTML (and PDF) report."),
    "keys": ("keys_cmd", "app", "Make and export the signing key of referral packages."),
    "verify": ("keys_cmd", "verify_command", "Verify a signed referral package."),
    "verify-image": ("image_cmd", "verify_image_command", "Check a disk image's stored hashes."),
    "serve": ("serve_cmd", "serve_command", "Run the matching service (HTTP API, HMA routes)."),
    "apikey": ("serve_cmd", "apikey_app", "Create, list and revoke the service's API keys."),
    "webhook": ("serve_cmd", "webhook_app", "Add, list and remove the service's webhooks."),
    "crawl": ("crawl_cmd", "crawl_command", "Crawl web pages: hash, match and record their media."),
    "notices": ("crawl_cmd", "notices_command", "Write removal notices (text, XARF) per provider."),
    "recheck": ("crawl_cmd", "recheck_command", "Check whether notified URLs are gone."),
    "review": ("review_cmd", "review_command", "Serve the review app of a case (grade, confirm)."),
    "leads": ("review_cmd", "leads_command", "Print a case's metadata leads (cameras, GPS, time)."),
    "user": ("review_cmd", "user_app", "Add and list the examiners of the review app."),
    "exchange": ("exchange_cmd", "app", "Pull and push hash sets with partners, with feedback."),
}


def load_command(name: str) -> Any:
    """The real Click command behind ``name`` (its module imported now)."""
    module_name, attribute, _ = COMMANDS[name]
    module = importlib.import_module(f"vigil.cli.{module_name}")
    target = getattr(module, attribute)
    if isinstance(target, typer.Typer):
        command = typer.main.get_command(target)
    else:
        single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyCommand(TyperCommand):
    """A command listed by its one-line help; the real one is loaded when it is used."""

    def __init__(self, name: str) -> None:
        """Stand for the command ``name`` of ``COMMANDS``."""
        super().__init__(name, help=COMMANDS[name][2], short_help=COMMANDS[name][2])
        self.add_help_option = False

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Any = None,
        **extra: Any,
    ) -> Any:
        """Hand over to the real command: its options, its help, its run."""
        return load_command(self.name or "").make_context(info_name, args, parent, **extra)

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


def cli() -> Any:
    """The ``vigil`` command: the root options, every command listed, none imported yet."""
    group = typer.main.get_group(app)
    for name in COMMANDS:
        group.add_command(LazyCommand(name), name)  # type: ignore[attr-defined]
    return group


def main(argv: list[str] | None = None) -> None:
    """Run the CLI (``argv`` for tests; defaults to sys.argv).

    A VigilError that a command did not turn into its own message (a store that went
    away under ``vigil apikey list``, say) still ends as one line and an exit code,
    never a traceback: 2 for usage errors, 1 for the rest.
    """
    args = argv if argv is not None else sys.argv[1:]
    try:
        cli()(args=args, prog_name="vigil")
    except VigilError as exc:
        command = args[0] if args and not args[0].startswith("-") else ""
        typer.echo(f"vigil{' ' + command if command else ''}: {exc}", err=True)
        raise SystemExit(2 if isinstance(exc, UsageError) else 1) from None
