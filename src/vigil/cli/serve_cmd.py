"""``vigil serve`` (the matching service), ``vigil apikey`` and ``vigil webhook``.

``serve`` only turns options into settings and starts uvicorn: one process serves the
app built from those settings; several worker processes are started by a uvicorn
child process whose environment carries the settings (this process's own environment
is never changed, so an in-process caller is not affected); the keys and
webhooks commands are thin layers over their store repositories. Exit codes: 0 done,
1 when the thing named does not exist, 2 for usage errors.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

import typer

from vigil.errors import VigilError
from vigil.services.access import ROLES, actions, api_keys
from vigil.settings import MiB, Settings
from vigil.store import open_store

apikey_app = typer.Typer(
    help="API keys of the matching service (stored hashed; shown once).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
webhook_app = typer.Typer(
    help="Webhooks that receive signed match events from the service.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _fail(what: str, exc: Exception, code: int = 2) -> typer.Exit:
    typer.echo(f"vigil {what}: {exc}", err=True)
    return typer.Exit(code)


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
    max_upload_mb: int = typer.Option(32, "--max-upload-mb", min=1, help="Largest upload."),
    rate: float = typer.Option(5000.0, "--rate", help="Requests per second per key."),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
    hma_open_routes: bool = typer.Option(
        False,
        "--hma-open-routes",
        help="Answer HMA's routes (/h, /m, /c) without an API key, as HMA does: for a "
        "drop-in migration behind a trusted network only (anyone reaching the port may "
        "add and delete bank content).",
    ),
    sync_every: str | None = typer.Option(
        None,
        "--sync-every",
        help="Pull every enabled exchange in the background at this interval (30s, 15m, 1h).",
    ),
) -> None:
    """Serve the matching API (OpenAPI at /docs) on the same store as the CLI."""
    import uvicorn

    try:
        settings = Settings.from_env().with_(
            serve_max_upload_bytes=max_upload_mb * MiB,
            serve_rate=rate,
            serve_burst=max(2 * rate, 1.0),
        )
        if hma_open_routes:
            settings = settings.with_(serve_hma_open_routes=True)
        open_store(settings.store_url).close()  # fail early, with a message
    except VigilError as exc:
        raise _fail("serve", exc) from None
    if settings.serve_hma_open_routes:
        typer.secho(
            "WARNING: --hma-open-routes: the HMA-compatible routes (/h, /m, /c) answer "
            f"WITHOUT an API key on {host}:{port}. Anyone who can reach this port can look "
            "up hashes and add, change and delete bank content. Use it only behind a "
            "network boundary you trust, for a migration from HMA; /v1 still needs keys.",
            err=True,
            fg=typer.colors.RED,
            bold=True,
        )
    if sync_every:
        import threading

        from vigil.exchange.sync import parse_interval
        from vigil.exchange.sync import sync_every as start_sync

        try:
            interval = parse_interval(sync_every)
        except VigilError as exc:
            raise _fail("serve", exc) from None
        start_sync(settings.store_url, interval, threading.Event())
    if workers > 1:
        raise typer.Exit(_serve_workers(settings, host, port, workers, log_level))
    from vigil.web.app import create_app
    from vigil.web.config import ServiceConfig

    uvicorn.run(
        create_app(ServiceConfig.from_settings(settings)),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        server_header=False,
    )


#: uvicorn's worker manager, made to die with ``vigil serve`` (its pid: the first argument).
_SUPERVISOR = (
    "import sys; from vigil.parallel import die_with_parent; "
    "die_with_parent(int(sys.argv.pop(1))); sys.argv[0] = 'uvicorn'; "
    "from uvicorn.main import main; main()"
)


def worker_app() -> Any:
    """The uvicorn factory of each worker: the app, in a process that dies with its manager.

    uvicorn starts workers as fresh interpreters (multiprocessing's spawn); their
    manager is their multiprocessing parent. Without this a ``kill -9`` of the manager
    (itself killed with ``vigil serve``) would leave the workers serving forever.
    """
    import multiprocessing

    from vigil.parallel import die_with_parent
    from vigil.web.app import from_env

    manager = multiprocessing.parent_process()
    die_with_parent(manager.pid if manager is not None else None)
    return from_env()


def _serve_workers(settings: Settings, host: str, port: int, workers: int, log_level: str) -> int:
    """Run uvicorn's worker manager as a child with the settings in its environment.

    uvicorn starts each worker as a fresh interpreter that imports the app factory, so
    the settings must be in the workers' environment: they are put in the child's
    only. Ctrl-C reaches the child from the terminal (this process keeps waiting for
    its orderly exit); a SIGTERM sent to this process is passed on.
    """
    argv = [
        sys.executable, "-c", _SUPERVISOR, str(os.getpid()),
        "vigil.cli.serve_cmd:worker_app", "--factory",
        "--host", host, "--port", str(port), "--workers", str(workers),
        "--log-level", log_level, "--no-access-log", "--no-server-header",
    ]  # fmt: skip
    child = subprocess.Popen(argv, env=settings.child_env())
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: child.send_signal(signum))
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue
    finally:
        signal.signal(signal.SIGTERM, previous)


@apikey_app.command("create")
def apikey_create(
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(ROLES)}."),
    name: str = typer.Option(..., "--name", help="A name to tell the key by."),
    rate: float | None = typer.Option(None, "--rate", help="Requests per second (default: all)."),
) -> None:
    """Create a key and print it (the only time it is shown)."""
    try:
        with open_store() as store:
            key = api_keys(store).create(name, role, rate)
    except VigilError as exc:
        raise _fail("apikey create", exc) from None
    typer.echo(key)
    typer.echo(f"(key {name!r}, role {role}: store it now, it cannot be shown again)", err=True)


@apikey_app.command("list")
def apikey_list(as_json: bool = typer.Option(False, "--json", help="JSON Lines.")) -> None:
    """Every key: name, role, prefix, created, revoked."""
    with open_store() as store:
        keys = api_keys(store).list()
    for k in keys:
        if as_json:
            typer.echo(json.dumps(k.to_json()))
        else:
            state = f"revoked {k.revoked_at}" if k.revoked_at else "live"
            typer.echo(f"{k.name}\t{k.role}\t{k.prefix}...\t{k.created_at}\t{state}")


@apikey_app.command("revoke")
def apikey_revoke(name: str = typer.Argument(..., help="The key's name.")) -> None:
    """Revoke a key (refused by every serving process within seconds)."""
    with open_store() as store:
        if not api_keys(store).revoke(name):
            typer.echo(f"vigil apikey revoke: no live key named {name!r}", err=True)
            raise typer.Exit(1)
    typer.echo(f"revoked {name}")


@webhook_app.command("add")
def webhook_add(
    url: str = typer.Argument(..., help="http(s) URL that receives match events."),
    secret: str = typer.Option(
        None, "--secret", help="HMAC secret (at least 16 characters); else read from stdin."
    ),
) -> None:
    """Send match events to URL, signed with the secret."""
    if secret is None:
        secret = sys.stdin.readline().strip()
    try:
        with open_store() as store:
            actions(store).add_webhook(url, secret)
    except VigilError as exc:
        raise _fail("webhook add", exc) from None
    typer.echo(f"added {url}")


@webhook_app.command("list")
def webhook_list() -> None:
    """Configured webhooks (secrets not shown) and the queue's counts."""
    with open_store() as store:
        repo = actions(store)
        hooks, counts = repo.webhooks(), repo.queue_status()
    for hook in hooks:
        typer.echo(f"{hook.url}\tadded {hook.created_at}")
    typer.echo(json.dumps(counts), err=True)


@webhook_app.command("remove")
def webhook_remove(url: str = typer.Argument(..., help="The webhook's URL.")) -> None:
    """Stop sending events to URL (its undelivered events are dropped)."""
    with open_store() as store:
        if not actions(store).remove_webhook(url):
            typer.echo(f"vigil webhook remove: no webhook {url}", err=True)
            raise typer.Exit(1)
    typer.echo(f"removed {url}")
