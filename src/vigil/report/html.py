"""The case report: one self-contained HTML file (and, on request, a PDF of it).

Nothing in it is fetched from anywhere (inline CSS, inline SVG charts, a Content
Security Policy that forbids every network source), so it opens the same on an
air-gapped workstation. It holds hashes and metadata; with ``thumbnails``, matched
images (on disk or inside archives, re-read by their locators) appear as small
thumbnails that are blurred and turned grey in their pixels (not by CSS alone), so
the file itself never holds a clear picture. Rendered with Jinja2 (autoescaped); the
PDF comes from the same HTML through WeasyPrint.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from PIL import Image, ImageFilter, ImageOps

from vigil import __version__
from vigil.audit import head, verify_chain
from vigil.crawl.takedown import takedown_context
from vigil.fsutil import atomic_write
from vigil.media.images import DEFAULT_MAX_PIXELS
from vigil.media.names import visible
from vigil.media.sniff import media_kind
from vigil.media.sources.registry import locator_of, read_locator
from vigil.records import ScanItem
from vigil.report.charts import bar_chart, timeline
from vigil.report.leads import leads_context
from vigil.report.when import shown
from vigil.services.cases import Case, CaseService

THUMBNAIL_SIDE = 128


@dataclass
class MatchedRow:
    """A matched item as the report shows it."""

    item: ScanItem
    matches: list[dict[str, Any]]
    modified: str
    thumbnail: str | None = None


def _when(timestamp: float | None) -> str:
    """A date for people; a time outside the calendar is shown raw, marked as such."""
    return shown(timestamp)


def blurred_thumbnail(item: ScanItem) -> str | None:
    """A small, blurred, greyscale PNG of an image item, as a data URI (None if unreadable).

    The item is re-read through its locator (``vigil.media.sources``): read-only, archive
    members included, names that are not UTF-8 by their real bytes. Images declaring
    more pixels than hashing accepts are not decoded.
    """
    try:
        locator = locator_of(item.path, item.source, item.locator)
        if locator is None:
            return None
        data = read_locator(locator)
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > DEFAULT_MAX_PIXELS:
                return None
            image.draft("RGB", (THUMBNAIL_SIDE * 2, THUMBNAIL_SIDE * 2))
            image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            grey = ImageOps.grayscale(image.convert("RGB")).filter(ImageFilter.GaussianBlur(6))
            buffer = io.BytesIO()
            grey.save(buffer, "PNG")
    except Exception:  # an unreadable or hostile item gets no thumbnail, the report goes on
        return None
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def report_context(cases: CaseService, case: Case, *, thumbnails: bool = False) -> dict[str, Any]:
    """Everything the template shows, from the case in the store."""
    items = list(cases.items(case))
    matched: list[MatchedRow] = []
    by_category: Counter[str] = Counter()
    by_set: Counter[str] = Counter()
    types: Counter[str] = Counter()
    groups: dict[str, list[ScanItem]] = {}
    errors = [i for i in items if i.error]
    for item in items:
        if item.kind == "file" and item.type:
            types[item.type] += 1
        if item.sha256 and item.kind == "file" and not item.error:
            groups.setdefault(item.sha256, []).append(item)
        if item.matches:
            row = MatchedRow(item, item.matches, _when(item.mtime))
            if thumbnails and media_kind(item.type or "") == "image":
                row.thumbnail = blurred_thumbnail(item)
            matched.append(row)
            for category in {str(m.get("category") or "uncategorised") for m in item.matches}:
                by_category[category] += 1
            for name in {m["hashset"] for m in item.matches}:
                by_set[name] += 1
    files = [i for i in items if i.kind == "file" and i.md5]
    media = [i for i in files if media_kind(i.type or "")]
    duplicates = [
        {"sha256": sha, "first": group[0].path, "copies": [g.path for g in group[1:]]}
        for sha, group in groups.items()
        if len(group) > 1
    ]
    stats = [
        ("items", f"{len(items):,}"),
        ("files (incl. archive members)", f"{len(files):,}"),
        ("bytes", f"{sum(i.size or 0 for i in files):,}"),
        ("media", f"{len(media):,}"),
        ("matched items", f"{len(matched):,}"),
        ("known files (ignore sets)", f"{sum(i.known for i in items):,}"),
        ("unknown media", f"{sum(1 for i in media if not i.matches and not i.known):,}"),
        ("duplicate copies", f"{sum(len(d['copies']) for d in duplicates):,}"),
        ("errors: items not examined", f"{len(errors):,}"),
    ]
    charts = "".join(
        [
            bar_chart("Matched items by category", by_category),
            bar_chart("Matched items by hash set", by_set),
            bar_chart("File types", types),
            timeline("Files by modification month", [i.mtime for i in files if i.mtime]),
        ]
    )
    log = cases.audit_log(case)
    return {
        "case": case,
        "version": __version__,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "evidence": _evidence(case, items),
        "settings": case.settings,
        "stats": stats,
        "charts": charts,
        "matched": matched,
        "takedown": takedown_context(cases.store, case.id),
        "duplicates": duplicates,
        "leads": leads_context(cases, case),
        "errors": errors,
        "thumbnails": thumbnails,
        "audit": log,
        "audit_head": head(log),
        "audit_ok": not verify_chain(log),
        "signed_head": cases.last_signed_head(case),
    }


def _evidence(case: Case, items: list[ScanItem]) -> list[dict[str, Any]]:
    roots = case.settings.get("evidence", [])
    out = []
    for root in roots:
        inside = [
            i
            for i in items
            if i.depth == 0 and (i.path == root or i.path.startswith(root.rstrip("/") + "/"))
        ]
        single = next((i for i in inside if i.path == root), None)
        out.append(
            {
                "path": root,
                "files": len(inside),
                "bytes": sum(i.size or 0 for i in inside if i.kind == "file"),
                "sha256": single.sha256 if single else None,
            }
        )
    return out


def _visible(value: Any) -> Any:
    r"""Every text shown goes out with bidi and control characters escaped (``\u202e``).

    So that a name cannot make the report read otherwise than the evidence is (a
    right-to-left override turning ``gpj.exe`` into ``exe.jpg``). Markup made by
    the report itself (the charts) passes as it is.
    """
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value)
    return value


def render_html(context: dict[str, Any]) -> str:
    """The report as one HTML document."""
    env = Environment(
        loader=PackageLoader("vigil.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        finalize=_visible,
    )
    return env.get_template("report.html.j2").render(**context)


def write_report(
    cases: CaseService, case: Case, out: Path, *, pdf: bool, thumbnails: bool
) -> list[Path]:
    """Write report.html (and report.pdf) into ``out``, atomically; return the files."""
    html = render_html(report_context(cases, case, thumbnails=thumbnails))
    out.mkdir(parents=True, exist_ok=True)
    written = [_atomic(out / "report.html", html.encode("utf-8"))]
    if pdf:
        from weasyprint import HTML

        written.append(_atomic(out / "report.pdf", HTML(string=html).write_pdf()))
    return written


def _atomic(path: Path, data: bytes) -> Path:
    return atomic_write(path, data)  # private (0600), as reports have always been
