"""Hash-set import (every digest-list format) and lookup speed, with peak memory.

    .venv/bin/python benchmarks/hashset_bench.py                 # the full run (10 M lines)
    .venv/bin/python benchmarks/hashset_bench.py --md5 1000000 --lines 1000000 --vics 100000
    .venv/bin/python benchmarks/hashset_bench.py --corpus /tmp/hs-corpus   # keep the files
    git worktree add /tmp/vigil-peer 1ba6b12 && .venv/bin/python benchmarks/hashset_bench.py \
        --peer-src /tmp/vigil-peer/src        # also the same imports by that earlier Vigil

Each measured phase runs in its own process, so its peak RSS is its own. Phases:
import N MD5 lines (plain hex list) into a fresh SQLite store; the naive baseline (one
INSERT per hash into an indexed table) and Vigil on the same 1 M-line slice; import the
md5sum, sha1sum and sha256sum lists as users receive them (``<hex>  <path>`` lines), a
hashdeep file (size, MD5, SHA-256, file name), an NSRL RDS v3 database and an RDS 2.x
``NSRLFile.txt``, and M VICS 2.0 records; look up a batch of 100,000 MD5s (half
present) in the N-entry set, and the naive way (one SELECT per hash). With
``--peer-src``, every import is also run by the Vigil in that source tree (the peer:
the same import before a change), each into a fresh store of its own, in the same run.
Data is random hex: benign by construction.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
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


def make_sum_lines(path: Path, n: int, size: int, seed: int = 5) -> None:
    """``md5sum``-style lines, ``<hex>  <path>``, with paths as a seized disk has them."""
    rng = random.Random(seed)
    with path.open("w") as f:
        done = 0
        while done < n:
            k = min(100_000, n - done)
            blob = rng.randbytes(size * k).hex()
            f.write(
                "".join(
                    f"{blob[2 * size * i : 2 * size * (i + 1)]}  ./Users/x/Pictures/"
                    f"{(done + i) % 977:03d}/IMG_{done + i:08d}.JPG\n"
                    for i in range(k)
                )
            )
            done += k


def make_hashdeep(path: Path, n: int, seed: int = 6) -> None:
    """A hashdeep audit file: size, MD5, SHA-256, file name."""
    rng = random.Random(seed)
    with path.open("w") as f:
        f.write("%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n## Invoked from: /\n##\n")
        done = 0
        while done < n:
            k = min(100_000, n - done)
            f.write(
                "".join(
                    f"{rng.randrange(1, 10**7)},{rng.randbytes(16).hex()},"
                    f"{rng.randbytes(32).hex()},/evidence/d{(done + i) % 501}/f{done + i}.dat\n"
                    for i in range(k)
                )
            )
            done += k


def make_rds2(path: Path, n: int, seed: int = 7) -> None:
    """An RDS 2.x NSRLFile.txt: n distinct files, each in two products, sorted by SHA-1."""
    from vigil.hashsets.formats.nsrl_rds2 import FILE_HEADER

    rng = random.Random(seed)
    files = sorted(
        (rng.randbytes(20).hex().upper(), rng.randbytes(16).hex().upper()) for _ in range(n)
    )
    with path.open("w", newline="") as f:
        f.write(FILE_HEADER + "\r\n")
        for i, (sha1, md5) in enumerate(files):
            for product in (i % 50 + 1, 1000 + i % 7):
                f.write(f'"{sha1}","{md5}","00000000","f{i}.dll",{i},{product},"358",""\r\n')


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


#: Hashes each entry of a format's benchmark file holds.
HASHES_PER_ENTRY = {"vics": 3, "nsrl": 3, "nsrl-rds2": 2, "hashdeep": 2}


def phase_import(args: argparse.Namespace) -> dict:
    from vigil.services.hashsets import import_file
    from vigil.store import open_store

    store = open_store(args.url)
    t0 = time.perf_counter()
    report = import_file(store.hashsets, Path(args.file), name=args.name, format_name=args.fmt)
    seconds = time.perf_counter() - t0
    store.close()
    hashes = report.imported * HASHES_PER_ENTRY.get(args.fmt, 1)
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


def run(phase: str, peer: str | None = None, **kwargs: object) -> dict:
    """One phase in its own process; with ``peer``, importing the Vigil of that source tree."""
    argv = [sys.executable, __file__, "--phase", phase]
    for key, value in kwargs.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    env = dict(os.environ)
    if peer is not None:
        env["PYTHONPATH"] = peer
    done = subprocess.run(argv, check=True, capture_output=True, text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare_peer(peer: Path) -> str:
    """The peer tree's ``src``, with this tree's compiled extensions copied in if it lacks them."""
    here = Path(__file__).resolve().parents[1] / "src"
    for built in here.rglob("*.so"):
        target = peer / built.relative_to(here)
        if not target.exists() and target.parent.is_dir():
            shutil.copy2(built, target)
    return str(peer)


def import_line(label: str, r: dict, unit: str = "hashes", peer: dict | None = None) -> str:
    text = (
        f"import {label:<14}: {r['entries']:>11,} entries in {r['seconds']:7.1f} s = "
        f"{r['hashes_per_s']:>9,.0f} hashes/s, peak {r['peak_mib']:,.0f} MiB"
    )
    if peer is not None:
        text += (
            f"; peer {peer['hashes_per_s']:,.0f} hashes/s, peak {peer['peak_mib']:,.0f} MiB "
            f"-> {r['hashes_per_s'] / peer['hashes_per_s']:.1f}x"
        )
    return text


def kept(corpus: Path, files: dict, args: argparse.Namespace) -> dict:
    """``files`` moved into ``corpus``, each name carrying the size it was made for."""
    corpus.mkdir(parents=True, exist_ok=True)
    counts = {"md5-list": args.md5, "md5sum": args.md5, "nsrl": args.nsrl,
              "nsrl-rds2": args.nsrl, "vics": args.vics}  # fmt: skip
    out = {}
    for fmt, (path, make) in files.items():
        target = corpus / f"{counts.get(fmt, args.lines)}-{path.name}"
        out[fmt] = (target, make)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--md5", type=int, default=10_000_000, help="MD5 lines (hex list, md5sum)")
    ap.add_argument(
        "--lines", type=int, default=10_000_000, help="lines of sha1sum, sha256sum, hashdeep"
    )
    ap.add_argument("--vics", type=int, default=1_000_000, help="VICS records to import")
    ap.add_argument("--nsrl", type=int, default=1_000_000, help="distinct files in each RDS")
    ap.add_argument("--batch", type=int, default=100_000, help="lookup batch size")
    ap.add_argument("--naive", type=int, default=1_000_000, help="lines for the naive baseline")
    ap.add_argument("--dir", default=None, help="work folder (default: a temporary one)")
    ap.add_argument(
        "--corpus",
        default=None,
        help="folder keeping the generated files between runs (reused when present: "
        "their names carry their sizes); default: generated in the work folder",
    )
    ap.add_argument("--peer-src", default=None, help="src/ of an earlier Vigil to compare with")
    ap.add_argument("--only", default=None, help="comma-separated imports to run (default: all)")
    ap.add_argument(
        "--store-url",
        default=None,
        help="an empty store to measure instead of a new SQLite file "
        "(e.g. postgresql://postgres@127.0.0.1/test?options=-csearch_path%%3Dbench); "
        "each import then replaces the previous one's set of the same name",
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
    peer = prepare_peer(Path(args.peer_src)) if args.peer_src else None
    only = set(args.only.split(",")) if args.only else None

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        url = args.store_url or f"sqlite:///{work / 'store.sqlite3'}"
        t0 = time.perf_counter()
        files = {
            "md5-list": (work / "md5.txt", lambda p: make_md5_lines(p, args.md5)),
            "md5sum": (work / "MD5SUMS", lambda p: make_sum_lines(p, args.md5, 16)),
            "sha1sum": (work / "SHA1SUMS", lambda p: make_sum_lines(p, args.lines, 20)),
            "sha256sum": (work / "SHA256SUMS", lambda p: make_sum_lines(p, args.lines, 32)),
            "hashdeep": (work / "audit.hashdeep", lambda p: make_hashdeep(p, args.lines)),
            "nsrl": (work / "rds.db", lambda p: make_rds(p, args.nsrl)),
            "nsrl-rds2": (work / "NSRLFile.txt", lambda p: make_rds2(p, args.nsrl)),
            "vics": (work / "vics.json", lambda p: make_vics(p, args.vics)),
        }
        wanted = [f for f in files if only is None or f in only or f == "md5-list"]
        if args.corpus:
            files = kept(Path(args.corpus), files, args)
        for fmt in wanted:
            path, make = files[fmt]
            if not path.exists():
                partial = path.with_name(path.name + ".partial")
                partial.unlink(missing_ok=True)
                make(partial)  # renamed when whole: an interrupted run is not reused
                partial.rename(path)
        sizes = ", ".join(f"{f} {files[f][0].stat().st_size / 2**20:,.0f} MiB" for f in wanted)
        print(f"generated {sizes} in {time.perf_counter() - t0:.0f} s")

        stores = 0

        def fresh() -> str:
            nonlocal stores
            stores += 1
            return args.store_url or f"sqlite:///{work / f'store{stores}.sqlite3'}"

        for fmt in wanted:
            path = files[fmt][0]
            target = url if fmt == "md5-list" else fresh()
            r = run("import", url=target, file=path, name=fmt, fmt=fmt)
            p = None
            if peer is not None:
                p = run("import", peer=peer, url=fresh(), file=path, name=fmt, fmt=fmt)
            print(import_line(fmt, r, peer=p), flush=True)
            if fmt == "md5-list":
                # The naive baseline is slow, so it and Vigil run on the same slice.
                limit = min(args.naive, args.md5)
                slice_file = work / "slice.txt"
                with path.open() as src, slice_file.open("w") as dst:
                    for _, line in zip(range(limit), src, strict=False):
                        dst.write(line)
                naive = run("naive-import", db=work / "naive.sqlite3", file=slice_file, limit=limit)
                same = run(  # on SQLite, as the baseline, whatever --store-url says
                    "import",
                    url=f"sqlite:///{work / 'slice.sqlite3'}",
                    file=slice_file,
                    name="s",
                    fmt="md5-list",
                )
                print(
                    f"naive baseline     : {naive['entries']:>11,} hashes in "
                    f"{naive['seconds']:7.1f} s = {naive['entries_per_s']:>9,.0f} hashes/s "
                    "(row-by-row INSERT, hex TEXT, indexed); Vigil on the same "
                    f"{limit:,}: {same['hashes_per_s']:,.0f} hashes/s "
                    f"-> {same['hashes_per_s'] / naive['entries_per_s']:.1f}x",
                    flush=True,
                )
                md5_file = path
        if "md5-list" in wanted:
            q = run("lookup", url=url, file=md5_file, n=args.md5, batch=args.batch)
            print(
                f"lookup batch       : {q['queries']:>11,} MD5s in {q['seconds']:7.3f} s "
                f"({q['matches']:,} found) in a {args.md5:,}-entry set, "
                f"peak {q['peak_mib']:,.0f} MiB"
            )
            nq = run("naive-lookup", url=url, file=md5_file, n=args.md5, batch=args.batch)
            print(
                f"naive lookup       : {nq['queries']:>11,} MD5s in {nq['seconds']:7.3f} s "
                f"(one SELECT per hash) -> batch is {nq['seconds'] / q['seconds']:.1f}x"
            )
        if args.store_url is None:
            size = (work / "store.sqlite3").stat().st_size
            print(f"store size         : {size / 2**20:,.0f} MiB for the {args.md5:,}-line list")


if __name__ == "__main__":
    main()
