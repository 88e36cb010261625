"""``vigil audit CASE [--verify]``: print a case's audit log, and prove it unedited.

Exit codes: 0 (with ``--verify``: the chain is intact), 1 when the chain is broken,
2 for an unknown case.
"""

from __future__ import annotations

import json

import typer

from vigil.audit import head, verify_chain
from vigil.errors import VigilError
from vigil.store import open_store
from vigil.store.cases import UnknownCaseError


def audit_command(
    case_name: str = typer.Argument(..., help="The case."),
    verify: bool = typer.Option(False, "--verify", help="Check the hash chain."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per entry."),
) -> None:
    """Print the case's audit log (who did what, when); --verify checks its hash chain."""
    try:
        with open_store() as store:
            case = store.cases.require(case_name)
            entries = store.cases.audit_log(case)
    except UnknownCaseError as exc:
        typer.echo(f"vigil audit: {exc}", err=True)
        raise typer.Exit(2) from None
    except VigilError as exc:
        typer.echo(f"vigil audit: {exc}", err=True)
        raise typer.Exit(1) from None
    for e in entries:
        if as_json:
            typer.echo(json.dumps({**e.__dict__}, ensure_ascii=False))
        else:
            typer.echo(f"{e.seq:>5}  {e.at}  {e.actor}  {e.action}  {json.dumps(e.details)[:120]}")
    typer.echo(f"head: {head(entries)} ({len(entries)} entries)", err=True)
    if verify:
        problems = verify_chain(entries)
        for p in problems:
            typer.echo(f"BROKEN: {p}", err=True)
        typer.echo("chain intact" if not problems else "chain BROKEN", err=True)
        raise typer.Exit(1 if problems else 0)
