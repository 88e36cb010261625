"""Metadata leads: EXIF camera, serial, time and GPS, the embedded thumbnail; hostile input."""

from __future__ import annotations

import hashlib
import io

import av
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.review.evidence import exif_block, jpeg, picture, shapes
from vigil.review.metadata import image_metadata, thumbnail_hashes, video_metadata
from vigil.review.thumbs import Look, blurred


def test_exif_fields_and_the_embedded_thumbnail() -> None:
    thumb = jpeg(shapes(3).resize((160, 120)))
    data = jpeg(
        picture(1, (200, 150)),
        exif_block(
            make="Vigilcam", model="T1", serial="SN-9", taken="2020:02:29 23:59:58",
            gps=(-33.8568, 151.2153), thumbnail=thumb,
        ),
    )  # fmt: skip
    meta = image_metadata(data)
    assert (meta.make, meta.model, meta.serial) == ("Vigilcam", "T1", "SN-9")
    assert meta.taken == "2020-02-29T23:59:58"
    assert abs(meta.latitude + 33.8568) < 1e-3 and abs(meta.longitude - 151.2153) < 1e-3
    assert meta.thumbnail == thumb
    assert meta.camera() == "Vigilcam T1 #SN-9"
    assert "thumbnail" not in meta.summary() and meta.summary()["thumbnail_bytes"] == len(thumb)
    hashes = thumbnail_hashes(thumb)
    assert hashes["md5"] == hashlib.md5(thumb).hexdigest() and len(hashes["pdq"]) == 64


def test_pictures_without_metadata_and_non_pictures_give_nothing() -> None:
    assert image_metadata(jpeg(picture(2, (64, 48)))).summary() == {}
    assert image_metadata(b"not a picture at all").summary() == {}
    assert video_metadata(b"\x00\x00\x00\x18ftypmp42 but nothing else").summary() == {}
    assert thumbnail_hashes(b"\xff\xd8 broken")["md5"]


def test_xmp_fills_what_exif_lacks() -> None:
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:aux="http://ns.adobe.com/exif/1.0/aux/" aux:SerialNumber="XMP-42"'
        b' xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="Editor 3"/>'
        b"</rdf:RDF></x:xmpmeta>"
    )
    out = io.BytesIO()
    picture(3, (64, 48)).save(out, "JPEG", xmp=xmp)
    meta = image_metadata(out.getvalue())
    assert (meta.serial, meta.software) == ("XMP-42", "Editor 3")


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_hostile_exif_never_raises(junk: bytes) -> None:
    base = jpeg(picture(4, (32, 24)), exif_block(make="M", model="N", serial="S", taken="x"))
    start = base.index(b"Exif\x00\x00")
    spoiled = base[: start + 20] + junk + base[start + 20 + len(junk) :]
    image_metadata(spoiled)  # fewer fields, never an exception


def test_video_container_leads_and_the_still_strip() -> None:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        container.metadata["location"] = "+48.8584+002.2945/"
        container.metadata["creation_time"] = "2021-07-04T12:30:00.000000Z"
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(30):
            rgb = np.asarray(picture(i % 3 + 10, (160, 120)))
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data = buffer.getvalue()
    meta = video_metadata(data)
    assert (meta.latitude, meta.longitude) == (48.8584, 2.2945)
    assert meta.taken is not None and meta.taken.startswith("2021-07-04T12:30:00")
    strip = Image.open(io.BytesIO(blurred(data, "video", Look())))
    assert strip.mode == "L" and strip.width > 4 * strip.height  # five stills side by side
