"""Fast vPDQ keeps the verdicts of exact vPDQ; segment-parallel hashing equals serial hashing.

The verdict set is generated here (benign synthetic clips and re-encoded, resized,
cropped and trimmed copies of them); benchmarks/hash_bench.py adds Meta's sample videos
when they are at hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import vpdq as reference
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from tests.cli_runner import vigil
from tests.factory import VIDEO_KINDS, transcode, vfr_video, video
from vigil import parallel
from vigil.media.video import NearestPicker, index_video, plan_segments
from vigil.signals.filehash import HashOptions, hash_file
from vigil.signals.pdq import hamming
from vigil.signals.vpdq import VpdqFrame, _segment_job, is_match, vpdq_from_video

Frames = Callable[[int], np.ndarray]


def _background(width: int, height: int, seed: int) -> np.ndarray:
    """Smooth waves and a few discs: a picture whose PDQ survives small crops and shifts."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(1, 4), rng.uniform(1, 4), rng.uniform(0, 6.3)
        channels.append(128 + 90 * np.sin(2 * np.pi * (fx * x + fy * y) + phase))
    image = Image.fromarray(np.stack(channels, axis=2).clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(width // 12, width // 4))
        draw.ellipse(
            (x0 - r, y0 - r, x0 + r, y0 + r), fill=tuple(int(c) for c in rng.integers(0, 256, 3))
        )
    return np.asarray(image)


def _scene(width: int, height: int, seed: int, fps: int) -> Frames:
    """A ball moving over a picture that changes every second (frame n -> RGB)."""
    backgrounds: dict[int, np.ndarray] = {}

    def frame(n: int) -> np.ndarray:
        second = n // fps
        if second not in backgrounds:
            backgrounds[second] = _background(width, height, seed * 1000 + second)
        image = Image.fromarray(backgrounds[second].copy())
        x = int((n * 5) % max(1, width - 24))
        ImageDraw.Draw(image).ellipse(
            (x, height // 3, x + 24, height // 3 + 24), fill=(250, 240, 0)
        )
        return np.asarray(image)

    return frame


def _encode(
    path: Path,
    frames: Frames,
    count: int,
    *,
    fps: int,
    gop: int = 0,
    codec: str = "libx264",
    size: tuple[int, int] | None = None,
    crop: float = 0.0,
    bframes: int = 3,
) -> Path:
    """H.264 with B frames (as encoders write it) from ``frames``; resized or cropped."""
    first = frames(0)
    height, width = first.shape[:2]
    dy, dx = int(height * crop), int(width * crop)
    out_w, out_h = size or (width - 2 * dx, height - 2 * dy)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = out_w, out_h, "yuv420p"
        if codec == "libx264":
            options = {"preset": "veryfast", "threads": "1", "bf": str(bframes)}
            if gop:
                options["g"] = str(gop)
            stream.options = options
        for n in range(count):
            rgb = frames(n)[dy : height - dy, dx : width - dx]
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            vf = vf.reformat(width=out_w, height=out_h, format="yuv420p")
            vf.pts, vf.time_base = n, Fraction(1, fps)
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.fixture(scope="module")
def verdict_set(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two unrelated scenes and, of the first, re-encoded, resized, cropped, trimmed copies."""
    root = tmp_path_factory.mktemp("verdicts")
    fps, seconds = 15, 8
    a, b = _scene(240, 180, 1, fps), _scene(240, 180, 2, fps)
    count = fps * seconds
    clips = {
        "a": _encode(root / "a.mp4", a, count, fps=fps),
        "b": _encode(root / "b.mp4", b, count, fps=fps),
        "a-resized": _encode(root / "a-small.mp4", a, count, fps=fps, size=(160, 120)),
        "a-cropped": _encode(root / "a-crop.mp4", a, count, fps=fps, crop=0.03),
        "a-trimmed": _encode(root / "a-trim.mp4", lambda n: a(n + 4), count - 4, fps=fps),
        "a-late": _encode(root / "a-late.mp4", lambda n: a(n + 22), count - 22, fps=fps),
        "a-16-b-frames": _encode(root / "a-b16.mp4", a, count, fps=fps, bframes=16),
        "a-first-half": _encode(root / "a-half.mp4", a, count // 2, fps=fps),
        "b-gop": _encode(root / "b-gop.mp4", b, count, fps=fps, gop=30),
    }
    clips["a-mpeg4"] = transcode(clips["a"], root / "a-mpeg4.avi", width=200, height=150)
    clips["unrelated"] = video(root / "other.mp4", seconds=6, fps=15, width=240, height=180, seed=7)
    return clips


def _verdicts(query: dict[str, list[VpdqFrame]], compared: dict[str, list[VpdqFrame]]) -> dict:
    return {(x, y): is_match(query[x], compared[y]) for x in query for y in compared}


def test_fast_keeps_every_verdict_of_exact(verdict_set: dict[str, Path]) -> None:
    exact = {k: vpdq_from_video(p, mode="exact")[0] for k, p in verdict_set.items()}
    fast = {k: vpdq_from_video(p, mode="fast")[0] for k, p in verdict_set.items()}
    truth = _verdicts(exact, exact)
    # The set is not trivial: near-duplicates match, unrelated videos do not.
    assert truth[("a-resized", "a")] and truth[("a-mpeg4", "a")]
    assert not truth[("b", "a")] and not truth[("unrelated", "a")]
    assert sum(truth.values()) < len(truth)
    # Fast against fast (both sides hashed by Vigil) and fast against exact (evidence
    # hashed fast, a shared list hashed by the reference) give the verdicts of exact.
    assert _verdicts(fast, fast) == truth
    assert _verdicts(fast, exact) == truth
    assert _verdicts(exact, fast) == truth


def test_fast_samples_the_reference_points(verdict_set: dict[str, Path]) -> None:
    """At one hash per second fast hashes the same frame numbers as exact (constant rate)."""
    for path in verdict_set.values():
        exact, _ = vpdq_from_video(path, mode="exact")
        fast, _ = vpdq_from_video(path, mode="fast")
        assert [f.frame for f in fast] == [f.frame for f in exact]


def test_exact_mode_is_still_the_reference(verdict_set: dict[str, Path]) -> None:
    path = verdict_set["b-gop"]
    theirs = reference.computeHash(str(path), seconds_per_hash=1)
    ours = hash_file(path, HashOptions(video_mode="exact"))
    assert ours.vpdq is not None
    assert [f["pdq"] for f in ours.vpdq] == [t.hex for t in theirs]


@pytest.mark.parametrize("container", ["mp4", "mkv"])
@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_segments_join_to_the_serial_result(
    tmp_path: Path, container: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "idle_cores", lambda: 1)  # a busy test machine
    fps = 10
    path = _encode(tmp_path / f"long.{container}", _scene(160, 120, 3, fps), 240, fps=fps, gop=20)
    serial, _ = vpdq_from_video(path, mode=mode)  # type: ignore[arg-type]
    segments = plan_segments(index_video(path), 5)
    assert len(segments) == 5
    parts = [
        _segment_job(s, path=str(path), seconds_per_hash=1.0, max_frame_pixels=10**7, mode=mode)  # type: ignore[arg-type]
        for s in segments
    ]
    assert all(part is not None for part in parts), "a segment could not prove its frames"
    assert [f for part in parts if part for f in part] == serial
    with ThreadPoolExecutor(2) as pool:
        threaded, _ = vpdq_from_video(
            path,
            mode=mode,
            executor=pool,
            min_segment_frames=100,  # type: ignore[arg-type]
        )
    assert threaded == serial
    in_processes, _ = vpdq_from_video(path, mode=mode, workers=2, min_segment_frames=100)  # type: ignore[arg-type]
    assert in_processes == serial


def test_short_videos_are_not_split(tmp_path: Path) -> None:
    path = video(tmp_path / "short.mp4", seconds=2)
    assert vpdq_from_video(path, workers=2) == vpdq_from_video(path)


def test_video_mode_option_of_the_command_line(tmp_path: Path) -> None:
    path = _encode(tmp_path / "clip.mp4", _scene(160, 120, 4, 10), 40, fps=10)
    result = vigil(
        "hash", "--json", "--jobs", "1", "--video-mode", "exact", str(path), home=tmp_path
    )
    assert result.returncode == 0, result.stderr
    theirs = reference.computeHash(str(path), seconds_per_hash=1)
    assert [f["pdq"] for f in json.loads(result.stdout)["vpdq"]] == [t.hex for t in theirs]
    bad = vigil("hash", "--video-mode", "quick", str(path), home=tmp_path)
    assert bad.returncode == 2


def test_hash_file_follows_the_video_mode(tmp_path: Path) -> None:
    """On a variable-rate video fast samples by time and exact by count: other frames."""
    path = vfr_video(tmp_path / "vfr.mp4", frames=90)
    exact = hash_file(path, HashOptions(video_mode="exact")).vpdq
    fast = hash_file(path, HashOptions(video_mode="fast")).vpdq
    assert exact and fast
    assert [f["frame"] for f in exact] == [t.frame_number for t in reference.computeHash(str(path))]
    assert [f["pdq"] for f in fast] != [f["pdq"] for f in exact]


def test_fast_video_mode_reaches_the_command_line(tmp_path: Path) -> None:
    path = vfr_video(tmp_path / "vfr.mp4", frames=90)
    frames = {}
    for mode in ("exact", "fast"):
        result = vigil(
            "hash", "--json", "--jobs", "1", "--video-mode", mode, str(path), home=tmp_path
        )
        frames[mode] = [f["pdq"] for f in json.loads(result.stdout)["vpdq"]]
    assert frames["fast"] == [f.pdq for f in vpdq_from_video(path, mode="fast")[0]]
    assert frames["fast"] != frames["exact"]


def _pick(
    picker: NearestPicker, frames: list[tuple[float, bool]], end: float | None = None
) -> list[float]:
    out = [pos for p, key in frames for pos, _ in picker.push(p, key, None)]
    return out + [pos for pos, _ in picker.finish(end)]


@settings(max_examples=300, deadline=None)
@given(
    step=st.integers(1, 12),
    gaps=st.lists(st.integers(1, 5), min_size=1, max_size=120),
    keys=st.lists(st.booleans(), min_size=120, max_size=120),
    cut=st.integers(1, 119),
)
def test_picker_resolves_each_gop_alone(
    step: int, gaps: list[int], keys: list[bool], cut: int
) -> None:
    """Splitting at any keyframe and picking each side alone gives the picks of the whole."""
    positions = np.cumsum([0, *gaps]).astype(float).tolist()
    frames = [(p, i == 0 or keys[i]) for i, p in enumerate(positions)]
    whole = _pick(NearestPicker(step), frames)
    assert whole == sorted(set(whole))
    for pos in whole:  # each pick is within half a step of a sampling point
        assert min(pos % step, step - pos % step) <= step / 2
    if cut < len(frames):
        frames[cut] = (frames[cut][0], True)
        whole = _pick(NearestPicker(step), frames)
        head = _pick(NearestPicker(step), frames[:cut], end=frames[cut][0])
        tail_picker = NearestPicker(step)
        tail_picker.start_at(frames[cut][0])
        assert head + _pick(tail_picker, frames[cut:]) == whole


def test_picker_takes_the_sampled_frame_when_it_is_decoded() -> None:
    frames = [(float(p), p == 0) for p in range(0, 100)]
    assert _pick(NearestPicker(30), frames) == [0.0, 30.0, 60.0, 90.0]
    # Only every fourth frame decoded: the nearest one, never past a keyframe.
    sparse = [(float(p), p in (0, 60)) for p in range(0, 100, 4)]
    assert _pick(NearestPicker(30), sparse) == [0.0, 28.0, 60.0, 88.0]


@pytest.mark.parametrize("container", sorted(VIDEO_KINDS))
def test_fast_mode_in_every_container_matches_exact(tmp_path: Path, container: str) -> None:
    path = video(tmp_path / f"clip.{VIDEO_KINDS[container][1]}", container=container, seconds=4)
    exact, _ = vpdq_from_video(path, mode="exact")
    fast, _ = vpdq_from_video(path, mode="fast")
    assert fast and is_match(fast, exact) and is_match(exact, fast)


def test_fast_mode_on_variable_frame_rate(tmp_path: Path) -> None:
    path = vfr_video(tmp_path / "vfr.mp4", frames=90)
    exact, _ = vpdq_from_video(path, mode="exact")
    fast, _ = vpdq_from_video(path, mode="fast")
    assert fast and is_match(fast, exact) and is_match(exact, fast)


def test_every_frame_in_fast_mode_is_every_frame(tmp_path: Path) -> None:
    path = vfr_video(tmp_path / "vfr.mp4", frames=40)
    exact, _ = vpdq_from_video(path, mode="exact", seconds_per_hash=0)
    fast, _ = vpdq_from_video(path, mode="fast", seconds_per_hash=0)
    assert len(fast) == 40
    # The same frames; fast hashes their luma plane without the loop filter (a few bits).
    assert [(f.frame, f.timestamp) for f in fast] == [(f.frame, f.timestamp) for f in exact]
    assert all(hamming(f.pdq, e.pdq) <= 16 for f, e in zip(fast, exact, strict=True))
    assert is_match(fast, exact) and is_match(exact, fast)


@pytest.mark.parametrize("command", ["scan", "match"])
def test_video_mode_option_of_scan_and_match(tmp_path: Path, command: str) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    video(evidence / "clip.mp4", seconds=2)
    case = ("--case", "c1") if command == "scan" else ()
    for mode in ("exact", "fast"):
        result = vigil(command, str(evidence), *case, "--video-mode", mode, home=tmp_path)
        assert result.returncode == 0, result.stderr
    bad = vigil(command, str(evidence), *case, "--video-mode", "quick", home=tmp_path)
    assert bad.returncode == 2


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_a_video_that_cannot_be_split_exactly_is_hashed_serially(tmp_path: Path, mode: str) -> None:
    """MPEG-TS seeks by bytes, so a segment's seek misses its keyframe: the serial result."""
    path = _encode(tmp_path / "long.ts", _scene(160, 120, 5, 10), 160, fps=10, gop=20)
    serial, _ = vpdq_from_video(path, mode=mode)  # type: ignore[arg-type]
    segments = plan_segments(index_video(path), 4)
    job = {"path": str(path), "seconds_per_hash": 1.0, "max_frame_pixels": 10**7, "mode": mode}
    assert len(segments) == 4 and _segment_job(segments[1], **job) is None  # type: ignore[arg-type]
    with ThreadPoolExecutor(2) as pool:
        split, _ = vpdq_from_video(path, mode=mode, executor=pool, min_segment_frames=50)  # type: ignore[arg-type]
    assert split == serial and len(serial) == 16
