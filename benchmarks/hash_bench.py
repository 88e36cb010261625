"""Hashing benchmark: Vigil against pytx/pdqhash (PDQ) and the vpdq package (vPDQ), one run.

Usage:
    .venv/bin/python benchmarks/hash_bench.py [--camera 100] [--web 200] [--phone 40]
        [--videos 4] [--meta-videos DIR] [--long-minutes 4] [--sections pdq,cli,vpdq,long]

It generates (once, cached in benchmarks/.corpus/) benign camera-size JPEGs (4000x3000),
web-size JPEGs (640x480) and synthetic 640x360 H.264 videos from a fixed seed, then, on
one core and in one process, times:

* PDQ on camera JPEGs: python-threatexchange's ``pdq_from_file`` (Pillow + pdqhash, as HMA
  hashes), Vigil ``exact`` and Vigil ``fast``; the distance of fast to exact hashes;
* PDQ on web JPEGs: the same, where fast must equal exact (0 bits);
* images through the command line: camera-like JPEGs of varied content (phone and
  camera sizes, landscape and portrait, 4:2:0 / 4:2:2 / 4:4:4, progressive, EXIF),
  pytx against the library path (``hash_file``) against ``vigil hash --jobs 1`` and
  ``vigil scan --jobs 1`` as real processes, start-up measured apart (the same command
  on one tiny file) and taken off;
* vPDQ on 640x360 and 1080p H.264: the ``vpdq`` package against Vigil exact and fast,
  per video minute at one hash per second, and the verdict set: every pair of videos
  (the clips, their re-encoded, resized, cropped and trimmed copies, and Meta's sample
  videos from ThreatExchange ``tmk/sample-videos`` when they are in ``--meta-videos``)
  judged by the HMA/pytx rule in exact, fast, and fast-against-exact;
* one long video (the clips joined) hashed serially and split at keyframes over all
  cores, exact and fast: same output, wall-clock time and CPU time.

Times are CPU seconds of the process (and its children) pinned to one core: the
machines are shared, and CPU time is what "per core" means; wall-clock time is printed
beside it. It prints the ratios and the distance distributions.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import CACHE, jpegs, picture, videos
from vigil.media.video import index_video, plan_segments
from vigil.signals.filehash import HashOptions, hash_file
from vigil.signals.pdq import hamming
from vigil.signals.vpdq import VpdqFrame, _hash_frames, is_match, vpdq_from_video

REPO = Path(__file__).resolve().parents[1]
VIGIL = REPO / ".venv" / "bin" / "vigil"


def cpu() -> float:
    """CPU seconds of this process and its finished children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def cpu_timed(fn: Callable[[], object]) -> tuple[object, float, float]:
    """(result, CPU seconds, wall seconds)."""
    c, w = cpu(), time.perf_counter()
    result = fn()
    return result, cpu() - c, time.perf_counter() - w


def timed(fn, items):  # type: ignore[no-untyped-def]
    """(results, CPU seconds): CPU time, so that other jobs on the machine do not count."""
    results, start = [], cpu()
    for item in items:
        results.append(fn(item))
    return results, cpu() - start


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
    print(f"{'path':<14} {'cpu ms/image':>12} {'images/s':>9} {'x pytx':>7}")
    for name, t in rows:
        print(f"{name:<14} {1000 * t / n:12.1f} {n / t:9.1f} {t_ref / t:7.2f}")
    same = sum(a == b for a, b in zip(ref, exact, strict=True))
    print(f"vigil exact == pytx/pdqhash, bit for bit: {same}/{n}")
    d = np.array([hamming(a, b) for a, b in zip(exact, fast, strict=True)])
    print(
        "fast vs exact distance: "
        f"mean {d.mean():.2f}, median {np.median(d):.0f}, p99 {np.percentile(d, 99):.1f}, "
        f"max {d.max()}, <=10: {100 * np.mean(d <= 10):.1f}%, <=31: {100 * np.mean(d <= 31):.1f}%"
    )
    return {"fast_ratio": t_ref / t_fast, "exact_ratio": t_ref / t_exact}


# -- images through the command line ------------------------------------------------


