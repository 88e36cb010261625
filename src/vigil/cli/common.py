"""What the case commands share: opening the store and a case, and mapping errors to exits.

Exit codes, as everywhere in Vigil: 1 when the operation failed (a database error, an
unwritable file), 2 for usage errors (here: no case of that name).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer

from vigil.errors import VigilError
from vigil.services.cases import Case, CaseService, UnknownCaseError
from vigil.store import open_store


def fail(command: str, message: str, code: int) -> NoReturn:
    """Print ``vigil COMMAND: message`` on standard error and exit with ``code``."""
    typer.echo(f"vigil {command}: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def open_case(command: str, case_name: str) -> Iterator[tuple[CaseService, Case]]:
    """The case service and the case called ``case_name``; errors become messages and exits."""
    try:
        store = open_store()
    except VigilError as exc:
        fail(command, str(exc), 1)
    try:
        cases = CaseService(store)
        yield cases, cases.require(case_name)
    except UnknownCaseError as exc:
        fail(command, str(exc), 2)
    except VigilError as exc:
        fail(command, str(exc), 1)
    finally:
        store.close()
