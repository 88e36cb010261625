"""Submit a referral package to the CyberTipline Reporting API (``vigil refer --submit-to``).

The API is a sequence of HTTPS calls with HTTP basic authentication; every answer is
XML carrying a ``responseCode`` (0 is success). For one report (NCMEC's technical
documentation, as the Johannes-Andersen/Cybertipline-Tools client calls it):

1. ``POST /submit`` with the ``<report>`` document: answers the ``reportId``;
2. ``POST /upload``, a multipart form with ``id`` (the report id) and ``file``: answers
   the ``fileId`` and the MD5 NCMEC computed of what it received;
3. ``POST /fileinfo`` with the file's ``<fileDetails>``, its ``reportId`` and ``fileId``
   put first (``cybertip.complete_file_details``);
4. ``POST /finish`` with the form field ``id``: the report is done.

When anything fails after step 1, ``POST /retract`` cancels the report, so that no half
report stays open at NCMEC, and the error is raised. This client is tested against a
local fake of the API written from the same documentation (tests/refer/fake_cybertip.py),
never against NCMEC itself: send a first report to NCMEC's test environment.

Only the package's own members are sent: its ``cybertip/report.xml``, and each
``media/NNNN-name`` with its ``cybertip/fileDetails-NNNN.xml`` (same number; the
template's MD5 must be the member's, and NCMEC's answer must agree). The standard
library's urllib does the HTTP: one small client, no further dependency.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from vigil.errors import UsageError, VigilError
from vigil.refer.cybertip import complete_file_details

_MEDIA = re.compile(r"^media/(\d{4})-(.+)$")
_TIMEOUT = 120.0


class SubmissionError(VigilError):
    """The CyberTipline API refused a call or could not be reached (the report was retracted)."""


@dataclass
class Submission:
    """What the API answered: the report id and, per uploaded member, its file id."""

    report_id: int
    files: dict[str, str] = field(default_factory=dict)
    finished_files: list[str] = field(default_factory=list)


def read_credentials(path: Path) -> tuple[str, str]:
    """``username:password`` from the first line of a file only its owner may read."""
    try:
        mode = path.stat().st_mode
        line = path.read_text(encoding="utf-8").splitlines()[0] if path.stat().st_size else ""
    except OSError as exc:
        raise UsageError(f"cannot read credentials file {path}: {exc.strerror}") from exc
    if mode & 0o077:
        raise UsageError(f"credentials file {path} is readable by others: chmod 600 it")
    username, sep, password = line.partition(":")
    if not sep or not username or not password:
        raise UsageError(f"credentials file {path}: the first line must be USERNAME:PASSWORD")
    return username, password


def check_url(url: str) -> str:
    """The API's base URL: https, or http only to this machine (a local test service)."""
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or ""
    if parsed.scheme == "https" and host:
        return url.rstrip("/")
    if parsed.scheme == "http" and (host == "localhost" or _loopback(host)):
        return url.rstrip("/")
    raise UsageError(
        f"--submit-to {url!r}: the API is reached over https (http only to 127.0.0.1/localhost)"
    )


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class CyberTiplineClient:
    """The API's calls, each returning its parsed answer or raising SubmissionError."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = check_url(base_url)
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._auth = f"Basic {token}"

    def submit(self, report: bytes) -> int:
        """``POST /submit``: the report id."""
        answer = self._post("/submit", report, "text/xml; charset=utf-8")
        report_id = answer.findtext("reportId") or ""
        if not report_id.isdigit():
            raise SubmissionError(f"/submit answered no report id ({report_id!r})")
        return int(report_id)

    def upload(self, report_id: int, name: str, data: bytes) -> tuple[str, str | None]:
        """``POST /upload``: the file id, and the MD5 the API computed (if it says)."""
        boundary = secrets.token_hex(16)
        safe_name = name.replace('"', "_").replace("\r", "_").replace("\n", "_")
        body = b"".join(
            [
                f'--{boundary}\r\nContent-Disposition: form-data; name="id"\r\n\r\n'.encode(),
                f"{report_id}\r\n".encode(),
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{safe_name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n".encode(),
                data,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        answer = self._post("/upload", body, f"multipart/form-data; boundary={boundary}")
        file_id = answer.findtext("fileId")
        if not file_id:
            raise SubmissionError(f"/upload of {name} answered no file id")
        return file_id, answer.findtext("hash")

    def file_info(self, details: bytes) -> None:
        """``POST /fileinfo`` with a completed ``fileDetails`` document."""
        self._post("/fileinfo", details, "text/xml; charset=utf-8")

    def finish(self, report_id: int) -> list[str]:
        """``POST /finish``: the file ids the API holds for the report."""
        answer = self._post("/finish", _form(report_id), "application/x-www-form-urlencoded")
        return [f.text or "" for f in answer.iter("fileId")]

    def retract(self, report_id: int) -> None:
        """``POST /retract``: cancel the report."""
        self._post("/retract", _form(report_id), "application/x-www-form-urlencoded")

    def _post(self, path: str, body: bytes, content_type: str) -> ET.Element:
        request = urllib.request.Request(
            self.base_url + path,
            data=body,
            method="POST",
            headers={"Authorization": self._auth, "Content-Type": content_type},
        )
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
                text = response.read()
        except urllib.error.HTTPError as exc:
            text = exc.read()
            if not text.strip().startswith(b"<"):
                raise SubmissionError(f"{path}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SubmissionError(f"{path}: cannot reach {self.base_url}: {reason}") from None
        try:
            answer = ET.fromstring(text)
        except ET.ParseError:
            raise SubmissionError(f"{path}: the answer is not XML") from None
        code = (answer.findtext("responseCode") or "").strip()
        if code != "0":
            description = answer.findtext("responseDescription") or "no description"
            raise SubmissionError(f"{path}: response code {code or '?'}: {description}")
        return answer


def _form(report_id: int) -> bytes:
    return urllib.parse.urlencode({"id": str(report_id)}).encode()


def submit_package(members: dict[str, bytes], client: CyberTiplineClient) -> Submission:
    """Send a package's report and files; retract the report if any later call fails."""
    report = members.get("cybertip/report.xml")
    if report is None:
        raise UsageError("the package has no cybertip/report.xml (use --format cybertip-xml)")
    uploads = _uploads(members)
    submission = Submission(client.submit(report))
    try:
        for member, file_name, data, template in uploads:
            file_id, md5 = client.upload(submission.report_id, file_name, data)
            if md5 is not None and md5.lower() != hashlib.md5(data).hexdigest():
                raise SubmissionError(f"/upload of {member}: the API received other bytes")
            client.file_info(complete_file_details(template, submission.report_id, file_id))
            submission.files[member] = file_id
        submission.finished_files = client.finish(submission.report_id)
    except BaseException as exc:
        try:
            client.retract(submission.report_id)
        except SubmissionError as retract_error:
            raise SubmissionError(
                f"{exc}; retracting report {submission.report_id} failed too: {retract_error}"
            ) from exc
        if isinstance(exc, VigilError):
            raise SubmissionError(f"{exc} (report {submission.report_id} retracted)") from exc
        raise
    return submission


