"""XARF v4 reports of confirmed finds: category ``content``, type ``csam``, never media.

One report per URL, as XARF's model is one incident per report: the URL, the source
(its address, or its host when fetched through a proxy), the classification, the
detection method (``hash_match``), the hash values and when the medium was first
seen. Vigil's category profiles map to XARF's classification (baseline, A1, A2, B1,
B2) through the mapping file (``[mappings.PROFILE.xarf]`` in
``vigil/hashsets/category_profiles.toml``); a category with no exact equivalent gets
no classification, and then no XARF report (the schema requires one): the text
notice lists it and says so, so no one is told a grade that was never given.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from vigil.hashsets.categories import Profiles
from vigil.store.crawl import CrawlUrl

XARF_VERSION = "4.2.0"
XARF_PROFILE = "xarf"
#: XARF's own spelling of each classification (the mapping file is read in upper case).
_CLASSIFICATIONS = {"BASELINE": "baseline", "A1": "A1", "A2": "A2", "B1": "B1", "B2": "B2"}
_DOMAIN = re.compile(r"^([a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,}$")


def iso(timestamp: float) -> str:
    """An epoch time as XARF's date-time (UTC, seconds)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def classification(matches: list[dict[str, Any]], profiles: Profiles) -> str | None:
    """XARF's classification of a find: the gravest that its findings map to, else None."""
    found: set[str] = set()
    for m in matches:
        profile, category = m.get("category_profile"), m.get("category")
        if not profile or not category:
            continue
        if profile == XARF_PROFILE:
            mapped: str | None = str(category).upper()
        elif (profile, XARF_PROFILE) in profiles.mappings:
            mapped = profiles.map(str(category).upper(), profile, XARF_PROFILE)
        else:
            mapped = None
        if mapped in _CLASSIFICATIONS:
            found.add(mapped)
    # The gravest grade first; "baseline" (the narrower international definition) last,
    # as a set graded A1..B2 says more than one that only says "baseline".
    for grade in ("A1", "A2", "B1", "B2", "BASELINE"):
        if grade in found:
            return _CLASSIFICATIONS[grade]
    return None


def xarf_report(
    row: CrawlUrl,
    first_page: str | None,
    classified: str,
    reporter: dict[str, str],
    provider: str,
) -> dict[str, Any]:
    """The XARF v4 report of one matched medium (``reporter``: org, contact, domain)."""
    hashes = {k: str(row.hashes[k]).lower() for k in ("md5", "sha1", "sha256") if row.hashes.get(k)}
    if row.sha256:
        hashes["sha256"] = row.sha256
    kind = (row.type or "").split("/", 1)[0]
    report: dict[str, Any] = {
        "xarf_version": XARF_VERSION,
        "report_id": str(uuid.uuid4()),
        "timestamp": iso(row.fetched_at or 0.0),
        "reporter": dict(reporter),
        "sender": dict(reporter),
        "source_identifier": row.ip or row.host,
        "category": "content",
        "type": "csam",
        "url": row.url,
        "classification": classified,
        "detection_method": "hash_match",
        "hash_values": hashes,
        "evidence_source": "crawler",
        "verified_at": iso(row.fetched_at or 0.0),
        "verification_method": "automated_crawler",
        "hosting_provider": provider,
        "description": (
            f"Known material matched by hash, first seen {iso(row.fetched_at or 0.0)}"
            + (f" on the page {first_page}" if first_page else "")
            + (f"; PDQ {row.hashes['pdq']}" if row.hashes.get("pdq") else "")
        ),
    }
    if kind in ("image", "video"):
        report["media_type"] = kind
    if _DOMAIN.match(row.host):
        report["domain"] = row.host
    return report
