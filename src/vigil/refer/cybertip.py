"""NCMEC CyberTipline documents (``<report>``, ``<fileDetails>``) from a typed model.

The CyberTipline Reporting API rejects a document whose elements are out of the
schema's sequence (response code 4100), an enumeration value it does not know, a URL
with white space or an incident date in the future. NCMEC's XSD is served only to
registered reporters, so the sequences and enumerations are written down here, once,
from the public descriptions of the API (NCMEC's technical documentation as typed by
the open Johannes-Andersen/Cybertipline-Tools client; see ``../shared/field-notes.md``
and docs/referral.md): **the order of a dataclass's fields is the element sequence**,
and each field's metadata says whether it is an element, an attribute, the element's
text or a list of empty "flag" children (``<sextortion/>``), whether it is required,
and which values it may take. ``validate`` walks a document and refuses the first
invalid element, named by its path (``report/incidentSummary/incidentType``), before
anything is written; ``to_xml`` writes the fields in their declared order.

``report_from_facts`` and ``file_details_from`` map the examiner's facts
(``vigil.refer.facts``) and a referred file onto the model. A ``fileDetails``
document is a *template*: the API's ``reportId`` and ``fileId`` come first in it but
exist only once the report is submitted (``/submit`` answers the report id, ``/upload``
the file id); ``complete_file_details`` puts them in. The agency's own systems submit,
or ``vigil.refer.submit`` (``vigil refer --submit-to``).
"""

# ruff: noqa: RUF009 -- ``_field`` returns ``dataclasses.field(...)``, which ruff cannot see.

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vigil.refer.facts import IP_EVENTS, FactsError, check_url, parse_date

#: Where NCMEC serves the schema; every document names it.
SCHEMA_LOCATION = "https://report.cybertip.org/ispws/xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ET.register_namespace("xsi", XSI)

# -- the API's enumerations ---------------------------------------------------------

INCIDENT_TYPES = (
    "Child Pornography (possession, manufacture, and distribution)",
    "Child Sex Trafficking",
    "Child Sex Tourism",
    "Child Sexual Molestation",
    "Misleading Domain Name",
    "Misleading Words or Digital Images on the Internet",
    "Online Enticement of Children for Sexual Act",
    "Unsolicited Obscene Material Sent to a Child",
)
#: Children of ``reportAnnotations``, each an empty element.
REPORT_ANNOTATIONS = (
    "sextortion",
    "csamSolicitation",
    "minorToMinorInteraction",
    "spam",
    "sadisticOnlineExploitation",
    "informational",
)
#: Children of ``fileAnnotations``, each an empty element.
FILE_ANNOTATIONS = (
    "animeDrawingVirtualHentai",
    "potentialMeme",
    "viral",
    "possibleSelfProduction",
    "physicalHarm",
    "violenceGore",
    "bestiality",
    "liveStreaming",
    "infant",
    "generativeAi",
)
#: The industry classification (A prepubescent, B pubescent; 1 sex act, 2 lascivious
#: exhibition): the categories of Vigil's ``ncmec-industry`` profile.
INDUSTRY_CLASSIFICATIONS = ("A1", "A2", "B1", "B2")
FILE_RELEVANCE = ("Reported", "Supplemental Reported")
#: ``eventName`` of ``ipCaptureEvent`` and ``deviceId`` (facts.py checks the same list).
EVENT_NAMES = IP_EVENTS
DETAIL_TYPES = ("EXIF", "HASH")
EMAIL_TYPES = ("Home", "Work", "Business")
PHONE_TYPES = ("Mobile", "Home", "Business", "Work", "Fax", "Internet")
#: Vigil's digest names -> ``originalFileHash/@hashType``.
HASH_TYPES = {"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256"}
#: The longest ``details/nameValuePair/name`` the API takes.
_MAX_DETAIL_NAME = 64


class CyberTipError(FactsError):
    """A CyberTipline document would be refused by the API; the message names the element."""


# -- field declarations -------------------------------------------------------------


def _field(
    xml: str,
    *,
    kind: str = "element",
    required: bool = False,
    enum: tuple[str, ...] | None = None,
    url: bool = False,
    many: bool = False,
    after_submit: bool = False,
) -> Any:
    """A model field: its XML name, how it is written, and what the API accepts in it.

    ``kind`` is ``element``, ``attr`` (an attribute), ``text`` (the element's text) or
    ``flags`` (one empty child element per value); ``after_submit`` marks what exists
    only after submission (``reportId``, ``fileId``): required, except in a template.
    """
    meta = {"xml": xml, "kind": kind, "required": required, "enum": enum, "url": url}
    meta["after_submit"] = after_submit
    if many or kind == "flags":
        return field(default_factory=list, metadata=meta)
    return field(default=None, metadata=meta)


