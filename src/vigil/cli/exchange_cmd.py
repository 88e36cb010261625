"""``vigil exchange``: subscribe to partners' hash lists, publish ours, send feedback.

Exit codes: 0 done; 1 a partner or the store failed (the set and the checkpoint are
as the last committed batch left them: pull again to resume); 2 a usage error (no
such exchange, a bad option, an unreadable credentials file); 130 interrupted.
See docs/exchange.md for each exchange type.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vigil.errors import InvalidHashError, UnknownHashSetError, UsageError, VigilError
from vigil.exchange import EXCHANGE_TYPES, ExchangeError
from vigil.exchange import sync as exchanges
from vigil.store import Store, open_store

app = typer.Typer(
    help="Pull and push hash sets with partners (NCMEC, StopNCII, ThreatExchange, HMA, "
    "another Vigil, a file), incrementally, with feedback.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"vigil exchange: {message}", err=True)
    raise typer.Exit(code)


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
        _fail("interrupted: the last committed batch stays; pull again to resume", 130)
    except ExchangeError as exc:
        _fail(str(exc), 2 if exc.usage else 1)
    except (UsageError, InvalidHashError, UnknownHashSetError) as exc:
        _fail(str(exc), 2)
    except VigilError as exc:
        _fail(str(exc), 1)
    finally:
        store.close()


def _options(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            _fail(f"--option takes NAME=VALUE (got {pair!r})", 2)
        out[name] = int(value) if value.isdigit() else value
    return out


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds") if ts else "never"


@app.command("add")
def add_command(
    name: str = typer.Argument(..., help="A name for the exchange."),
    type_name: str = typer.Option(
        ..., "--type", help=f"Exchange type: {'|'.join(EXCHANGE_TYPES)}."
    ),
    url: str | None = typer.Option(None, "--url", help="The partner's URL (or file path)."),
    credentials: Path | None = typer.Option(
        None, "--credentials", help="JSON file of the partner's credentials (read at each use)."
    ),
    into: str | None = typer.Option(
        None, "--into", help="Hash set the entries go to (default: the exchange's name)."
    ),
    option: list[str] = typer.Option(
        [], "--option", help="A type's setting NAME=VALUE (bank=, privacy_group=, ...)."
    ),
    public_key: Path | None = typer.Option(
        None, "--public-key", help="vigil type: the publisher's public key, pinned now."
    ),
) -> None:
    """Configure an exchange (nothing is fetched until vigil exchange pull)."""
    with _store() as store:
        ex = exchanges.add_exchange(
            store,
            name,
            type_name,
            url=url,
            into=into,
            credentials=credentials,
            options=_options(option),
            public_key=public_key,
        )
    pinned = ex.config.get("public_key_fingerprint")
    typer.echo(
        f"{ex.name}: {ex.type} exchange into hash set {ex.into_set}"
        + (f", pinned key {pinned}" if pinned else "")
    )


@app.command("list")
def list_command(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every exchange with its checkpoint and how its last pull ended."""
    with _store() as store:
        found = exchanges.repository(store).list()
    if as_json:
        typer.echo(json.dumps([e.to_json() for e in found], indent=2))
        return
    for ex in found:
        state = "never pulled"
        if ex.fetch_completed_at:
            state = "ok" if ex.fetch_ok else f"FAILED: {ex.fetch_error}"
        typer.echo(
            f"{ex.name}  {ex.type}  {ex.url or ''}  -> {ex.into_set}  "
            f"{'enabled' if ex.enabled else 'disabled'}  items {ex.fetched_items:,}  "
            f"last pull {_when(ex.fetch_completed_at)} ({state})"
        )