def _uploads(members: dict[str, bytes]) -> list[tuple[str, str, bytes, bytes]]:
    """(media member, file name, bytes, fileDetails template), checked before anything is sent."""
    uploads = []
    described = set()
    for name, data in sorted(members.items()):
        match = _MEDIA.match(name)
        if match is None:
            continue
        number, file_name = match.groups()
        details = f"cybertip/fileDetails-{number}.xml"
        template = members.get(details)
        if template is None:
            raise UsageError(f"{name} has no {details}")
        hashes = {
            h.get("hashType"): (h.text or "").lower()
            for h in ET.fromstring(template).findall("originalFileHash")
        }
        if hashes.get("MD5") != hashlib.md5(data).hexdigest():
            raise UsageError(f"{name} is not the file its fileDetails describes (MD5 differs)")
        uploads.append((name, file_name, data, template))
        described.add(details)
    missing = sorted(
        n for n in members if n.startswith("cybertip/fileDetails-") and n not in described
    )
    if missing:
        raise UsageError(
            f"{len(missing)} referred files are not in the package's media (first: "
            f"{missing[0]}; see media/NOT-INCLUDED.txt): the report would lack them"
        )
    if not uploads:
        raise UsageError(
            "the package holds no media: a CyberTipline report of known material carries its "
            "files (add --include-media)"
        )
    return uploads
