"""``vigil notices``: removal notices for the confirmed finds of a crawl, one per provider.

Confirmed finds are the media whose hashes matched an alert set (not a watch set). Each is
assigned to a hosting provider by the user's contacts table (``contacts.py``: by
address, then by host name); each provider gets a folder with ``notice.txt`` (for a
person: what was found where, when, and the hashes) and ``xarf/`` (one XARF v4
report per URL, ``xarf.py``). No notice holds media, thumbnails or descriptions of
content: URLs, hashes, classification, times. Finds without a contact go to the
``unknown-provider`` folder, to be looked up by hand.

Every URL put in a notice is recorded with the time (the start of the time to
removal); a URL already notified is left out of later notices unless ``again``.
The case's audit log gets a ``notices.write`` entry.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.crawl import CrawlUsageError
from vigil.crawl.contacts import Contact, Contacts
from vigil.crawl.xarf import classification, iso, xarf_report
from vigil.fsutil import atomic_write
from vigil.hashsets.categories import load_profiles
from vigil.services.cases import CaseService
from vigil.store import Store
from vigil.store.crawl import CrawlRepository, CrawlUrl, Notified


@dataclass(frozen=True)
class NoticeRequest:
    """Which case, whose contacts, where to write, and who reports."""

    case: str
    contacts: Path
    out: Path
    reporter_org: str
    reporter_email: str
    reporter_domain: str | None = None  # default: the e-mail address's domain
    examiner: str | None = None
    again: bool = False  # include URLs notified before


@dataclass
class Notice:
    """The notice written for one provider."""

    contact: Contact
    folder: Path
    urls: list[str] = field(default_factory=list)
    xarf: list[Path] = field(default_factory=list)
    unclassified: list[str] = field(default_factory=list)


def slug(text: str) -> str:
    """A folder name for a provider."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "provider"


def confirmed_finds(repo: CrawlRepository, case_id: int) -> list[CrawlUrl]:
    """The case's media that matched an alert set, in the order they were found.

    Watch sets (lists under observation) do not make a notice: a find only on those
    is shown in the report, not sent to a host.
    """
    return [
        u
        for u in repo.urls(case_id, kind="media")
        if u.state == "done" and any(m.get("kind") == "alert" for m in u.matches)
    ]


def write_notices(store: Store, request: NoticeRequest) -> list[Notice]:
    """Write one notice per provider under ``request.out``; see the module doc."""
    if "@" not in request.reporter_email:
        raise CrawlUsageError(f"--reporter-email {request.reporter_email!r}: not an address")
    contacts = Contacts.load(request.contacts)
    cases = CaseService(store)
    case = cases.require(request.case)
    repo = CrawlRepository(store.db)
    done = {n.url for n in repo.notices(case.id)}
    finds = [f for f in confirmed_finds(repo, case.id) if request.again or f.url not in done]
    reporter = {
        "org": request.reporter_org,
        "contact": request.reporter_email,
        "domain": request.reporter_domain or request.reporter_email.rsplit("@", 1)[1],
    }
    profiles = load_profiles()
    groups: dict[Contact, list[CrawlUrl]] = {}
    for find in finds:
        groups.setdefault(contacts.lookup(find.host, find.ip), []).append(find)
    now = time.time()
    notices: list[Notice] = []
    recorded: list[Notified] = []
    for contact, rows in sorted(groups.items(), key=lambda g: g[0].provider):
        notice = Notice(contact, request.out / slug(contact.provider))
        lines: list[str] = []
        for row in rows:
            pages = repo.sightings(case.id, row.url)
            grade = classification([m for m in row.matches if m.get("kind") == "alert"], profiles)
            report_id = ""
            if grade is None:
                notice.unclassified.append(row.url)
            else:
                report = xarf_report(
                    row, pages[0] if pages else None, grade, reporter, contact.provider
                )
                report_id = report["report_id"]
                path = notice.folder / "xarf" / f"{report_id}.json"
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(path, json.dumps(report, indent=2).encode() + b"\n")
                notice.xarf.append(path)
            notice.urls.append(row.url)
            lines += _entry(row, pages, grade)
            recorded.append(
                Notified(
                    row.url, notice.folder.name, contact.provider, contact.email, report_id, now
                )
            )
        notice.folder.mkdir(parents=True, exist_ok=True)
        text = _letter(contact, reporter, rows, notice, now) + "\n".join(lines) + "\n"
        atomic_write(notice.folder / "notice.txt", text.encode("utf-8"))
        notices.append(notice)
    repo.add_notices(case.id, recorded)
    cases.record(
        case,
        "notices.write",
        {
            "out": str(request.out),
            "contacts": str(request.contacts),
            "providers": [
                {"provider": n.contact.provider, "contact": n.contact.email, "urls": n.urls}
                for n in notices
            ],
        },
        request.examiner,
    )
    return notices


def _letter(
    contact: Contact, reporter: dict[str, str], rows: list[CrawlUrl], notice: Notice, now: float
) -> str:
    to = f"{contact.provider} <{contact.email}>" if contact.email else contact.provider
    head = [
        f"To: {to}",
        f"From: {reporter['org']} <{reporter['contact']}>",
        f"Date: {iso(now)}",
        "Subject: Removal request: known child sexual abuse material on your service",
        "",
        f"The {len(rows)} URL(s) below, hosted on your service, serve files whose hashes match",
        "hash lists of known child sexual abuse material. Please remove them and preserve",
        "the related records as your law requires. This notice holds no media: only URLs,",
        "hashes and times. Machine-readable XARF v4 reports are attached (folder xarf/).",
        "",
    ]
    if not contact.email:
        head.insert(5, "(No abuse contact is known for this host: look it up before sending.)")
    if notice.unclassified:
        head.append(
            f"{len(notice.unclassified)} URL(s) have no XARF classification: their hash lists' "
            "category profile has no exact XARF equivalent (see the mapping file); they are "
            "listed here without an XARF report."
        )
        head.append("")
    return "\n".join(head) + "\n"


def _entry(row: CrawlUrl, pages: list[str], grade: str | None) -> list[str]:
    out = [f"URL: {row.url}"]
    out += [f"  seen on page: {p}" for p in pages[:5]]
    out.append(f"  host: {row.host}  address: {row.ip or 'resolved by proxy'}")
    out.append(f"  first seen: {iso(row.fetched_at or 0.0)}  HTTP {row.status}")
    for key in ("md5", "sha1", "sha256", "pdq"):
        value = row.sha256 if key == "sha256" else row.hashes.get(key)
        if value:
            out.append(f"  {key}: {value}")
    out.append(f"  classification (XARF): {grade or 'none (no exact equivalent)'}")
    out.append("")
    return out


def notices_summary(notices: list[Notice]) -> list[dict[str, Any]]:
    """What the CLI prints: provider, contact, URLs, XARF reports, folder."""
    return [
        {
            "provider": n.contact.provider,
            "contact": n.contact.email,
            "urls": len(n.urls),
            "xarf_reports": len(n.xarf),
            "unclassified": len(n.unclassified),
            "folder": str(n.folder),
        }
        for n in notices
    ]
