"""The CyberTipline ``<report>`` XML and per-file ``<fileDetails>``, elements in schema order.

NCMEC's API rejects elements out of the schema's order (response code 4100), URLs
containing white space and incident dates in the future; Vigil refuses the last two
when reading the examiner's facts (``vigil.refer.facts``) and writes elements in the
order of the public description of the schema (see ``../shared/field-notes.md``). Only
what the facts file and the case say is written; absent facts are absent elements.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from vigil.refer.facts import FactsError, parse_date

_HASH_TYPES = {"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256"}


def _add(parent: ET.Element, tag: str, value: Any) -> ET.Element | None:
    if value is None or value == "" or value == []:
        return None
    element = ET.SubElement(parent, tag)
    if isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)
    return element


def _iso(value: Any, where: str) -> str:
    return parse_date(value, where).isoformat()


def report_xml(facts: dict[str, Any]) -> bytes:
    """The ``<report>`` document; FactsError when a field NCMEC requires is missing."""
    incident = facts.get("incident", {})
    if not incident.get("type"):
        raise FactsError("incident.type is required for a CyberTipline report")
    if not incident.get("date"):
        raise FactsError("incident.date is required for a CyberTipline report")
    reporter = facts.get("reporter") or {}
    if not reporter.get("email"):
        raise FactsError("reporter.email is required for a CyberTipline report")
    report = ET.Element("report")
    summary = ET.SubElement(report, "incidentSummary")
    _add(summary, "incidentType", incident["type"])
    _add(summary, "escalateToHighPriority", incident.get("escalate"))
    _add(summary, "reportAnnotations", incident.get("annotations"))
    _add(summary, "incidentDateTime", _iso(incident["date"], "incident.date"))
    _add(summary, "incidentDateTimeDescription", incident.get("date_description"))
    for detail in facts.get("internet", []):
        details = ET.SubElement(report, "internetDetails")
        page = ET.SubElement(details, "webPageIncident")
        _add(page, "url", detail.get("url"))
        _add(page, "additionalInfo", detail.get("info"))
    police = facts.get("law_enforcement")
    if police:
        element = ET.SubElement(report, "lawEnforcement")
        _add(element, "agencyName", police.get("agency"))
        _add(element, "caseNumber", police.get("case_number"))
        officer = police.get("officer")
        if officer:
            contact = ET.SubElement(element, "officerContact")
            _person(contact, officer)
    reporting = ET.SubElement(report, "reporter")
    _person(ET.SubElement(reporting, "reportingPerson"), reporter)
    if facts.get("contact"):
        _person(ET.SubElement(reporting, "contactPerson"), facts["contact"])
    for i, person in enumerate(facts.get("persons", [])):
        element = ET.SubElement(report, "personOrUserReported")
        _add(element, "screenName", (person.get("screen_names") or [None])[0])
        for name in person.get("display_names", []):
            _add(element, "displayName", name)
        for url in person.get("profile_urls", []):
            _add(element, "profileUrl", url)
        _add(element, "espIdentifier", person.get("esp_identifier"))
        for j, event in enumerate(person.get("ip_events", [])):
            capture = ET.SubElement(element, "ipCaptureEvent")
            _add(capture, "ipAddress", event["ip"])
            _add(capture, "eventName", event.get("event", "Unknown"))
            if "date" in event:
                _add(capture, "dateTime", _iso(event["date"], f"persons[{i}].ip_events[{j}].date"))
            _add(capture, "possibleProxy", event.get("possible_proxy"))
            _add(capture, "port", event.get("port"))
        for device in person.get("device_ids", []):
            _add(element, "deviceId", device)
        _add(element, "estimatedLocation", person.get("estimated_location"))
    _add(report, "additionalInfo", facts.get("additional_info"))
    ET.indent(report)
    return ET.tostring(report, encoding="utf-8", xml_declaration=True)


def _person(element: ET.Element, person: dict[str, Any]) -> None:
    name = person.get("name", "")
    first, _, last = name.partition(" ")
    _add(element, "firstName", person.get("first_name") or first or None)
    _add(element, "lastName", person.get("last_name") or last or None)
    _add(element, "phone", person.get("phone"))
    _add(element, "email", person.get("email"))


def file_details_xml(file: dict[str, Any]) -> bytes:
    """One ``<fileDetails>`` document for a referred file."""
    element = ET.Element("fileDetails")
    _add(element, "fileName", file["name"])
    _add(element, "originalFileName", file["name"])
    _add(element, "locationOfFile", file.get("location"))
    _add(element, "fileViewedByEsp", False)
    _add(element, "exifViewedByEsp", bool(file.get("exif")))
    _add(element, "publiclyAvailable", False)
    _add(element, "fileRelevance", file.get("relevance", "Reported"))
    _add(element, "fileAnnotations", None)
    if file.get("category_profile") == "ncmec-industry":
        _add(element, "industryClassification", file.get("category"))
    for kind, label in _HASH_TYPES.items():
        value = file["hashes"].get(kind)
        if value:
            hashed = ET.SubElement(element, "originalFileHash", {"hashType": label})
            hashed.text = value
    if file["hashes"].get("pdq"):
        _detail(element, "HASH", "PDQ", file["hashes"]["pdq"])
    for name, value in (file.get("exif") or {}).items():
        _detail(element, "EXIF", name, value)
    ET.indent(element)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def _detail(parent: ET.Element, kind: str, name: str, value: Any) -> None:
    details = ET.SubElement(parent, "details", {"type": kind})
    pair = ET.SubElement(details, "nameValuePair")
    _add(pair, "name", name)
    _add(pair, "value", value)
