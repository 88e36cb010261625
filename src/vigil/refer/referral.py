"""Build a referral package: the referral, the hashes, a VICS file, signed as a whole.

Members: ``referral.json``, ``hashes.csv``, ``case.vics.json``, the schema, optionally
the CyberTipline XML and, only when asked, the media. The package carries hashes and
facts, never content, unless the examiner asks for the media explicitly
(``include_media``). The referral's fields follow NCMEC's CyberTipline report; its
schema ships as ``referral.schema.json`` (docs/referral.md). Media and EXIF are re-read
through each item's locator, so archive members are included like files on disk.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image

from vigil import __version__
from vigil.errors import MediaError, VigilError
from vigil.media.sources.registry import locator_of, read_locator
from vigil.records import ScanItem
from vigil.refer import cybertip
from vigil.report.case_export import CaseMedia, write_csv, write_vics
from vigil.services.cases import Case

SCHEMA_ID = "vigil-referral/1"
SCHEMA_FILE = Path(__file__).with_name("referral.schema.json")
_MAX_EXIF_TAGS = 64


def exif_details(data: bytes) -> dict[str, str]:
    """Readable EXIF tags of an image's content (values as text), or {}."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            exif = image.getexif()
            tags: dict[str, str] = {}
            for tag, value in list(exif.items())[:_MAX_EXIF_TAGS]:
                name = ExifTags.TAGS.get(tag, f"Tag{tag:#06x}")
                text = value.hex() if isinstance(value, bytes) else str(value)
                tags[name] = text[:200]
            return tags
    except Exception:  # hostile or unreadable content: no EXIF, the referral goes on
        return {}


def item_content(item: ScanItem) -> bytes:
    """An item's content, re-read through its locator (archive members included).

    Read-only at the root, names that are not UTF-8 by their real bytes; MediaError
    (a VigilError) when the item cannot be read any more.
    """
    locator = locator_of(item.path, item.source, item.locator)
    if locator is None or item.kind != "file":
        raise MediaError(f"no content to read for {item.path}")
    return read_locator(locator)


def _exif_of(item: ScanItem) -> dict[str, str]:
    if not (item.type or "").startswith("image/"):
        return {}
    try:
        return exif_details(item_content(item))
    except VigilError:
        return {}


def referral_files(media: list[CaseMedia]) -> list[dict[str, Any]]:
    """The referred files: name, location, hashes, category, relevance, EXIF details."""
    files = []
    for m in media:
        item = m.first
        matched = [p for p in m.places if p.matches]
        files.append(
            {
                "name": _file_name(item.path),
                "location": item.path,
                "other_locations": [p.path for p in m.places[1:]],
                "size": item.size,
                "type": item.type,
                "hashes": {
                    "md5": item.md5,
                    "sha1": item.sha1,
                    "sha256": item.sha256,
                    "pdq": item.pdq,
                },
                "category": m.category,
                "category_profile": m.profile if m.category else None,
                "industry_classification": m.industry_classification,
                "relevance": "Reported",
                "matches": [x for p in matched for x in p.matches][:20],
                "exif": _exif_of(item),
            }
        )
    return files


def build_referral(
    case: Case, media: list[CaseMedia], facts: dict[str, Any], to: str, *, include_media: bool
) -> dict[str, Any]:
    """The referral document (see referral.schema.json)."""
    return {
        "schema": SCHEMA_ID,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "to": to,
        "generator": {"name": "Vigil", "version": __version__},
        "case": {"name": case.name, "examiner": case.examiner},
        "incident": facts.get("incident", {}),
        "reporter": facts.get("reporter"),
        "law_enforcement": facts.get("law_enforcement"),
        "persons_reported": facts.get("persons", []),
        "internet_details": facts.get("internet", []),
        "additional_info": facts.get("additional_info"),
        "media_included": include_media,
        "files": referral_files(media),
    }


def package_members(
    case: Case,
    media: list[CaseMedia],
    facts: dict[str, Any],
    to: str,
    *,
    include_media: bool,
    cybertip_xml: bool,
    profile: str,
) -> dict[str, bytes]:
    """Every member of the package, by name."""
    referral = build_referral(case, media, facts, to, include_media=include_media)
    members = {
        "referral.json": json.dumps(referral, indent=2, ensure_ascii=False, default=str).encode()
    }
    csv_buffer = io.BytesIO()
    write_csv(media, csv_buffer)
    members["hashes.csv"] = csv_buffer.getvalue()
    vics = io.BytesIO()
    write_vics(media, case, vics, profile)
    members["case.vics.json"] = vics.getvalue()
    members["referral.schema.json"] = SCHEMA_FILE.read_bytes()
    if cybertip_xml:
        members["cybertip/report.xml"] = cybertip.report_xml(facts)
        for n, file in enumerate(referral["files"], start=1):
            members[f"cybertip/fileDetails-{n:04d}.xml"] = cybertip.file_details_xml(file, facts)
    if include_media:
        missing = []
        for n, m in enumerate(media, start=1):
            item = m.first
            try:
                members[f"media/{n:04d}-{_file_name(item.path)}"] = item_content(item)
            except VigilError as exc:
                missing.append(f"{item.path}: {exc}")
        if missing:
            members["media/NOT-INCLUDED.txt"] = ("\n".join(missing) + "\n").encode()
    return members


def _file_name(path: str) -> str:
    """The last name of a display path (``a.zip!/x/b.jpg`` -> ``b.jpg``)."""
    return path.rsplit("/", 1)[-1]
