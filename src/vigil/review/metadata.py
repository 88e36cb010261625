"""Metadata leads of one medium: camera, lens, software, original time, position, EXIF thumbnail.

Read with kept libraries, never by walking TIFF structures here: Pillow's EXIF reader
(the main IFD, the Exif and GPS sub-IFDs and IFD1, where the embedded thumbnail's
offset and length are), XMP packets through the standard XML parser, and PyAV's view
of a video container's tags (QuickTime/MP4 ``make``, ``model``, ``location``,
``creation_time``). The embedded thumbnail is the JPEG that a camera writes beside
the picture; a cropped or edited copy often keeps the original's, so it is hashed
(MD5 and PDQ) and matched like any item (``vigil.review.analysis``).

Every reader is defensive: hostile or broken metadata gives fewer fields, never an
exception (the analysis of a case goes on).
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import asdict, dataclass
from typing import Any
from xml.etree import ElementTree

from PIL import ExifTags, Image

from vigil.media.images import decode_image
from vigil.signals.pdq import pdq_from_rgb

#: The EXIF thumbnail is small; anything bigger than this is not a thumbnail.
MAX_THUMBNAIL_BYTES = 256 * 1024

_XMP_FIELDS = {
    "Make": "make",
    "Model": "model",
    "SerialNumber": "serial",
    "BodySerialNumber": "serial",
    "LensModel": "lens",
    "Lens": "lens",
    "CreatorTool": "software",
    "DateTimeOriginal": "taken",
    "CreateDate": "taken",
}


@dataclass
class Metadata:
    """The leads of one medium (None where the medium does not say)."""

    make: str | None = None
    model: str | None = None
    serial: str | None = None
    lens: str | None = None
    lens_serial: str | None = None
    software: str | None = None
    taken: str | None = None  # original date and time, ISO 8601 as far as the file says
    latitude: float | None = None
    longitude: float | None = None
    thumbnail: bytes | None = None

    def camera(self) -> str | None:
        """The camera's identity for leads: make, model and serial (the serial is the key)."""
        if not self.serial:
            return None
        return " ".join(p for p in (self.make, self.model, f"#{self.serial}") if p)

    def summary(self) -> dict[str, Any]:
        """The JSON summary kept per medium (``exif`` in results), without the thumbnail."""
        out = {k: v for k, v in asdict(self).items() if k != "thumbnail" and v is not None}
        if self.thumbnail is not None:
            out["thumbnail_bytes"] = len(self.thumbnail)
        return out


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).replace("\x00", "").strip()
    return text[:200] or None


def _exif_time(value: Any) -> str | None:
    """``2021:07:04 12:30:00`` -> ``2021-07-04T12:30:00`` (kept as written if unusual)."""
    text = _text(value)
    if text is None:
        return None
    found = re.fullmatch(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}:\d{2}:\d{2})", text)
    return f"{found[1]}-{found[2]}-{found[3]}T{found[4]}" if found else text


