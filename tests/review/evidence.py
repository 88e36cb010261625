"""Benign, generated evidence for the review tests: textured colour pictures with EXIF leads.

``make_evidence(root)`` writes:

- ``a.jpg``: a picture from camera SN-0001 (GPS, original time), listed in the hash set;
- ``sub/a-small.jpg``: ``a.jpg`` scaled down and re-encoded: a near duplicate, unknown;
- ``b.jpg``: another picture from camera SN-0001, unknown (a same-camera lead);
- ``c.jpg``: an unknown picture whose embedded EXIF thumbnail is ``known``, a picture
  the hash set lists by PDQ (a cropped picture that kept its original's thumbnail);
- ``d.png`` and ``e.jpg``: unknown pictures without leads; ``sub/e-small.jpg`` is
  ``e.jpg`` re-encoded, a near duplicate (a group of two unknown media).

The EXIF blocks are built here with ``struct`` (tests only: the product reads them
with Pillow), because Pillow does not write IFD1, where the thumbnail lives.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from vigil.signals.pdq import pdq_from_rgb


def shapes(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """Coloured discs on grey: large structures, whose PDQ survives a thumbnail's scaling."""
    rng = np.random.default_rng(seed)
    w, h = size
    im = Image.new("RGB", size, (128, 128, 128))
    draw = ImageDraw.Draw(im)
    for _ in range(12):
        x, y, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(15, 60))
        draw.ellipse(
            (x - r, y - r, x + r, y + r), fill=tuple(int(v) for v in rng.integers(0, 256, 3))
        )
    return im


