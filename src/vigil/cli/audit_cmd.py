"""``vigil audit CASE [--verify]``: print a case's audit log, and prove it unedited.

Exit codes: 0 (with ``--verify``: the chain is intact), 1 when the chain is broken,
2 for an unknown case.
"""

from __future__ import annotations

import json

import typer

from vigil.cli.common import open_case


def audit_command(
    case_name: str = typer.Argument(..., help="The case."),
    verify: bool = typer.Option(False, "--verify", help="Check the hash chain."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per entry."),
) -> None:
    """Print the case's audit log (who did what, when); --verify checks its hash chain."""
    with open_case("audit", case_name) as (cases, case):
        entries, problems, head = cases.verify_audit(case)
    for e in entries:
        if as_json:
            typer.echo(json.dumps({**e.__dict__}, ensure_ascii=False))
        else:
            typer.echo(f"{e.seq:>5}  {e.at}  {e.actor}  {e.action}  {json.dumps(e.details)[:120]}")
    typer.echo(f"head: {head} ({len(entries)} entries)", err=True)
    if verify:
        for p in problems:
            typer.echo(f"BROKEN: {p}", err=True)
        typer.echo("chain intact" if not problems else "chain BROKEN", err=True)
        raise typer.Exit(1 if problems else 0)
