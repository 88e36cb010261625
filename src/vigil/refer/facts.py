"""The examiner's facts for a referral, read from a file: nothing is invented.

A referral says who reports what to whom: the incident, the reporter and the law
enforcement contact, the person or account reported (screen names, IP capture events,
device ids). Vigil cannot know any of that; the examiner writes it in a TOML or JSON
file (docs/referral.md shows one), and this module checks it: required fields present,
dates parseable and not in the future, URLs without white space, IP events of the
kinds NCMEC accepts. Errors name the field.
"""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vigil.errors import VigilError

IP_EVENTS = ("Login", "Registration", "Purchase", "Upload", "Other", "Unknown")


class FactsError(VigilError):
    """The examiner's facts file is missing, unreadable or invalid (the message names the field)."""


def load_facts(path: Path | None, *, now: datetime | None = None) -> dict[str, Any]:
    """Read and check the facts file (an empty set of facts when ``path`` is None)."""
    if path is None:
        facts: dict[str, Any] = {}
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise FactsError(f"cannot read facts file {path}: {exc.strerror}") from exc
        try:
            facts = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            raise FactsError(
                f"facts file {path} is not valid {path.suffix[1:] or 'JSON'}: {exc}"
            ) from exc
    check_facts(facts, now=now or datetime.now(UTC))
    return facts


def check_facts(facts: dict[str, Any], *, now: datetime) -> None:
    """Raise FactsError naming the first invalid field."""
    incident = facts.get("incident", {})
    if "date" in incident:
        when = parse_date(incident["date"], "incident.date")
        if when > now:
            raise FactsError(f"incident.date {incident['date']} is in the future")
    for i, person in enumerate(facts.get("persons", [])):
        for url in person.get("profile_urls", []):
            check_url(url, f"persons[{i}].profile_urls")
        for j, event in enumerate(person.get("ip_events", [])):
            where = f"persons[{i}].ip_events[{j}]"
            if "ip" not in event:
                raise FactsError(f"{where}.ip is required")
            if event.get("event", "Unknown") not in IP_EVENTS:
                raise FactsError(f"{where}.event must be one of {', '.join(IP_EVENTS)}")
            if "date" in event and parse_date(event["date"], f"{where}.date") > now:
                raise FactsError(f"{where}.date {event['date']} is in the future")
    for i, detail in enumerate(facts.get("internet", [])):
        if "url" in detail:
            check_url(detail["url"], f"internet[{i}].url")
    reporter = facts.get("reporter")
    if reporter is not None and not reporter.get("email"):
        raise FactsError("reporter.email is required when a reporter is given")


def parse_date(value: Any, where: str) -> datetime:
    """An ISO 8601 date-time (UTC when no offset is given)."""
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as exc:
            raise FactsError(f"{where}: {value!r} is not an ISO 8601 date-time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_url(url: str, where: str) -> None:
    """NCMEC refuses URLs containing white space."""
    if any(c.isspace() for c in url):
        raise FactsError(f"{where}: URL {url!r} contains white space")