def picture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A vivid, detailed picture: colour blocks, stripes and noise (high frequencies)."""
    rng = np.random.default_rng(seed)
    w, h = size
    blocks = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(blocks).resize((w, h), Image.Resampling.NEAREST), np.int16)
    yy, xx = np.mgrid[0:h, 0:w]
    stripes = ((xx // 3 + yy // 5 + seed) % 2 * 90 - 45).astype(np.int16)[..., None]
    noise = rng.integers(-30, 30, (h, w, 3), dtype=np.int16)
    return Image.fromarray(np.clip(base + stripes + noise, 0, 255).astype(np.uint8))


def _rational(value: float) -> bytes:
    return struct.pack("<II", round(value * 10000), 10000)


def exif_block(
    *,
    make: str,
    model: str,
    serial: str | None,
    taken: str,
    gps: tuple[float, float] | None = None,
    thumbnail: bytes | None = None,
) -> bytes:
    """A little-endian TIFF/EXIF block with IFD0, the Exif IFD, GPS and IFD1 (thumbnail)."""
    # Layout: header | IFD0 | Exif IFD | GPS IFD | IFD1 | data area. Offsets from header start.
    data = bytearray()

    def put(blob: bytes) -> int:
        offset = data_start + len(data)
        data.extend(blob)
        if len(data) % 2:
            data.append(0)
        return offset

    def ascii_entry(tag: int, text: str) -> tuple[int, int, int, bytes | int]:
        raw = text.encode() + b"\x00"
        return (tag, 2, len(raw), raw)

    ifd0 = [ascii_entry(0x010F, make), ascii_entry(0x0110, model), (0x8769, 4, 1, 0)]
    exif = [ascii_entry(0x9003, taken)]
    if serial:
        exif.append(ascii_entry(0xA431, serial))
    gps_entries: list[tuple[int, int, int, bytes | int]] = []
    if gps:
        lat, lon = gps
        ifd0.append((0x8825, 4, 1, 0))

        def dms(v: float) -> bytes:
            v = abs(v)
            d = int(v)
            m = int((v - d) * 60)
            s = (v - d - m / 60) * 3600
            return _rational(d) + _rational(m) + _rational(s)

        gps_entries = [
            (0x0001, 2, 2, ("N" if lat >= 0 else "S").encode() + b"\x00"),
            (0x0002, 5, 3, dms(lat)),
            (0x0003, 2, 2, ("E" if lon >= 0 else "W").encode() + b"\x00"),
            (0x0004, 5, 3, dms(lon)),
        ]
    ifd1: list[tuple[int, int, int, bytes | int]] = []
    if thumbnail:
        ifd1 = [(0x0103, 3, 1, 6), (0x0201, 4, 1, 0), (0x0202, 4, 1, len(thumbnail))]

    def size(entries: list) -> int:
        return 2 + 12 * len(entries) + 4

    ifd0.sort(key=lambda e: e[0])
    off_ifd0 = 8
    off_exif = off_ifd0 + size(ifd0)
    off_gps = off_exif + size(exif)
    off_ifd1 = off_gps + (size(gps_entries) if gps_entries else 0)
    data_start = off_ifd1 + (size(ifd1) if ifd1 else 0)
    thumb_offset = put(thumbnail) if thumbnail else 0

    def encode(entries: list, next_ifd: int) -> bytes:
        out = struct.pack("<H", len(entries))
        for tag, typ, count, value in entries:
            if tag == 0x8769:
                value = off_exif
            elif tag == 0x8825:
                value = off_gps
            elif tag == 0x0201:
                value = thumb_offset
            if isinstance(value, bytes):
                if len(value) <= 4:
                    field = value.ljust(4, b"\x00")
                else:
                    field = struct.pack("<I", put(value))
            elif typ == 3:
                field = struct.pack("<HH", value, 0)
            else:
                field = struct.pack("<I", value)
            out += struct.pack("<HHI", tag, typ, count) + field
        return out + struct.pack("<I", next_ifd)

    body = encode(ifd0, off_ifd1 if ifd1 else 0) + encode(exif, 0)
    if gps_entries:
        body += encode(gps_entries, 0)
    if ifd1:
        body += encode(ifd1, 0)
    assert 8 + len(body) == data_start, (8 + len(body), data_start)
    return b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + body + bytes(data)


def jpeg(image: Image.Image, exif: bytes | None = None, quality: int = 90) -> bytes:
    """The image as JPEG bytes, with an EXIF block if given."""
    out = io.BytesIO()
    kwargs = {"exif": exif} if exif else {}
    image.save(out, "JPEG", quality=quality, **kwargs)
    return out.getvalue()


def make_evidence(root: Path) -> dict[str, Path]:
    """Write the evidence and a VICS hash set listing ``a.jpg`` (MD5) and ``known`` (PDQ)."""
    evidence = root / "evidence"
    (evidence / "sub").mkdir(parents=True)
    a = picture(1)
    known = shapes(2)
    thumb_of_known = jpeg(known.resize((160, 120), Image.Resampling.LANCZOS), quality=85)
    files = {
        "a": evidence / "a.jpg",
        "a_small": evidence / "sub" / "a-small.jpg",
        "b": evidence / "b.jpg",
        "c": evidence / "c.jpg",
        "d": evidence / "d.png",
        "e": evidence / "e.jpg",
        "e_small": evidence / "sub" / "e-small.jpg",
    }
    camera = {"make": "Vigilcam", "model": "T1", "serial": "SN-0001"}
    files["a"].write_bytes(
        jpeg(a, exif_block(**camera, taken="2021:07:04 12:30:00", gps=(48.8584, 2.2945)))
    )
    files["a_small"].write_bytes(jpeg(a.resize((480, 360)), quality=70))
    files["b"].write_bytes(
        jpeg(picture(2), exif_block(**camera, taken="2021:07:05 09:00:00", gps=(48.86, 2.30)))
    )
    files["c"].write_bytes(
        jpeg(
            picture(3),
            exif_block(
                make="Othercam", model="X", serial=None, taken="2022:01:01 00:00:00",
                thumbnail=thumb_of_known,
            ),
        )
    )  # fmt: skip
    picture(4).save(files["d"], "PNG")
    files["e"].write_bytes(jpeg(picture(5)))
    files["e_small"].write_bytes(jpeg(picture(5), quality=60))  # re-encoded: a near duplicate
    known_pdq = pdq_from_rgb(np.asarray(known.convert("RGB"))).hex
    hashset = {
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media",
        "value": [
            {
                "MediaID": 1,
                "Category": 1,
                "MD5": hashlib.md5(files["a"].read_bytes()).hexdigest().upper(),
            },
            {
                "MediaID": 2,
                "Category": 1,
                "MD5": "0" * 32,
                "AlternativeHashes": [{"HashName": "PDQ", "HashValue": known_pdq}],
            },
        ],
    }
    files["hashset"] = root / "known-vics.json"
    files["hashset"].write_text(json.dumps(hashset, indent=1))
    return files
