"""``vigil match``: hash files (or take bare hashes) and report every hash set that holds them.

Files are walked and hashed exactly as ``vigil scan`` does (``vigil.scan.walk``):
archives are opened, and their members matched like any file.

Exit codes: 0 when every file was hashed and matched (whether or not anything matched),
1 when a file could not be hashed, 2 for usage errors (an unknown hash set, a malformed
``--hash``), as for every Vigil command.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from vigil.cli.hash_cmd import VideoMode
from vigil.errors import InvalidHashError, UnknownHashSetError, UsageError, VigilError
from vigil.hashsets.lookup import parse_query
from vigil.scan.walk import hash_items
from vigil.scan.worker import ScanOptions
from vigil.services.matcher import Finding, Matcher, MatchOptions, Query, open_snapshot
from vigil.signals.filehash import FileHashes, HashOptions
from vigil.store import open_store


def _fail(message: str, code: int) -> None:
    typer.echo(f"vigil match: {message}", err=True)
    raise typer.Exit(code)


def match_command(
    paths: list[Path] = typer.Argument(None, help="Files or folders to hash and match."),
    hashset: list[str] = typer.Option(
        [], "--hashset", "-s", help="Match against this set (repeat; default: every set)."
    ),
    hashes: list[str] = typer.Option(
        [], "--hash", help="A bare hash to match: TYPE:HEX (md5, sha1, sha256, pdq) or HEX."
    ),
    threshold: int | None = typer.Option(
        None, "--threshold", min=0, max=256, help="PDQ distance (default: each set's, else 31)."
    ),
    dihedral: bool = typer.Option(False, "--dihedral", help="Also match rotations and flips."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file or hash."),
    exact_pdq: bool = typer.Option(
        False, "--exact", help="Hash images with the exact (full-decode) PDQ path."
    ),
    video_mode: VideoMode = typer.Option(
        VideoMode.fast,
        "--video-mode",
        help="vPDQ path: fast (same verdicts, about twice as fast) or exact "
        "(bit-identical with the vpdq package); docs/pdq.md.",
    ),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (0 = all cores)."),
) -> None:
    """Report every hash set holding a match for each file or hash: exact, PDQ, vPDQ."""
    paths = paths or []
    if not paths and not hashes:
        _fail("give files or folders to match, or --hash TYPE:HEX", 2)
    missing = [str(p) for p in paths if not os.path.lexists(p)]
    if missing:
        _fail(f"no such file or folder: {', '.join(missing)}", 2)
    try:
        queries = [(text, parse_query(text)) for text in hashes]
    except InvalidHashError as exc:
        _fail(str(exc), 2)
    options = MatchOptions(threshold=threshold, dihedral=dihedral)
    try:
        store = open_store()
    except VigilError as exc:
        _fail(str(exc), 1)
    failed = 0
    try:
        snapshot = open_snapshot(store)
        matcher = Matcher(snapshot, store, snapshot.select(hashset), options)
        rows = [_bare(matcher, text, typed) for text, typed in queries]
        hashing = HashOptions(
            mode="exact" if exact_pdq else "fast",
            dihedral=dihedral,
            video_mode=video_mode.value,
        )
        for record in hash_items(paths, ScanOptions(hashing=hashing), jobs):
            failed += record.error is not None
            found = [] if record.error else matcher.match(Query.of(record))
            rows.append(_file_row(record, found))
    except (UnknownHashSetError, UsageError, InvalidHashError) as exc:
        _fail(str(exc), 2)
    except VigilError as exc:
        _fail(str(exc), 1)
    finally:
        store.close()
    _print(rows, as_json)
    raise typer.Exit(1 if failed else 0)


def _split(found: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    alerts = [f for f in found if f.kind != "ignore"]
    known = [f for f in found if f.kind == "ignore"]
    return alerts, known


def _file_row(record: FileHashes, found: list[Finding]) -> dict[str, object]:
    alerts, known = _split(found)
    return {
        "path": record.path,
        "type": record.type,
        "md5": record.md5,
        "sha256": record.sha256,
        "pdq": record.pdq,
        "pdq_quality": record.pdq_quality,
        "known": bool(known),
        "known_sets": sorted({f.hashset for f in known}),
        "matches": [f.to_json() for f in alerts],
        "error": record.error,
    }


def _bare(matcher: Matcher, text: str, typed: list[tuple[str, str]]) -> dict[str, object]:
    found: list[Finding] = []
    for kind, value in typed:
        found += matcher.match(Query.of_hash(kind, value))
    alerts, known = _split(found)
    return {
        "hash": text.strip(),
        "known": bool(known),
        "known_sets": sorted({f.hashset for f in known}),
        "matches": [f.to_json() for f in alerts],
        "error": None,
    }


def _print(rows: list[dict[str, object]], as_json: bool) -> None:
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    table = Table()
    for name in ("item", "hash set", "category", "signal", "distance", "note"):
        table.add_column(name, overflow="fold")
    for row in rows:
        item = str(row.get("path") or row.get("hash"))
        matches = row["matches"]
        assert isinstance(matches, list)
        if row["error"]:
            table.add_row(item, "", "", "", "", f"[red]{row['error']}[/red]")
        elif not matches:
            note = "known file: " + ", ".join(row["known_sets"]) if row["known"] else "no match"  # type: ignore[arg-type]
            table.add_row(item, "", "", "", "", note)
        for m in matches:
            note = f"variant {m['variant']}" if m.get("variant") else ""
            if m.get("query_percent") is not None:
                note = f"{m['query_percent']}% of query, {m['compared_percent']}% of known video"
            if m.get("flags"):  # what the list says of the item (ICSE, VICS)
                said = [
                    k.replace("_", " ") + ("" if v is True else f": {'no' if v is False else v}")
                    for k, v in m["flags"].items()
                ]
                note = "; ".join([n for n in (note, ", ".join(said)) if n])
            category = m["category"] or "uncategorised"
            if m.get("category_profile"):
                category += f" ({m['category_profile']})"
            table.add_row(item, m["hashset"], category, m["signal_type"], str(m["distance"]), note)
            item = ""
    Console(width=None if sys.stdout.isatty() else 200).print(table)
