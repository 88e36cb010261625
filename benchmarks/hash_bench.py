"""Hashing benchmark: Vigil against pytx/pdqhash (PDQ) and the vpdq package (vPDQ), one run.

Usage:
    .venv/bin/python benchmarks/hash_bench.py [--camera 100] [--web 200] [--videos 4]

It generates (once, cached in benchmarks/.corpus/) benign camera-size JPEGs (4000x3000),
web-size JPEGs (640x480) and synthetic 640x360 H.264 videos from a fixed seed, then, on
one core and in one process, times:

* PDQ on camera JPEGs: python-threatexchange's ``pdq_from_file`` (Pillow + pdqhash, as HMA
  hashes), Vigil ``exact`` and Vigil ``fast``; the distance of fast to exact hashes;
* PDQ on web JPEGs: the same, where fast must equal exact (0 bits);
* vPDQ: the ``vpdq`` package against Vigil, per video minute at one frame per second,
  with frame agreement and the match verdicts of every pair of videos.

It prints images/s, the ratios, and the distance distribution.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import jpegs, videos
from vigil.signals.filehash import HashOptions, hash_file
from vigil.signals.pdq import hamming
from vigil.signals.vpdq import VpdqFrame, is_match, vpdq_from_video


def timed(fn, items):  # type: ignore[no-untyped-def]
    results, start = [], time.perf_counter()
    for item in items:
        results.append(fn(item))
    return results, time.perf_counter() - start


def pytx_pdq(path: Path) -> str:
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

    return pdq_from_file(path)[0]


def vigil_pdq(mode: str):  # type: ignore[no-untyped-def]
    options = HashOptions(mode=mode)

    def run(path: Path) -> str:
        record = hash_file(path, options)
        assert record.error is None, record.error
        assert record.pdq is not None
        return record.pdq

    return run


def pdq_section(title: str, paths: list[Path]) -> dict[str, float]:
    print(f"\n## PDQ, {title}: {len(paths)} images, one core")
    for p in paths[:2]:  # warm the page cache and the libraries
        pytx_pdq(p), vigil_pdq("exact")(p), vigil_pdq("fast")(p)
    ref, t_ref = timed(pytx_pdq, paths)
    exact, t_exact = timed(vigil_pdq("exact"), paths)
    fast, t_fast = timed(vigil_pdq("fast"), paths)
    n = len(paths)
    rows = [("pytx/pdqhash", t_ref), ("vigil exact", t_exact), ("vigil fast", t_fast)]
    print(f"{'path':<14} {'ms/image':>9} {'images/s':>9} {'x pytx':>7}")
    for name, t in rows:
        print(f"{name:<14} {1000 * t / n:9.1f} {n / t:9.1f} {t_ref / t:7.2f}")
    same = sum(a == b for a, b in zip(ref, exact, strict=True))
    print(f"vigil exact == pytx/pdqhash, bit for bit: {same}/{n}")
    d = np.array([hamming(a, b) for a, b in zip(exact, fast, strict=True)])
    print(
        "fast vs exact distance: "
        f"mean {d.mean():.2f}, median {np.median(d):.0f}, p99 {np.percentile(d, 99):.1f}, "
        f"max {d.max()}, <=10: {100 * np.mean(d <= 10):.1f}%, <=31: {100 * np.mean(d <= 31):.1f}%"
    )
    return {"fast_ratio": t_ref / t_fast, "exact_ratio": t_ref / t_exact}


def vpdq_section(paths: list[Path], minutes_each: float) -> None:
    import vpdq

    print(f"\n## vPDQ: {len(paths)} videos of {minutes_each:g} min, 640x360 H.264, 1 hash/s")
    vpdq.computeHash(str(paths[0]), seconds_per_hash=1, thread_count=1)
    refs, t_ref = timed(
        lambda p: vpdq.computeHash(str(p), seconds_per_hash=1, thread_count=1), paths
    )
    ours, t_ours = timed(lambda p: vpdq_from_video(p, seconds_per_hash=1)[0], paths)
    minutes = minutes_each * len(paths)
    print(f"{'implementation':<16} {'s/video-minute':>15} {'x vpdq':>7}")
    print(f"{'vpdq package':<16} {t_ref / minutes:15.3f} {1.0:7.2f}")
    print(f"{'vigil':<16} {t_ours / minutes:15.3f} {t_ref / t_ours:7.2f}")
    same_frames = all(
        [f.frame for f in o] == [r.frame_number for r in rr]
        for o, rr in zip(ours, refs, strict=True)
    )
    dists = [
        hamming(f.pdq, r.hex)
        for o, rr in zip(ours, refs, strict=True)
        for f, r in zip(o, rr, strict=True)
        if r.quality >= 50
    ]
    mean = statistics.mean(dists)
    print(f"same frames: {same_frames}; frame distance max {max(dists)}, mean {mean:.2f}")
    as_frames = [
        [VpdqFrame(r.hex, r.quality, r.frame_number, r.timestamp) for r in rr] for rr in refs
    ]
    verdicts_ref = [[is_match(a, b) for b in as_frames] for a in as_frames]
    verdicts_ours = [[is_match(a, b) for b in ours] for a in ours]
    print(f"same match verdicts on all {len(paths) ** 2} pairs: {verdicts_ref == verdicts_ours}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--camera", type=int, default=100, help="camera-size JPEGs (4000x3000)")
    parser.add_argument("--web", type=int, default=200, help="web-size JPEGs (640x480)")
    parser.add_argument("--videos", type=int, default=4, help="synthetic videos")
    parser.add_argument("--video-seconds", type=int, default=60)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(f"corpus: {args.camera} camera JPEGs, {args.web} web JPEGs, {args.videos} videos")
    camera = jpegs("camera", args.camera, 4000, 3000, seed=1)
    web = jpegs("web", args.web, 640, 480, seed=2)
    clips = videos(args.videos, args.video_seconds, 640, 360, 30, seed=3)
    pdq_section("camera JPEGs 4000x3000 (12 MP)", camera)
    pdq_section("web JPEGs 640x480", web)
    if clips:
        vpdq_section(clips, args.video_seconds / 60)


if __name__ == "__main__":
    main()
