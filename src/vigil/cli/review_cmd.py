"""``vigil review CASE``, ``vigil leads CASE`` and ``vigil user add NAME``.

``review`` analyses the case (near-duplicate groups, metadata leads, EXIF thumbnails
hashed and matched) and serves the review app on the loopback interface; another
host is possible only by naming it (examiners on a lab network), and the app still
answers only to the Host names it was started for. ``leads`` prints the metadata
leads; ``user add`` makes an examiner's account (the password read from a prompt,
or from standard input with ``--password-stdin``, never from the command line).

Exit codes: 0 done, 1 when it failed (a store error, a port in use), 2 for usage errors.
"""

from __future__ import annotations

import ipaddress
import json
import sys
import threading

import typer

from vigil.cli.common import fail
from vigil.errors import UsageError, VigilError
from vigil.review.accounts import ROLES, Accounts, User
from vigil.review.groups import DEFAULT_GROUP_DISTANCE
from vigil.review.leads import case_leads
from vigil.review.service import ReviewSession
from vigil.review.thumbs import Look
from vigil.services.cases import UnknownCaseError
from vigil.store import open_store


def _session(command: str, case_name: str, **options: object) -> ReviewSession:
    try:
        store = open_store()
    except VigilError as exc:
        fail(command, str(exc), 1)
    try:
        return ReviewSession(store, case_name, **options)  # type: ignore[arg-type]
    except (UnknownCaseError, UsageError) as exc:
        store.close()
        fail(command, str(exc), 2)
    except VigilError as exc:
        store.close()
        fail(command, str(exc), 1)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def review_command(
    case_name: str = typer.Argument(..., help="The case to review."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (loopback)."),
    port: int = typer.Option(8765, "--port", help="Port to listen on."),
    profile: str | None = typer.Option(
        None, "--profile", help="Category profile (default: the case's hash sets', else vics-us)."
    ),
    distance: int = typer.Option(
        DEFAULT_GROUP_DISTANCE, "--distance", help="PDQ distance of near duplicates (0-255)."
    ),
    reanalyse: bool = typer.Option(False, "--reanalyse", help="Analyse the case again."),
) -> None:
    """Serve the review app of a case: grade, confirm, reveal only while held."""
    if not 0 <= distance <= 255:
        fail("review", "--distance is 0 to 255", 2)
    session = _session("review", case_name, profile=profile, distance=distance)
    if reanalyse:
        session.analyse()
    import uvicorn

    from vigil.web.review.app import create_app

    hosts = ["127.0.0.1", "localhost", "::1", "[::1]"]
    if not _loopback(host):
        typer.echo(
            f"vigil review: warning: listening on {host}, not loopback: anyone who can reach "
            "it can try to log in",
            err=True,
        )
        hosts.append(host)
    app = create_app(session, allowed_hosts=hosts)
    # Blurred thumbnails of the first groups are made while the examiners log in, in
    # each examiner's look; the thread touches only the evidence and the cache.
    examiners = Accounts(session.store).list()
    if not examiners:
        typer.echo(
            "vigil review: no examiners yet: add them with vigil user add NAME --role "
            "reviewer|lead (the four-eyes rule needs two reviewers)",
            err=True,
        )
    looks = list({session.look(u) for u in examiners} | {Look()})
    stop = threading.Event()
    warming = threading.Thread(
        target=session.warm, args=(session.warm_order(), looks, stop), daemon=True
    )
    warming.start()
    counts = {q: len(session.queue(q, User(0, "", "reviewer", {}))) for q in ("matched", "unknown")}
    typer.echo(
        f"vigil review: case {case_name}: {len(session.media)} media in {len(session.groups)} "
        f"groups; {counts['matched']} matched and {counts['unknown']} unknown groups to review",
        err=True,
    )
    typer.echo(f"vigil review: open http://{_url_host(host)}:{port}/ (Ctrl-C stops)", err=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        stop.set()
        warming.join(timeout=10)
        session.store.close()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def leads_command(
    case_name: str = typer.Argument(..., help="The case."),
    as_json: bool = typer.Option(False, "--json", help="Print the leads as JSON."),
    all_cameras: bool = typer.Option(
        False, "--all-cameras", help="Every camera with a serial, not only those with matches."
    ),
    items: bool = typer.Option(
        False, "--items", help="One JSON line per file: group, exif, thumbnail_match."
    ),
) -> None:
    """Print a case's metadata leads: cameras with matched material, positions, timeline."""
    session = _session("leads", case_name)
    try:
        leads = case_leads(list(session.media.values()), all_cameras=all_cameras)
        fields = session.item_fields() if items else []
    finally:
        session.store.close()
    if items:
        for row in fields:
            typer.echo(json.dumps(row, ensure_ascii=False, sort_keys=True))
        return
    if as_json:
        typer.echo(json.dumps(leads.to_json(), indent=2, ensure_ascii=False))
        return
    typer.echo(f"Cameras seen with matched material: {len(leads.cameras)}")
    for camera in leads.cameras:
        typer.echo(
            f"  {camera.camera}: {len(camera.matched)} matched, {len(camera.unknown)} unknown"
        )
        for path in camera.unknown:
            typer.echo(f"    unknown: {path}")
    typer.echo(f"GPS positions: {len(leads.positions)}")
    for where in leads.positions:
        mark = "matched" if where["matched"] else "unknown"
        typer.echo(f"  {where['latitude']:.5f}, {where['longitude']:.5f}  {mark}  {where['path']}")
    typer.echo(f"Timeline (original date): {len(leads.timeline)}")
    for when in leads.timeline:
        mark = "matched" if when["matched"] else "unknown"
        typer.echo(f"  {when['taken']}  {mark}  {when['path']}")
    if leads.thumbnail_matches:
        typer.echo(f"EXIF thumbnails that matched: {len(leads.thumbnail_matches)}")
        for found in leads.thumbnail_matches:
            sets = ", ".join(sorted({m["hashset"] for m in found["matches"]}))
            typer.echo(f"  {found['path']}  ({sets})")


user_app = typer.Typer(
    help="Examiners of the review app: add and list.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="The examiner's user name."),
    role: str = typer.Option("reviewer", "--role", help=f"One of: {', '.join(ROLES)}."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input (one line)."
    ),
) -> None:
    """Add an examiner (the password is asked for, twice)."""
    if role not in ROLES:
        fail("user", f"unknown role {role!r} (roles: {', '.join(ROLES)})", 2)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        store = open_store()
    except VigilError as exc:
        fail("user", str(exc), 1)
    try:
        user = Accounts(store).add(name, role, password)
    except UsageError as exc:
        fail("user", str(exc), 2)
    except VigilError as exc:
        fail("user", str(exc), 1)
    finally:
        store.close()
    typer.echo(f"vigil user: added {user.name} ({user.role})", err=True)


@user_app.command("list")
def user_list() -> None:
    """List the examiners and their roles."""
    try:
        store = open_store()
    except VigilError as exc:
        fail("user", str(exc), 1)
    try:
        for user in Accounts(store).list():
            typer.echo(f"{user.name}\t{user.role}")
    finally:
        store.close()
