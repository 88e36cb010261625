"""The CyberTipline documents follow the API's sequences and enumerations, element by element.

The expected sequences are written here again, literally, from NCMEC's public
documentation (as typed by Johannes-Andersen/Cybertipline-Tools), so that a change to
the model's field order is caught rather than followed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.refer import cybertip
from vigil.refer.cybertip import (
    CyberTipError,
    Details,
    FileDetails,
    NameValuePair,
    complete_file_details,
    file_details_xml,
    report_xml,
    to_xml,
)
from vigil.refer.facts import FactsError, check_facts

CHILD_PORNOGRAPHY = "Child Pornography (possession, manufacture, and distribution)"
XSI_LOCATION = "{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation"


def facts(**changes: Any) -> dict[str, Any]:
    """Facts that fill every element Vigil writes; ``changes`` replace top-level keys."""
    base: dict[str, Any] = {
        "incident": {
            "type": CHILD_PORNOGRAPHY,
            "date": "2026-11-20T10:00:00+01:00",
            "date_description": "first upload seen",
            "escalate": "Immediate risk to a child",
            "annotations": ["sextortion", "csamSolicitation"],
        },
        "internet": [{"url": "https://example.org/share/1", "info": "shared link"}],
        "law_enforcement": {
            "agency": "Example Police",
            "case_number": "2026-0042",
            "officer": {"name": "Olga Officer", "email": "olga@police.example"},
            "reported_to_le": True,
        },
        "reporter": {"name": "Ada Examiner", "email": "ada@police.example", "phone": "555"},
        "contact": {"first_name": "Con", "last_name": "Tact", "email": "c@police.example"},
        "persons": [
            {
                "name": "Sus Pect",
                "email": "suspect@example.org",
                "esp_identifier": "u-42",
                "esp_service": "Example Photos",
                "screen_names": ["example_user", "second_name"],
                "display_names": ["Example User"],
                "profile_urls": ["https://example.org/u/example_user"],
                "ip_events": [
                    {"ip": "192.0.2.10", "event": "Upload", "date": "2026-11-19T08:00:00Z"}
                ],
                "device_ids": [{"type": "IMEI", "value": "000000000000000", "event": "Login"}],
                "estimated_location": {"city": "Oslo", "country_code": "NO", "verified": True},
                "info": "seen twice",
            }
        ],
        "additional_info": "Found during a search.",
    }
    base.update(changes)
    return base


def parse(document: bytes) -> ET.Element:
    return ET.fromstring(document)


def tags(element: ET.Element | None) -> list[str]:
    assert element is not None
    return [child.tag for child in element]


def with_incident(**changes: Any) -> dict[str, Any]:
    incident = dict(facts()["incident"])
    incident.update(changes)
    return facts(incident=incident)


def with_person(**changes: Any) -> dict[str, Any]:
    person = dict(facts()["persons"][0])
    person.update(changes)
    return facts(persons=[person])


# -- the document ---------------------------------------------------------------------


def test_document_declaration_and_schema_location() -> None:
    document = report_xml(facts())
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<report ')
    assert parse(document).get(XSI_LOCATION) == "https://report.cybertip.org/ispws/xsd"


def test_report_sequence() -> None:
    assert tags(parse(report_xml(facts()))) == [
        "incidentSummary",
        "internetDetails",
        "lawEnforcement",
        "reporter",
        "personOrUserReported",
        "additionalInfo",
    ]


def test_incident_summary_sequence() -> None:
    summary = parse(report_xml(facts())).find("incidentSummary")
    assert tags(summary) == [
        "incidentType",
        "escalateToHighPriority",
        "reportAnnotations",
        "incidentDateTime",
        "incidentDateTimeDescription",
    ]


def test_person_or_user_reported_sequence() -> None:
    person = parse(report_xml(facts())).find("personOrUserReported")
    assert tags(person) == [
        "personOrUserReportedPerson",
        "espIdentifier",
        "espService",
        "screenName",
        "displayName",
        "profileUrl",
        "ipCaptureEvent",
        "deviceId",
        "estimatedLocation",
        "additionalInfo",
    ]
    assert tags(person.find("personOrUserReportedPerson")) == ["firstName", "lastName", "email"]  # type: ignore[union-attr]


def test_law_enforcement_and_reporter_sequences() -> None:
    report = parse(report_xml(facts()))
    assert tags(report.find("lawEnforcement")) == [
        "agencyName",
        "caseNumber",
        "officerContact",
        "reportedToLe",
    ]
    assert tags(report.find("reporter")) == ["reportingPerson", "contactPerson"]
    assert tags(report.find("reporter/reportingPerson")) == [
        "firstName",
        "lastName",
        "phone",
        "email",
    ]


def test_internet_details_web_page_incident() -> None:
    details = parse(report_xml(facts())).find("internetDetails")
    assert tags(details) == ["webPageIncident"]
    assert tags(details.find("webPageIncident")) == ["url", "additionalInfo"]  # type: ignore[union-attr]


# -- incidentSummary ------------------------------------------------------------------


@pytest.mark.parametrize("incident_type", cybertip.INCIDENT_TYPES)
def test_each_incident_type_is_accepted(incident_type: str) -> None:
    report = parse(report_xml(with_incident(type=incident_type)))
    assert report.findtext("incidentSummary/incidentType") == incident_type


def test_eight_incident_types() -> None:
    assert len(set(cybertip.INCIDENT_TYPES)) == 8


def test_an_unknown_incident_type_is_refused_by_name() -> None:
    with pytest.raises(CyberTipError, match=r"incidentSummary/incidentType .*'Bogus type'"):
        report_xml(with_incident(type="Bogus type"))


def test_incident_type_and_date_are_required() -> None:
    with pytest.raises(FactsError, match=r"incidentType \(facts: incident\.type\) is required"):
        report_xml({"reporter": {"email": "a@b.example"}})
    incident = {"type": CHILD_PORNOGRAPHY}
    with pytest.raises(CyberTipError, match=r"incidentDateTime \(facts: incident\.date\)"):
        report_xml(facts(incident=incident))


def test_dates_are_utc_with_z() -> None:
    report = parse(report_xml(facts()))
    assert report.findtext("incidentSummary/incidentDateTime") == "2026-11-20T09:00:00Z"
    when = report.findtext("personOrUserReported/ipCaptureEvent/dateTime")
    assert when == "2026-11-19T08:00:00Z"


def test_a_future_incident_is_refused() -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    with pytest.raises(CyberTipError, match=r"incidentDateTime.* is in the future"):
        report_xml(with_incident(date=tomorrow))


def test_escalation_is_a_reason_and_its_absence_does_not_escalate() -> None:
    report = parse(report_xml(facts()))
    assert report.findtext("incidentSummary/escalateToHighPriority") == "Immediate risk to a child"
    calm = parse(report_xml(with_incident(escalate=False)))
    assert calm.find("incidentSummary/escalateToHighPriority") is None
    with pytest.raises(CyberTipError, match="give the reason for escalating"):
        report_xml(with_incident(escalate=True))


def test_report_annotations_are_empty_elements() -> None:
    annotations = parse(report_xml(facts())).find("incidentSummary/reportAnnotations")
    assert tags(annotations) == ["sextortion", "csamSolicitation"]
    assert all(a.text is None and len(a) == 0 for a in annotations)  # type: ignore[union-attr]
    assert b"['sextortion'" not in report_xml(facts())


def test_an_unknown_report_annotation_is_refused() -> None:
    with pytest.raises(CyberTipError, match=r"reportAnnotations \(facts: incident\.annotations\)"):
        report_xml(with_incident(annotations=["sextortion", "gossip"]))


# -- reporter, law enforcement ---------------------------------------------------------


def test_the_reporting_person_needs_an_email() -> None:
    with pytest.raises(CyberTipError, match=r"reportingPerson/email .*is required"):
        report_xml(facts(reporter={"name": "No Mail"}))
    with pytest.raises(CyberTipError, match=r"reporter/reportingPerson \(facts: reporter\)"):
        report_xml(facts(reporter=None))


def test_law_enforcement_needs_an_agency() -> None:
    with pytest.raises(CyberTipError, match=r"agencyName \(facts: law_enforcement\.agency\)"):
        report_xml(facts(law_enforcement={"case_number": "1"}))


# -- personOrUserReported --------------------------------------------------------------


def test_one_reported_person_per_report() -> None:
    two = facts()["persons"] * 2
    with pytest.raises(CyberTipError, match="carries one personOrUserReported"):
        report_xml(facts(persons=two))


def test_every_screen_name_is_kept() -> None:
    person = parse(report_xml(facts())).find("personOrUserReported")
    assert person.findtext("screenName") == "example_user"  # type: ignore[union-attr]
    info = person.findtext("additionalInfo")  # type: ignore[union-attr]
    assert info == "seen twice\nOther screen names: second_name"


def test_urls_with_white_space_are_refused() -> None:
    with pytest.raises(FactsError, match="contains white space"):
        report_xml(with_person(profile_urls=["https://example.org/a b"]))
    with pytest.raises(FactsError, match="contains white space"):
        report_xml(facts(internet=[{"url": "https://example.org/\tx"}]))


def test_ip_capture_event() -> None:
    event = parse(report_xml(facts())).find("personOrUserReported/ipCaptureEvent")
    assert tags(event) == ["ipAddress", "eventName", "dateTime"]
    with pytest.raises(CyberTipError, match=r"ipCaptureEvent.*/eventName.*'Hacking'"):
        report_xml(with_person(ip_events=[{"ip": "192.0.2.1", "event": "Hacking"}]))
    with pytest.raises(CyberTipError, match=r"ipCaptureEvent/port .*70000 is not a port"):
        report_xml(with_person(ip_events=[{"ip": "192.0.2.1", "port": 70000}]))
    with pytest.raises(CyberTipError, match=r"ipCaptureEvent/ipAddress .*is required"):
        report_xml(with_person(ip_events=[{"event": "Login"}]))


def test_device_id_has_type_value_event_and_time() -> None:
    device = parse(report_xml(facts())).find("personOrUserReported/deviceId")
    assert tags(device) == ["idType", "idValue", "eventName"]
    assert device.findtext("idType") == "IMEI"  # type: ignore[union-attr]
    with pytest.raises(CyberTipError, match=r"deviceId/idType .*is required"):
        report_xml(with_person(device_ids=[{"value": "x"}]))
    with pytest.raises(CyberTipError, match=r"deviceId/eventName.*'Boot'"):
        report_xml(with_person(device_ids=[{"type": "IMEI", "value": "1", "event": "Boot"}]))


def test_estimated_location_has_city_region_country_and_attributes() -> None:
    location = parse(report_xml(facts())).find("personOrUserReported/estimatedLocation")
    assert tags(location) == ["city", "countryCode"]
    assert location.get("verified") == "true"  # type: ignore[union-attr]
    assert "{" not in ET.tostring(location, encoding="unicode")  # type: ignore[arg-type]
    with pytest.raises(CyberTipError, match=r"countryCode .*'Norway' is not an ISO"):
        report_xml(with_person(estimated_location={"country_code": "Norway"}))
    with pytest.raises(CyberTipError, match="needs a city, a region or a countryCode"):
        report_xml(with_person(estimated_location={"verified": True}))


def test_email_and_phone_types_are_checked() -> None:
    with pytest.raises(CyberTipError, match=r"reportingPerson/email/@type .*'Private'"):
        to_xml(
            cybertip.Report(
                incident_summary=cybertip.IncidentSummary(
                    CHILD_PORNOGRAPHY, incident_date_time=datetime(2026, 1, 1, tzinfo=UTC)
                ),
                reporter=cybertip.Reporter(
                    cybertip.Person(email=[cybertip.Email("a@b.example", type="Private")])
                ),
            )
        )


# -- fileDetails -----------------------------------------------------------------------

FILE: dict[str, Any] = {
    "name": "beach.jpg",
    "location": "/mnt/lab evidence/holiday/beach.jpg",
    "hashes": {"md5": "a" * 32, "sha1": "b" * 40, "sha256": "c" * 64, "pdq": "d" * 64},
    "industry_classification": "A2",
    "relevance": "Reported",
    "exif": {"Make": "Example", "Model": "One", "Software": "Two"},
}
FILE_FACTS = {
    "file_details": {
        "viewed": True,
        "exif_viewed": False,
        "publicly_available": False,
        "annotations": ["viral", "possibleSelfProduction"],
    }
}


def test_file_details_sequence() -> None:
    assert tags(parse(file_details_xml(FILE, FILE_FACTS))) == [
        "fileName",
        "originalFileName",
        "fileViewedByEsp",
        "exifViewedByEsp",
        "publiclyAvailable",
        "fileRelevance",
        "fileAnnotations",
        "industryClassification",
        "originalFileHash",
        "originalFileHash",
        "originalFileHash",
        "details",
        "details",
    ]


def test_file_details_is_a_template_until_the_api_answers() -> None:
    template = file_details_xml(FILE)
    root = parse(template)
    assert root.find("reportId") is None and root.find("fileId") is None
    with pytest.raises(CyberTipError, match=r"fileDetails/reportId is required"):
        to_xml(FileDetails(file_name="x.jpg"))
    complete = parse(complete_file_details(template, 4564654, "b0754af766b426f2928a02c651ed4b99"))
    assert tags(complete)[:3] == ["reportId", "fileId", "fileName"]
    assert complete.findtext("reportId") == "4564654"
    assert complete.get(XSI_LOCATION) == "https://report.cybertip.org/ispws/xsd"
    with pytest.raises(CyberTipError, match="is not a report id"):
        complete_file_details(template, 0, "x")


def test_the_local_path_is_not_written() -> None:
    document = file_details_xml(FILE)
    assert parse(document).find("locationOfFile") is None and b"/mnt/" not in document


def test_what_the_examiner_did_comes_from_the_facts() -> None:
    root = parse(file_details_xml(FILE))
    for element in ("fileViewedByEsp", "exifViewedByEsp", "publiclyAvailable"):
        assert root.find(element) is None
    said = parse(file_details_xml(FILE, FILE_FACTS))
    assert said.findtext("fileViewedByEsp") == "true"
    assert said.findtext("exifViewedByEsp") == "false"


@pytest.mark.parametrize("grade", cybertip.INDUSTRY_CLASSIFICATIONS)
def test_industry_classifications(grade: str) -> None:
    root = parse(file_details_xml({**FILE, "industry_classification": grade}))
    assert root.findtext("industryClassification") == grade


def test_an_unknown_industry_classification_is_refused() -> None:
    with pytest.raises(CyberTipError, match=r"industryClassification: 'A'"):
        file_details_xml({**FILE, "industry_classification": "A"})


def test_file_relevance() -> None:
    assert parse(file_details_xml(FILE)).findtext("fileRelevance") == "Reported"
    supplemental = parse(file_details_xml({**FILE, "relevance": "Supplemental Reported"}))
    assert supplemental.find("industryClassification") is None  # only Reported files
    with pytest.raises(CyberTipError, match=r"fileRelevance: 'Evidence'"):
        file_details_xml({**FILE, "relevance": "Evidence"})
    meme = {"file_details": {"annotations": ["potentialMeme"]}}
    with pytest.raises(CyberTipError, match=r"potentialMeme .*only for a Reported file"):
        file_details_xml({**FILE, "relevance": "Supplemental Reported"}, meme)
    with pytest.raises(CyberTipError, match="only a Reported file may be classified"):
        to_xml(
            FileDetails(file_relevance="Supplemental Reported", industry_classification="A1"),
            template=True,
        )


def test_file_annotations_are_empty_elements_of_the_api() -> None:
    annotations = parse(file_details_xml(FILE, FILE_FACTS)).find("fileAnnotations")
    assert tags(annotations) == ["viral", "possibleSelfProduction"]
    bad = {"file_details": {"annotations": ["cute"]}}
    with pytest.raises(
        CyberTipError, match=r"fileAnnotations \(facts: file_details\.annotations\)"
    ):
        file_details_xml(FILE, bad)


def test_original_file_hashes_name_their_type() -> None:
    hashes = parse(file_details_xml(FILE)).findall("originalFileHash")
    assert [(h.get("hashType"), h.text) for h in hashes] == [
        ("MD5", "a" * 32),
        ("SHA1", "b" * 40),
        ("SHA256", "c" * 64),
    ]


def test_details_one_element_per_type_with_its_pairs() -> None:
    details = parse(file_details_xml(FILE)).findall("details")
    assert [d.get("type") for d in details] == ["HASH", "EXIF"]
    assert [p.findtext("name") for p in details[1].findall("nameValuePair")] == [
        "Make",
        "Model",
        "Software",
    ]
    assert tags(details[0].find("nameValuePair")) == ["name", "value"]


def test_details_rules() -> None:
    with pytest.raises(CyberTipError, match=r"details/@type: 'XMP'"):
        to_xml(FileDetails(details=[Details("XMP", [NameValuePair("a", "b")])]), template=True)
    with pytest.raises(CyberTipError, match="longer than 64 characters"):
        to_xml(
            FileDetails(details=[Details("EXIF", [NameValuePair("n" * 65, "b")])]), template=True
        )
    with pytest.raises(CyberTipError, match=r"details/nameValuePair is required"):
        to_xml(FileDetails(details=[Details("EXIF", [])]), template=True)


def test_every_enumeration_field_is_checked() -> None:
    """Each field the model declares with an enumeration refuses a value outside it."""
    import dataclasses

    declared = {
        (cls.__name__, f.metadata["xml"])
        for cls in vars(cybertip).values()
        if isinstance(cls, type) and dataclasses.is_dataclass(cls)
        for f in dataclasses.fields(cls)
        if f.metadata.get("enum")
    }
    assert declared == {
        ("Email", "type"),
        ("Phone", "type"),
        ("IpCaptureEvent", "eventName"),
        ("DeviceId", "eventName"),
        ("IncidentSummary", "incidentType"),
        ("IncidentSummary", "reportAnnotations"),
        ("Details", "type"),
        ("FileDetails", "fileRelevance"),
        ("FileDetails", "fileAnnotations"),
        ("FileDetails", "industryClassification"),
    }


REPORT_SEQUENCE = [
    "incidentSummary",
    "internetDetails",
    "lawEnforcement",
    "reporter",
    "personOrUserReported",
    "additionalInfo",
]
PERSON_SEQUENCE = [
    "personOrUserReportedPerson",
    "espIdentifier",
    "espService",
    "screenName",
    "displayName",
    "profileUrl",
    "ipCaptureEvent",
    "deviceId",
    "estimatedLocation",
    "additionalInfo",
]
OPTIONAL_TOP = ["internet", "law_enforcement", "contact", "persons", "additional_info"]
OPTIONAL_PERSON = [k for k in facts()["persons"][0] if k not in ("name", "email")]


def _in_sequence(found: list[str], sequence: list[str]) -> bool:
    """Whether ``found`` follows ``sequence`` (repeats allowed, nothing out of order)."""
    positions = [sequence.index(tag) for tag in found]
    return positions == sorted(positions)


@settings(max_examples=60, deadline=None)
@given(
    st.sets(st.sampled_from(OPTIONAL_TOP)),
    st.sets(st.sampled_from(OPTIONAL_PERSON)),
    st.lists(st.sampled_from(cybertip.REPORT_ANNOTATIONS), unique=True),
)
def test_any_subset_of_facts_keeps_the_sequences(
    dropped: set[str], dropped_person: set[str], annotations: list[str]
) -> None:
    person = {k: v for k, v in facts()["persons"][0].items() if k not in dropped_person}
    chosen = facts(persons=[person])
    chosen["incident"] = {**chosen["incident"], "annotations": annotations}
    for key in dropped:
        chosen.pop(key)
    report = parse(report_xml(chosen))
    assert _in_sequence(tags(report), REPORT_SEQUENCE)
    person_element = report.find("personOrUserReported")
    if person_element is not None:
        assert _in_sequence(tags(person_element), PERSON_SEQUENCE)
    found = report.find("incidentSummary/reportAnnotations")
    assert (tags(found) if found is not None else []) == annotations


def test_plain_values_have_the_api_types() -> None:
    with pytest.raises(CyberTipError, match=r"possibleProxy .*'yes' is not true or false"):
        report_xml(with_person(ip_events=[{"ip": "192.0.2.1", "possible_proxy": "yes"}]))
    police = {"agency": "P", "reported_to_le": 1}
    with pytest.raises(CyberTipError, match=r"reportedToLe: 1 is not true or false"):
        report_xml(facts(law_enforcement=police))
    with pytest.raises(CyberTipError, match=r"ipCaptureEvent/port .*'443' is not a whole number"):
        report_xml(with_person(ip_events=[{"ip": "192.0.2.1", "port": "443"}]))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 70000) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_facts_give_a_document_or_a_named_refusal(data: st.DataObject) -> None:
    """Whatever a facts file holds, the result is a document or a FactsError: never a crash."""
    chosen = facts()
    path = data.draw(
        st.sampled_from(
            [
                ("incident",),
                ("incident", "type"),
                ("incident", "annotations"),
                ("incident", "escalate"),
                ("persons",),
                ("persons", 0, "ip_events"),
                ("persons", 0, "device_ids"),
                ("persons", 0, "estimated_location"),
                ("persons", 0, "screen_names"),
                ("reporter",),
                ("reporter", "email"),
                ("law_enforcement",),
                ("law_enforcement", "officer"),
                ("internet",),
                ("file_details",),
            ]
        )
    )
    target: Any = chosen
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = data.draw(json_values)
    try:
        check_facts(chosen, now=datetime.now(UTC))
        report_xml(chosen)
        file_details_xml(FILE, chosen)
    except FactsError:
        pass
