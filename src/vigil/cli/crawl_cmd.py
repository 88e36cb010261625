"""``vigil crawl``, ``vigil notices``, ``vigil recheck``: find published material, notify, check.

``vigil crawl`` runs again where it stopped (the frontier is in the store): run the
same command after Ctrl-C or a crash. Exit codes: 0 done, 1 when the store or a file
could not be used, 2 for usage errors (bad URL, bad proxy, unknown case or set),
130 when interrupted. docs/crawl.md has the workflow.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import typer

from vigil.cli.common import fail
from vigil.crawl.crawler import CrawlProgress, CrawlRequest, crawl_case
from vigil.crawl.fetcher import DEFAULT_USER_AGENT
from vigil.crawl.notices import NoticeRequest, notices_summary, write_notices
from vigil.crawl.recheck import RecheckRequest, recheck_case
from vigil.errors import UnknownHashSetError, UsageError, VigilError
from vigil.services.cases import UnknownCaseError
from vigil.store import open_store

_RATE = re.compile(r"^(\d+(?:\.\d+)?)(?:/(\d+(?:\.\d+)?)?(s|sec|m|min|h)?)?$")
_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_rate(text: str) -> float:
    """``2``, ``2/s``, ``1/5s``, ``30/min`` as requests per second (0: no limit)."""
    found = _RATE.match(text.strip().lower().replace(" ", ""))
    if found is None or (found.group(2) is not None and float(found.group(2)) == 0):
        raise typer.BadParameter(f"{text!r}: give requests per time, e.g. 1/s, 1/5s, 30/min")
    count, every, unit = found.groups()
    return float(count) / (float(every or 1) * _UNITS[unit or "s"])


def crawl_command(
    seeds: list[str] = typer.Argument(..., help="Start URLs (http or https)."),
    case_name: str = typer.Option(..., "--case", "-c", help="The case to record into."),
    depth: int = typer.Option(2, "--depth", min=0, help="Links followed from the seeds."),
    max_pages: int = typer.Option(1000, "--max-pages", min=0, help="Pages fetched, all runs."),
    max_media: int = typer.Option(100_000, "--max-media", min=0, help="Media fetched, all runs."),
    same_host: bool = typer.Option(
        True, "--same-host", help="Follow pages on the seeds' hosts only (the default)."
    ),
    allow_domain: list[str] = typer.Option(
        [], "--allow-domain", help="Follow pages on this domain and its sub-domains (repeat)."
    ),
    proxy: str | None = typer.Option(
        None, "--proxy", help="SOCKS proxy, e.g. socks5h://127.0.0.1:9050 (Tor; needed for .onion)."
    ),
    rate: str = typer.Option("1/s", "--rate", help="Requests per host, e.g. 1/s, 30/min, 0."),
    concurrency: int = typer.Option(
        4, "--concurrency", min=1, max=64, help="Fetches at once (never two to one host)."
    ),
    user_agent: str = typer.Option(DEFAULT_USER_AGENT, "--user-agent", help="User-Agent sent."),
    ignore_robots: bool = typer.Option(
        False, "--ignore-robots", help="Do not read robots.txt (where a mandate covers it)."
    ),
    allow_private: bool = typer.Option(
        False, "--allow-private", help="Allow loopback and private addresses (tests, intranets)."
    ),
    hashset: list[str] = typer.Option(
        [],
        "--hashset",
        "-s",
        help="Hash set to match (repeat; default: every alert and watch set).",
    ),
    threshold: int | None = typer.Option(None, "--threshold", min=0, max=256, help="PDQ distance."),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1, help="Seconds for one response."),
    max_page_mb: float = typer.Option(8.0, "--max-page-mb", min=0.01, help="Page size limit."),
    max_media_mb: float = typer.Option(64.0, "--max-media-mb", min=0.01, help="Media size limit."),
    examiner: str | None = typer.Option(None, "--examiner", help="Who runs it (audit log)."),
    json_progress: bool = typer.Option(
        False, "--json-progress", help="Progress as JSON lines on standard error."
    ),
) -> None:
    """Crawl pages from the seeds, hash and match every medium they show, record all in the case."""
    del same_host  # the default scope; --allow-domain replaces it
    request = CrawlRequest(
        seeds=tuple(seeds),
        case=case_name,
        depth=depth,
        max_pages=max_pages,
        max_media=max_media,
        allow_domains=tuple(allow_domain),
        proxy=proxy,
        rate=parse_rate(rate),
        concurrency=concurrency,
        user_agent=user_agent,
        ignore_robots=ignore_robots,
        allow_private=allow_private,
        hashsets=tuple(hashset),
        examiner=examiner,
        threshold=threshold,
        max_page_bytes=int(max_page_mb * (1 << 20)),
        max_media_bytes=int(max_media_mb * (1 << 20)),
        timeout=timeout,
    )

    status = None
    if not json_progress and sys.stderr.isatty():
        from rich.console import Console

        status = Console(stderr=True).status("crawling")
        status.start()
    last = [0.0]

    def on_progress(p: CrawlProgress) -> None:
        if time.monotonic() - last[0] < 0.5:
            return
        last[0] = time.monotonic()
        if json_progress:
            typer.echo(json.dumps({"progress": p.__dict__}), err=True)
        elif status is not None:
            status.update(
                f"crawling: {p.pages:,} pages, {p.media:,} media, {p.matched:,} matched, "
                f"{p.errors:,} errors, {p.queued:,} pending"
            )

    try:
        store = open_store()
    except VigilError as exc:
        fail("crawl", str(exc), 1)
    try:
        outcome = crawl_case(store, request, on_progress=on_progress)
    except KeyboardInterrupt:
        fail("crawl", "interrupted: run the same command again to resume", 130)
    except (UnknownHashSetError, UsageError) as exc:
        fail("crawl", str(exc), 2)
    except VigilError as exc:
        fail("crawl", str(exc), 1)
    finally:
        if status is not None:
            status.stop()
        store.close()
    p = outcome.progress
    typer.echo(
        f"case {outcome.case.name}: {p.pages:,} pages, {p.media:,} media, "
        f"{p.matched:,} matched, {p.errors:,} errors, {p.skipped:,} skipped by robots.txt "
        f"({p.seconds:,.1f} s){'; resumed' if outcome.resumed else ''}"
    )
    if not outcome.sets:
        typer.echo("crawl: no alert or watch hash set: nothing was matched", err=True)


def notices_command(
    case_name: str = typer.Argument(..., help="The case."),
    contacts: Path = typer.Option(..., "--contacts", help="CSV: match,provider,email."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the notices."),
    reporter_org: str = typer.Option(..., "--reporter-org", help="Your organisation (XARF)."),
    reporter_email: str = typer.Option(..., "--reporter-email", help="Your reply address."),
    reporter_domain: str | None = typer.Option(
        None, "--reporter-domain", help="Your domain (default: the address's)."
    ),
    again: bool = typer.Option(False, "--again", help="Include URLs notified before."),
    examiner: str | None = typer.Option(None, "--examiner", help="Who writes them (audit log)."),
) -> None:
    """Write removal notices (text and XARF v4) for the case's matched media, one per provider."""
    request = NoticeRequest(
        case=case_name, contacts=contacts, out=out, reporter_org=reporter_org,
        reporter_email=reporter_email, reporter_domain=reporter_domain, examiner=examiner,
        again=again,
    )  # fmt: skip
    try:
        store = open_store()
    except VigilError as exc:
        fail("notices", str(exc), 1)
    try:
        written = write_notices(store, request)
    except (UnknownCaseError, UsageError) as exc:
        fail("notices", str(exc), 2)
    except OSError as exc:
        fail("notices", f"cannot write in {out}: {exc.strerror}", 1)
    except VigilError as exc:
        fail("notices", str(exc), 1)
    finally:
        store.close()
    if not written:
        typer.echo("notices: no matched URL that has not been notified already", err=True)
    for row in notices_summary(written):
        typer.echo(json.dumps(row))


