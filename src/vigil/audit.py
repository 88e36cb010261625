"""A hash-chained audit log: who did what to a case, and when, provably unedited.

Each entry carries the SHA-256 of the entry before it, and its own hash covers its
content and that link. Editing an entry changes its hash; removing, inserting or
reordering entries breaks a link or the sequence; ``verify_chain`` names the entry
where each break is. Truncating the end of a log leaves a valid shorter chain, so the
head hash (``head``) is printed by ``vigil audit`` for the examiner to record in notes
or a signed report: a later head that does not descend from it shows the truncation.

The chain alone proves the log unedited, not the results: the case's items live in
another table. So a scan's end records a *seal* (``seal_items``): a Merkle root over a
digest of every item, and a compact manifest (each item's key, path and a short
digest) from which ``compare_seal`` names the items added, removed or changed since.
With a signing key, a head is signed (``sign_head``): whoever can write the database
cannot forge the signature, so rewriting the log below a signed head, or cutting it
short of one kept elsewhere (the report prints it), is detected.

Storage is the store's business; this module is the chain's and the seal's arithmetic.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """One action on a case."""

    seq: int
    at: str  # ISO 8601, UTC
    actor: str
    action: str
    case: str | None
    details: dict[str, Any] = field(default_factory=dict)
    prev: str = GENESIS
    hash: str = ""

    def content_hash(self) -> str:
        """SHA-256 of everything but ``hash``, in a canonical JSON form."""
        body = asdict(self)
        body.pop("hash")
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def append(
    last: AuditEntry | None,
    *,
    actor: str,
    action: str,
    case: str | None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """The entry that follows ``last`` (None for the first entry of a log)."""
    moment = (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")
    draft = AuditEntry(
        seq=1 if last is None else last.seq + 1,
        at=moment,
        actor=actor,
        action=action,
        case=case,
        details=dict(details or {}),
        prev=GENESIS if last is None else last.hash,
    )
    return AuditEntry(**{**asdict(draft), "hash": draft.content_hash()})


def verify_chain(entries: list[AuditEntry]) -> list[str]:
    """Every break in the chain, as messages naming the entry; empty when intact."""
    problems: list[str] = []
    previous: AuditEntry | None = None
    for position, entry in enumerate(entries, start=1):
        label = f"entry {entry.seq} (position {position})"
        if entry.content_hash() != entry.hash:
            problems.append(f"{label}: edited (its hash does not match its content)")
        expected_seq = 1 if previous is None else previous.seq + 1
        if entry.seq != expected_seq:
            if previous is not None and entry.seq > expected_seq:
                problems.append(
                    f"{label}: entries {expected_seq}..{entry.seq - 1} are missing (removed)"
                )
            else:
                problems.append(
                    f"{label}: out of sequence after entry "
                    f"{previous.seq if previous else 0} (inserted or reordered)"
                )
        expected_prev = GENESIS if previous is None else previous.hash
        if entry.prev != expected_prev:
            problems.append(
                f"{label}: does not link to the entry before it "
                "(an entry was removed, inserted or reordered)"
            )
        previous = entry
    return problems


def head(entries: list[AuditEntry]) -> str:
    """The hash of the last entry: record it to detect a later truncation."""
    return entries[-1].hash if entries else GENESIS


# -- seals over a case's items -------------------------------------------------------------

#: Bytes of an item's digest kept in a seal's manifest, to name what changed. The root
#: covers the full digests; the short ones only point at the items.
_SHORT = 12


def canonical_json(value: Any) -> bytes:
    """JSON with sorted keys, no spaces, UTF-8: the one form digests and signatures cover."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def item_digest(record: dict[str, Any]) -> bytes:
    """SHA-256 of an item's recorded fields (a JSON-ready dict), in canonical form."""
    return hashlib.sha256(b"\x00" + canonical_json(record)).digest()


def merkle_root(leaves: list[bytes]) -> str:
    """The root of a binary Merkle tree over ``leaves`` (RFC 6962 style), hex.

    An odd node at the end of a level is carried up unchanged; an empty tree is the
    SHA-256 of nothing.
    """
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    level = list(leaves)
    while len(level) > 1:
        paired = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()


