"""``vigil hashset``: import, list, show, export, delete and look up hash sets.

A thin layer over ``vigil.hashsets`` and ``vigil.store``: it turns options into calls
and results into text. Exit codes: 0 success, 1 when the operation failed (a bad
record, an unreadable file, a database error), 2 for usage errors (unknown format,
set or option, a malformed hash typed on the command line), 130 on Ctrl-C.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from vigil.errors import InvalidHashError, UnknownHashSetError, UsageError, VigilError
from vigil.hashsets.formats import FORMATS
from vigil.hashsets.lookup import parse_query
from vigil.hashsets.model import HashSetInfo, HashSetKind
from vigil.services.hashsets import HashSets, path_problem
from vigil.store import Store, open_store

app = typer.Typer(
    help="Hash sets: banks of known hashes (VICS, CAID, HMA, md5sum, hashdeep, NSRL...).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
_FORMATS_HELP = ", ".join(FORMATS)
_SHOWN_SKIPS = 20


class Mode(StrEnum):
    """Choices for --mode."""

    replace = "replace"
    merge = "merge"
    remove = "remove"


class Kind(StrEnum):
    """Choices for --kind."""

    alert = "alert"
    ignore = "ignore"
    watch = "watch"


@contextmanager
def _store() -> Iterator[Store]:
    """Open the store and map Vigil's errors to messages and exit codes."""
    try:
        store = open_store()
    except VigilError as exc:
        _fail(str(exc), 1)
    try:
        yield store
    except KeyboardInterrupt:
        _fail("interrupted: nothing was changed", 130)
    except (UsageError, InvalidHashError, UnknownHashSetError) as exc:
        _fail(str(exc), 2)
    except VigilError as exc:
        _fail(str(exc), 1)
    finally:
        store.close()


def _fail(message: str, code: int) -> None:
    typer.echo(f"vigil hashset: {message}", err=True)
    raise typer.Exit(code)


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="The hash-set file (format detected from content)."),
    name: str | None = typer.Option(None, "--name", "-n", help="Set name (default: file stem)."),
    kind: Kind | None = typer.Option(
        None, "--kind", help="alert (default), ignore (default for NSRL) or watch."
    ),
    format_name: str | None = typer.Option(
        None, "--format", "-f", help=f"Force the format: {_FORMATS_HELP}."
    ),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Import the valid records and report the others."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    mode: Mode = typer.Option(
        Mode.replace,
        "--mode",
        "-m",
        help="replace the set (default), merge the file's entries into it (add new ones, "
        "update the same items), or remove (withdraw) the listed entries from it.",
    ),
    into: str | None = typer.Option(None, "--into", help="The set to change (same as --name)."),
) -> None:
    """Import a hash-set file: replace a set, merge into it, or remove entries (atomically)."""
    if into is not None and name is not None and into != name:
        _fail("give --into or --name, not both", 2)
    name = into or name
    problem = path_problem(file)
    if problem is not None:
        _fail(problem, 2)
    with _store() as store, _progress_bar(not quiet, file.name) as progress:
        report = HashSets(store).import_file(
            file,
            name=name,
            kind=HashSetKind(kind.value) if kind else None,
            format_name=format_name,
            skip_invalid=skip_invalid,
            progress=progress,
            mode=mode.value,
        )
    info = report.info
    if report.mode != "replace" and report.changes:
        c = report.changes
        typer.echo(
            f"{info.name}: {report.mode}: {c['added']:,} added, {c['updated']:,} updated, "
            f"{c['removed']:,} removed ({info.entry_count:,} entries) in {report.seconds:.1f} s"
        )
    elif report.unchanged:
        typer.echo(f"{info.name}: unchanged ({info.entry_count:,} entries, same file as before)")
        return
    typer.echo(
        f"{info.name}: imported {report.imported:,} entries "
        f"({info.source_format}, {info.kind}, profile {info.category_profile or 'none'}) "
        f"in {report.seconds:.1f} s"
    )
    skipped = int(info.attributes.get("skipped_records", 0))
    if skipped:
        typer.echo(f"skipped {skipped:,} invalid records:", err=True)
        for rejected in report.skipped[:_SHOWN_SKIPS]:
            typer.echo(f"  {rejected}", err=True)
        if skipped > _SHOWN_SKIPS:
            typer.echo(f"  ... and {skipped - _SHOWN_SKIPS:,} more", err=True)


@contextmanager
def _progress_bar(wanted: bool, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A Rich progress bar on a terminal's stderr, fed (position, total) by the importer."""
    if not (wanted and sys.stderr.isatty()):
        yield None
        return
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(f"importing {label}", total=None)

    def update(position: int, total: int) -> None:
        bar.update(task, completed=position, total=total or None)

    with bar:
        yield update


@app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per set."),
) -> None:
    """List the hash sets."""
    with _store() as store:
        sets = HashSets(store).list()
    if as_json:
        for info in sets:
            typer.echo(json.dumps(_info_json(info), ensure_ascii=False))
        return
    table = Table()
    for column in ("name", "kind", "entries", "format", "profile", "version", "imported"):
        table.add_column(column, justify="right" if column == "entries" else "left")
    for info in sets:
        table.add_row(
            info.name,
            str(info.kind),
            f"{info.entry_count:,}",
            info.source_format or "",
            info.category_profile or "",
            info.version or "",
            info.imported_at.strftime("%Y-%m-%d %H:%M") if info.imported_at else "",
        )
    Console(width=None if sys.stdout.isatty() else 200).print(table)


