"""Build a referral package: the referral, the hashes, a VICS file, signed as a whole.

Members: ``referral.json``, ``hashes.csv``, ``case.vics.json``, the schema, optionally
the CyberTipline XML and, only when asked, the media. The package carries hashes and
facts, never content, unless the examiner asks for the media explicitly
(``include_media``). The referral's fields follow NCMEC's CyberTipline report; its
schema ships as ``referral.schema.json`` (docs/referral.md).
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image

from vigil import __version__
from vigil.refer import cybertip
from vigil.report.case_export import CaseMedia, write_csv, write_vics
from vigil.store.cases import Case

SCHEMA_ID = "vigil-referral/1"
SCHEMA_FILE = Path(__file__).with_name("referral.schema.json")
_MAX_EXIF_TAGS = 64


def exif_details(path: str) -> dict[str, str]:
    """Readable EXIF tags of an image file on disk (values as text), or {}."""
    try:
        with Image.open(path) as image:
            exif = image.getexif()
            tags: dict[str, str] = {}
            for tag, value in list(exif.items())[:_MAX_EXIF_TAGS]:
                name = ExifTags.TAGS.get(tag, f"Tag{tag:#06x}")
                text = value.hex() if isinstance(value, bytes) else str(value)
                tags[name] = text[:200]
            return tags
    except Exception:
        return {}


def referral_files(media: list[CaseMedia]) -> list[dict[str, Any]]:
    """The referred files: name, location, hashes, category, relevance, EXIF details."""
    files = []
    for m in media:
        item = m.first
        on_disk = item.container is None and item.kind == "file"
        matched = [p for p in m.places if p.matches]
        category_profile = next(
            (x.get("category_profile") for p in matched for x in p.matches if x.get("category")),
            None,
        )
        files.append(
            {
                "name": item.path.rsplit("/", 1)[-1],
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
                "category_profile": category_profile if m.category else None,
                "relevance": "Reported",
                "matches": [x for p in matched for x in p.matches][:20],
                "exif": exif_details(item.path)
                if on_disk and (item.type or "").startswith("image/")
                else {},
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
            members[f"cybertip/fileDetails-{n:04d}.xml"] = cybertip.file_details_xml(file)
    if include_media:
        for n, m in enumerate(media, start=1):
            item = m.first
            if item.container is None and item.kind == "file":
                with open(item.path, "rb") as f:  # a file on disk; members are left out
                    members[f"media/{n:04d}-{item.path.rsplit('/', 1)[-1]}"] = f.read()
    return members