@dataclass
class Email:
    """An email address (``<email type=".." verified="..">``)."""

    value: str | None = _field("email", kind="text", required=True)
    type: str | None = _field("type", kind="attr", enum=EMAIL_TYPES)
    verified: bool | None = _field("verified", kind="attr")


@dataclass
class Phone:
    """A phone number (``<phone type=".." countryCallingCode="..">``)."""

    value: str | None = _field("phone", kind="text", required=True)
    type: str | None = _field("type", kind="attr", enum=PHONE_TYPES)
    country_calling_code: str | None = _field("countryCallingCode", kind="attr")
    extension: str | None = _field("extension", kind="attr")


@dataclass
class Person:
    """A person: ``firstName, lastName, phone*, email*, age``."""

    first_name: str | None = _field("firstName")
    last_name: str | None = _field("lastName")
    phone: list[Phone] = _field("phone", many=True)
    email: list[Email] = _field("email", many=True)
    age: int | None = _field("age")


@dataclass
class IpCaptureEvent:
    """``ipAddress, eventName, dateTime, possibleProxy, port``."""

    ip_address: str | None = _field("ipAddress", required=True)
    event_name: str | None = _field("eventName", enum=EVENT_NAMES)
    date_time: datetime | None = _field("dateTime")
    possible_proxy: bool | None = _field("possibleProxy")
    port: int | None = _field("port")

    def check(self, where: str, now: datetime) -> None:
        """A port is 1-65535; a capture is not in the future."""
        port = self.port
        if port is not None and (
            isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535
        ):
            raise CyberTipError(f"{where}/port: {self.port} is not a port number (1-65535)")
        _not_future(self.date_time, f"{where}/dateTime", now)


@dataclass
class DeviceId:
    """``idType, idValue, eventName, dateTime`` (e.g. IMEI, ICCID, SSID)."""

    id_type: str | None = _field("idType", required=True)
    id_value: str | None = _field("idValue", required=True)
    event_name: str | None = _field("eventName", enum=EVENT_NAMES)
    date_time: datetime | None = _field("dateTime")

    def check(self, where: str, now: datetime) -> None:
        """A capture is not in the future."""
        _not_future(self.date_time, f"{where}/dateTime", now)


@dataclass
class EstimatedLocation:
    """``city, region, countryCode`` with attributes ``verified`` and ``timestamp``."""

    verified: bool | None = _field("verified", kind="attr")
    timestamp: datetime | None = _field("timestamp", kind="attr")
    city: str | None = _field("city")
    region: str | None = _field("region")
    country_code: str | None = _field("countryCode")

    def check(self, where: str, now: datetime) -> None:
        """``countryCode`` is ISO 3166-1 alpha-2; something must be located."""
        code = self.country_code
        if code is not None and not (len(code) == 2 and code.isascii() and code.isupper()):
            raise CyberTipError(
                f"{where}/countryCode: {code!r} is not an ISO 3166-1 alpha-2 code (e.g. US)"
            )
        if self.city is None and self.region is None and code is None:
            raise CyberTipError(f"{where}: needs a city, a region or a countryCode")


@dataclass
class IncidentSummary:
    """``incidentType, escalateToHighPriority, reportAnnotations, incidentDateTime, ...``.

    ``escalateToHighPriority`` is the *reason* for escalating: its presence escalates.
    """

    incident_type: str | None = _field("incidentType", required=True, enum=INCIDENT_TYPES)
    escalate_to_high_priority: str | None = _field("escalateToHighPriority")
    report_annotations: list[str] = _field(
        "reportAnnotations", kind="flags", enum=REPORT_ANNOTATIONS
    )
    incident_date_time: datetime | None = _field("incidentDateTime", required=True)
    incident_date_time_description: str | None = _field("incidentDateTimeDescription")

    def check(self, where: str, now: datetime) -> None:
        """The incident is not in the future."""
        _not_future(self.incident_date_time, f"{where}/incidentDateTime", now)


@dataclass
class WebPageIncident:
    """``url*, additionalInfo``."""

    url: list[str] = _field("url", many=True, url=True)
    additional_info: str | None = _field("additionalInfo")


