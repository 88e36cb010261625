"""Generate the bundled example evidence and example hash set (benign, synthetic).

Everything here is made from a fixed seed: coloured noise "landscapes", shapes and
a short moving-shapes video. Run ``python examples/make_evidence.py`` to rebuild
``examples/evidence/`` and ``examples/hashsets/example-vics.json``; the files are
committed so that the README's main job needs no generation step.
"""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

from vigil.signals.crypto import MultiDigest
from vigil.signals.pdq import pdq_from_rgb

HERE = Path(__file__).resolve().parent
EVIDENCE = HERE / "evidence"
HASHSETS = HERE / "hashsets"
SEED = 20261129


def landscape(rng: np.random.Generator, width: int = 640, height: int = 480) -> Image.Image:
    """A benign picture: 1/f noise coloured like sky and ground, plus a few shapes."""
    spectrum = rng.normal(size=(height, width)) + 1j * rng.normal(size=(height, width))
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    spectrum /= np.maximum(np.hypot(fx, fy), 1.0 / max(width, height)) ** 1.0
    field = np.real(np.fft.ifft2(spectrum))
    field = (field - field.min()) / (np.ptp(field) or 1.0)
    palette = rng.uniform(0, 255, size=(3, 3))
    t = field[..., None]
    rgb = (1 - t) * palette[0] + t * palette[1]
    rgb[: height // 3] = rgb[: height // 3] * 0.5 + palette[2] * 0.5
    image = Image.fromarray(rgb.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.integers(0, width - 80), rng.integers(0, height - 80)
        size = int(rng.integers(30, 120))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.ellipse((x, y, x + size, y + size), fill=colour)
    return image


def video(path: Path, rng: np.random.Generator, seconds: int = 3, fps: int = 25) -> None:
    """A short benign H.264 clip: a ball moving over a coloured background."""
    background = np.asarray(landscape(rng, 320, 240)).copy()
    container = av.open(str(path), "w", format="mp4")
    stream = container.add_stream("libx264", rate=fps)
    stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
    stream.options = {"crf": "23", "preset": "medium", "threads": "1"}
    for i in range(seconds * fps):
        frame = Image.fromarray(background)
        x = int(20 + i * 3)
        ImageDraw.Draw(frame).ellipse((x, 100, x + 40, 140), fill=(250, 240, 20))
        for packet in stream.encode(av.VideoFrame.from_image(frame)):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()


def encode(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def digests(data: bytes) -> dict[str, str]:
    d = MultiDigest()
    d.update(data)
    r = d.result()
    return {"MD5": r.md5.upper(), "SHA1": r.sha1.upper()}


def main() -> None:
    rng = np.random.default_rng(SEED)
    beach, forest, sunset, city, harbour = (landscape(rng) for _ in range(5))
    files: dict[str, bytes] = {
        "holiday/beach.jpg": encode(beach, "JPEG", quality=90),
        "holiday/forest.png": encode(forest, "PNG"),
        "holiday/sunset.webp": encode(sunset, "WEBP", quality=90),
        "holiday/harbour.gif": encode(harbour.quantize(64), "GIF"),
        "documents/notes.txt": b"Shopping list: bread, milk, apples.\n",
    }
    files["misc/IMG_0042.txt"] = encode(city, "JPEG", quality=88)  # a JPEG with a wrong extension
    files["misc/beach (copy).jpg"] = files["holiday/beach.jpg"]  # an exact duplicate
    files["misc/broken.jpg"] = files["holiday/beach.jpg"][:2000]  # truncated: a corrupt file
    inner_zip = io.BytesIO()
    with zipfile.ZipFile(inner_zip, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("photos/city.jpg", files["misc/IMG_0042.txt"])
    outer_tar = io.BytesIO()
    with tarfile.open(fileobj=outer_tar, mode="w") as t:
        info = tarfile.TarInfo("backup/photos.zip")
        info.size, info.mtime = len(inner_zip.getvalue()), 1_767_225_600
        t.addfile(info, io.BytesIO(inner_zip.getvalue()))
    files["backup.tar"] = outer_tar.getvalue()
    for name, data in files.items():
        target = EVIDENCE / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (EVIDENCE / "video").mkdir(exist_ok=True)
    video(EVIDENCE / "video" / "clip.mp4", rng)

    # The example hash set: beach.jpg by MD5, forest.png by PDQ, and a re-encoded,
    # downsized copy of sunset.webp by PDQ (the original must match it as a near duplicate).
    reencoded = Image.open(io.BytesIO(encode(sunset.resize((480, 360)), "JPEG", quality=60)))
    media = [
        {"MediaID": 1, "Category": 1, **digests(files["holiday/beach.jpg"]), "Tags": ["example"]},
        {
            "MediaID": 2,
            "Category": 1,
            **digests(files["holiday/forest.png"]),
            "AlternativeHashes": [
                {
                    "HashName": "PDQ",
                    "HashValue": pdq_from_rgb(np.asarray(forest.convert("RGB"))).hex,
                }
            ],
        },
        {
            "MediaID": 3,
            "Category": 2,
            **digests(encode(reencoded, "JPEG", quality=95)),
            "AlternativeHashes": [
                {
                    "HashName": "PDQ",
                    "HashValue": pdq_from_rgb(np.asarray(reencoded.convert("RGB"))).hex,
                }
            ],
            "Comments": "re-encoded copy of a picture in the example evidence",
        },
    ]
    document = {
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media",
        "value": media,
    }
    HASHSETS.mkdir(exist_ok=True)
    (HASHSETS / "example-vics.json").write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