def phone_jpegs(count: int, seed: int = 5) -> list[Path]:
    """Camera-like JPEGs of varied content, as phones and cameras write them (cached)."""
    folder = CACHE / f"phone-jpegs-s{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    sizes = [(4000, 3000), (3000, 4000), (4032, 3024), (3024, 4032)]
    subsampling = ["4:2:0", "4:2:2", "4:2:0", "4:4:4"]
    paths = []
    for i in range(count):
        path = folder / f"IMG_{i:04d}.jpg"
        if not path.exists():
            rng = np.random.default_rng([seed, i])
            width, height = sizes[i % len(sizes)]
            image = picture(rng, width, height)
            exif = Image.Exif()
            exif[0x0112] = int(rng.choice([1, 1, 1, 6, 8, 3]))  # orientation
            exif[0x010F] = "Benchmark"  # make
            exif[0x0110] = "Synthetic camera"  # model
            image.save(
                path,
                "JPEG",
                quality=int(rng.integers(88, 98)),
                subsampling=subsampling[i % len(subsampling)],
                progressive=i % 7 == 3,
                exif=exif.tobytes(),
            )
        paths.append(path)
    return paths


def run_vigil(args: list[str], home: Path) -> tuple[float, float]:
    """``vigil ARGS`` as a real process on this core: (CPU seconds, wall seconds)."""
    env = {**os.environ, "VIGIL_HOME": str(home)}
    c, w = cpu(), time.perf_counter()
    done = subprocess.run([str(VIGIL), *args], capture_output=True, text=True, env=env)
    if done.returncode not in (0, 1):
        raise SystemExit(f"vigil {' '.join(args)} failed: {done.stderr}")
    return cpu() - c, time.perf_counter() - w


def cli_section(paths: list[Path]) -> None:
    n = len(paths)
    folder = paths[0].parent
    sizes = [p.stat().st_size for p in paths]
    print(f"\n## Images through the command line: {n} camera-like JPEGs, one core")
    print(f"mean {statistics.mean(sizes) / 1e6:.1f} MB, 12 MP, 4:2:0/4:2:2/4:4:4, some progressive")
    for p in paths[:2]:
        pytx_pdq(p), vigil_pdq("fast")(p)
    _, c_ref, w_ref = cpu_timed(lambda: [pytx_pdq(p) for p in paths])
    _, c_lib, w_lib = cpu_timed(lambda: [vigil_pdq("fast")(p) for p in paths])
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        tiny = Path(tmp) / "tiny"
        tiny.mkdir()
        # Start-up: the same command on one small JPEG, so that it includes loading the
        # image path (Pillow, the PDQ core), which the first image would otherwise pay.
        picture(np.random.default_rng(0), 64, 48).save(tiny / "a.jpg", "JPEG")
        rows = [("pytx/pdqhash (library)", c_ref, w_ref, 0.0, 0.0)]
        rows.append(("vigil hash_file (library)", c_lib, w_lib, 0.0, 0.0))
        hash_args = ["hash", "--jobs", "1", "--json"]
        s_cpu, s_wall = min(run_vigil([*hash_args, str(tiny)], home) for _ in range(3))
        c, w = run_vigil([*hash_args, str(folder)], home)
        rows.append(("vigil hash --jobs 1", c, w, s_cpu, s_wall))
        scan_args = ["scan", "--jobs", "1", "-q", "--case"]
        k_cpu, k_wall = min(
            run_vigil([*scan_args, f"startup{i}", str(tiny)], home) for i in range(3)
        )
        c, w = run_vigil([*scan_args, "bench", str(folder)], home)
        rows.append(("vigil scan --jobs 1", c, w, k_cpu, k_wall))
    head = ("path", "cpu ms/img", "wall ms/img", "x pytx/core", "start-up s")
    print(f"{head[0]:<26} {head[1]:>10} {head[2]:>11} {head[3]:>11} {head[4]:>10}")
    for name, c, w, sc, sw in rows:
        per = (c - sc) / n
        print(
            f"{name:<26} {1000 * per:10.1f} {1000 * (w - sw) / n:11.1f} "
            f"{c_ref / n / per:11.2f} {sc:6.2f} cpu"
        )


# -- vPDQ -------------------------------------------------------------------------------


