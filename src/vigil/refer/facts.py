"""The examiner's facts for a referral, read from a file: nothing is invented.

A referral says who reports what to whom: the incident, the reporter and the law
enforcement contact, the person or account reported (screen names, IP capture events,
device ids). Vigil cannot know any of that; the examiner writes it in a TOML or JSON
file (docs/referral.md shows one), and this module checks it: required fields present,
dates parseable and not in the future, URLs without white space, IP events of the
kinds NCMEC accepts, and the shape of each field (a device id is a table with a type
and a value, a location is a table). Errors name the field. The CyberTipline format
checks more (every enumeration of NCMEC's API: ``vigil.refer.cybertip``).
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
    _shape(facts)
    incident = facts.get("incident") or {}
    if incident.get("date") is not None:
        when = parse_date(incident["date"], "incident.date")
        if when > now:
            raise FactsError(f"incident.date {incident['date']} is in the future")
    escalate = incident.get("escalate")
    if escalate is not None and escalate is not False and not isinstance(escalate, str):
        raise FactsError(
            "incident.escalate must be the reason for escalating (text), or false: "
            "NCMEC escalates every report that gives one"
        )
    _strings(incident.get("annotations"), "incident.annotations")
    for i, person in enumerate(facts.get("persons") or []):
        for key in ("screen_names", "display_names", "profile_urls"):
            _strings(person.get(key), f"persons[{i}].{key}")
        for url in person.get("profile_urls") or []:
            check_url(url, f"persons[{i}].profile_urls")
        for j, event in enumerate(person.get("ip_events") or []):
            where = f"persons[{i}].ip_events[{j}]"
            if "ip" not in event:
                raise FactsError(f"{where}.ip is required")
            if event.get("event", "Unknown") not in IP_EVENTS:
                raise FactsError(f"{where}.event must be one of {', '.join(IP_EVENTS)}")
            if event.get("date") is not None and parse_date(event["date"], f"{where}.date") > now:
                raise FactsError(f"{where}.date {event['date']} is in the future")
        for j, device in enumerate(person.get("device_ids") or []):
            where = f"persons[{i}].device_ids[{j}]"
            if not isinstance(device, dict) or not device.get("type") or not device.get("value"):
                raise FactsError(
                    f"{where} must be a table with a type (IMEI, ICCID, SSID, ...) and a value"
                )
            if device.get("event", "Unknown") not in IP_EVENTS:
                raise FactsError(f"{where}.event must be one of {', '.join(IP_EVENTS)}")
            if device.get("date") is not None and parse_date(device["date"], f"{where}.date") > now:
                raise FactsError(f"{where}.date {device['date']} is in the future")
        location = person.get("estimated_location")
        if location is not None and not isinstance(location, dict):
            raise FactsError(
                f"persons[{i}].estimated_location must be a table (city, region, country_code)"
            )
    for i, detail in enumerate(facts.get("internet") or []):
        urls = detail.get("url")
        for url in urls if isinstance(urls, list) else [] if urls is None else [urls]:
            check_url(str(url), f"internet[{i}].url")
    reporter = facts.get("reporter")
    if reporter is not None and not reporter.get("email"):
        raise FactsError("reporter.email is required when a reporter is given")
    said = facts.get("file_details")
    if said is not None:
        if not isinstance(said, dict):
            raise FactsError("file_details must be a table")
        for key in ("viewed", "exif_viewed", "publicly_available"):
            if key in said and not isinstance(said[key], bool):
                raise FactsError(f"file_details.{key} must be true or false")
        _strings(said.get("annotations"), "file_details.annotations")


#: Tables (dicts) and arrays of tables of a facts file, by name.
_TABLES = ("incident", "reporter", "contact", "law_enforcement", "file_details")
_ARRAYS = ("persons", "internet")


def _shape(facts: Any) -> None:
    """Tables are tables and arrays are arrays of tables, down to what is read."""
    if not isinstance(facts, dict):
        raise FactsError("the facts file must hold a table (an object), not a list or a value")
    for key in _TABLES:
        if facts.get(key) is not None and not isinstance(facts[key], dict):
            raise FactsError(f"{key} must be a table")
    police = facts.get("law_enforcement") or {}
    if police.get("officer") is not None and not isinstance(police["officer"], dict):
        raise FactsError("law_enforcement.officer must be a table")
    for key in _ARRAYS:
        value = facts.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            raise FactsError(f"{key} must be an array of tables")
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise FactsError(f"{key}[{i}] must be a table")
    for i, person in enumerate(facts.get("persons") or []):
        for key in ("ip_events", "device_ids"):
            events = person.get(key)
            if events is not None and not isinstance(events, list):
                raise FactsError(f"persons[{i}].{key} must be an array")
        for j, event in enumerate(person.get("ip_events") or []):
            if not isinstance(event, dict):
                raise FactsError(f"persons[{i}].ip_events[{j}] must be a table")


def _strings(value: Any, where: str) -> None:
    if value is not None and not (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        raise FactsError(f"{where} must be a list of text values")


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