@dataclass
class InternetDetails:
    """One incident: Vigil writes the web-page kind (the others are ESP-side events)."""

    web_page_incident: WebPageIncident | None = _field("webPageIncident", required=True)


@dataclass
class LawEnforcement:
    """``agencyName, caseNumber, officerContact, reportedToLe``."""

    agency_name: str | None = _field("agencyName", required=True)
    case_number: str | None = _field("caseNumber")
    officer_contact: Person | None = _field("officerContact")
    reported_to_le: bool | None = _field("reportedToLe")


@dataclass
class Reporter:
    """``reportingPerson`` (an email required), ``contactPerson``."""

    reporting_person: Person | None = _field("reportingPerson", required=True)
    contact_person: Person | None = _field("contactPerson")

    def check(self, where: str, now: datetime) -> None:
        """The reporting person has an email address."""
        if self.reporting_person is not None and not self.reporting_person.email:
            raise CyberTipError(f"{where}/reportingPerson/email is required")


@dataclass
class PersonOrUserReported:
    """The reported person or user; one per report. Fields in the API's sequence."""

    person: Person | None = _field("personOrUserReportedPerson")
    esp_identifier: str | None = _field("espIdentifier")
    esp_service: str | None = _field("espService")
    screen_name: str | None = _field("screenName")
    display_name: list[str] = _field("displayName", many=True)
    profile_url: list[str] = _field("profileUrl", many=True, url=True)
    ip_capture_event: list[IpCaptureEvent] = _field("ipCaptureEvent", many=True)
    device_id: list[DeviceId] = _field("deviceId", many=True)
    estimated_location: EstimatedLocation | None = _field("estimatedLocation")
    additional_info: str | None = _field("additionalInfo")


@dataclass
class Report:
    """The ``<report>`` document of ``POST /submit``."""

    incident_summary: IncidentSummary | None = _field("incidentSummary", required=True)
    internet_details: list[InternetDetails] = _field("internetDetails", many=True)
    law_enforcement: LawEnforcement | None = _field("lawEnforcement")
    reporter: Reporter | None = _field("reporter", required=True)
    person_or_user_reported: PersonOrUserReported | None = _field("personOrUserReported")
    additional_info: str | None = _field("additionalInfo")


@dataclass
class OriginalFileHash:
    """``<originalFileHash hashType="MD5">hex</originalFileHash>``."""

    value: str | None = _field("originalFileHash", kind="text", required=True)
    hash_type: str | None = _field("hashType", kind="attr", required=True)


@dataclass
class NameValuePair:
    """``name, value``."""

    name: str | None = _field("name", required=True)
    value: str | None = _field("value", required=True)

    def check(self, where: str, now: datetime) -> None:
        """A name is at most 64 characters."""
        if self.name is not None and len(self.name) > _MAX_DETAIL_NAME:
            raise CyberTipError(f"{where}/name: longer than {_MAX_DETAIL_NAME} characters")


@dataclass
class Details:
    """``<details type="EXIF|HASH">`` holding its ``nameValuePair`` elements."""

    type: str | None = _field("type", kind="attr", enum=DETAIL_TYPES)
    pairs: list[NameValuePair] = _field("nameValuePair", many=True, required=True)


@dataclass
class FileDetails:
    """The ``<fileDetails>`` document of ``POST /fileinfo``, fields in the API's sequence."""

    report_id: int | None = _field("reportId", after_submit=True)
    file_id: str | None = _field("fileId", after_submit=True)
    file_name: str | None = _field("fileName")
    original_file_name: str | None = _field("originalFileName")
    location_of_file: str | None = _field("locationOfFile", url=True)
    file_viewed_by_esp: bool | None = _field("fileViewedByEsp")
    exif_viewed_by_esp: bool | None = _field("exifViewedByEsp")
    publicly_available: bool | None = _field("publiclyAvailable")
    file_relevance: str | None = _field("fileRelevance", enum=FILE_RELEVANCE)
    file_annotations: list[str] = _field("fileAnnotations", kind="flags", enum=FILE_ANNOTATIONS)
    industry_classification: str | None = _field(
        "industryClassification", enum=INDUSTRY_CLASSIFICATIONS
    )
    original_file_hash: list[OriginalFileHash] = _field("originalFileHash", many=True)
    details: list[Details] = _field("details", many=True)
    additional_info: list[str] = _field("additionalInfo", many=True)

    def check(self, where: str, now: datetime) -> None:
        """Only a ``Reported`` file may be classified or called a potential meme."""
        if self.file_relevance == "Supplemental Reported":
            if self.industry_classification is not None:
                raise CyberTipError(
                    f"{where}/industryClassification: only a Reported file may be classified"
                )
            if "potentialMeme" in self.file_annotations:
                raise CyberTipError(
                    f"{where}/fileAnnotations/potentialMeme: only for a Reported file"
                )


