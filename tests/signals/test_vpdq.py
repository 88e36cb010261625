"""vPDQ agreement with the reference ``vpdq`` package on generated videos, and the match rule."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
import vpdq as reference

from tests.factory import VIDEO_KINDS, transcode, vfr_video, video
from vigil.errors import InvalidHashError
from vigil.signals.pdq import hamming
from vigil.signals.vpdq import (
    VpdqFrame,
    VpdqSignal,
    _hash_frames,
    is_match,
    match_percentages,
    parse_reference_lines,
    to_reference_lines,
    vpdq_from_video,
)


def _compare(path: Path, seconds_per_hash: float = 1.0) -> None:
    theirs = reference.computeHash(str(path), seconds_per_hash=seconds_per_hash)
    ours, _ = vpdq_from_video(path, seconds_per_hash=seconds_per_hash)
    assert [f.frame for f in ours] == [t.frame_number for t in theirs]
    assert [f.quality for f in ours] == [t.quality for t in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert a.timestamp == pytest.approx(b.timestamp, abs=1e-6)
        if b.quality >= 50:
            assert hamming(a.pdq, b.hex) < 31
    # In practice the pixels are the same, so the hashes are identical.
    assert [f.pdq for f in ours] == [t.hex for t in theirs]


@pytest.mark.parametrize("container", sorted(VIDEO_KINDS))
def test_every_container_agrees_with_the_reference(tmp_path: Path, container: str) -> None:
    suffix = VIDEO_KINDS[container][1]
    _compare(video(tmp_path / f"clip.{suffix}", container=container))


@pytest.mark.parametrize(
    ("fps", "seconds_per_hash"),
    [(Fraction(30000, 1001), 1.0), (25, 0.5), (12, 0), (5, 2.0)],
)
def test_sampling_agrees_with_the_reference(
    tmp_path: Path, fps: Fraction | int, seconds_per_hash: float
) -> None:
    path = video(tmp_path / "clip.mp4", fps=fps, seconds=4)
    _compare(path, seconds_per_hash)


def test_reference_lines_round_trip() -> None:
    frames = [VpdqFrame("ab" * 32, 100, 0, 0.0), VpdqFrame("cd" * 32, 73, 30, 1.001)]
    lines = to_reference_lines(frames)
    assert lines[1] == f"30,73,{'cd' * 32},1.001"
    assert parse_reference_lines(lines) == frames
    serialised = VpdqSignal.validate(";".join(lines))
    assert VpdqSignal.distance(serialised, serialised) == 0


def test_bad_reference_line_names_the_line() -> None:
    with pytest.raises(InvalidHashError, match=r"clip.txt:2"):
        parse_reference_lines(["0,100," + "a" * 64 + ",0.000", "1,100,zz,1.0"], source="clip.txt")


def test_match_rule(tmp_path: Path) -> None:
    original = video(tmp_path / "a.mp4", seconds=5, seed=1)
    a, _ = vpdq_from_video(original)
    b, _ = vpdq_from_video(transcode(original, tmp_path / "b.avi", width=176, height=132))
    other, _ = vpdq_from_video(video(tmp_path / "c.mp4", seconds=5, seed=99))
    assert match_percentages(a, b) == (100.0, 100.0)
    assert is_match(a, b)
    assert not is_match(a, other)
    # A clip that holds only part of the video matches on the query side only.
    part = a[:2]
    q, c = match_percentages(part, a)
    assert q == 100.0 and c < 100.0
    assert is_match(part, a) and not is_match(a, part, query_percent=80)


def test_low_quality_frames_are_ignored() -> None:
    good = VpdqFrame("ab" * 32, 90, 0, 0.0)
    poor = VpdqFrame("cd" * 32, 10, 1, 1.0)
    assert match_percentages([good, poor], [good]) == (100.0, 100.0)
    assert not is_match([poor], [poor])


def test_skipping_pass_equals_the_full_decode(tmp_path: Path) -> None:
    path = video(tmp_path / "clip.mp4", fps=Fraction(30000, 1001), seconds=5)
    fast, _ = _hash_frames(path, 1.0, 10**8, pass_="exact")
    full, _ = _hash_frames(path, 1.0, 10**8, pass_="plain")
    assert fast == full
    assert [f.frame for f in fast] == [0, 29, 58, 87, 116, 145]  # int(29.97) = 29


def test_variable_frame_rate_agrees_with_the_reference(tmp_path: Path) -> None:
    _compare(vfr_video(tmp_path / "vfr.mp4"))
