"""Hashing whole files into records: digests, perceptual hashes, per-file errors."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import av
import numpy as np
import pytest

from tests.factory import image_bytes, picture, video
from tests.reference import pdqhash_hex
from vigil.media.images import decode_image
from vigil.signals.filehash import HashOptions, hash_file


def test_image_record(tmp_path: Path) -> None:
    data = image_bytes("PNG", picture(200, 150))
    path = tmp_path / "picture.dat"  # the name says nothing: content decides
    path.write_bytes(data)
    r = hash_file(path)
    assert r.error is None
    assert r.type == "image/png"
    assert r.size == len(data)
    assert r.md5 == hashlib.md5(data).hexdigest()
    assert r.sha1 == hashlib.sha1(data).hexdigest()
    assert r.sha256 == hashlib.sha256(data).hexdigest()
    assert (r.pdq, r.pdq_quality) == pdqhash_hex(decode_image(data).rgb)
    assert (r.width, r.height, r.frames, r.pdq_scale) == (200, 150, 1, 1)
    assert r.vpdq is None and r.pdq_dihedral is None
    assert set(r.to_json()) >= {
        "path",
        "type",
        "size",
        "md5",
        "sha1",
        "sha256",
        "pdq",
        "pdq_quality",
        "vpdq",
        "error",
    }


def test_dihedral_option(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    path.write_bytes(image_bytes("JPEG"))
    r = hash_file(path, HashOptions(dihedral=True))
    assert r.pdq_dihedral is not None and len(r.pdq_dihedral) == 8
    assert r.pdq_dihedral["original"] == r.pdq


def test_video_record(tmp_path: Path) -> None:
    path = video(tmp_path / "clip.bin", seconds=3, fps=10)
    r = hash_file(path)
    assert r.error is None and r.type == "video/mp4"
    assert r.vpdq is not None and [f["frame"] for f in r.vpdq] == [0, 10, 20]
    assert [f["timestamp"] for f in r.vpdq] == [0.0, 1.0, 2.0]
    assert all(len(f["pdq"]) == 64 and f["quality"] >= 50 for f in r.vpdq)
    assert r.pdq is None


def test_other_files_get_digests_only(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("not a picture, whatever the name says\n")
    r = hash_file(path)
    assert (r.type, r.error, r.pdq) == ("text/plain", None, None)
    assert r.md5 is not None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file (0 bytes)"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 100, "cannot"),
        (
            b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00isomavc1" + b"\xde\xad" * 500,
            "cannot open video container",
        ),
    ],
)
def test_bad_files_get_specific_errors_and_keep_digests(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad"
    path.write_bytes(content)
    r = hash_file(path)
    assert r.error is not None and message in r.error
    assert r.sha256 == hashlib.sha256(content).hexdigest()


def test_truncated_image(tmp_path: Path) -> None:
    data = image_bytes("JPEG", picture(640, 480))
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[:5000])
    r = hash_file(path)
    assert r.error is not None
    assert r.error.startswith("cannot decode JPEG image: image file is truncated")
    assert r.pdq is None and r.md5 is not None


def test_truncated_video_keeps_the_frames_before_the_cut(tmp_path: Path) -> None:
    full = video(tmp_path / "full.ts", container="mpegts", seconds=4, fps=10)
    cut = tmp_path / "cut.ts"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 6 // 10])
    r = hash_file(cut)
    assert r.error is None, r.error
    assert r.vpdq is not None and 1 <= len(r.vpdq) < 4


def test_audio_only_container_has_no_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "sound.mp4"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=8000)
        stream.layout = "mono"
        for i in range(10):
            silence = np.zeros((1, 1024), dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(silence, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 8000, i * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    r = hash_file(path)
    assert (r.type, r.error) == ("video/mp4", "container has no video stream")


def test_video_bomb(tmp_path: Path) -> None:
    path = video(tmp_path / "big.mp4", seconds=1, width=320, height=240)
    r = hash_file(path, HashOptions(max_frame_pixels=320 * 240 - 1))
    assert r.error is not None and "over the limit" in r.error


def test_fifo_is_recorded_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    r = hash_file(fifo)  # must not block
    assert r.error == "not a regular file (fifo)"


def test_missing_file(tmp_path: Path) -> None:
    r = hash_file(tmp_path / "gone.jpg")
    assert r.error is not None and r.error.startswith("cannot open")


def test_oversized_image_gets_digests_only(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(image_bytes("PNG"))
    r = hash_file(path, HashOptions(max_image_bytes=100))
    assert r.error is not None and "decoding limit" in r.error
    assert r.md5 is not None


@pytest.mark.parametrize("kind", ["image", "video"])
def test_hashing_changes_neither_content_nor_times(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "evidence"
    if kind == "image":
        path.write_bytes(image_bytes("JPEG"))
    else:
        video(path, seconds=2)
    os.utime(path, (1_000_000_000, 1_100_000_000))
    before = path.stat()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    os.utime(path, (1_000_000_000, 1_100_000_000))
    assert hash_file(path).error is None
    after = path.stat()
    assert (after.st_atime, after.st_mtime) == (before.st_atime, before.st_mtime)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_content_in_memory_hashes_like_a_file(tmp_path: Path) -> None:
    from vigil.signals.filehash import hash_content

    for name, data in (("a.jpg", image_bytes("JPEG")), ("clip.mp4", None)):
        path = tmp_path / name
        if data is None:
            video(path, seconds=2)
            data = path.read_bytes()
        else:
            path.write_bytes(data)
        on_disk = hash_file(path).to_json()
        in_memory = hash_content(str(path), data=data).to_json()
        assert in_memory == on_disk


def test_streamed_content_gets_digests_only() -> None:
    import io

    from vigil.signals.filehash import hash_content

    data = image_bytes("PNG")
    r = hash_content("big.png", stream=io.BytesIO(data))
    assert r.sha256 == hashlib.sha256(data).hexdigest() and r.type == "image/png"
    assert r.pdq is None and r.notes == ["too large to decode in memory: digests only"]


def test_known_files_skip_media_hashing(tmp_path: Path) -> None:
    data = image_bytes("JPEG")
    path = tmp_path / "known.jpg"
    path.write_bytes(data)
    md5 = hashlib.md5(data).hexdigest()
    r = hash_file(path, known=lambda d: d.md5 == md5)
    assert r.known and r.pdq is None and r.md5 == md5
    assert r.notes == ["known file (in an ignore set): media hashing skipped"]
    other = hash_file(path, known=lambda d: False)
    assert not other.known and other.pdq is not None


@pytest.mark.parametrize("payload", ["zeros", "noise"])
def test_video_with_no_decodable_frame(tmp_path: Path, payload: str) -> None:
    import random
    import struct

    data = bytearray(video(tmp_path / "a.mp4", seconds=2).read_bytes())
    at = data.index(b"mdat")
    size = struct.unpack(">I", data[at - 4 : at])[0]
    fill = bytes(size - 8) if payload == "zeros" else random.Random(0).randbytes(size - 8)
    data[at + 4 : at - 4 + size] = fill
    path = tmp_path / "damaged.mp4"
    path.write_bytes(bytes(data))
    r = hash_file(path)
    assert r.error == "cannot decode video: Invalid data found when processing input"
    assert r.vpdq is None and r.md5 is not None