#: The root element name of each document.
_ROOTS: dict[type, str] = {Report: "report", FileDetails: "fileDetails"}


# -- validation and writing ---------------------------------------------------------


def validate(document: Report | FileDetails, *, template: bool = False) -> None:
    """Raise CyberTipError naming the first element the API would refuse.

    ``template`` allows the elements that exist only after submission to be absent.
    """
    try:
        _validate(document, _ROOTS[type(document)], template, datetime.now(UTC))
    except CyberTipError as exc:
        raise CyberTipError(_with_facts_name(str(exc))) from None


#: Elements the examiner fills through the facts file: named both ways in errors.
_FACTS_NAMES = {
    "report/incidentSummary/incidentType": "incident.type",
    "report/incidentSummary/incidentDateTime": "incident.date",
    "report/incidentSummary/reportAnnotations": "incident.annotations",
    "report/reporter/reportingPerson/email": "reporter.email",
    "report/reporter/reportingPerson": "reporter",
    "report/lawEnforcement/agencyName": "law_enforcement.agency",
    "report/personOrUserReported/estimatedLocation": "persons[0].estimated_location",
    "report/personOrUserReported/deviceId": "persons[0].device_ids",
    "report/personOrUserReported/ipCaptureEvent": "persons[0].ip_events",
    "fileDetails/fileAnnotations": "file_details.annotations",
}


def _with_facts_name(message: str) -> str:
    path = message.split(" ", 1)[0].rstrip(":")
    for xml, name in _FACTS_NAMES.items():
        if path == xml or path.startswith((xml + "/", xml + "[")):
            return message.replace(path, f"{path} (facts: {name})", 1)
    return message


def _validate(node: Any, where: str, template: bool, now: datetime) -> None:
    for f, value in _items(node):
        meta = f.metadata
        path = f"{where}/@{meta['xml']}" if meta["kind"] == "attr" else f"{where}/{meta['xml']}"
        if meta["kind"] == "text":
            path = where
        values = value if isinstance(value, list) else ([] if value is None else [value])
        values = [v for v in values if v != ""]
        needed = meta["required"] or (meta["after_submit"] and not template)
        if needed and not values:
            raise CyberTipError(f"{path} is required")
        expected = _expected_type(str(f.type))
        for i, item in enumerate(values):
            at = f"{path}[{i + 1}]" if len(values) > 1 and meta["kind"] != "flags" else path
            if expected is not None and (
                not isinstance(item, expected) or (expected is int and isinstance(item, bool))
            ):
                raise CyberTipError(f"{at}: {item!r} is not {_TYPE_WORDS[expected]}")
            if meta["enum"] is not None and item not in meta["enum"]:
                allowed = ", ".join(meta["enum"])
                raise CyberTipError(f"{at}: {item!r} is not one of: {allowed}")
            if meta["url"]:
                _check_url(item, at)
            if dataclasses.is_dataclass(item):
                _validate(item, at, template, now)
    check = getattr(node, "check", None)
    if check is not None:
        check(where, now)


#: Python types of the model's plain fields, and how an error names them.
_TYPE_WORDS: dict[type, str] = {
    bool: "true or false",
    int: "a whole number",
    str: "text",
    datetime: "a date-time",
}


def _expected_type(annotation: str) -> type | None:
    """The plain type a field's annotation declares (``list[str]`` -> str), if any."""
    base = annotation.split("|", 1)[0].strip()
    if base.startswith("list[") and base.endswith("]"):
        base = base[5:-1]
    return {t.__name__: t for t in _TYPE_WORDS}.get(base)


def _check_url(value: str, where: str) -> None:
    try:
        check_url(value, where)
    except FactsError as exc:
        raise CyberTipError(str(exc)) from None


def _not_future(when: datetime | None, where: str, now: datetime) -> None:
    if when is not None and when > now:
        raise CyberTipError(f"{where}: {_text(when)} is in the future")


def _items(node: Any) -> Iterator[tuple[dataclasses.Field[Any], Any]]:
    for f in dataclasses.fields(node):
        yield f, getattr(node, f.name)