def rewrite(
    src: Path,
    dst: Path,
    *,
    codec: str = "libx264",
    scale: float = 1.0,
    crop: float = 0.0,
    skip_seconds: float = 0.0,
) -> Path:
    """A re-encoded, resized, cropped or trimmed copy of a video (cached)."""
    if dst.exists():
        return dst
    tmp = dst.with_suffix(".part" + dst.suffix)
    with av.open(str(src)) as inp, av.open(str(tmp), "w") as out:
        vin = inp.streams.video[0]
        rate = vin.average_rate
        w, h = vin.codec_context.width, vin.codec_context.height
        dx, dy = int(w * crop), int(h * crop)
        ow = int((w - 2 * dx) * scale) // 2 * 2
        oh = int((h - 2 * dy) * scale) // 2 * 2
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = ow, oh, "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "veryfast", "crf": "26"}
        skip = round(skip_seconds * float(rate))
        for n, frame in enumerate(inp.decode(vin)):
            if n < skip:
                continue
            rgb = frame.to_ndarray(format="rgb24")[dy : h - dy, dx : w - dx]
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            vf = vf.reformat(width=ow, height=oh, format="yuv420p")
            vf.pts, vf.time_base = n - skip, 1 / Fraction(rate)
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.rename(dst)
    return dst


def variants(clip: Path) -> list[Path]:
    folder = clip.parent / "variants"
    folder.mkdir(exist_ok=True)
    stem = clip.stem
    return [
        rewrite(clip, folder / f"{stem}-reencoded.mp4"),
        rewrite(clip, folder / f"{stem}-mpeg4.avi", codec="mpeg4"),
        rewrite(clip, folder / f"{stem}-half.mp4", scale=0.5),
        rewrite(clip, folder / f"{stem}-crop5.mp4", crop=0.05),
        rewrite(clip, folder / f"{stem}-trim1.3s.mp4", skip_seconds=1.3),
    ]


def vpdq_speed(title: str, paths: list[Path], minutes: float) -> None:
    import vpdq

    print(f"\n## vPDQ speed, {title}: {len(paths)} videos, {minutes:g} video-minutes, one core")
    vpdq.computeHash(str(paths[0]), seconds_per_hash=1, thread_count=1)
    best: dict[str, tuple[float, float]] = {}
    runs = {
        "vpdq package": lambda: [
            vpdq.computeHash(str(p), seconds_per_hash=1, thread_count=1) for p in paths
        ],
        "vigil exact": lambda: [vpdq_from_video(p, mode="exact") for p in paths],
        "vigil fast": lambda: [vpdq_from_video(p, mode="fast") for p in paths],
    }
    for _ in range(2):  # interleaved, best of two: the machine is shared
        for name, run in runs.items():
            _, c, w = cpu_timed(run)
            old = best.get(name, (float("inf"), float("inf")))
            best[name] = (min(old[0], c), min(old[1], w))
    ref = best["vpdq package"][0]
    head = ("implementation", "cpu s/video-min", "wall s/video-min", "x vpdq/core")
    print(f"{head[0]:<14} {head[1]:>15} {head[2]:>16} {head[3]:>11}")
    for name, (c, w) in best.items():
        print(f"{name:<14} {c / minutes:15.3f} {w / minutes:16.3f} {ref / c:11.2f}")


def verdict_set(paths: list[Path]) -> None:
    import vpdq

    print(f"\n## vPDQ verdict set: {len(paths)} videos, {len(paths) ** 2} ordered pairs")
    ref = {
        p: [
            VpdqFrame(r.hex, r.quality, r.frame_number, r.timestamp)
            for r in vpdq.computeHash(str(p), seconds_per_hash=1)
        ]
        for p in paths
    }
    exact = {p: vpdq_from_video(p, mode="exact")[0] for p in paths}
    fast = {p: vpdq_from_video(p, mode="fast")[0] for p in paths}
    same_ref = sum([f.pdq for f in exact[p]] == [f.pdq for f in ref[p]] for p in paths)
    print(f"vigil exact == vpdq package, frame for frame: {same_ref}/{len(paths)} videos")
    dists = [
        min(hamming(f.pdq, e.pdq) for e in exact[p]) for p in paths for f in fast[p] if exact[p]
    ]
    usable = [
        min(hamming(f.pdq, e.pdq) for e in exact[p])
        for p in paths
        for f in fast[p]
        if exact[p] and f.quality >= 50
    ]
    n_fast, n_exact = sum(map(len, fast.values())), sum(map(len, exact.values()))
    print(
        f"fast frames: {n_fast} against {n_exact} exact; distance to the nearest exact "
        f"frame: mean {statistics.mean(dists):.2f}, "
        f"max {max(dists)}, 0 bits: {100 * np.mean(np.array(dists) == 0):.1f}%; "
        f"frames of quality >= 50 (the ones matching uses, {len(usable)}): "
        f"mean {statistics.mean(usable):.2f}, p99 {np.percentile(usable, 99):.0f}, "
        f"max {max(usable)}"
    )
    truth = {(a, b): is_match(ref[a], ref[b]) for a in paths for b in paths}
    matches = sum(truth.values())
    print(f"reference verdicts: {matches} matches, {len(truth) - matches} non-matches")
    for label, q, c in (
        ("exact vs exact", exact, exact),
        ("fast vs fast", fast, fast),
        ("fast query vs exact list", fast, exact),
        ("fast query vs vpdq list", fast, ref),
        ("vpdq query vs fast list", ref, fast),
    ):
        differ = [(a.name, b.name) for (a, b), v in truth.items() if is_match(q[a], c[b]) != v]
        print(f"{label:<26} same verdicts: {len(truth) - len(differ)}/{len(truth)} {differ[:4]}")


