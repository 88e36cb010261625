"""Hash-set import and lookup speed, with peak memory, against a naive baseline.

    .venv/bin/python benchmarks/hashset_bench.py                 # the full run (10 M / 1 M)
    .venv/bin/python benchmarks/hashset_bench.py --md5 1000000 --vics 100000   # quicker

Each measured phase runs in its own process, so its peak RSS is its own. Phases:
import N MD5 lines (plain list) into a fresh SQLite store; the naive baseline (one
INSERT per hash into an indexed table) and Vigil on the same 1 M-line slice; import M VICS 2.0
records; look up a batch of 100,000 MD5s (half present) in the N-entry set, and the
naive way (one SELECT per hash, rows not even turned into results); import an RDS v3
database. Data is random hex: benign by construction.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_md5_lines(path: Path, n: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    with path.open("w") as f:
        done = 0
        while done < n:
            k = min(200_000, n - done)
            blob = rng.randbytes(16 * k).hex()
            f.write("\n".join(blob[i : i + 32] for i in range(0, 32 * k, 32)))
            f.write("\n")
            done += k


def make_vics(path: Path, n: int, seed: int = 2) -> None:
    rng = random.Random(seed)
    with path.open("w") as f:
        f.write(
            '{"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/'
            '2.0.xml/US/$metadata#Media", "value": [\n'
        )
        for i in range(n):
            record = {
                "MediaID": i + 1,
                "Category": rng.randrange(5),
                "MD5": rng.randbytes(16).hex().upper(),
                "SHA1": rng.randbytes(20).hex().upper(),
                "IsDistributed": "true" if i % 2 else False,
                "VictimIdentified": bool(i % 3),
                "MediaSize": rng.randrange(1, 10**7),
                "AlternativeHashes": [{"HashName": "PDQ", "HashValue": rng.randbytes(32).hex()}],
                "MediaFiles": [{"FileName": f"img_{i:08d}.jpg", "FilePath": f"/case/{i % 97}/"}],
            }
            f.write(("," if i else "") + json.dumps(record) + "\n")
        f.write("]}\n")


def make_rds(path: Path, n: int, seed: int = 4) -> None:
    """An RDS v3 database (NIST's schema) with n distinct files, each listed twice."""
    from vigil.hashsets.formats.nsrl import SCHEMA

    rng = random.Random(seed)
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    db.execute("INSERT INTO VERSION VALUES ('bench', 'minimal', '', '', 'benchmark')")
    for start in range(0, n, 100_000):
        rows = []
        for i in range(start, min(n, start + 100_000)):
            sha256, sha1, md5 = (rng.randbytes(k).hex().upper() for k in (32, 20, 16))
            rows.append((sha256, sha1, md5, "00000000", f"f{i}.dll", i, 1))
            rows.append((sha256, sha1, md5, "00000000", f"copy{i}.dll", i, 2))
        db.executemany("INSERT INTO FILE VALUES (?,?,?,?,?,?,?)", rows)
    db.commit()
    db.close()


def phase_import(args: argparse.Namespace) -> dict:
    from vigil.services.hashsets import import_file
    from vigil.store import open_store

    store = open_store(args.url)
    t0 = time.perf_counter()
    report = import_file(store.hashsets, Path(args.file), name=args.name, format_name=args.fmt)
    seconds = time.perf_counter() - t0
    store.close()
    hashes = report.imported * (3 if args.fmt in ("vics", "nsrl") else 1)
    return {
        "entries": report.imported,
        "seconds": seconds,
        "entries_per_s": report.imported / seconds,
        "hashes_per_s": hashes / seconds,
        "peak_mib": peak_mib(),
    }


def phase_naive_import(args: argparse.Namespace) -> dict:
    db = sqlite3.connect(args.db, isolation_level=None)
    db.execute("CREATE TABLE naive (id INTEGER PRIMARY KEY, md5 TEXT)")
    db.execute("CREATE INDEX naive_md5 ON naive (md5)")
    t0 = time.perf_counter()
    db.execute("BEGIN")
    n = 0
    with open(args.file) as f:
        for line in f:
            if n >= args.limit:
                break
            db.execute("INSERT INTO naive (md5) VALUES (?)", (line.strip().lower(),))
            n += 1
    db.execute("COMMIT")
    seconds = time.perf_counter() - t0
    return {"entries": n, "seconds": seconds, "entries_per_s": n / seconds, "peak_mib": peak_mib()}


def lookup_batch(file: str, n: int, batch: int) -> list[str]:
    rng = random.Random(3)
    present = set(rng.sample(range(n), batch // 2))
    chosen = []
    with open(file) as f:
        for i, line in enumerate(f):
            if i in present:
                chosen.append(line.strip())
    chosen += [rng.randbytes(16).hex() for _ in range(batch - len(chosen))]
    return chosen


def phase_lookup(args: argparse.Namespace) -> dict:
    from vigil.store import open_store

    queries = [("md5", h) for h in lookup_batch(args.file, args.n, args.batch)]
    store = open_store(args.url)
    t0 = time.perf_counter()
    matches = store.hashsets.lookup(queries)
    seconds = time.perf_counter() - t0
    store.close()
    return {
        "queries": len(queries),
        "matches": len(matches),
        "seconds": seconds,
        "peak_mib": peak_mib(),
    }


def phase_naive_lookup(args: argparse.Namespace) -> dict:
    from vigil.store import open_store

    queries = [bytes.fromhex(h) for h in lookup_batch(args.file, args.n, args.batch)]
    store = open_store(args.url)
    t0 = time.perf_counter()
    hits = 0
    for digest in queries:
        hits += len(
            store.db.execute(
                "SELECT set_id, category FROM hash_index WHERE hash_type = 1 AND digest = ?",
                (digest,),
            )
        )
    seconds = time.perf_counter() - t0
    store.close()
    return {"queries": len(queries), "matches": hits, "seconds": seconds, "peak_mib": peak_mib()}


PHASES = {
    "import": phase_import,
    "naive-import": phase_naive_import,
    "lookup": phase_lookup,
    "naive-lookup": phase_naive_lookup,
}


def run(phase: str, **kwargs: object) -> dict:
    argv = [sys.executable, __file__, "--phase", phase]
    for key, value in kwargs.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--md5", type=int, default=10_000_000, help="MD5 lines to import")
    ap.add_argument("--vics", type=int, default=1_000_000, help="VICS records to import")
    ap.add_argument("--nsrl", type=int, default=1_000_000, help="distinct files in an RDS")
    ap.add_argument("--batch", type=int, default=100_000, help="lookup batch size")
    ap.add_argument("--naive", type=int, default=1_000_000, help="lines for the naive baseline")
    ap.add_argument("--dir", default=None, help="work folder (default: a temporary one)")
    ap.add_argument(
        "--store-url",
        default=None,
        help="an empty store to measure instead of a new SQLite file "
        "(e.g. postgresql://postgres@127.0.0.1/test?options=-csearch_path%%3Dbench)",
    )
    ap.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    for hidden in ("url", "file", "name", "fmt", "db"):
        ap.add_argument(f"--{hidden}", help=argparse.SUPPRESS)
    ap.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(PHASES[args.phase](args)))
        return

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        url = args.store_url or f"sqlite:///{work / 'store.sqlite3'}"
        md5_file, vics_file = work / "md5.txt", work / "vics.json"
        t0 = time.perf_counter()
        make_md5_lines(md5_file, args.md5)
        make_vics(vics_file, args.vics)
        print(
            f"generated {args.md5:,} MD5 lines ({md5_file.stat().st_size / 2**20:,.0f} MiB) and "
            f"{args.vics:,} VICS records ({vics_file.stat().st_size / 2**20:,.0f} MiB) "
            f"in {time.perf_counter() - t0:.0f} s"
        )

        r = run("import", url=url, file=md5_file, name="md5s", fmt="md5-list")
        print(
            f"import MD5 list : {r['entries']:>11,} hashes in {r['seconds']:7.1f} s = "
            f"{r['hashes_per_s']:>9,.0f} hashes/s, peak {r['peak_mib']:,.0f} MiB"
        )
        # The baseline is slow, so both run on the same slice of the list.
        limit = min(args.naive, args.md5)
        slice_file = work / "slice.txt"
        with md5_file.open() as src, slice_file.open("w") as dst:
            for _, line in zip(range(limit), src, strict=False):
                dst.write(line)
        naive = run("naive-import", db=work / "naive.sqlite3", file=slice_file, limit=limit)
        same = run(
            "import",
            url=f"sqlite:///{work / 'slice.sqlite3'}",
            file=slice_file,
            name="s",
            fmt="md5-list",
        )
        print(
            f"naive baseline  : {naive['entries']:>11,} hashes in {naive['seconds']:7.1f} s = "
            f"{naive['entries_per_s']:>9,.0f} hashes/s (row-by-row INSERT, hex TEXT, indexed); "
            f"Vigil on the same {limit:,}: {same['hashes_per_s']:,.0f} hashes/s "
            f"-> {same['hashes_per_s'] / naive['entries_per_s']:.1f}x"
        )

        v = run("import", url=url, file=vics_file, name="vics", fmt="vics")
        print(
            f"import VICS 2.0 : {v['entries']:>11,} records in {v['seconds']:7.1f} s = "
            f"{v['entries_per_s']:>9,.0f} records/s ({v['hashes_per_s']:,.0f} hashes/s: "
            f"MD5+SHA-1+PDQ), peak {v['peak_mib']:,.0f} MiB"
        )

        q = run("lookup", url=url, file=md5_file, n=args.md5, batch=args.batch)
        print(
            f"lookup batch    : {q['queries']:>11,} MD5s in {q['seconds']:7.3f} s "
            f"({q['matches']:,} found) in a {args.md5:,}-entry set, peak {q['peak_mib']:,.0f} MiB"
        )
        nq = run("naive-lookup", url=url, file=md5_file, n=args.md5, batch=args.batch)
        print(
            f"naive lookup    : {nq['queries']:>11,} MD5s in {nq['seconds']:7.3f} s "
            f"(one SELECT per hash) -> batch is {nq['seconds'] / q['seconds']:.1f}x"
        )
        rds_file = work / "rds.db"
        make_rds(rds_file, args.nsrl)
        n = run("import", url=url, file=rds_file, name="nsrl", fmt="nsrl")
        print(
            f"import NSRL RDS : {n['entries']:>11,} distinct of {2 * args.nsrl:,} FILE rows in "
            f"{n['seconds']:7.1f} s = {n['entries_per_s']:>9,.0f} entries/s "
            f"({n['hashes_per_s']:,.0f} hashes/s: MD5+SHA-1+SHA-256), peak {n['peak_mib']:,.0f} MiB"
        )
        if args.store_url is None:
            size = (work / "store.sqlite3").stat().st_size
            total = args.md5 + args.vics + args.nsrl
            print(f"store size      : {size / 2**20:,.0f} MiB for {total:,} entries")


if __name__ == "__main__":
    main()
