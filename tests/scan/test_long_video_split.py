"""One long video on all cores through the command line: the serial result, split.

``vigil hash`` and ``vigil scan`` give ``HashOptions.video_workers`` their ``--jobs``:
a long video file is split at keyframes and its segments hashed by several
processes (``vigil.signals.vpdq``); the frames must be those of one serial pass.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import vigil.signals.vpdq as vpdq_module
from tests.cli_runner import vigil
from tests.factory import picture, video
from vigil import parallel
from vigil.media.archives import ArchiveLimits
from vigil.media.sources.registry import walk
from vigil.scan.worker import ScanOptions, scan_source, with_video_workers
from vigil.services.cases import CaseService
from vigil.store import open_store


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """65 seconds at 10 fps (650 frames): over the 600 frames worth splitting."""
    folder = tmp_path_factory.mktemp("long")
    return video(folder / "long.mp4", seconds=65, fps=10, width=96, height=64, seed=3)


@pytest.fixture
def splits(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per segment-parallel attempt: True when it gave the frames (no fallback)."""
    seen: list[bool] = []
    real = vpdq_module._hash_segments

    def spy(*args: object, **kwargs: object) -> object:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        seen.append(result is not None)
        return result

    monkeypatch.setattr(vpdq_module, "_hash_segments", spy)
    # A shared test machine may have no idle core: say that one is.
    monkeypatch.setattr(parallel, "idle_cores", lambda: 1)
    return seen


def _frames(stdout: str) -> list[dict[str, object]]:
    return next(json.loads(line) for line in stdout.splitlines() if line.strip())["vpdq"]


@pytest.mark.parametrize("mode", ["fast", "exact"])
def test_vigil_hash_splits_a_long_video_into_the_serial_result(
    tmp_path: Path, long_video: Path, mode: str, splits: list[bool]
) -> None:
    serial = vigil(
        "hash", "--json", "--jobs", "1", "--video-mode", mode, str(long_video), home=tmp_path
    )
    assert serial.returncode == 0, serial.stderr
    assert splits == []  # one core: never split
    split = vigil(
        "hash", "--json", "--jobs", "2", "--video-mode", mode, str(long_video), home=tmp_path
    )
    assert split.returncode == 0, split.stderr
    assert splits == [True]  # split, and every segment proved its frames
    assert _frames(split.stdout) == _frames(serial.stdout)
    assert len(_frames(serial.stdout)) == 65


def test_vigil_scan_gives_the_split_video_the_serial_frames(
    tmp_path: Path, long_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    shutil.copy(long_video, evidence / "long.mp4")
    picture(64, 48, 1).save(evidence / "a.png")
    serial = vigil("hash", "--json", "--jobs", "1", str(evidence / "long.mp4"), home=tmp_path)
    result = vigil("scan", str(evidence), "--case", "c1", "--jobs", "2", "-q", home=tmp_path)
    assert result.returncode == 0, result.stderr
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path))
    monkeypatch.delenv("VIGIL_DATABASE_URL", raising=False)
    with open_store() as store:
        cases = CaseService(store)
        items = {Path(i.path).name: i for i in cases.items(cases.require("c1"))}
    assert items["long.mp4"].signals["vpdq"] == _frames(serial.stdout)


def test_the_scan_worker_splits_a_long_video_file(long_video: Path, splits: list[bool]) -> None:
    """What each scan worker runs: the unit's video file is split by path."""
    (entry,) = walk([long_video], ArchiveLimits(), expand=False)
    one = scan_source(entry, ScanOptions())
    assert splits == []
    two = scan_source(entry, with_video_workers(ScanOptions(), 2))
    assert splits == [True]
    assert two[0].signals["vpdq"] == one[0].signals["vpdq"]


def test_no_idle_core_no_pool(long_video: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scan's workers all busy: a long video's segments are hashed here, no nested pool."""
    monkeypatch.setattr(parallel, "idle_cores", lambda: 0)
    started: list[int] = []
    monkeypatch.setattr(vpdq_module, "worker_pool", lambda n: started.append(n))
    frames, _ = vpdq_module.vpdq_from_video(long_video, workers=4)
    serial, _ = vpdq_module.vpdq_from_video(long_video)
    assert started == [] and frames == serial


def test_idle_cores_is_within_the_cores() -> None:
    import os

    assert 0 <= parallel.idle_cores() < len(os.sched_getaffinity(0))


def test_cores_that_free_up_later_take_segments(
    long_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Busy at the start, a core idle later: the pool starts then, the frames are the same."""
    answers = iter([0, 0])  # two looks find no idle core, then one is
    monkeypatch.setattr(parallel, "idle_cores", lambda: next(answers, 1))
    started: list[int] = []
    real_pool = vpdq_module.worker_pool

    def pool(n: int) -> object:
        started.append(n)
        return real_pool(n)

    monkeypatch.setattr(vpdq_module, "worker_pool", pool)
    frames, _ = vpdq_module.vpdq_from_video(long_video, workers=2, min_segment_frames=100)
    serial, _ = vpdq_module.vpdq_from_video(long_video)
    assert started == [2] and frames == serial