@app.command("show")
def show_command(
    name: str = typer.Argument(..., help="Set name."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object."),
    feedback: bool = typer.Option(
        False, "--feedback", help="Per entry: the exchange it came from, feedback sent or received."
    ),
    history: bool = typer.Option(
        False, "--history", help="Every import, merge and removal: file, SHA-256, time, counts."
    ),
) -> None:
    """Show a set: provenance, counts by hash type and by category."""
    with _store() as store:
        info = HashSets(store).require(name)
        by_type, by_category = HashSets(store).counts(name)
        flags = HashSets(store).flag_counts(name)
        events = HashSets(store).history(name) if history else []
        if feedback:
            from vigil.cli.exchange_cmd import feedback_lines
            from vigil.exchange.sync import entry_report

            report = entry_report(store, name)
            lines = feedback_lines(report)
    data = _info_json(info)
    data["hashes"] = by_type
    data["categories"] = {("uncategorised" if k is None else k): v for k, v in by_category.items()}
    data["flags"] = flags
    if feedback:
        data["entries_feedback"] = report
    if history:
        data["history"] = [e.to_json() for e in events]
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key in ("name", "kind", "entries", "source_format", "category_profile", "version"):
        typer.echo(f"{key:>17}: {data[key] if data[key] is not None else ''}")
    typer.echo(f"{'provenance':>17}: {info.provenance or ''}")
    typer.echo(f"{'source sha256':>17}: {info.source_sha256 or ''}")
    typer.echo(f"{'imported':>17}: {data['imported_at'] or ''}")
    typer.echo("hashes:")
    for hash_type, count in by_type.items():
        typer.echo(f"  {hash_type:>10}  {count:>12,}")
    typer.echo(f"categories ({info.category_profile or 'no profile'}):")
    for category, count in data["categories"].items():
        typer.echo(f"  {category:>10}  {count:>12,}")
    if flags:
        typer.echo("flags:")
        for flag, tally in flags.items():
            said = ", ".join(f"{answer} {n:,}" for answer, n in tally.items())
            typer.echo(f"  {flag.replace('_', ' '):>19}  {said}")
    if history:
        typer.echo("history:")
        for e in events:
            typer.echo(
                f"  {e.at.strftime('%Y-%m-%d %H:%M:%S') if e.at else '':19}  {e.mode:<7}  "
                f"+{e.added:,} ~{e.updated:,} -{e.removed:,} -> {e.entries_after:,}  "
                f"{e.format or ''}  {e.sha256 or ''}  {e.file or ''}"
            )
    if feedback:
        typer.echo("exchange provenance and feedback:")
        for line in lines:
            typer.echo(line)


@app.command("export")
def export_command(
    name: str = typer.Argument(..., help="Set name."),
    format_name: str = typer.Option(
        ..., "--format", "-f", help=f"vics, csv, tx, md5sum or any of: {_FORMATS_HELP}."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output file (default: stdout)."),
) -> None:
    """Export a set in a format the field shares."""
    with _store() as store:
        count = HashSets(store).export(name, format_name, out)
    if out is not None:
        typer.echo(f"{name}: wrote {count:,} records to {out}", err=True)


@app.command("delete")
def delete_command(name: str = typer.Argument(..., help="Set name.")) -> None:
    """Delete a set and all its entries."""
    with _store() as store:
        if not HashSets(store).delete_set(name):
            raise UnknownHashSetError(f"no hash set named {name!r}")
    typer.echo(f"{name}: deleted")


@app.command("lookup")
def lookup_command(
    hashes: list[str] = typer.Argument(..., help="HEX or TYPE:HEX (md5, sha1, sha256, pdq)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per match."),
) -> None:
    """Which sets hold these hashes (exact match), with the entry's category."""
    with _store() as store:
        typed = [(text, parse_query(text)) for text in hashes]
        matches = HashSets(store).lookup([q for _, queries in typed for q in queries])
    if as_json:
        for m in matches:
            record = {
                "hash_type": m.hash_type,
                "hash": m.hash,
                "set": m.set_name,
                "kind": str(m.kind),
                "category": m.category,
                "category_profile": m.category_profile,
                "entry": m.entry_no,
            }
            typer.echo(json.dumps(record))
        return
    found = {(m.hash_type, m.hash) for m in matches}
    for m in matches:
        category = f"{m.category} ({m.category_profile})" if m.category else "uncategorised"
        typer.echo(f"{m.hash_type}:{m.hash}  {m.set_name}  {m.kind}  {category}")
    for text, queries in typed:
        if not found.intersection(queries):
            typer.echo(f"{text.strip()}  not found")


def _info_json(info: HashSetInfo) -> dict[str, object]:
    return {
        "name": info.name,
        "kind": str(info.kind),
        "entries": info.entry_count,
        "source_format": info.source_format,
        "category_profile": info.category_profile,
        "version": info.version,
        "provenance": info.provenance,
        "source_sha256": info.source_sha256,
        "imported_at": info.imported_at.isoformat() if info.imported_at else None,
    }
