"""A case's media as hash-set entries: for VICS and CSV exports and referral packages.

One entry per distinct media item (by SHA-256; the first found represents its
duplicates, whose file names and paths are listed too). The category is taken from the
item's matches under the export's category profile (VICS US by default); a category
from another profile is never copied across (mapping profiles is configuration, see
``vigil.hashsets.categories``), so such media are exported uncategorised. The NCMEC
industry classification (A1..B2) of a CyberTipline ``fileDetails`` is kept apart, in
its own field, and only ever taken from matches in the ``ncmec-industry`` profile.

VICS goes out in the hash-set shape by default (a top-level ``value[]`` of Media
records, which IPED, Griffeye and Vigil all read); the Case shape, one Case record
holding ``Media[]``, only when asked for (``shape="case"``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from vigil import __version__
from vigil.hashsets.categories import NCMEC_INDUSTRY
from vigil.hashsets.formats.vics import VicsFormat
from vigil.hashsets.model import Entry, HashSetInfo, HashSetKind
from vigil.media.names import visible
from vigil.media.sniff import media_kind
from vigil.records import ScanItem
from vigil.report.when import iso, raw
from vigil.services.cases import Case

DEFAULT_PROFILE = "vics-us"
#: VICS shapes: the hash-set shape every receiver reads, and the Case record.
VICS_SHAPES = ("media", "case")


@dataclass
class CaseMedia:
    """One distinct media item of a case and every place it was found.

    ``category`` is under ``profile`` (the export's); ``industry_classification`` is
    the NCMEC grade (A1..B2) from a match in the ``ncmec-industry`` profile, if any.
    """

    first: ScanItem
    places: list[ScanItem] = field(default_factory=list)
    category: str | None = None
    profile: str = DEFAULT_PROFILE
    industry_classification: str | None = None

    def entry(self) -> Entry:
        """The item as a hash-set entry, with its files as VICS MediaFiles."""
        item = self.first
        files = [
            {
                "FileName": p.path.rsplit("/", 1)[-1],
                "FilePath": p.path,
                **_written(p.mtime),
            }
            for p in self.places
        ]
        return Entry(
            md5=item.md5,
            sha1=item.sha1,
            sha256=item.sha256,
            pdq=item.pdq if item.pdq and (item.pdq_quality or 0) > 0 else None,
            category=self.category,
            media_size=item.size,
            file_names=tuple(dict.fromkeys(p.path.rsplit("/", 1)[-1] for p in self.places)),
            extra={"MediaFiles": files, "MimeType": item.type},
        )


def _written(timestamp: float | None) -> dict[str, str]:
    """VICS ``Written``: the date; a time outside the calendar is kept raw (``WrittenRaw``)."""
    if timestamp is None:
        return {}
    written = iso(timestamp)
    return {"Written": written} if written is not None else {"WrittenRaw": raw(timestamp)}


def case_media(
    items: Iterable[ScanItem],
    *,
    profile: str = DEFAULT_PROFILE,
    categories: set[str] | None = None,
    matched_only: bool = False,
) -> list[CaseMedia]:
    """Distinct media items of a case, in walk order, with their category under ``profile``."""
    media: dict[str, CaseMedia] = {}
    for item in items:
        if item.error or not item.sha256 or media_kind(item.type or "") is None:
            continue
        found = media.get(item.sha256)
        if found is None:
            found = media[item.sha256] = CaseMedia(item, profile=profile)
        found.places.append(item)
        if found.category is None:
            found.category = _category_in(item, profile)
        if found.industry_classification is None:
            found.industry_classification = _category_in(item, NCMEC_INDUSTRY)
    out = list(media.values())
    if matched_only:
        out = [m for m in out if any(p.matches for p in m.places)]
    if categories is not None:
        out = [m for m in out if m.category in categories]
    return out


def _category_in(item: ScanItem, profile: str) -> str | None:
    """The category of the item's first match graded in ``profile``."""
    return next(
        (
            m["category"]
            for m in item.matches
            if m.get("category") is not None and m.get("category_profile") == profile
        ),
        None,
    )


def case_info(case: Case, profile: str = DEFAULT_PROFILE) -> HashSetInfo:
    """The hash-set header of a case export, with the fields of its VICS Case record."""
    return HashSetInfo(
        name=case.name,
        kind=HashSetKind.alert,
        category_profile=profile,
        attributes={
            "vics_case": {
                "CaseNumber": case.name,
                "ContactName": case.examiner or "",
                "SourceApplicationName": "Vigil",
                "SourceApplicationVersion": __version__,
            }
        },
    )


def write_vics(
    media: list[CaseMedia],
    case: Case,
    out: IO[bytes],
    profile: str = DEFAULT_PROFILE,
    *,
    shape: str = "media",
) -> int:
    """Write the media as VICS 2.0 (hash-set shape, or a Case record); return how many."""
    info = case_info(case, profile)
    return VicsFormat().write((m.entry() for m in media), out, info, shape=shape)


def uncategorised(media: list[CaseMedia]) -> int:
    """How many media have no category under the export's profile (IPED skips those)."""
    return sum(1 for m in media if m.category is None)


CSV_FIELDS = ("md5", "sha1", "sha256", "pdq", "category", "size", "type", "paths")


def csv_rows(media: list[CaseMedia]) -> Iterator[dict[str, Any]]:
    """One CSV row per media item."""
    for m in media:
        yield {
            "md5": m.first.md5,
            "sha1": m.first.sha1,
            "sha256": m.first.sha256,
            "pdq": m.first.pdq,
            "category": m.category or "",
            "size": m.first.size,
            "type": m.first.type,
            "paths": " | ".join(p.path for p in m.places),
        }


#: What a spreadsheet takes for the start of a formula (OWASP's CSV injection list).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    r"""A value as a CSV cell a spreadsheet shows as text and a person reads truly.

    Text gets its bidi and control characters escaped visibly (``\u202e``), and a
    leading ``= + - @``, tab or carriage return is neutralised with an apostrophe, so
    the cell is never taken for a formula. None is empty; numbers pass as they are.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    text = visible(value)
    return "'" + text if value.startswith(_FORMULA_STARTS) else text


def write_csv(media: list[CaseMedia], out: IO[bytes]) -> int:
    """Write the media as CSV (cells through ``csv_cell``); return how many rows."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(CSV_FIELDS))
    writer.writeheader()
    count = 0
    for row in csv_rows(media):
        writer.writerow({name: csv_cell(value) for name, value in row.items()})
        count += 1
    out.write(text.getvalue().encode("utf-8"))
    return count
