"""A local fake of the CyberTipline Reporting API, on 127.0.0.1, for tests only.

Written from NCMEC's documented transactions (field-notes; the calls of the open
Johannes-Andersen/Cybertipline-Tools client) and independently of Vigil's model: its
own copy of the sequences it checks. It does what the documentation says the API does
and no more: HTTP basic authentication; ``/submit`` takes a ``<report>`` whose children
are in the schema's sequence (else response code 4100) and answers a report id;
``/upload`` takes a multipart form (``id``, ``file``) and answers a file id and the MD5
of what it got; ``/fileinfo`` takes a ``<fileDetails>`` that begins with a known
``reportId`` and ``fileId``; ``/finish`` and ``/retract`` take the form field ``id``.
Every answer is XML with a ``responseCode`` (0 success). ``fail_on`` makes one path
answer an error, to test what the client does then.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REPORT_SEQUENCE = [
    "incidentSummary",
    "internetDetails",
    "lawEnforcement",
    "reporter",
    "personOrUserReported",
    "intendedRecipient",
    "victim",
    "additionalInfo",
]
FILE_DETAILS_SEQUENCE = [
    "reportId",
    "fileId",
    "fileName",
    "originalFileName",
    "locationOfFile",
    "fileViewedByEsp",
    "exifViewedByEsp",
    "publiclyAvailable",
    "fileRelevance",
    "fileAnnotations",
    "industryClassification",
    "originalFileHash",
    "ipCaptureEvent",
    "deviceId",
    "details",
    "additionalInfo",
]


@dataclass
class FakeReport:
    """One report as the fake holds it."""

    report: ET.Element
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    state: str = "open"


class FakeCyberTipline:
    """The fake service; ``with FakeCyberTipline() as api: api.url``."""

    def __init__(self, username: str = "esp", password: str = "secret") -> None:
        self.auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.reports: dict[int, FakeReport] = {}
        self.calls: list[str] = []
        self.fail_on: str | None = None
        self._next_id = 4564654
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer = fake.handle(self.path, headers, body)
                data = answer.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/xml" if data[:1] == b"<" else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeCyberTipline:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # -- the API -------------------------------------------------------------------

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        """One call (header names in lower case): (HTTP status, answer)."""
        with self._lock:
            self.calls.append(path)
            if headers.get("authorization") != self.auth:
                return 401, "Unauthorized"
            if path == self.fail_on:
                return 200, _answer(5000, "Server error")
            routes = {
                "/submit": self._submit,
                "/upload": self._upload,
                "/fileinfo": self._fileinfo,
                "/finish": self._finish,
                "/retract": self._retract,
            }
            if path not in routes:
                return 404, "Not found"
            return 200, routes[path](headers, body)

    def _submit(self, headers: dict[str, str], body: bytes) -> str:
        try:
            report = ET.fromstring(body)
        except ET.ParseError:
            return _answer(4100, "Invalid XML")
        if report.tag != "report" or not _in_sequence(report, REPORT_SEQUENCE):
            return _answer(4100, "Element out of sequence")
        summary = report.find("incidentSummary")
        if summary is None or summary.find("incidentType") is None:
            return _answer(4100, "incidentType is required")
        if report.find("reporter/reportingPerson/email") is None:
            return _answer(4100, "reportingPerson/email is required")
        report_id = self._next_id
        self._next_id += 1
        self.reports[report_id] = FakeReport(report)
        return _answer(0, "Success", reportId=str(report_id))

    def _upload(self, headers: dict[str, str], body: bytes) -> str:
        head = f"Content-Type: {headers.get('content-type', '')}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + body)
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            fields[str(name)] = (part.get_filename(), payload)
        report = self._open(fields.get("id", (None, b""))[1].decode().strip())
        if report is None:
            return _answer(4200, "No open report with this id")
        if "file" not in fields:
            return _answer(4300, "No file")
        name, data = fields["file"]
        file_id = secrets.token_hex(16)
        md5 = hashlib.md5(data).hexdigest()
        report.files[file_id] = {"name": name, "md5": md5, "size": len(data), "details": None}
        return _answer(
            0, "Success", reportId=_id_of(self.reports, report), fileId=file_id, hash=md5
        )

    def _fileinfo(self, headers: dict[str, str], body: bytes) -> str:
        try:
            details = ET.fromstring(body)
        except ET.ParseError:
            return _answer(4100, "Invalid XML")
        children = [c.tag for c in details]
        if details.tag != "fileDetails" or children[:2] != ["reportId", "fileId"]:
            return _answer(4100, "reportId and fileId must come first")
        if not _in_sequence(details, FILE_DETAILS_SEQUENCE):
            return _answer(4100, "Element out of sequence")
        report = self._open(details.findtext("reportId") or "")
        file_id = details.findtext("fileId") or ""
        if report is None or file_id not in report.files:
            return _answer(4200, "Unknown report or file")
        report.files[file_id]["details"] = details
        return _answer(0, "Success", reportId=details.findtext("reportId") or "")

    def _finish(self, headers: dict[str, str], body: bytes) -> str:
        report = self._open(_form_id(body))
        if report is None:
            return _answer(4200, "No open report with this id")
        report.state = "finished"
        files = "".join(f"<fileId>{f}</fileId>" for f in report.files)
        return (
            "<reportDoneResponse><responseCode>0</responseCode>"
            f"<reportId>{_id_of(self.reports, report)}</reportId><files>{files}</files>"
            "</reportDoneResponse>"
        )

    def _retract(self, headers: dict[str, str], body: bytes) -> str:
        report = self._open(_form_id(body))
        if report is None:
            return _answer(4200, "No open report with this id")
        report.state = "retracted"
        return _answer(0, "Success", reportId=_form_id(body))

    def _open(self, text: str) -> FakeReport | None:
        report = self.reports.get(int(text)) if text.isdigit() else None
        return report if report is not None and report.state == "open" else None


def _in_sequence(element: ET.Element, sequence: list[str]) -> bool:
    try:
        positions = [sequence.index(child.tag) for child in element]
    except ValueError:
        return False
    return positions == sorted(positions)


def _form_id(body: bytes) -> str:
    return urllib.parse.parse_qs(body.decode()).get("id", [""])[0]


def _id_of(reports: dict[int, FakeReport], report: FakeReport) -> str:
    return str(next(k for k, v in reports.items() if v is report))


def _answer(code: int, description: str, **values: str) -> str:
    extra = "".join(f"<{k}>{v}</{k}>" for k, v in values.items())
    return (
        f"<reportResponse><responseCode>{code}</responseCode>"
        f"<responseDescription>{description}</responseDescription>{extra}</reportResponse>"
    )