def recheck_command(
    case_name: str = typer.Argument(..., help="The case."),
    proxy: str | None = typer.Option(None, "--proxy", help="SOCKS proxy (socks5h://...)."),
    allow_private: bool = typer.Option(False, "--allow-private", help="Allow private addresses."),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1, help="Seconds for one response."),
    examiner: str | None = typer.Option(None, "--examiner", help="Who runs it (audit log)."),
) -> None:
    """Fetch every notified URL again; record gone, changed or still present, with the time."""
    request = RecheckRequest(
        case=case_name, proxy=proxy, allow_private=allow_private, timeout=timeout,
        examiner=examiner,
    )  # fmt: skip
    try:
        store = open_store()
    except VigilError as exc:
        fail("recheck", str(exc), 1)
    try:
        outcome = recheck_case(store, request)
    except (UnknownCaseError, UsageError) as exc:
        fail("recheck", str(exc), 2)
    except VigilError as exc:
        fail("recheck", str(exc), 1)
    finally:
        store.close()
    for check in outcome.checks:
        typer.echo(f"{check.outcome:8} {check.url}")
    summary = ", ".join(f"{n} {k}" for k, n in sorted(outcome.counts.items()))
    typer.echo(f"recheck: {len(outcome.checks)} URLs: {summary or 'none notified'}", err=True)
    sys.stdout.flush()