def to_xml(document: Report | FileDetails, *, template: bool = False) -> bytes:
    """The document as the API takes it, after ``validate``: UTF-8, schema-located."""
    validate(document, template=template)
    root = _element(document, _ROOTS[type(document)])
    root.set(f"{{{XSI}}}noNamespaceSchemaLocation", SCHEMA_LOCATION)
    return _document(root)


def _document(root: ET.Element) -> bytes:
    """Indented UTF-8 with the declaration the API's examples use (double quotes)."""
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'.encode()


def _element(node: Any, tag: str) -> ET.Element:
    element = ET.Element(tag)
    for f, value in _items(node):
        meta = f.metadata
        if value is None or value == [] or value == "":
            continue
        if meta["kind"] == "attr":
            element.set(meta["xml"], _text(value))
        elif meta["kind"] == "text":
            element.text = _text(value)
        elif meta["kind"] == "flags":
            flags = ET.SubElement(element, meta["xml"])
            for flag in value:
                ET.SubElement(flags, flag)
        else:
            for item in value if isinstance(value, list) else [value]:
                if dataclasses.is_dataclass(item):
                    element.append(_element(item, meta["xml"]))
                else:
                    ET.SubElement(element, meta["xml"]).text = _text(item)
    return element


def _text(value: Any) -> str:
    """Booleans as ``true``/``false``, date-times in UTC with ``Z``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def complete_file_details(template: bytes, report_id: int, file_id: str) -> bytes:
    """A ``fileDetails`` template with the ids the API answered put first, as it requires.

    ``report_id`` is what ``POST /submit`` answered, ``file_id`` what ``POST /upload``
    answered for this file; any ids already in the document are replaced.
    """
    if isinstance(report_id, bool) or not isinstance(report_id, int) or report_id <= 0:
        raise CyberTipError(f"fileDetails/reportId: {report_id!r} is not a report id")
    if not file_id or any(c.isspace() for c in file_id):
        raise CyberTipError(f"fileDetails/fileId: {file_id!r} is not a file id")
    root = ET.fromstring(template)
    if root.tag != "fileDetails":
        raise CyberTipError(f"not a fileDetails document: <{root.tag}>")
    for tag in ("reportId", "fileId"):
        for old in root.findall(tag):
            root.remove(old)
    for position, (tag, value) in enumerate((("reportId", report_id), ("fileId", file_id))):
        ET.SubElement(root, tag).text = str(value)
        root.insert(position, root[-1])
        del root[-1]
    for element in root.iter():
        element.tail = None
        if len(element):
            element.text = None
    return _document(root)


# -- from the examiner's facts ------------------------------------------------------


def report_xml(facts: Mapping[str, Any]) -> bytes:
    """The ``<report>`` document for ``facts``; CyberTipError (a FactsError) when invalid."""
    return to_xml(report_from_facts(facts))


def report_from_facts(facts: Mapping[str, Any]) -> Report:
    """Map the facts file (docs/referral.md) onto the report model, losing nothing.

    Raises CyberTipError for facts the API cannot carry: more than one reported person
    (the API takes one ``personOrUserReported``; one report per person), an escalation
    without a reason.
    """
    incident = facts.get("incident") or {}
    escalate = incident.get("escalate")
    if escalate is True:
        raise CyberTipError(
            "incident.escalate: give the reason for escalating (text); its presence "
            "escalates the report (escalateToHighPriority)"
        )
    persons = list(facts.get("persons") or [])
    if len(persons) > 1:
        raise CyberTipError(
            f"persons: {len(persons)} reported persons, but a CyberTipline report carries one "
            "personOrUserReported; write one facts file and one report per person"
        )
    police = facts.get("law_enforcement")
    return Report(
        incident_summary=IncidentSummary(
            incident_type=incident.get("type"),
            escalate_to_high_priority=escalate or None,
            report_annotations=list(incident.get("annotations") or []),
            incident_date_time=_date(incident.get("date"), "incident.date"),
            incident_date_time_description=incident.get("date_description"),
        ),
        internet_details=[
            InternetDetails(
                WebPageIncident(url=_list(detail.get("url")), additional_info=detail.get("info"))
            )
            for detail in facts.get("internet") or []
        ],
        law_enforcement=LawEnforcement(
            agency_name=police.get("agency"),
            case_number=police.get("case_number"),
            officer_contact=_person(police.get("officer")),
            reported_to_le=police.get("reported_to_le"),
        )
        if police
        else None,
        reporter=Reporter(
            reporting_person=_person(facts.get("reporter")),
            contact_person=_person(facts.get("contact")),
        ),
        person_or_user_reported=_reported(persons[0], "persons[0]") if persons else None,
        additional_info=facts.get("additional_info"),
    )


def _reported(person: Mapping[str, Any], where: str) -> PersonOrUserReported:
    """One reported person; screen names after the first go to its additionalInfo."""
    screen_names = list(person.get("screen_names") or [])
    notes = [person["info"]] if person.get("info") else []
    if len(screen_names) > 1:
        notes.append("Other screen names: " + ", ".join(screen_names[1:]))
    location = person.get("estimated_location")
    return PersonOrUserReported(
        person=_person(person),
        esp_identifier=person.get("esp_identifier"),
        esp_service=person.get("esp_service"),
        screen_name=screen_names[0] if screen_names else None,
        display_name=list(person.get("display_names") or []),
        profile_url=list(person.get("profile_urls") or []),
        ip_capture_event=[
            IpCaptureEvent(
                ip_address=event.get("ip"),
                event_name=event.get("event"),
                date_time=_date(event.get("date"), f"{where}.ip_events[{i}].date"),
                possible_proxy=event.get("possible_proxy"),
                port=event.get("port"),
            )
            for i, event in enumerate(person.get("ip_events") or [])
        ],
        device_id=[
            DeviceId(
                id_type=device.get("type"),
                id_value=device.get("value"),
                event_name=device.get("event"),
                date_time=_date(device.get("date"), f"{where}.device_ids[{i}].date"),
            )
            for i, device in enumerate(person.get("device_ids") or [])
        ],
        estimated_location=EstimatedLocation(
            verified=location.get("verified"),
            city=location.get("city"),
            region=location.get("region"),
            country_code=location.get("country_code"),
        )
        if location
        else None,
        additional_info="\n".join(notes) or None,
    )


def _person(person: Mapping[str, Any] | None) -> Person | None:
    """A person from ``name`` (first word, rest) or ``first_name``/``last_name``."""
    if not person:
        return None
    first, _, last = str(person.get("name") or "").partition(" ")
    has_details = any(person.get(k) for k in ("name", "first_name", "last_name", "email"))
    if not has_details and not person.get("phone"):
        return None
    return Person(
        first_name=person.get("first_name") or first or None,
        last_name=person.get("last_name") or last or None,
        phone=[Phone(value=p) for p in _list(person.get("phone"))],
        email=[Email(value=e) for e in _list(person.get("email"))],
    )


def _list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list) else [value]


def _date(value: Any, where: str) -> datetime | None:
    return None if value is None else parse_date(value, where)


def file_details_xml(file: Mapping[str, Any], facts: Mapping[str, Any] | None = None) -> bytes:
    """The ``fileDetails`` template (no ``reportId``/``fileId`` yet) of a referred file."""
    return to_xml(file_details_from(file, facts or {}), template=True)


def file_details_from(file: Mapping[str, Any], facts: Mapping[str, Any]) -> FileDetails:
    """A referred file (``referral.files[]``) as a ``fileDetails`` template.

    No ``locationOfFile``: the API means the URL the file was found at, and the path on
    the evidence is the lab's (it stays in referral.json). The industry classification
    is the file's ``ncmec-industry`` grade, never a category of another profile. What
    the examiner did (viewed the file, its EXIF; was it public; file annotations) is
    not Vigil's to say: it comes from the facts file's ``[file_details]`` table.
    """
    said = facts.get("file_details") or {}
    relevance = file.get("relevance") or "Reported"
    details = []
    if file["hashes"].get("pdq"):
        details.append(Details("HASH", [NameValuePair("PDQ", file["hashes"]["pdq"])]))
    exif = file.get("exif") or {}
    if exif:
        details.append(Details("EXIF", [NameValuePair(k, str(v)) for k, v in exif.items()]))
    return FileDetails(
        file_name=file["name"],
        original_file_name=file["name"],
        location_of_file=file.get("url"),
        file_viewed_by_esp=said.get("viewed"),
        exif_viewed_by_esp=said.get("exif_viewed"),
        publicly_available=said.get("publicly_available"),
        file_relevance=relevance,
        file_annotations=list(said.get("annotations") or []),
        industry_classification=file.get("industry_classification")
        if relevance == "Reported"
        else None,
        original_file_hash=[
            OriginalFileHash(value=file["hashes"][kind], hash_type=label)
            for kind, label in HASH_TYPES.items()
            if file["hashes"].get(kind)
        ],
        details=details,
    )
