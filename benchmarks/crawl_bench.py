"""Crawl speed on loopback: pages per CPU-second of the crawler, media fetches, hashing apart.

A site of N pages is served by uvicorn (httptools, uvloop) in a child process, so the
server's CPU is not the crawler's. Each page links the next three pages and shows 20
pictures. Three runs, each into a fresh SQLite store, at --rate 0 with --allow-private:

* shared: the 20 pictures are the same on every page (fetched once each; the run is
  pages: fetch, sniff, parse, frontier, record);
* distinct, unhashed: 20 different picture URLs per page, every one fetched (21
  requests per page), bytes sniffed but not hashed;
* distinct, hashed: the same with every picture hashed (MD5, SHA-1, SHA-256, PDQ) and
  matched, for reference (hashing runs at the ``vigil hash`` rate).

The figure of interest is pages per CPU-second of the crawler process (one core);
wall-clock rates are shown too (the server shares the machine's two cores).

Usage: python benchmarks/crawl_bench.py [--pages 2000]
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import socket
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def _picture(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def _serve(port: int, pages: int, distinct: bool) -> None:
    import uvicorn

    pictures = [_picture(i) for i in range(64)]

    def page(i: int) -> bytes:
        following = [j for j in range(i + 1, i + 4) if j < pages]
        links = "".join(f'<a href="/p{j}.html">page {j}</a> ' for j in following)
        prefix = f"p{i}-" if distinct else ""
        imgs = "".join(f'<img src="/img/{prefix}{k}.png" alt="">' for k in range(20))
        return (
            f"<!doctype html><html><head><title>page {i}</title></head><body><h1>Page {i}</h1>"
            f"<p>{'Some text. ' * 40}</p>{imgs}<nav>{links}</nav></body></html>"
        ).encode()

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        path = scope["path"]
        if path.startswith("/p") and path.endswith(".html"):
            body, kind, status = page(int(path[2:-5])), b"text/html", 200
        elif path.startswith("/img/"):
            name = path[5:-4]
            body, kind, status = pictures[hash(name) % len(pictures)], b"image/png", 200
        else:
            body, kind, status = b"not found", b"text/plain", 404
        await send(
            {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())]}
        )  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the site did not start")


def run(pages: int, distinct: bool, hashed: bool) -> dict[str, float]:
    from vigil.crawl.crawler import Crawler, CrawlRequest
    from vigil.store import open_store

    port = _free_port()
    server = multiprocessing.Process(target=_serve, args=(port, pages, distinct), daemon=True)
    server.start()
    try:
        _wait(port)
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["VIGIL_HOME"] = tmp
            store = open_store(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
            request = CrawlRequest(
                seeds=(f"http://127.0.0.1:{port}/p0.html",), case="bench", depth=pages,
                max_pages=pages, rate=0, allow_private=True, ignore_robots=False,
            )  # fmt: skip
            cpu, wall = time.process_time(), time.perf_counter()
            outcome = Crawler(store, request, hash_media=hashed).run()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            store.close()
    finally:
        server.terminate()
        server.join()
    p = outcome.progress
    return {
        "pages": p.pages, "media": p.media, "errors": p.errors, "cpu": cpu, "wall": wall,
        "pages_per_cpu_s": p.pages / cpu, "requests_per_cpu_s": (p.pages + p.media) / cpu,
        "pages_per_s": p.pages / wall,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    args = parser.parse_args()
    print(f"{args.pages} pages, 20 pictures each, loopback, one crawler process")
    print("| run | pages | media | CPU s | pages/CPU-s | requests/CPU-s | pages/s (wall) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, distinct, hashed in (
        ("shared pictures", False, False),
        ("distinct pictures, unhashed", True, False),
        ("distinct pictures, hashed", True, True),
    ):
        r = run(args.pages, distinct, hashed)
        assert r["errors"] == 0, r
        print(
            f"| {label} | {r['pages']:,.0f} | {r['media']:,.0f} | {r['cpu']:.1f} | "
            f"{r['pages_per_cpu_s']:,.0f} | {r['requests_per_cpu_s']:,.0f} | "
            f"{r['pages_per_s']:,.0f} |"
        )


if __name__ == "__main__":
    main()