@app.command("pull")
def pull_command(
    name: str | None = typer.Argument(None, help="Exchange to pull."),
    all_: bool = typer.Option(False, "--all", help="Pull every enabled exchange (for cron)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON report."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Fetch what is new from a partner and apply it; resumes where a failed pull stopped."""
    if (name is None) == (not all_):
        _fail("name one exchange, or give --all", 2)
    console = Console(stderr=True)
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet or as_json or not console.is_terminal,
    )
    task = bar.add_task(f"pull {name or 'all'}", total=None)

    def progress(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total or None)

    failed = False
    with _store() as store, bar:
        if all_:
            reports = exchanges.pull_all(store, progress)
        else:
            reports = [exchanges.pull(store, str(name), progress)]
    for report in reports:
        failed = failed or report.error is not None
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in reports], indent=2))
    else:
        for r in reports:
            if r.error:
                typer.echo(f"{r.exchange}: FAILED: {r.error}", err=True)
                continue
            a = r.applied
            typer.echo(
                f"{r.exchange}: {r.records:,} records in {r.batches} batches: {a.added:,} added, "
                f"{a.updated:,} updated, {a.withdrawn:,} withdrawn, {a.unchanged:,} unchanged "
                f"({r.seconds:.1f} s)"
            )
    if failed:
        raise typer.Exit(1)


@app.command("push")
def push_command(
    name: str = typer.Argument(..., help="Exchange to push to."),
    hashset: str = typer.Option(..., "--hashset", help="The set whose live entries are sent."),
) -> None:
    """Send a set's entries to the partner (stopncii, hma, file)."""
    with _store() as store:
        count = exchanges.push(store, name, hashset)
    typer.echo(f"{name}: sent {count:,} entries of {hashset}")


@app.command("feedback")
def feedback_command(
    name: str = typer.Argument(..., help="Exchange the entry came from."),
    entry: str = typer.Argument(..., help="The partner's id of the entry."),
    verdict: str = typer.Option(..., "--verdict", help="true-positive or false-positive."),
    note: str | None = typer.Option(None, "--note", help="A short note for the partner."),
) -> None:
    """Tell the partner whether its entry matched what it says (recorded once accepted)."""
    with _store() as store:
        row = exchanges.send_feedback(store, name, entry, verdict, note)
    typer.echo(f"{name}: {row['verdict']} on {entry} sent")


@app.command("remove")
def remove_command(name: str = typer.Argument(..., help="Exchange to forget.")) -> None:
    """Forget an exchange and its checkpoint (its hash set and entries stay)."""
    with _store() as store:
        if not exchanges.repository(store).remove(name):
            _fail(f"no exchange named {name!r}", 2)
    typer.echo(f"{name}: removed")


@app.command("publish")
def publish_command(
    hashset: str = typer.Argument(..., help="Set to publish as a feed."),
    key: str = typer.Option(..., "--key", help="Name of the API key that may read it."),
) -> None:
    """Let an API key read a set as a signed feed at /v1/feeds/SET (vigil serve)."""
    with _store() as store:
        exchanges.publish(store, hashset, key)
    typer.echo(f"{hashset}: readable at /v1/feeds/{hashset} by key {key}")


@app.command("unpublish")
def unpublish_command(
    hashset: str = typer.Argument(..., help="Published set."),
    key: str = typer.Option(..., "--key", help="Name of the API key."),
) -> None:
    """Stop an API key from reading a set's feed."""
    with _store() as store:
        if not exchanges.unpublish(store, hashset, key):
            _fail(f"{hashset} is not published to {key}", 2)
    typer.echo(f"{hashset}: no longer readable by key {key}")


def feedback_lines(report: list[dict[str, Any]]) -> list[str]:
    """``vigil hashset show SET --feedback``: provenance and feedback per entry."""
    lines = []
    for row in report:
        prov = row.get("provenance")
        head = f"  entry {row['entry']}"
        if prov:
            head += (
                f"  from {prov['exchange']} id {prov['partner_id']} fetched {prov['fetched_at']}"
                + ("" if prov["live"] else "  (withdrawn or replaced)")
            )
        lines.append(head)
        for fb in row["feedback"]:
            arrow = "sent to" if fb["direction"] == "sent" else "from"
            note = f": {fb['note']}" if fb.get("note") else ""
            lines.append(f"      {fb['verdict']} {arrow} {fb['party']} at {fb['at']}{note}")
    return lines or ["  (no exchange provenance or feedback)"]