def join_videos(paths: list[Path], dst: Path) -> Path:
    """One long video: the clips' packets one after the other, not re-encoded (cached)."""
    if dst.exists():
        return dst
    tmp = dst.with_suffix(".part.mp4")
    offset = 0
    with av.open(str(tmp), "w") as out:
        with av.open(str(paths[0])) as first:
            stream = out.add_stream_from_template(first.streams.video[0])
        for path in paths:
            with av.open(str(path)) as inp:
                vin = inp.streams.video[0]
                end = 0
                for packet in inp.demux(vin):
                    if packet.dts is None:
                        continue
                    packet.pts += offset
                    packet.dts += offset
                    end = max(end, packet.pts + (packet.duration or 0))
                    packet.stream = stream
                    out.mux(packet)
                offset = end
    tmp.rename(dst)
    return dst


def long_section(clips: list[Path], copies: int) -> None:
    cores = len(os.sched_getaffinity(0))
    long = join_videos(clips * copies, clips[0].parent / f"long-{len(clips) * copies}.mp4")
    with av.open(str(long)) as c:
        minutes = float(c.duration or 0) / 1e6 / 60
    print(f"\n## One long video on all cores: {minutes:.1f} min 640x360 H.264, {cores} cores")
    long_cli(long, cores, minutes)
    # "serial, 1 thread": one process, one decoder thread (what one scan worker gets);
    # "serial": FFmpeg's own frame threads over every core; "N workers": segments.
    print(f"{'mode':<6} {'path':<18} {'wall s':>7} {'cpu s':>7} {'x 1 thread':>10} same")
    for mode in ("exact", "fast"):
        pass_ = mode
        one, c0, w0 = cpu_timed(
            lambda p=pass_: _hash_frames(long, 1.0, 40_000_000, pass_=p, threads=1)[0]
        )
        print(f"{mode:<6} {'serial, 1 thread':<18} {w0:7.2f} {c0:7.2f} {1.0:10.2f}")
        serial, c1, w1 = cpu_timed(lambda m=mode: vpdq_from_video(long, mode=m)[0])
        print(f"{mode:<6} {'serial':<18} {w1:7.2f} {c1:7.2f} {w0 / w1:10.2f} {serial == one}")
        split, c2, w2 = cpu_timed(lambda m=mode: vpdq_from_video(long, mode=m, workers=cores)[0])
        label = f"{cores} workers"
        print(f"{mode:<6} {label:<18} {w2:7.2f} {c2:7.2f} {w0 / w2:10.2f} {split == serial}")
        # What N idle cores would give: the CPU time of the 3N segments that N workers
        # get, scheduled greedily on N lanes, plus the demuxing pass.
        index, c_index, _ = cpu_timed(lambda: index_video(long))
        for n in (2, 4, 8):
            costs = []
            for segment in plan_segments(index, n * 3):  # type: ignore[arg-type]
                _, c, _ = cpu_timed(
                    lambda s=segment, p=pass_: _hash_frames(
                        long, 1.0, 40_000_000, pass_=p, segment=s, threads=1
                    )
                )
                costs.append(c)
            lanes = [0.0] * n
            for c in costs:
                lanes[lanes.index(min(lanes))] += c
            ideal = c_index + max(lanes)
            print(
                f"{mode:<6} {f'{n} idle cores':<18} {ideal:7.2f} {sum(costs):7.2f} "
                f"{c0 / ideal:10.2f} (model: {len(costs)} segments' CPU on {n} lanes)"
            )