@dataclass(frozen=True)
class SealedItem:
    """One item as a seal remembers it: where it is, its key, and its digest."""

    source: str
    index: int  # 0, or which of the items of the same path in its source (duplicates)
    path: str
    digest: bytes

    @property
    def key(self) -> tuple[str, str, int]:
        """What identifies the item across runs: its source, path and occurrence."""
        return self.source, self.path, self.index


def seal_items(items: Iterable[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    """The seal of a case's items, given as (source, path, record) in walk order.

    Returns ``{"items": n, "root": hex, "manifest": text}``: the Merkle root over the
    items' digests and a compressed manifest (keys, paths and short digests).
    """
    # Streamed: only the digests (32 bytes an item) and the compressed manifest are held,
    # so sealing a case of millions of items needs tens of MB, not the items themselves.
    leaves: list[bytes] = []
    packer = zlib.compressobj(6)
    chunks: list[bytes] = []
    rows: list[str] = []
    for i in _sealed(items):
        rows.append(json.dumps([i.source, i.index, i.path, i.digest[:_SHORT].hex()]))
        leaves.append(i.digest)
        if len(rows) >= 4096:
            chunks.append(packer.compress(("," if len(leaves) > len(rows) else "[").encode()))
            chunks.append(packer.compress(",".join(rows).encode()))
            rows = []
    tail = ("," if len(leaves) > len(rows) else "[") + ",".join(rows) + "]"
    chunks.append(packer.compress(tail.encode()) + packer.flush())
    return {
        "items": len(leaves),
        "root": merkle_root(leaves),
        "manifest": base64.b64encode(b"".join(chunks)).decode("ascii"),
    }


def _sealed(items: Iterable[tuple[str, str, dict[str, Any]]]) -> Iterable[SealedItem]:
    seen: dict[tuple[str, str], int] = {}
    for source, path, record in items:
        index = seen.get((source, path), 0)  # which of the items of this path (an archive
        seen[(source, path)] = index + 1  # may hold two members of one name)
        yield SealedItem(source, index, path, item_digest(record))


@dataclass
class SealCheck:
    """What comparing a case's items with a seal found."""

    intact: bool
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def compare_seal(
    seal: dict[str, Any], items: Iterable[tuple[str, str, dict[str, Any]]]
) -> SealCheck:
    """Compare the items as they are now with ``seal``; name what was added, removed, changed.

    ``items`` is read twice when the seal does not hold (a list, or an iterable whose
    every iteration reads the items again): once for the root, once to name the items.
    """
    leaves = [i.digest for i in _sealed(items)]
    if merkle_root(leaves) == seal.get("root") and len(leaves) == seal.get("items"):
        return SealCheck(intact=True)
    # Differs: only now are the manifest unpacked and the items kept, to name them.
    del leaves
    current = list(_sealed(items))
    check = SealCheck(intact=False)
    try:
        raw = json.loads(zlib.decompress(base64.b64decode(seal["manifest"])))
        before = {(s, p, int(i)): (p, bytes.fromhex(d)) for s, i, p, d in raw}
    except (KeyError, TypeError, ValueError, zlib.error) as exc:
        check.problems.append(f"the seal's manifest cannot be read ({exc}): items not named")
        return check
    now = {i.key: i for i in current}
    check.added = [i.path for k, i in now.items() if k not in before]
    check.removed = [path for k, (path, _) in before.items() if k not in now]
    check.changed = [
        i.path for k, i in now.items() if k in before and before[k][1] != i.digest[:_SHORT]
    ]
    if not (check.added or check.removed or check.changed):
        check.problems.append("items differ from the seal, but no single item could be named")
    return check


# -- signed heads --------------------------------------------------------------------------


def head_message(case: str, seq: int, digest: str) -> bytes:
    """The exact bytes a head signature covers: the case, the entry's number and hash."""
    return canonical_json(
        {"format": "vigil-audit-head/1", "case": case, "seq": seq, "hash": digest}
    )


def sign_head(private_key: Any, case: str, entry: AuditEntry) -> str:
    """An Ed25519 signature (base64) of the head ``entry`` of ``case``'s log."""
    return base64.b64encode(private_key.sign(head_message(case, entry.seq, entry.hash))).decode()


def head_signature_valid(public_key: Any, case: str, seq: int, digest: str, signature: str) -> bool:
    """Whether ``signature`` is the key's signature of that head."""
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(base64.b64decode(signature), head_message(case, seq, digest))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
