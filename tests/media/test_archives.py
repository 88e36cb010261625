"""Reading into archives in memory: every format, nesting, hostile archives."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile

import py7zr
import pytest
import zstandard

from tests.factory import image_bytes
from vigil.media.archives import ArchiveLimits, Budget, Member, members
from vigil.media.sniff import sniff

LIMITS = ArchiveLimits()
JPEG = image_bytes("JPEG")
TEXT = b"hello from inside an archive\n"


def read(data: bytes, name: str = "evidence", limits: ArchiveLimits = LIMITS) -> list[Member]:
    mime = sniff(data[:4096])
    return list(members(io.BytesIO(data), mime, name, limits, Budget(limits.max_total_bytes)))


def contents(found: list[Member]) -> dict[str, bytes | None]:
    return {m.name: m.data for m in found}


def zip_bytes(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buffer.getvalue()


def tar_bytes(files: dict[str, bytes], mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as t:  # type: ignore[call-overload]
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_700_000_000
            t.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


FILES = {"photos/a.jpg": JPEG, "notes.txt": TEXT}


@pytest.mark.parametrize(
    "data",
    [
        zip_bytes(FILES),
        zip_bytes(FILES, zipfile.ZIP_STORED),
        zip_bytes(FILES, zipfile.ZIP_BZIP2),
        zip_bytes(FILES, zipfile.ZIP_LZMA),
        tar_bytes(FILES),
        gzip.compress(tar_bytes(FILES)),
        bz2.compress(tar_bytes(FILES)),
        lzma.compress(tar_bytes(FILES)),
        zstandard.ZstdCompressor().compress(tar_bytes(FILES)),
    ],
    ids=["zip", "zip-stored", "zip-bz2", "zip-lzma", "tar", "tgz", "tbz2", "txz", "tzst"],
)
def test_archive_formats(data: bytes) -> None:
    found = read(data)
    assert contents(found) == FILES
    assert all(m.error is None and m.kind == "file" for m in found)


def test_tar_keeps_times() -> None:
    (member, *_) = read(tar_bytes(FILES))
    assert member.mtime == 1_700_000_000


@pytest.mark.parametrize(
    ("compress", "name", "inner"),
    [
        (gzip.compress, "photo.jpg.gz", "photo.jpg"),
        (bz2.compress, "photo.jpg.bz2", "photo.jpg"),
        (lzma.compress, "photo.jpg.xz", "photo.jpg"),
        (zstandard.ZstdCompressor().compress, "photo.jpg.zst", "photo.jpg"),
        (gzip.compress, "renamed.dat", "renamed.dat.uncompressed"),
    ],
)
def test_lone_compressed_files(compress, name: str, inner: str) -> None:  # type: ignore[no-untyped-def]
    assert contents(read(compress(JPEG), name)) == {inner: JPEG}


def test_sevenzip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "a.7z"
    with py7zr.SevenZipFile(path, "w") as archive:
        for name, data in FILES.items():
            archive.writestr(data, name)
    assert contents(read(path.read_bytes())) == FILES


def test_encrypted_sevenzip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "secret.7z"
    with py7zr.SevenZipFile(path, "w", password="benign", header_encryption=False) as archive:
        archive.writestr(TEXT, "notes.txt")
    (member,) = read(path.read_bytes())
    assert member.data is None and member.error is not None and "encrypted" in member.error


def test_encrypted_zip_member_is_recorded() -> None:
    data = bytearray(zip_bytes({"secret.txt": TEXT, "open.txt": TEXT}))
    # Set the "encrypted" flag of the first entry in its local and central headers.
    data[6] |= 1
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 1
    found = {m.name: m for m in read(bytes(data))}
    assert found["secret.txt"].error == (
        "encrypted zip member: content not readable without the password"
    )
    assert found["open.txt"].data == TEXT


def test_zip_bomb_ratio() -> None:
    bomb = zip_bytes({"zeros.bin": bytes(8 << 20), "ok.txt": TEXT})
    limits = ArchiveLimits(max_ratio=100, ratio_floor=1 << 20)
    found = {m.name: m for m in read(bomb, limits=limits)}
    assert found["zeros.bin"].error is not None and "ratio limit of 100" in found["zeros.bin"].error
    assert found["ok.txt"].data == TEXT


def test_total_budget() -> None:
    data = zip_bytes({f"f{i}.bin": bytes(1 << 16) for i in range(10)})
    limits = ArchiveLimits(max_total_bytes=5 << 16)
    errors = [m.error for m in read(data, limits=limits)]
    assert errors[:5] == [None] * 5
    assert all(e is not None and "total-bytes limit" in e for e in errors[5:])


def test_member_count_limit() -> None:
    data = zip_bytes({f"f{i}.txt": TEXT for i in range(10)})
    found = read(data, limits=ArchiveLimits(max_members=4))
    assert (
        len(found) == 5 and found[-1].error is not None and "more than 4 members" in found[-1].error
    )


def test_large_member_is_streamed_not_held() -> None:
    big = bytes(range(256)) * 8192  # 2 MiB
    found = read(zip_bytes({"big.bin": big}), limits=ArchiveLimits(memory_member_bytes=1 << 20))
    (member,) = found
    assert member.data is None and member.stream is not None
    assert member.stream.read() == big


def test_hostile_names_are_kept_with_a_note() -> None:
    found = {m.name: m for m in read(tar_bytes({"../../etc/x.txt": TEXT, "/abs.txt": TEXT}))}
    assert "climbs out" in found["../../etc/x.txt"].notes[0]
    assert "absolute path" in found["/abs.txt"].notes[0]
    assert found["../../etc/x.txt"].data == TEXT


def test_links_and_specials_in_tar() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as t:
        link = tarfile.TarInfo("link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        t.addfile(link)
        fifo = tarfile.TarInfo("pipe")
        fifo.type = tarfile.FIFOTYPE
        t.addfile(fifo)
    found = {m.name: m for m in read(buffer.getvalue())}
    assert (found["link"].kind, found["link"].link_target) == ("symlink", "/etc/passwd")
    assert found["pipe"].kind == "fifo" and found["pipe"].data is None


def test_truncated_tar_gz_reports_the_member() -> None:
    data = gzip.compress(tar_bytes({"a.bin": bytes(range(256)) * 400}))
    found = read(data[: len(data) // 2])
    assert found and found[-1].error is not None


def test_corrupt_zip_member() -> None:
    data = bytearray(zip_bytes({"a.txt": TEXT * 100}))
    start = data.index(b"hello") if b"hello" in data else 40
    data[start + 5 : start + 15] = b"\xff" * 10
    found = read(bytes(data))
    assert found[0].error is not None and found[0].error.startswith("cannot read zip member")
