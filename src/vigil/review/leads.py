"""Leads from metadata: which cameras took matched material, where and when media were made.

A camera is identified by its serial number (make and model alone are shared by
millions): media from a camera that also took matched material are the strongest
lead among the unknown media. Positions and original times are listed as the files
state them (EXIF can be edited; a lead is not a finding).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vigil.review.media import ReviewMedium


@dataclass
class CameraLead:
    """One camera (by serial) and the media it took."""

    camera: str
    make: str | None
    model: str | None
    serial: str
    matched: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "camera": self.camera, "make": self.make, "model": self.model,
            "serial": self.serial, "matched": self.matched, "unknown": self.unknown,
        }  # fmt: skip


@dataclass
class Leads:
    """The leads of a case."""

    cameras: list[CameraLead]
    positions: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    thumbnail_matches: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``vigil leads --json``)."""
        return {
            "cameras": [c.to_json() for c in self.cameras],
            "positions": self.positions,
            "timeline": self.timeline,
            "thumbnail_matches": self.thumbnail_matches,
        }


def case_leads(media: list[ReviewMedium], *, all_cameras: bool = False) -> Leads:
    """Leads of a case's media (analysed: ``meta`` filled by the review's analysis).

    Cameras are those seen with matched material, matched first and most; with
    ``all_cameras`` every camera with a serial is listed.
    """
    cameras: dict[str, CameraLead] = {}
    positions: list[dict[str, Any]] = []
    timeline: list[dict[str, Any]] = []
    thumbs: list[dict[str, Any]] = []
    for medium in media:
        exif = medium.meta.get("exif") or {}
        path = medium.first.path
        if exif.get("serial"):
            key = medium.camera() or ""
            lead = cameras.get(key)
            if lead is None:
                name = " ".join(p for p in (exif.get("make"), exif.get("model")) if p) or "camera"
                lead = cameras[key] = CameraLead(
                    f"{name} #{exif['serial']}", exif.get("make"), exif.get("model"),
                    str(exif["serial"]),
                )  # fmt: skip
            (lead.matched if medium.matched else lead.unknown).append(path)
        if exif.get("latitude") is not None and exif.get("longitude") is not None:
            positions.append({
                "path": path, "latitude": exif["latitude"], "longitude": exif["longitude"],
                "matched": medium.matched,
            })  # fmt: skip
        if exif.get("taken"):
            timeline.append({"taken": exif["taken"], "path": path, "matched": medium.matched})
        if medium.meta.get("thumbnail_match"):
            thumbs.append({"path": path, "matches": medium.meta["thumbnail_match"]})
    listed = [c for c in cameras.values() if all_cameras or c.matched]
    listed.sort(key=lambda c: (-len(c.matched), -len(c.unknown), c.camera))
    timeline.sort(key=lambda t: (str(t["taken"]), t["path"]))
    return Leads(listed, positions, timeline, thumbs)
