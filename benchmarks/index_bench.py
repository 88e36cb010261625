"""PDQ index benchmark: Vigil's index against FAISS IndexBinaryFlat and IndexBinaryMultiHash.

Usage:
    .venv/bin/python benchmarks/index_bench.py [--sizes 1000000,10000000] [--queries 1000]
        [--batch 2000] [--faiss-queries 200] [--threads 2] [--workdir /tmp]
    nice -n 10 .venv/bin/python benchmarks/index_bench.py --n 30000000 --faiss ""

``--n N`` is one size; with ``--faiss ""`` the raw bytes are freed before Vigil's index
is built, and the planted truth stands for brute force (every neighbour 0..31 planted
around each query must be found, no decoy 32..40 returned); that is how sizes beyond
FAISS's memory (tens of millions of rows) are measured. The peak RSS of the whole run is
printed at the end, with the index's bytes per row, so that larger sizes can be projected.

For each size N it makes N random 256-bit hashes from a fixed seed and plants, around
each of ``--queries`` random query hashes, one neighbour at every distance 0..31 and
one decoy at every distance 32..40 (they replace random rows). Then, in one process:

* Vigil ``PdqIndex`` (12-slot MIH, ``vigil.index``), FAISS ``IndexBinaryFlat`` (brute
  force) and FAISS ``IndexBinaryMultiHash`` with 16 slots of 16 bits (as HMA uses it);
* build time (from arrays), index bytes and RSS growth, save and open time (Vigil's
  open is a memory map; ``open+1q`` adds the first query);
* single-query latency p50/p99 at radius 31 (FAISS gets 32: its range search is
  strict), one thread; batch throughput over ``--batch`` queries (the planted queries
  and random ones, which match nothing, like most real lookups) on ``--threads``;
* recall against brute force (FAISS Flat's range search) and the planted truth:
  every neighbour 0..31 found, no decoy 32..40 returned.

It prints a table and the ratios of Vigil to each FAISS index.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from vigil.index import PdqIndex
from vigil.index.bits import bytes_to_words, words_to_hex

RADIUS = 31
SEED = 20261129


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_data(n: int, n_queries: int, n_random: int):
    """Hashes (n, 32) uint8, planted queries, extra random queries, and the planted truth."""
    rng = np.random.default_rng(SEED)
    data = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    queries = rng.integers(0, 256, size=(n_queries + n_random, 32), dtype=np.uint8)
    per_query = 41  # distances 0..40
    rows = rng.choice(n, size=n_queries * per_query, replace=False)
    truth = set()
    k = 0
    for qi in range(n_queries):
        qbits = np.unpackbits(queries[qi])
        for d in range(per_query):
            bits = qbits.copy()
            flip = rng.choice(256, size=d, replace=False)
            bits[flip] ^= 1
            data[rows[k]] = np.packbits(bits)
            if d <= RADIUS:
                truth.add((qi, int(rows[k])))
            k += 1
    return data, queries, truth, rows


def percentiles(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s) * 1e3, s[min(len(s) - 1, round(0.99 * (len(s) - 1)))] * 1e3


def pairs_of(q: np.ndarray, ids: np.ndarray) -> set[tuple[int, int]]:
    return set(zip(q.tolist(), ids.tolist(), strict=True))


def bench_vigil(data, words, queries_hex, qwords, n_planted, args, workdir: Path) -> list[dict]:
    """Build, save, then the queries twice: opened memory-mapped, and read into memory."""
    built: dict = {}
    gc.collect()
    before = rss_mb()
    t = time.perf_counter()
    index = PdqIndex.from_arrays(np.arange(len(words)), words, workers=args.threads)
    built["build_s"] = time.perf_counter() - t
    built["rss_mb"] = rss_mb() - before
    built["index_mb"] = index.nbytes() / 1e6
    path = workdir / "vigil"
    shutil.rmtree(path, ignore_errors=True)
    t = time.perf_counter()
    index.save(path)
    built["save_s"] = time.perf_counter() - t
    del index
    results = []
    for in_memory in (False, True):
        gc.collect()
        name = "Vigil PdqIndex, in memory" if in_memory else "Vigil PdqIndex, mmap"
        out: dict = {"name": name, **built}
        t = time.perf_counter()
        index = PdqIndex.open(path, workers=args.threads, in_memory=in_memory)
        out["open_s"] = time.perf_counter() - t
        index.query(queries_hex[0])
        out["open_first_query_s"] = time.perf_counter() - t
        measure_vigil(index, out, queries_hex, qwords, n_planted, args)
        results.append(out)
        del index
    return results


def measure_vigil(index, out: dict, queries_hex, qwords, n_planted, args) -> None:
    # Latency: one query at a time through the public API (hex in, Match objects out).
    lat = []
    found: set[tuple[int, int]] = set()
    for qi in range(n_planted):
        t = time.perf_counter()
        matches = index.query(queries_hex[qi])
        lat.append(time.perf_counter() - t)
        found |= {(qi, m.entry_id) for m in matches}
    out["p50_ms"], out["p99_ms"] = percentiles(lat)
    out["single_pairs"] = found
    # The service's question for a lookup, on the random queries (they match nothing, as
    # most real lookups): yes/no through ``has_match`` (``not query`` before it existed).
    ask = getattr(index, "has_match", None) or (lambda h, r: bool(index.query(h, r)))
    lat = []
    cpu = time.process_time()
    for h in queries_hex[n_planted:]:
        t = time.perf_counter()
        if ask(h, RADIUS):
            out.setdefault("no_match_hits", 0)
            out["no_match_hits"] += 1
        lat.append(time.perf_counter() - t)
    out["miss_p50_ms"], out["miss_p99_ms"] = percentiles(lat)
    out["miss_cpu_us"] = (time.process_time() - cpu) / max(len(lat), 1) * 1e6
    # Throughput: the whole batch, repeated until a second has passed.
    for threads in (1, args.threads):
        reps, t, cpu = 0, time.perf_counter(), time.process_time()
        while True:
            res = index.search_words(qwords, RADIUS, workers=threads)
            reps += 1
            if time.perf_counter() - t > 1.0:
                break
        out[f"qps_{threads}t"] = reps * len(qwords) / (time.perf_counter() - t)
        # CPU time per query: on a shared machine, wall-clock q/s depends on what else
        # runs; CPU seconds per query tell what dedicated cores would sustain.
        out[f"cpu_us_{threads}t"] = (time.process_time() - cpu) / (reps * len(qwords)) * 1e6
    out["qps"] = out[f"qps_{args.threads}t"]
    out["batch_pairs"] = pairs_of(res.query, res.entry_id)
    out["opened_rss_mb"] = rss_mb()


def bench_faiss(kind: str, data, queries, n_planted, args, workdir: Path) -> dict:
    import faiss

    out: dict = {"name": f"FAISS {kind}"}
    gc.collect()
    before = rss_mb()
    t = time.perf_counter()
    if kind == "IndexBinaryFlat":
        index = faiss.IndexBinaryFlat(256)
    else:
        index = faiss.IndexBinaryMultiHash(256, 16, 16)
        # As HMA sets it: flip up to radius // 16 bits per slot, else recall drops.
        index.nflip = RADIUS // 16
    index.add(data)
    out["build_s"] = time.perf_counter() - t
    out["rss_mb"] = rss_mb() - before
    path = workdir / f"faiss-{kind}.index"
    try:
        t = time.perf_counter()
        faiss.write_index_binary(index, str(path))
        out["save_s"] = time.perf_counter() - t
        out["index_mb"] = path.stat().st_size / 1e6
        del index
        gc.collect()
        t = time.perf_counter()
        index = faiss.read_index_binary(str(path))
        out["open_s"] = time.perf_counter() - t
        index.range_search(queries[:1], RADIUS + 1)
        out["open_first_query_s"] = time.perf_counter() - t
        path.unlink()
    except RuntimeError as exc:  # some faiss versions cannot serialise every index
        out["save_s"] = out["open_s"] = out["open_first_query_s"] = float("nan")
        out["index_mb"] = float("nan")
        print(f"  {kind}: save/open unsupported: {exc}".splitlines()[0], file=sys.stderr)
    faiss.omp_set_num_threads(1)
    lat = []
    found: set[tuple[int, int]] = set()
    for qi in range(min(n_planted, args.faiss_queries)):
        t = time.perf_counter()
        _lims, _dist, ids = index.range_search(queries[qi : qi + 1], RADIUS + 1)
        lat.append(time.perf_counter() - t)
        found |= {(qi, int(i)) for i in ids}
    out["p50_ms"], out["p99_ms"] = percentiles(lat)
    out["single_pairs"] = found
    faiss.omp_set_num_threads(args.threads)
    t = time.perf_counter()
    lims, _dist, ids = index.range_search(queries, RADIUS + 1)
    out["qps"] = len(queries) / (time.perf_counter() - t)
    qid = np.repeat(np.arange(len(queries)), np.diff(lims).astype(np.int64))
    out["batch_pairs"] = pairs_of(qid, ids)
    del index
    gc.collect()
    return out


def recall(pairs: set, truth: set, limit_q: int | None = None) -> float:
    if limit_q is not None:
        truth = {p for p in truth if p[0] < limit_q}
        pairs = {p for p in pairs if p[0] < limit_q}
    return 100.0 * len(pairs & truth) / len(truth) if truth else 100.0


def run_size(n: int, args) -> list[dict]:
    workdir = Path(args.workdir)
    n_planted = args.queries
    n_random = max(0, args.batch - n_planted)
    t = time.perf_counter()
    data, queries, planted, _ = make_data(n, n_planted, n_random)
    words = bytes_to_words(data)
    qwords = bytes_to_words(queries)
    queries_hex = words_to_hex(qwords)
    print(f"\n## N = {n:,}: data made in {time.perf_counter() - t:.1f} s", flush=True)
    if not args.faiss:
        del data  # the words hold the same bits; the bytes are only FAISS's input
        data = None
        gc.collect()

    results = bench_vigil(data, words, queries_hex, qwords, n_planted, args, workdir)
    vigils = list(results)
    print("  vigil done", flush=True)
    del words
    for kind in args.faiss:
        results.append(bench_faiss(kind, data, queries, n_planted, args, workdir))
        print(f"  {kind} done", flush=True)

    # Brute force = FAISS Flat's exhaustive range search when it ran, else the planted truth.
    flat = next((r for r in results if r["name"].endswith("IndexBinaryFlat")), None)
    brute = flat["batch_pairs"] if flat else planted
    assert planted <= brute, "a planted neighbour is missing from brute force"
    for r in results:
        fq = None if r in vigils else args.faiss_queries
        r["recall_single"] = recall(r["single_pairs"], brute, fq)
        r["recall_batch"] = recall(r["batch_pairs"], brute)
        r["extra_batch"] = len(r["batch_pairs"] - brute)
    for v in vigils:
        decoys = {p for p in v["batch_pairs"] if p not in planted and p[0] < n_planted}
        v["planted_ok"] = planted <= v["batch_pairs"] and not decoys
    print_table(n, results, len(vigils), args)
    v = vigils[0]
    print(
        f"per row: index {v['index_mb'] * 1e6 / n:.1f} bytes, build {v['build_s'] * 1e9 / n:.0f} ns"
        f" ({args.threads} threads), RSS growth of the build {v['rss_mb'] * 1e6 / n:.1f} bytes"
    )
    return results


def memory(r: dict) -> float:
    """Index memory: the larger of its bytes (as saved) and the RSS growth of building it."""
    return max(r["index_mb"], r["rss_mb"])


def print_table(n: int, results: list[dict], n_vigil: int, args) -> None:
    print(
        f"\nN = {n:,}, radius {RADIUS}, {args.queries} single queries (FAISS: "
        f"{args.faiss_queries}), batch {args.batch} on {args.threads} threads"
    )
    header = (
        "index",
        "build s",
        "index MB",
        "RSS+ MB",
        "save s",
        "open s",
        "open+1q s",
        "p50 ms",
        "p99 ms",
        "batch q/s",
        "recall %",
        "extra",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in results:
        cells = [
            r["name"],
            f"{r['build_s']:.1f}",
            f"{r['index_mb']:.0f}",
            f"{r['rss_mb']:.0f}",
            f"{r['save_s']:.2f}",
            f"{r['open_s']:.3f}",
            f"{r['open_first_query_s']:.3f}",
            f"{r['p50_ms']:.3f}",
            f"{r['p99_ms']:.3f}",
            f"{r['qps']:,.0f}",
            f"{min(r['recall_single'], r['recall_batch']):.2f}",
            str(r["extra_batch"]),
        ]
        print("| " + " | ".join(cells) + " |")
    for v in results[:n_vigil]:
        cpu = v[f"cpu_us_{args.threads}t"]
        print(
            f"{v['name']}: batch CPU time {v['cpu_us_1t']:.0f} us/query on 1 thread, {cpu:.0f} "
            f"on {args.threads}: {args.threads * 1e6 / cpu:,.0f} q/s if {args.threads} cores "
            f"were free; wall-clock on 1 thread {v['qps_1t']:,.0f} q/s; planted 0..31 all found "
            f"and no decoy 32..40: {v['planted_ok']}"
        )
        print(
            f"{v['name']}: yes/no for {args.batch - args.queries} random no-match queries "
            f"(has_match): p50 {v['miss_p50_ms'] * 1000:.0f} us, p99 "
            f"{v['miss_p99_ms'] * 1000:.0f} us, CPU {v['miss_cpu_us']:.0f} us/query "
            f"({v.get('no_match_hits', 0)} answered yes)"
        )
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    v = results[0]
    for r in results[n_vigil:]:
        print(
            f"Vigil (mmap) vs {r['name']}: latency {r['p50_ms'] / v['p50_ms']:.1f}x lower at p50 "
            f"and {r['p99_ms'] / v['p99_ms']:.1f}x at p99, throughput {v['qps'] / r['qps']:.1f}x "
            f"higher, build time {v['build_s'] / r['build_s']:.2f}x theirs, memory "
            f"{memory(v) / memory(r):.2f}x theirs"
        )


def bench_updates(n: int, args) -> None:
    """Updates without a rebuild: disable, add to the delta, save again, compact, open."""
    rng = np.random.default_rng(SEED + 1)
    words = rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64)
    index = PdqIndex.from_arrays(np.arange(n), words, workers=1)
    queries = words_to_hex(words[rng.choice(n, 500)])

    def p50() -> float:
        lat = []
        for q in queries:
            t = time.perf_counter()
            index.query(q)
            lat.append(time.perf_counter() - t)
        return statistics.median(lat) * 1e3

    def timed(fn) -> float:
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t

    path = Path(args.workdir) / "updates"
    rows = [f"Updates, N = {n:,}: query p50 {p50():.3f} ms"]
    gone = rng.choice(n, 1000, replace=False).tolist()
    rows.append(f"disable 1,000 ids {timed(lambda: index.disable(gone)):.3f} s")
    rows.append(f"first save {timed(lambda: index.save(path)):.2f} s")
    extra = rng.integers(0, 2**64, size=(100_000, 4), dtype=np.uint64)
    add = timed(lambda: index.add_arrays(np.arange(n, n + 100_000), extra))
    rows.append(f"add 100,000 rows {add:.3f} s, then query p50 {p50():.3f} ms")
    rows.append(f"save again {timed(lambda: index.save(path)):.3f} s")
    rows.append(f"compact {timed(index.compact):.1f} s")
    rows.append(f"open {timed(lambda: PdqIndex.open(path)):.4f} s")
    print("\n" + "; ".join(rows))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--n", type=int, help="one size (overrides --sizes)")
    parser.add_argument("--queries", type=int, default=1000, help="planted queries")
    parser.add_argument("--batch", type=int, default=2000, help="queries per batch")
    parser.add_argument("--faiss-queries", type=int, default=200, help="single FAISS queries")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--faiss", default="IndexBinaryFlat,IndexBinaryMultiHash")
    parser.add_argument("--workdir", default="/tmp", help="a fresh directory is made in it")
    parser.add_argument("--updates", action="store_true", help="also disable/add/save/compact")
    args = parser.parse_args(argv)
    args.faiss = [k for k in args.faiss.split(",") if k]
    if args.n:
        args.sizes = str(args.n)
    # Saved indexes go to a directory of this run's own: two runs never share files.
    args.workdir = tempfile.mkdtemp(prefix="vigil-index-bench-", dir=args.workdir)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, cpus {os.cpu_count()}")
    for n in (int(s) for s in args.sizes.split(",")):
        run_size(n, args)
        if args.updates:
            bench_updates(n, args)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the run {peak:,.0f} MB")
    shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
