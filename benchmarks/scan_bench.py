"""Scan benchmark: Vigil's hashing pass and full scan against cat, hashdeep and pytx, one run.

Usage:
    .venv/bin/python benchmarks/scan_bench.py [--gigabytes 2.0] [--jobs 0]

Builds (once, cached in benchmarks/.corpus/scan-tree) a benign evidence tree of at least
``--gigabytes`` GB: camera-size and web-size JPEGs, H.264 videos, text documents, a zip
and a tar.gz of pictures, and large binary files (disk-image chunks). Then, with the
tree in the page cache:

1. the machine's limit for a MD5+SHA-1+SHA-256 pass: the lesser of the read rate (``cat``
   of every file) and the cores' combined one-pass hashing rate (hashlib on one core,
   times the cores);
2. ``hashdeep -c md5,sha1,sha256 -r`` (Debian's hashdeep, all cores) and Vigil's hashing
   pass (``vigil scan`` with digests only and archives closed, all cores), each as a share
   of that limit;
3. a full scan of the camera JPEGs (fast PDQ, all cores) against a pytx script hashing
   the same files on all cores (python-threatexchange's pdq_from_file in a process pool);
4. with ``--image``: the tree's files (all but the large binary chunks) in an ext4 file
   system in a raw disk image (``mkfs.ext4 -d``) and in an E01 of it (``ewfacquire``,
   fast deflate), cached in benchmarks/.corpus/scan-image; Vigil's hashing pass over the
   folder, the raw image and the E01, each as a share of the limit for those bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import CACHE, jpegs, videos
from vigil.media.archives import ArchiveLimits
from vigil.records import ScanItem
from vigil.scan.engine import run_scan
from vigil.scan.worker import ScanOptions
from vigil.signals.filehash import HashOptions

TREE = CACHE / "scan-tree"


class NullSink:
    """Counts rows and bytes; keeps nothing (the benchmark measures hashing, not storage)."""

    def __init__(self) -> None:
        self.rows = 0
        self.bytes = 0

    def done_sources(self) -> dict[str, tuple[int | None, float | None]]:
        return {}

    def record(self, seq: int, items: list[ScanItem]) -> None:
        self.rows += len(items)
        self.bytes += items[0].size or 0


def build_tree(gigabytes: float) -> Path:
    marker = TREE / f".complete-{gigabytes}"
    if marker.exists():
        return TREE
    shutil.rmtree(TREE, ignore_errors=True)
    (TREE / "DCIM").mkdir(parents=True)
    camera = jpegs("camera", 100, 4000, 3000, seed=1)
    web = jpegs("web", 200, 640, 480, seed=2)
    clips = videos(4, 60, 640, 360, 30, seed=3)
    for p in camera:
        shutil.copy(p, TREE / "DCIM" / p.name)
    (TREE / "Downloads").mkdir()
    for p in web[:150]:
        shutil.copy(p, TREE / "Downloads" / p.name)
    (TREE / "Movies").mkdir()
    for p in clips:
        shutil.copy(p, TREE / "Movies" / p.name)
    (TREE / "Documents").mkdir()
    rng = np.random.default_rng(7)
    words = [
        w.encode()
        for w in ["the", "of", "and", "to", "in", "evidence", "case", "report", "hash", "file"]
    ]
    for i in range(200):
        text = b" ".join(words[k] for k in rng.integers(0, len(words), 20_000))
        (TREE / "Documents" / f"doc{i:03d}.txt").write_bytes(text)
    with zipfile.ZipFile(TREE / "Downloads" / "photos.zip", "w") as z:
        for p in web[150:]:
            z.write(p, f"photos/{p.name}")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as t:
        for p in sorted((TREE / "Documents").iterdir())[:50]:
            t.add(p, f"docs/{p.name}")
    (TREE / "backup.tar.gz").write_bytes(buffer.getvalue())
    (TREE / "images").mkdir()
    have = sum(p.stat().st_size for p in TREE.rglob("*") if p.is_file())
    chunk = 256 << 20
    n = 0
    while have < gigabytes * 1e9:
        (TREE / "images" / f"disk.{n:03d}").write_bytes(rng.bytes(chunk))
        have += chunk
        n += 1
    marker.touch()
    return TREE


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def timed_command(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def onepass_rate(seconds: float = 3.0) -> float:
    """MD5+SHA-1+SHA-256 over the same chunks, as a one-pass reader feeds them.

    The best of 64 KiB to 1 MiB chunks, which stay in cache between the three digests;
    hashing whole 64 MiB buffers three times would measure memory bandwidth instead.
    """
    return max(_onepass(seconds / 3, chunk) for chunk in (64 << 10, 256 << 10, 1 << 20))


def _onepass(seconds: float, chunk: int) -> float:
    data = memoryview(os.urandom(64 << 20))
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        digests = (hashlib.md5(), hashlib.sha1(), hashlib.sha256())
        for offset in range(0, len(data), chunk):
            piece = data[offset : offset + chunk]
            for h in digests:
                h.update(piece)
        done += len(data)
    return done / (time.perf_counter() - start)


def pytx_one(path: Path) -> str:
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

    return pdq_from_file(path)[0]


IMAGES = CACHE / "scan-image"


def build_image(root: Path) -> tuple[Path, Path, Path]:
    """The tree's files (no binary chunks) as a folder, a raw ext4 image and its E01."""
    folder, raw, e01 = IMAGES / "files", IMAGES / "disk.raw", IMAGES / "disk.E01"
    marker = IMAGES / ".complete"
    if marker.exists():
        return folder, raw, e01
    shutil.rmtree(IMAGES, ignore_errors=True)
    folder.mkdir(parents=True)
    for name in ("DCIM", "Downloads", "Documents", "Movies"):
        shutil.copytree(root / name, folder / name, copy_function=os.link)
    size = tree_bytes(folder)
    with raw.open("wb") as f:
        f.truncate((int(size * 1.1) + (64 << 20)) // (1 << 20) * (1 << 20))
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(folder), str(raw)], check=True)
    subprocess.run(
        ["ewfacquire", "-u", "-q", "-c", "fast", "-t", str(IMAGES / "disk"), str(raw)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    marker.touch()
    return folder, raw, e01


def image_case(root: Path, jobs: int, hash_rate: float) -> None:
    """Vigil's hashing pass over the same files: a folder, a raw image, an E01."""
    folder, raw, e01 = build_image(root)
    size = tree_bytes(folder)
    files = sum(1 for p in folder.rglob("*") if p.is_file())
    cat = ["bash", "-c", f"cat {raw} > /dev/null"]
    timed_command(cat)
    read_rate = raw.stat().st_size / min(timed_command(cat) for _ in range(2))
    limit = min(read_rate, hash_rate * jobs)
    sizes = f"{raw.stat().st_size / 1e9:.2f} GB raw, {e01.stat().st_size / 1e9:.2f} GB E01"
    print(f"\n## Disk image: {files} files, {size / 1e9:.2f} GB in ext4 ({sizes})")
    print(f"cat of the raw image            {read_rate / 1e6:8.0f} MB/s")
    print(f"machine limit                   {limit / 1e6:8.0f} MB/s")
    options = ScanOptions(HashOptions(perceptual=False), ArchiveLimits(max_depth=0))
    for name, target in (("folder", folder), ("raw image", raw), ("E01", e01)):
        run_scan([target], NullSink(), options, jobs=jobs, batch_size=16)  # warm
        start = time.perf_counter()
        run_scan([target], NullSink(), options, jobs=jobs, batch_size=16)
        rate = size / (time.perf_counter() - start)
        share = 100 * rate / limit
        print(f"vigil hashing pass, {name:<11} {rate / 1e6:8.0f} MB/s  {share:5.1f}% of the limit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gigabytes", type=float, default=2.0)
    parser.add_argument("--jobs", type=int, default=0, help="cores to use (0 = all)")
    parser.add_argument("--image", action="store_true", help="also the disk-image case")
    parser.add_argument("--image-only", action="store_true", help="only the disk-image case")
    args = parser.parse_args()
    jobs = args.jobs or os.cpu_count() or 1
    root = build_tree(args.gigabytes)
    if args.image_only:
        image_case(root, jobs, onepass_rate())
        return
    files = [p for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")]
    size = tree_bytes(root)
    print(f"tree: {len(files)} files, {size / 1e9:.2f} GB, {jobs} cores")

    cat = ["bash", "-c", f"find {root} -type f -print0 | xargs -0 cat > /dev/null"]
    timed_command(cat)  # warm the page cache
    read_rate = size / min(timed_command(cat) for _ in range(2))
    hash_rate = onepass_rate()
    limit = min(read_rate, hash_rate * jobs)
    print("\n## Hashing pass (MD5 + SHA-1 + SHA-256)")
    print(f"cat (page cache)                {read_rate / 1e6:8.0f} MB/s")
    print(f"one-pass hashing, one core      {hash_rate / 1e6:8.0f} MB/s")
    print(f"machine limit                   {limit / 1e6:8.0f} MB/s")
    t_hashdeep = timed_command(
        ["hashdeep", "-c", "md5,sha1,sha256", "-j", str(jobs), "-r", str(root)]
    )
    options = ScanOptions(HashOptions(perceptual=False), ArchiveLimits(max_depth=0))
    sink = NullSink()
    start = time.perf_counter()
    run_scan([root], sink, options, jobs=jobs, batch_size=16)
    t_vigil = time.perf_counter() - start
    for name, t in (("hashdeep", t_hashdeep), ("vigil hashing pass", t_vigil)):
        rate = size / t
        print(f"{name:<31} {rate / 1e6:8.0f} MB/s  {100 * rate / limit:5.1f}% of the limit")
    print(f"vigil / hashdeep: {t_hashdeep / t_vigil:.2f}x")
    if args.image:
        image_case(root, jobs, hash_rate)

    camera = sorted((root / "DCIM").iterdir())
    print(f"\n## Full scan of {len(camera)} camera JPEGs (12 MP), {jobs} cores")
    start = time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(pytx_one, camera, chunksize=4))
    t_pytx = time.perf_counter() - start
    start = time.perf_counter()
    run_scan([root / "DCIM"], NullSink(), ScanOptions(), jobs=jobs, batch_size=4)
    t_full = time.perf_counter() - start
    print(f"pytx/pdqhash (process pool)     {len(camera) / t_pytx:8.1f} images/s")
    print(f"vigil scan (fast PDQ + digests) {len(camera) / t_full:8.1f} images/s")
    print(f"vigil / pytx: {t_pytx / t_full:.2f}x")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\npeak RSS: this process {own:.0f} MiB; largest child {workers:.0f} MiB")
    print("(children: the scan workers, hashdeep and the pytx pool)")


if __name__ == "__main__":
    main()