def long_cli(long: Path, cores: int, minutes: float) -> None:
    """As users run it: ``vigil hash --jobs 1`` against ``--jobs N`` on the long video."""
    print(f"\n## The long video through the command line ({minutes:.1f} min, {cores} cores)")
    print(f"{'mode':<6} {'command':<32} {'wall s':>7} {'cpu s':>7} {'x --jobs 1':>10} same")
    home = Path(tempfile.mkdtemp(prefix="vigil-long-"))
    env = {**os.environ, "VIGIL_HOME": str(home)}
    for mode in ("fast", "exact"):
        outputs: dict[int, str] = {}
        walls: dict[int, float] = {}
        for jobs in (1, cores):
            args = ["hash", "--json", "--jobs", str(jobs), "--video-mode", mode, str(long)]
            c, w = cpu(), time.perf_counter()
            done = subprocess.run([str(VIGIL), *args], capture_output=True, text=True, env=env)
            c, w = cpu() - c, time.perf_counter() - w
            if done.returncode != 0:
                raise SystemExit(f"vigil {' '.join(args)} failed: {done.stderr}")
            outputs[jobs], walls[jobs] = done.stdout, w
            same = "" if jobs == 1 else str(outputs[jobs] == outputs[1])
            label = f"vigil hash --jobs {jobs}"
            print(f"{mode:<6} {label:<32} {w:7.2f} {c:7.2f} {walls[1] / w:10.2f} {same}")


def meta_videos(folder: Path) -> list[Path]:
    found = sorted(folder.glob("*.mp4")) if folder.is_dir() else []
    if not found:
        print(
            f"\n(Meta's sample videos skipped: none in {folder}; extract "
            "tmk/sample-videos/*.mp4 from facebook/ThreatExchange there to include them)"
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--camera", type=int, default=100, help="camera-size JPEGs (4000x3000)")
    parser.add_argument("--web", type=int, default=200, help="web-size JPEGs (640x480)")
    parser.add_argument("--phone", type=int, default=40, help="camera-like JPEGs for the CLI")
    parser.add_argument("--videos", type=int, default=4, help="synthetic videos")
    parser.add_argument("--video-seconds", type=int, default=60)
    parser.add_argument("--hd-videos", type=int, default=1, help="synthetic 1080p videos")
    parser.add_argument("--long-copies", type=int, default=2, help="the clips joined N times")
    parser.add_argument(
        "--meta-videos", type=Path, default=CACHE / "tmk-sample-videos",
        help="folder of Meta's tmk/sample-videos/*.mp4 (skipped when empty)",
    )  # fmt: skip
    parser.add_argument("--sections", default="pdq,cli,vpdq,long")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    all_cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(all_cores)})  # one core, children too
    print(f"corpus: {args.camera} camera JPEGs, {args.web} web JPEGs, {args.phone} camera-like")
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"JPEGs, {args.videos} + {args.hd_videos} videos; run {when}")
    if "pdq" in sections:
        pdq_section(
            "camera JPEGs 4000x3000 (12 MP)", jpegs("camera", args.camera, 4000, 3000, seed=1)
        )
        pdq_section("web JPEGs 640x480", jpegs("web", args.web, 640, 480, seed=2))
    if "cli" in sections and args.phone:
        cli_section(phone_jpegs(args.phone))
    clips = videos(args.videos, args.video_seconds, 640, 360, 30, seed=3)
    hd = videos(args.hd_videos, args.video_seconds, 1920, 1080, 30, seed=4)
    if "vpdq" in sections and clips:
        minutes = args.video_seconds / 60
        vpdq_speed("640x360 H.264", clips, minutes * len(clips))
        if hd:
            vpdq_speed("1920x1080 H.264", hd, minutes * len(hd))
        meta = meta_videos(args.meta_videos)
        if meta:
            vpdq_speed(
                "Meta's sample videos (SD and HD H.264)",
                meta,
                sum(float(av.open(str(p)).duration or 0) / 6e7 for p in meta),
            )
        synthetic = [*clips, *[v for c in clips[:2] for v in variants(c)], *hd]
        verdict_set([*synthetic, *meta])
    if "long" in sections and clips:
        os.sched_setaffinity(0, all_cores)
        long_section(clips, args.long_copies)


if __name__ == "__main__":
    main()