def _degrees(value: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(v) for v in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = d + m / 60 + s / 3600
    if _text(ref) in ("S", "W"):
        result = -result
    return round(result, 6)


def image_metadata(data: bytes) -> Metadata:
    """EXIF and XMP leads of an image held in memory (empty Metadata if it has none)."""
    meta = Metadata()
    try:
        with Image.open(io.BytesIO(data)) as im:
            exif = im.getexif()
            raw = im.info.get("exif")
            xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
            _from_exif(meta, exif, raw)
    except Exception:  # not an image Pillow reads, or metadata it refuses
        return meta
    if xmp:
        _from_xmp(meta, xmp)
    return meta


def _from_exif(meta: Metadata, exif: Image.Exif, raw: bytes | None) -> None:
    base = ExifTags.Base
    meta.make = _text(exif.get(base.Make))
    meta.model = _text(exif.get(base.Model))
    meta.software = _text(exif.get(base.Software))
    taken = exif.get(base.DateTime)
    try:
        sub = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception:
        sub = {}
    meta.taken = _exif_time(
        sub.get(base.DateTimeOriginal) or sub.get(base.DateTimeDigitized) or taken
    )
    meta.serial = _text(sub.get(base.BodySerialNumber))
    meta.lens = _text(sub.get(base.LensModel))
    meta.lens_serial = _text(sub.get(base.LensSerialNumber))
    try:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:
        gps = {}
    if gps:
        tags = ExifTags.GPS
        meta.latitude = _degrees(gps.get(tags.GPSLatitude), gps.get(tags.GPSLatitudeRef))
        meta.longitude = _degrees(gps.get(tags.GPSLongitude), gps.get(tags.GPSLongitudeRef))
    meta.thumbnail = _thumbnail(exif, raw)


def _thumbnail(exif: Image.Exif, raw: bytes | None) -> bytes | None:
    """The JPEG in IFD1, cut from the EXIF block at the offset Pillow read for it."""
    if not raw:
        return None
    try:
        ifd1 = exif.get_ifd(ExifTags.IFD.IFD1)
    except Exception:
        return None
    offset = ifd1.get(ExifTags.Base.JpegIFOffset)
    length = ifd1.get(ExifTags.Base.JpegIFByteCount)
    if not isinstance(offset, int) or not isinstance(length, int):
        return None
    if not 0 < length <= MAX_THUMBNAIL_BYTES:
        return None
    start = 6 if raw.startswith(b"Exif\x00\x00") else 0  # offsets count from the TIFF header
    blob = raw[start + offset : start + offset + length]
    return blob if len(blob) == length and blob.startswith(b"\xff\xd8") else None


def _from_xmp(meta: Metadata, xmp: bytes | str) -> None:
    """Fill what EXIF left empty from an XMP packet (attributes or elements, any namespace)."""
    text = xmp.encode("utf-8", "replace") if isinstance(xmp, str) else xmp
    if len(text) > 1 << 20 or b"<!ENTITY" in text:  # no entity expansion, no huge packets
        return
    try:
        root = ElementTree.fromstring(text.strip(b"\x00 \r\n\t"))
    except ElementTree.ParseError:
        return
    found: dict[str, str] = {}
    for element in root.iter():
        pairs = list(element.attrib.items())
        if element.text and element.text.strip():
            pairs.append((element.tag, element.text))
        for key, value in pairs:
            local = key.rsplit("}", 1)[-1]
            name = _XMP_FIELDS.get(local)
            if name and name not in found and _text(value):
                found[name] = str(_text(value))
    for name, value in found.items():
        if getattr(meta, name) is None:
            setattr(meta, name, _exif_time(value) if name == "taken" else value)


_ISO6709 = re.compile(r"([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)")


def video_metadata(data: bytes) -> Metadata:
    """Container leads of a video: make, model, software, creation time, ISO 6709 position."""
    meta = Metadata()
    try:
        import av

        with av.open(io.BytesIO(data), mode="r") as container:
            tags: dict[str, str] = {}
            for source in [container.metadata, *(s.metadata for s in container.streams)]:
                for key, value in source.items():
                    tags.setdefault(key.lower(), value)
    except Exception:  # not a container PyAV reads
        return meta
    meta.make = _text(tags.get("com.apple.quicktime.make") or tags.get("make"))
    meta.model = _text(tags.get("com.apple.quicktime.model") or tags.get("model"))
    meta.serial = _text(tags.get("com.apple.quicktime.camera.identifier") or tags.get("serial"))
    meta.software = _text(tags.get("com.apple.quicktime.software") or tags.get("encoder"))
    meta.taken = _text(tags.get("com.apple.quicktime.creationdate") or tags.get("creation_time"))
    where = tags.get("com.apple.quicktime.location.iso6709") or tags.get("location")
    if where:
        found = _ISO6709.match(where)
        if found:
            meta.latitude, meta.longitude = float(found[1]), float(found[2])
    return meta


def thumbnail_hashes(thumbnail: bytes) -> dict[str, Any]:
    """MD5 and PDQ (with quality) of an embedded thumbnail; PDQ absent if it does not decode."""
    out: dict[str, Any] = {"md5": hashlib.md5(thumbnail).hexdigest()}
    try:
        decoded = decode_image(thumbnail)
    except Exception:  # a broken thumbnail still has its MD5
        return out
    pdq = pdq_from_rgb(decoded.rgb)
    if pdq.quality > 0:
        out["pdq"], out["pdq_quality"] = pdq.hex, pdq.quality
    return out
