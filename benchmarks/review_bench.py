"""Review benchmarks: a page of 100 thumbnails of 12 MP JPEGs, and grouping a million images.

1. **Thumbnails.** The 100 camera JPEGs of the corpus (4000x3000, ``corpus.jpegs``) are
   scanned into a case (not timed); the review app is served on loopback (uvicorn in
   a thread, as ``vigil review`` does) and a client that behaves like a browser (six
   connections) loads the queue page and its 100 blurred thumbnails: once cold (nothing
   cached: every picture read from the evidence, DCT-scaled JPEG decode, blur, encode)
   and once cached. Goals: under 5 s cold, under 1 s cached. ``vigil review`` also
   renders the first groups' thumbnails in a thread while examiners log in; the time
   that takes for the 100 is printed last.
2. **Groups.** ``--images`` synthetic PDQ hashes (default 1,000,000), a fifth of them
   near copies (up to 16 bits flipped) of others, are grouped at distance 31 with
   the exact multi-index search (``vigil.review.groups.pdq_groups``). Goal: minutes.

Run: ``.venv/bin/python benchmarks/review_bench.py [--images N] [--skip-thumbnails]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import jpegs


def synthetic_pdq(n: int, seed: int = 7, near_fraction: float = 0.2) -> list[str]:
    """``n`` PDQ hashes: random ones, and a fraction of near copies of earlier ones."""
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 2**63, size=(n, 4), dtype=np.int64).astype(np.uint64)
    near = rng.random(n) < near_fraction
    near[0] = False
    (rows,) = np.nonzero(near)
    sources = (rng.random(len(rows)) * rows).astype(np.int64)  # an earlier hash each
    words[rows] = words[sources]
    for _ in range(16):  # flip up to 16 random bits (some flips repeat and cancel)
        bit = rng.integers(0, 256, size=len(rows))
        words[rows, bit // 64] ^= np.uint64(1) << (bit % 64).astype(np.uint64)
    raw = words.astype(">u8").tobytes()
    return [raw[i * 32 : (i + 1) * 32].hex() for i in range(n)]


def bench_groups(n: int) -> None:
    from vigil.review.groups import pdq_groups

    print(f"\n## Near-duplicate groups of {n:,} synthetic PDQ hashes (distance 31)")
    t0 = time.perf_counter()
    hashes = synthetic_pdq(n)
    t1 = time.perf_counter()
    labels = pdq_groups(hashes, None, distance=31)
    t2 = time.perf_counter()
    groups = len(np.unique(labels))
    print(f"made hashes       {t1 - t0:8.1f} s")
    print(f"grouped           {t2 - t1:8.1f} s  ({n / (t2 - t1):,.0f} images/s)")
    print(f"groups            {groups:,} ({n - groups:,} images joined a group)")


def bench_thumbnails(cores: int) -> None:
    import httpx
    import uvicorn

    from vigil.cli.main import main as vigil_main
    from vigil.review.accounts import Accounts
    from vigil.review.service import ReviewSession
    from vigil.store import open_store
    from vigil.web.review.app import create_app

    camera = jpegs("camera", 100, 4000, 3000, seed=1)
    folder = camera[0].parent
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        os.environ["VIGIL_HOME"] = str(home)
        os.environ.pop("VIGIL_DATABASE_URL", None)
        print(f"\n## A page of 100 thumbnails of 12 MP JPEGs ({folder})")
        t0 = time.perf_counter()
        try:
            vigil_main(["scan", str(folder), "--case", "bench", "--quiet"])
        except SystemExit as done:
            assert done.code in (0, None), done.code
        print(f"scan (setup)      {time.perf_counter() - t0:8.1f} s")
        store = open_store()
        Accounts(store).add("bench", "reviewer", "benchmark password")
        t0 = time.perf_counter()
        review = ReviewSession(store, "bench", cache_root=home / "cache")
        print(f"analysis (setup)  {time.perf_counter() - t0:8.1f} s")
        config = uvicorn.Config(create_app(review), host="127.0.0.1", port=0, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=120) as client:
            import re

            token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
            assert token
            client.post(
                "/login", data={"name": "bench", "password": "benchmark password", "csrf": token[1]}
            )
            for label in ("cold", "cached"):
                cpu0 = time.process_time()  # server and client: one process
                t0 = time.perf_counter()
                page = client.get("/queue/unknown?page=0").text
                urls = re.findall(r'src="(/thumb/[0-9a-f]+\.jpg)"', page)
                with ThreadPoolExecutor(6) as pool:  # a browser's six connections
                    sizes = list(pool.map(lambda u: len(client.get(u).content), urls))
                elapsed = time.perf_counter() - t0
                cpu = time.process_time() - cpu0
                print(
                    f"page + {len(urls)} thumbnails, {label:6} {elapsed:8.2f} s  "
                    f"(CPU {cpu:.2f} s; {sum(sizes) / len(sizes) / 1024:.1f} KiB each; "
                    f"load average {os.getloadavg()[0]:.1f})"
                )
        server.should_exit = True
        thread.join()
        import shutil

        from vigil.review.thumbs import Look

        shutil.rmtree(home / "cache")
        t0 = time.perf_counter()
        made = review.warm(review.warm_order(), [Look()])
        elapsed = time.perf_counter() - t0
        print(f"warming (vigil review's thread, one core): {made} thumbnails in {elapsed:.2f} s")
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--skip-thumbnails", action="store_true")
    parser.add_argument("--skip-groups", action="store_true")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"# Review benchmarks ({cores} cores)")
    if not args.skip_thumbnails:
        bench_thumbnails(cores)
    if not args.skip_groups:
        bench_groups(args.images)


if __name__ == "__main__":
    main()
