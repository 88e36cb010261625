"""Evidence sources: locators round-trip, and every item opens again from its locator alone."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import tarfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factory import image_bytes, picture
from vigil.errors import MediaError
from vigil.media.archives import ArchiveLimits
from vigil.media.sources.base import Locator, LocatorError, Step
from vigil.media.sources.registry import locator_of, open_locator, read_locator, walk

JPEG = image_bytes("JPEG")
PNG = image_bytes("PNG", picture(64, 48, seed=3))

#: Any code point, lone surrogates included (how Python holds names that are not UTF-8).
NAMES = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, categories=None))
STEPS = st.builds(
    Step, st.sampled_from(["file", "archive", "diskimage"]), NAMES, st.none() | st.integers(0)
)


@given(st.lists(STEPS, min_size=1, max_size=6))
def test_locators_round_trip_as_text_and_by_pickle(steps: list[Step]) -> None:
    locator = Locator(tuple(steps))
    text = locator.to_text()
    assert text.isascii()  # any database and any JSON holds it
    assert Locator.from_text(text) == locator
    assert pickle.loads(pickle.dumps(locator)) == locator


@pytest.mark.parametrize("text", ["", "[]", "{}", "[[1, 2]]", '[["file"]]', '[["a","b",true]]'])
def test_malformed_locator_text_is_a_specific_error(text: str) -> None:
    with pytest.raises(LocatorError):
        Locator.from_text(text)


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buffer.getvalue()


def tarred(files: dict[str, bytes], mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as t:  # type: ignore[call-overload]
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_a_member_nested_three_deep_opens_from_its_locator(tmp_path: Path) -> None:
    inner = tarred({"deep/pic.png": PNG, "other.jpg": JPEG}, "w:gz")
    middle = tarred({"x/inner.tar.gz": inner})
    (tmp_path / "outer.zip").write_bytes(zipped({"middle.tar": middle, "top.jpg": JPEG}))
    items = {i.path.split("outer.zip", 1)[1]: i for i in walk([tmp_path])}
    deep = items["!/middle.tar!/x/inner.tar.gz!/deep/pic.png"]
    assert deep.depth == 3 and deep.locator is not None and deep.locator.depth == 3
    assert [s.kind for s in deep.locator.steps] == ["file", "archive", "archive", "archive"]
    text = deep.locator.to_text()
    with open_locator(Locator.from_text(text)) as stream:  # from the text alone
        assert stream.seekable()
        assert stream.read() == PNG
        stream.seek(0)
        assert stream.read(4) == PNG[:4]
    assert deep.locator.display() == deep.path
    for item in items.values():  # every file item opens to the bytes the walk saw
        if item.kind == "file" and item.depth and item.error is None:
            assert item.locator is not None and read_locator(item.locator) == item.data


def test_members_with_the_same_name_open_by_position(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z, pytest.warns(UserWarning, match="Duplicate"):
        z.writestr("a.jpg", JPEG)
        z.writestr("a.jpg", PNG)
    (tmp_path / "twice.zip").write_bytes(buffer.getvalue())
    first, second = [i for i in walk([tmp_path]) if i.depth == 1]
    assert first.path == second.path
    assert first.locator is not None and second.locator is not None
    assert read_locator(first.locator) == JPEG and read_locator(second.locator) == PNG


def test_a_large_member_is_streamed_not_held(tmp_path: Path) -> None:
    big = os.urandom(300_000)
    (tmp_path / "big.bin.gz").write_bytes(gzip.compress(big))
    limits = ArchiveLimits(memory_member_bytes=100_000)
    (archive,) = [i for i in walk([tmp_path], limits, expand=False)]
    assert archive.locator is not None
    member = archive.locator.child("archive", "big.bin", 0)
    with open_locator(member, limits) as stream:
        assert stream.read() == big
        assert stream.seek(1000) == 1000 and stream.read(10) == big[1000:1010]  # back
        assert stream.seek(-5, os.SEEK_END) == len(big) - 5 and stream.read() == big[-5:]
        stream.seek(0)
        assert stream.read(3) == big[:3]


def test_non_utf8_names_open_by_their_real_bytes(tmp_path: Path) -> None:
    odd = os.fsencode(tmp_path) + b"/caf\xe9.zip"
    with open(odd, "wb") as f:
        f.write(zipped({"b\xe9.jpg": JPEG}))
    archive, member = list(walk([tmp_path]))
    assert archive.path.endswith("caf\\xe9.zip") and member.path.endswith("caf\\xe9.zip!/b\xe9.jpg")
    assert member.locator is not None and read_locator(member.locator) == JPEG
    # Rows recorded before locators were stored: rebuilt from their display paths.
    legacy = locator_of(member.path, archive.path)
    assert legacy is not None and read_locator(legacy) == JPEG
    assert locator_of(archive.path, archive.path) == archive.locator


def test_what_cannot_be_opened_is_a_media_error(tmp_path: Path) -> None:
    (tmp_path / "a.zip").write_bytes(zipped({"a.jpg": JPEG}))
    root = Locator.file(tmp_path / "a.zip")
    with pytest.raises(MediaError, match="no member"):
        open_locator(root.child("archive", "nope.jpg"))
    with pytest.raises(MediaError, match="not a regular file"):
        open_locator(Locator.file(tmp_path))
    with pytest.raises(MediaError, match="not an archive"):
        open_locator(
            Locator.file(tmp_path / "a.zip").child("archive", "a.jpg").child("archive", "x")
        )
    with pytest.raises(LocatorError, match="unknown"):
        open_locator(Locator((Step("tape", "/dev/st0"),)))
    with pytest.raises(MediaError, match="over 10 bytes"):
        read_locator(root, max_bytes=10)


def test_opening_by_locator_leaves_evidence_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(zipped({"a.jpg": JPEG}))
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_100_000_000_000_000_000))
    before = os.stat(path)
    for item in walk([tmp_path]):
        assert item.locator is not None
        read_locator(item.locator)
    after = os.stat(path)
    assert (after.st_atime_ns, after.st_mtime_ns) == (before.st_atime_ns, before.st_mtime_ns)
    assert path.read_bytes() == zipped({"a.jpg": JPEG})


def test_failure_records_have_no_locator() -> None:
    assert locator_of("/ev/bad.zip!/", "/ev/bad.zip") is None
    assert locator_of("/elsewhere/a.jpg", "/ev/bad.zip") is None
    assert locator_of("/ev/a.zip!/b.jpg", "/ev/a.zip", '[["file","/x"]]') == Locator.file("/x")
