"""Two figures behind docs/scale.md's projection, measured on this machine.

Usage:
    .venv/bin/python benchmarks/scale_bench.py [--files 5000] [--entries 100000]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]

* client: what the scanning client pays per file on a cluster scan (rows come back to
  it, it matches them against the alert sets and writes each file's rows in one
  transaction to PostgreSQL): N files of one row each (rows of the example evidence
  under new names), matched against an alert set of ``--entries`` random MD5+PDQ
  entries, written through ``StoreCaseSink``; files/s wall and client CPU per file,
  with and without matching. In a fresh schema, dropped afterwards.
* malloc: CPU time of reading 256 MiB (four times) in 1 MiB reads, in child processes
  with ``MALLOC_TRIM_THRESHOLD_=65536`` (as Dask's nanny starts workers), with that
  variable and ``vigil.scan.cluster.tune_malloc()``, and without it.
"""

from __future__ import annotations

import argparse
import copy
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

READER = """
import sys, time
from vigil.scan.cluster import tune_malloc
if sys.argv[2] == "tuned":
    tune_malloc()
best = 1e9
for _ in range(3):
    cpu = time.process_time()
    for _ in range(4):
        with open(sys.argv[1], "rb", buffering=0) as f:
            while f.read(1 << 20):
                pass
    best = min(best, time.process_time() - cpu)
print(f"{best:.3f}")
"""


def bench_client(args) -> None:
    import psycopg

    from vigil.hashsets.model import Entry, HashSetInfo, HashSetKind
    from vigil.scan.case_scan import finding_matcher
    from vigil.scan.case_sink import StoreCaseSink
    from vigil.scan.engine import MemorySink, run_scan
    from vigil.services.cases import CaseService
    from vigil.services.matcher import Matcher, MatchOptions, open_snapshot
    from vigil.store import open_store

    schema = f"vigil_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(args.postgres, autocommit=True)
    admin.execute(f"CREATE SCHEMA {schema}")
    url = f"{args.postgres}?options=-csearch_path%3D{schema}"
    try:
        sample = MemorySink()
        run_scan([REPO / "examples" / "evidence"], sample, jobs=1)
        rows = [
            r
            for rs in sample.rows.values()
            for r in rs
            if r.kind == "file" and r.error is None and r.md5
        ]
        store = open_store(url)
        rng = np.random.default_rng(17)
        entries = [
            Entry(md5=rng.bytes(16).hex(), pdq=rng.bytes(32).hex()) for _ in range(args.entries)
        ]
        store.hashsets.replace(HashSetInfo(name="BIG", kind=HashSetKind.alert), entries)
        snapshot = open_snapshot(store)
        sets = {int(i.id or 0): i for i in snapshot.sets.values()}
        match = finding_matcher(Matcher(snapshot, store, sets=sets, options=MatchOptions()))
        for matching in (True, False):
            case, _ = CaseService(store).open(f"bench-{matching}")
            sink = StoreCaseSink(store, case)
            units = []
            for i in range(args.files):
                row = copy.deepcopy(rows[i % len(rows)])
                row.path = row.source = f"/evidence/f{i:07d}/{Path(row.path).name}"
                units.append(row)
            wall, cpu = time.perf_counter(), time.process_time()
            for i, row in enumerate(units):
                row.matches = match(row) if matching else []
                sink.record(i, [row])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(
                f"client, {'with' if matching else 'without'} matching: {args.files} files, "
                f"{args.files / wall:,.0f} files/s wall, {cpu / args.files * 1e6:.0f} us CPU "
                f"per file (load average {os.getloadavg()[0]:.1f})"
            )
        store.close()
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


def bench_malloc() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        blob = Path(tmp) / "blob"
        blob.write_bytes(os.urandom(256 << 20))
        for label, env, mode in (
            (
                "MALLOC_TRIM_THRESHOLD_=65536 (Dask's nanny)",
                {"MALLOC_TRIM_THRESHOLD_": "65536"},
                "plain",
            ),
            ("the same, then tune_malloc()", {"MALLOC_TRIM_THRESHOLD_": "65536"}, "tuned"),
            ("glibc defaults", {}, "plain"),
        ):
            base = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
            out = subprocess.run(
                [sys.executable, "-c", READER, str(blob), mode],
                env={**base, **env},
                capture_output=True,
                text=True,
                check=True,
            )
            print(f"malloc, {label}: {out.stdout.strip()} CPU s for 1 GiB in 1 MiB reads")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--only", choices=("client", "malloc"))
    args = parser.parse_args(argv)
    if args.only != "client":
        bench_malloc()
    if args.only != "malloc":
        bench_client(args)


if __name__ == "__main__":
    main()
