"""Service benchmark: ``vigil serve`` with 1 million PDQ hashes, driven over loopback.

Usage:
    .venv/bin/python benchmarks/service_bench.py [--hashes 1000000] [--workers 2]
        [--concurrency 8] [--requests 40000] [--duration 20] [--uploads 400]
        [--hit-share 0.05] [--workdir /tmp] [--postgres postgresql://...]

It makes a fresh store (SQLite in a work directory, or a fresh schema of ``--postgres``)
with one set of ``--hashes`` random PDQ hashes (benign random bits), builds the index
once, creates an API key, starts ``vigil serve`` (uvicorn, ``--workers`` processes) on
a free 127.0.0.1 port and waits for /readyz. Then, with a bounded number of requests
and a bounded time:

* hash lookups: ``GET /v1/match?signal_type=pdq&signal=...`` from ``--concurrency``
  keep-alive connections (a small asyncio HTTP/1.1 client, so the load generator costs
  little of the two cores it shares with the server); ``--hit-share`` of the queries
  are a few bits from an indexed hash (they match, and are written to the match log),
  the rest are random (no match, as most uploads on a platform);
* the same through HMA's route, ``GET /m/lookup``;
* the same two routes driven by ``wrk`` (1 thread, ``--concurrency`` connections,
  random no-match hashes), which costs the shared cores far less than any Python
  client (``--no-wrk`` skips it);
* a batch: ``POST /v1/match/batch`` with 10,000 random PDQ hashes, in hashes/s;
* upload matches: ``POST /v1/match`` with a 320x240 JPEG (synthetic noise).

It reports requests/s, p50/p99/max latency, errors, and the server's memory: the sum
of RSS of its processes and of PSS (which counts the memory-mapped index pages the
workers share once), and prints HMA 1.1.7's figures from the field notes as the
baseline (HMA is not run here).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HMA_BASELINE = (
    "HMA 1.1.7 (field notes; gunicorn, 2 workers, PostgreSQL 15, same machine; not run here):\n"
    "  GET /m/lookup 40-95 req/s as shipped (150-200 with OMP_NUM_THREADS=1), "
    "p99 49-1,088 ms\n"
    "  POST /m/lookup (320x240 JPEG) 55-115 req/s; memory 1.6 GB (785 MiB index per worker);\n"
    "  a new hash matchable after 122 s; a non-image upload answered with a 500."
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def setup(work: Path, n: int, seed: int, url: str | None) -> tuple[str, list[str]]:
    """A store with one set of ``n`` random PDQ hashes; the index built; a bench key."""
    os.environ["VIGIL_HOME"] = str(work / "home")
    url = url or f"sqlite:///{work / 'home' / 'vigil.sqlite3'}"
    os.environ["VIGIL_DATABASE_URL"] = url
    from vigil.hashsets.model import DigestBlock, HashSetInfo
    from vigil.services.catalog import Catalog
    from vigil.store import open_store
    from vigil.store.apikeys import ApiKeyRepository

    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    hexes = [bytes(row).hex() for row in raw]
    t0 = time.perf_counter()
    with open_store(url) as store:
        store.hashsets.replace(HashSetInfo(name="bench"), [DigestBlock("pdq", hexes)])
        t1 = time.perf_counter()
        Catalog(store).refresh()
        t2 = time.perf_counter()
        key = ApiKeyRepository(store.db).create("bench", "curator", rate_per_second=1e9)
    print(f"store: {n:,} PDQ hashes imported in {t1 - t0:.1f} s, index built in {t2 - t1:.1f} s")
    (work / "key").write_text(key)
    return key, hexes


def flip(value: str, bits: int, rng: np.random.Generator) -> str:
    v = int(value, 16)
    for b in rng.choice(256, size=bits, replace=False):
        v ^= 1 << int(b)
    return f"{v:064x}"


def memory(pid: int) -> tuple[float, float, list[tuple[int, float, float]]]:
    """RSS and PSS (MiB) summed over the server process and all its descendants, and each.

    ``vigil serve --workers N`` runs uvicorn's manager as a child, and the workers are
    its children: every level is walked.
    """
    pids, todo = [pid], [pid]
    while todo:
        try:
            out = subprocess.run(["pgrep", "-P", str(todo.pop())], capture_output=True, text=True)
        except OSError:
            break
        children = [int(p) for p in out.stdout.split()]
        pids += children
        todo += children
    each = []
    for p in pids:
        rss = pss = 0.0
        try:
            with open(f"/proc/{p}/smaps_rollup", encoding="ascii") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss = int(line.split()[1]) / 1024
                    elif line.startswith("Pss:"):
                        pss = int(line.split()[1]) / 1024
        except OSError:
            continue
        each.append((p, rss, pss))
    return sum(e[1] for e in each), sum(e[2] for e in each), each


async def drive(
    port: int,
    requests: list[bytes],
    concurrency: int,
    duration: float,
) -> tuple[list[float], int, float]:
    """Send prepared HTTP/1.1 requests over keep-alive connections; latencies in ms."""
    latencies: list[float] = []
    errors = 0
    queue = iter(requests)
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in queue:
                if time.perf_counter() > deadline:
                    return
                start = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                latencies.append((time.perf_counter() - start) * 1000)
                if status != 200:
                    errors += 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - t0


def get_request(path: str, key: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n\r\n"
    ).encode()


def upload_request(jpeg: bytes, key: str) -> bytes:
    boundary = "vigilbench"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="u.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + jpeg
        + f"\r\n--{boundary}--\r\n".encode()
    )
    head = (
        f"POST /v1/match HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


WRK_SCRIPT = """
local paths = {}
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
end
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
"""


def wrk(base: str, key: str, paths: list[str], work: Path, seconds: float, conns: int) -> str:
    """Drive GETs of ``paths`` (in random order) with wrk: 1 thread, ``conns`` connections.

    wrk is a C load generator: it costs the shared cores far less than a Python client,
    which saturated first in earlier runs and under-reported the service.
    """
    exe = shutil.which("wrk")
    if exe is None:
        return "wrk: not installed (Debian package wrk; ./dev installs it)"
    script, listing = work / "paths.lua", work / "paths.txt"
    script.write_text(WRK_SCRIPT)
    listing.write_text("\n".join(paths) + "\n")
    out = subprocess.run(
        [exe, "-t1", f"-c{conns}", f"-d{seconds:.0f}s", "--latency", "-H", f"X-API-Key: {key}",
         "-s", str(script), base, "--", str(listing)],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    rate = next((ln.split()[1] for ln in out.splitlines() if ln.startswith("Requests/sec")), "?")
    p50 = next((ln.split()[1] for ln in out.splitlines() if ln.strip().startswith("50%")), "?")
    p99 = next((ln.split()[1] for ln in out.splitlines() if ln.strip().startswith("99%")), "?")
    errors = [ln.strip() for ln in out.splitlines() if "Non-2xx" in ln or "Socket errors" in ln]
    return f"{float(rate):,.0f} req/s, p50 {p50}, p99 {p99} {' '.join(errors)}".strip()


def report(name: str, lat: list[float], errors: int, elapsed: float) -> str:
    if not lat:
        return f"{name}: no requests completed"
    q = statistics.quantiles(lat, n=100)
    return (
        f"{name}: {len(lat):,} requests in {elapsed:.1f} s = {len(lat) / elapsed:,.0f} req/s; "
        f"p50 {q[49]:.2f} ms, p99 {q[98]:.2f} ms, max {max(lat):.1f} ms; non-200: {errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hashes", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=40_000)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--uploads", type=int, default=400)
    parser.add_argument("--hit-share", type=float, default=0.05)
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--no-wrk", action="store_true", help="skip the wrk phases")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="use this PostgreSQL database (in a fresh schema, dropped afterwards)",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vigil-service-bench-", dir=args.workdir))
    server: subprocess.Popen[bytes] | None = None
    cleanup: list[tuple[str, str]] = []
    try:
        url = None
        if args.postgres:
            import psycopg

            schema = f"vigil_bench_{os.getpid()}"
            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(f"CREATE SCHEMA {schema}")
            cleanup.append((args.postgres, schema))
            url = f"{args.postgres}?options=-csearch_path%3D{schema}"
        key, hexes = setup(work, args.hashes, args.seed, url)
        print(f"store: {'PostgreSQL' if url else 'SQLite'}")
        port = free_port()
        env = {**os.environ, "VIGIL_SERVE_RATE": "1e9", "VIGIL_SERVE_BURST": "1e9"}
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "vigil"),
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--rate",
                "1e9",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(work / "server.log").open("wb"),
        )
        import httpx

        t0 = time.perf_counter()
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.perf_counter() - t0 > 120:
                raise SystemExit("server did not start: " + (work / "server.log").read_text())
            time.sleep(0.2)
        print(
            f"server: {args.workers} worker(s), ready {time.perf_counter() - t0:.1f} s after start"
        )
        rng = np.random.default_rng(args.seed + 1)
        n = args.requests
        queries = []
        for _ in range(n):
            if rng.random() < args.hit_share:
                queries.append(flip(hexes[int(rng.integers(len(hexes)))], 8, rng))
            else:
                queries.append(rng.bytes(32).hex())
        print(
            f"load: {args.concurrency} connections, at most {n:,} requests or "
            f"{args.duration:.0f} s per phase, {args.hit_share:.0%} near-duplicate hits"
        )
        warm = [get_request(f"/v1/match?signal_type=pdq&signal={q}", key) for q in queries[:500]]
        asyncio.run(drive(port, warm, args.concurrency, 10))
        v1 = [get_request(f"/v1/match?signal_type=pdq&signal={q}", key) for q in queries]
        lat, err, el = asyncio.run(drive(port, v1, args.concurrency, args.duration))
        print(report("GET /v1/match (PDQ hash lookup)", lat, err, el))
        hma = [get_request(f"/m/lookup?signal_type=pdq&signal={q}", key) for q in queries]
        lat, err, el = asyncio.run(drive(port, hma, args.concurrency, args.duration))
        print(report("GET /m/lookup (HMA route)     ", lat, err, el))
        if not args.no_wrk:
            misses = [rng.bytes(32).hex() for _ in range(20_000)]
            for label, route in (("GET /v1/match", "/v1/match"), ("GET /m/lookup", "/m/lookup")):
                paths = [f"{route}?signal_type=pdq&signal={q}" for q in misses]
                result = wrk(
                    f"http://127.0.0.1:{port}", key, paths, work, args.duration, args.concurrency
                )
                print(f"wrk {label} (random, no match): {result}")
        batch = {
            "queries": [
                {"signal_type": "pdq", "signal": rng.bytes(32).hex()} for _ in range(10_000)
            ]
        }
        t_batch, sent = time.perf_counter(), 0
        with httpx.Client(headers={"X-API-Key": key}, timeout=60) as bc:
            while sent < 200_000 and time.perf_counter() - t_batch < args.duration:
                bc.post(f"http://127.0.0.1:{port}/v1/match/batch", json=batch).raise_for_status()
                sent += len(batch["queries"])
        took = time.perf_counter() - t_batch
        print(f"POST /v1/match/batch (10,000 random PDQ): {sent / took:,.0f} hashes/s")
        from PIL import Image

        noise = np.random.default_rng(args.seed + 2).integers(0, 256, (240, 320, 3), np.uint8)
        buf = io.BytesIO()
        Image.fromarray(noise).save(buf, "JPEG", quality=85)
        uploads = [upload_request(buf.getvalue(), key)] * args.uploads
        lat, err, el = asyncio.run(drive(port, uploads, min(4, args.concurrency), args.duration))
        print(report("POST /v1/match (320x240 JPEG) ", lat, err, el))
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {key}"}
        fresh = rng.bytes(32).hex()
        t_add = time.perf_counter()
        httpx.post(
            f"{base}/v1/hashsets/bench/entries", json={"signals": {"pdq": fresh}}, headers=auth
        ).raise_for_status()
        streak = 0
        while streak < 10 and time.perf_counter() - t_add < 30:
            # a new connection each time, so that the kernel spreads them over the workers
            got = httpx.get(
                f"{base}/v1/match", params={"signal_type": "pdq", "signal": fresh}, headers=auth
            ).json()
            streak = streak + 1 if got["matches"] else 0
        print(
            f"new hash: matched by 10 lookups in a row {time.perf_counter() - t_add:.2f} s "
            "after it was added (no rebuild, no restart)"
        )
        junk = httpx.post(
            f"{base}/v1/match", files={"file": ("x.jpg", b"not an image")}, headers=auth
        )
        print(f"non-image upload: HTTP {junk.status_code} {junk.json()['message']!r}")
        rss, pss, each = memory(server.pid)
        print(f"server memory: RSS {rss:,.0f} MiB summed over processes, PSS {pss:,.0f} MiB")
        for i, (_, r, p) in enumerate(each):
            role = "supervisor" if i == 0 and len(each) > 1 else "worker"
            print(f"  {role}: RSS {r:,.0f} MiB, PSS {p:,.0f} MiB")
        print(HMA_BASELINE)
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(work, ignore_errors=True)
        for base, schema in cleanup:
            import psycopg

            with psycopg.connect(base, autocommit=True) as admin:
                admin.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
