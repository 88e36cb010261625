"""The report's leads section: cameras seen with matched material, positions, timeline.

Taken from the review's stored analysis (``vigil leads`` or ``vigil review`` makes
it); a case never analysed says so instead of analysing now, so that writing a
report never changes the case. Positions are drawn as a plain SVG scatter of
longitude and latitude: no map tiles, nothing fetched, the report stays offline.
"""

from __future__ import annotations

from html import escape
from typing import Any

from vigil.review.leads import case_leads
from vigil.review.service import ReviewSession
from vigil.services.cases import Case, CaseService

WIDTH, HEIGHT, PAD = 620, 320, 30


def leads_context(cases: CaseService, case: Case) -> dict[str, Any] | None:
    """The leads of an analysed case for the template; None if it was never analysed."""
    session = ReviewSession(cases.store, case.name, analyse=False)
    if not session.analysed:
        return None
    leads = case_leads(list(session.media.values()))
    return {
        "cameras": leads.cameras,
        "positions": leads.positions,
        "timeline": leads.timeline,
        "thumbnail_matches": leads.thumbnail_matches,
        "scatter": scatter(leads.positions),
    }


def scatter(positions: list[dict[str, Any]]) -> str:
    """An SVG scatter of positions (matched filled, unknown hollow); empty without any."""
    if not positions:
        return ""
    lons = [float(p["longitude"]) for p in positions]
    lats = [float(p["latitude"]) for p in positions]
    lo_x, hi_x = min(lons), max(lons)
    lo_y, hi_y = min(lats), max(lats)
    span_x = max(hi_x - lo_x, 1e-4)
    span_y = max(hi_y - lo_y, 1e-4)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="scatter" role="img" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}">',
        "<title>Positions (longitude, latitude) from the media's metadata</title>",
        f'<rect x="{PAD}" y="{PAD // 2}" width="{WIDTH - 2 * PAD}" height="{HEIGHT - 2 * PAD}" '
        'fill="none" stroke="#999"/>',
        f'<text x="{PAD}" y="{HEIGHT - 6}" font-size="11">{lo_x:.4f}</text>',
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 6}" font-size="11" text-anchor="end">'
        f"{hi_x:.4f}</text>",
        f'<text x="2" y="{HEIGHT - PAD}" font-size="11">{lo_y:.4f}</text>',
        f'<text x="2" y="{PAD}" font-size="11">{hi_y:.4f}</text>',
    ]
    for p, x, y in zip(positions, lons, lats, strict=True):
        cx = PAD + (x - lo_x) / span_x * (WIDTH - 2 * PAD)
        cy = PAD // 2 + (hi_y - y) / span_y * (HEIGHT - 2 * PAD)
        fill = "#b03a2e" if p["matched"] else "none"
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="{fill}" stroke="#b03a2e">'
            f"<title>{escape(str(p['path']))}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)
