"""The case use cases the others build on: open a case, record what was done, read it back.

Every action on a case (a scan started, resumed, stopped or finished; a report, an
export, a referral) goes to the case's hash-chained audit log through ``record``, so
the rule "every action leaves an audit entry" lives in one place, not in each
command. The scan (``vigil.scan.case_scan``), the report and the referral call this;
the CLI and the web routes call those, never the store's case tables.

Results are sealed (``seal``): a scan's end records a digest over every item, and
``verify_audit`` recomputes it and names the items added, removed or changed since.
With a signing key in ``VIGIL_HOME/keys/signing.pem`` (``vigil keys generate``), heads
are signed (``sign_head``): the signature goes into the log (``audit.sign``) and into
``VIGIL_HOME/signed-heads.jsonl``, so that rewriting the log, or cutting it short of a
signed head, is detected by whoever holds the public key.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vigil.audit import (
    AuditEntry,
    canonical_json,
    compare_seal,
    head,
    head_signature_valid,
    seal_items,
    sign_head,
    verify_chain,
)
from vigil.records import ScanItem
from vigil.settings import Settings
from vigil.store import Store
from vigil.store.cases import Case, UnknownCaseError

__all__ = ["Case", "CaseService", "UnknownCaseError", "current_user"]


def current_user() -> str:
    """The operating-system user, the actor of an action when no examiner is named."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


class CaseService:
    """Cases of one store: open, record actions, read items and the audit log."""

    def __init__(self, store: Store, home: Path | None = None) -> None:
        """Work on ``store`` (open, migrated); ``home``: where keys and signed heads are."""
        self.store = store
        self.repo = store.cases
        self._home = home

    def open(self, name: str, *, examiner: str | None = None) -> tuple[Case, bool]:
        """The case called ``name``, created if new; and whether it was created."""
        return self.repo.open(name, examiner=examiner)

    def require(self, name: str) -> Case:
        """The case called ``name``, or UnknownCaseError listing the cases there are."""
        return self.repo.require(name)

    def record(
        self, case: Case, action: str, details: dict[str, Any], actor: str | None = None
    ) -> AuditEntry:
        """Append one action to the case's audit log (actor: the OS user by default)."""
        return self.repo.audit(case, actor or current_user(), action, details)

    def save_settings(self, case: Case, settings: dict[str, Any]) -> None:
        """Replace the case's settings (evidence roots, hash sets with versions, options)."""
        self.repo.save_settings(case, settings)

    def items(self, case: Case, *, matches_only: bool = False) -> Iterator[ScanItem]:
        """The case's items in walk order (``duplicate_of`` set for exact duplicates)."""
        return self.repo.items(case, matches_only=matches_only)

    def counts(self, case: Case) -> dict[str, int]:
        """Sources and items recorded so far."""
        return self.repo.counts(case)

    def not_examined(self, case: Case) -> int:
        """Items of the whole case recorded with an error (not, or not fully, examined)."""
        return self.repo.not_examined(case)

    def duplicate_count(self, case: Case) -> int:
        """Files that are exact copies (same SHA-256) of a file found earlier in the case."""
        return self.repo.duplicate_count(case)

    def done_sources(self, case: Case) -> dict[str, tuple[int | None, float | None]]:
        """Sources already recorded (for resuming a scan)."""
        return self.repo.done_sources(case)

    def audit_log(self, case: Case) -> list[AuditEntry]:
        """The case's audit log in stored order."""
        return self.repo.audit_log(case)

    def verify_audit(self, case: Case) -> tuple[list[AuditEntry], list[str], str]:
        """The log, what is wrong with it (empty: intact), and its head digest.

        Checks the chain, the seal of the results (items added, removed or changed
        since the last scan's end are named) and the signed heads.
        """
        entries = self.audit_log(case)
        problems = verify_chain(entries)
        problems += self.verify_seal(case, entries)
        problems += self.verify_signatures(case, entries)
        return entries, problems, head(entries)

    # -- seals and signed heads -------------------------------------------------------------

    @property
    def home(self) -> Path:
        """VIGIL_HOME: where the signing key and the signed heads are."""
        if self._home is None:
            self._home = Settings.from_env().vigil_home
        return self._home

    def _sealable(self, case: Case) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for item in self.items(case):
            record = item.to_json()
            record.pop("duplicate_of", None)  # derived from other items, not recorded
            yield item.source, item.path, record

    def seal(self, case: Case) -> dict[str, Any]:
        """The seal of the case's items now: count, Merkle root and manifest.

        The scan puts it in its ``scan.finish`` (and ``scan.stop``) entry.
        """
        return seal_items(self._sealable(case))

    def verify_seal(self, case: Case, entries: list[AuditEntry] | None = None) -> list[str]:
        """What differs between the case's items and the last seal (empty: as sealed)."""
        entries = self.audit_log(case) if entries is None else entries
        sealed = [e for e in entries if isinstance(e.details.get("seal"), dict)]
        scans = [e for e in entries if e.action in ("scan.start", "scan.resume")]
        if not sealed:
            if scans or self.counts(case)["items"]:
                return ["results are not sealed: no scan of this case finished"]
            return []
        last = sealed[-1]
        check = compare_seal(last.details["seal"], _Reread(lambda: self._sealable(case)))
        if check.intact:
            return []
        problems = []
        unfinished = [e for e in scans if e.seq > last.seq]
        if unfinished:
            problems.append(
                f"results changed after the seal of entry {last.seq} by a scan that did not "
                f"finish (entry {unfinished[-1].seq}, {unfinished[-1].action}): run it again "
                "to finish and seal"
            )
        problems += [f"item added after the seal of entry {last.seq}: {p}" for p in check.added]
        problems += [f"item removed after the seal of entry {last.seq}: {p}" for p in check.removed]
        problems += [f"item changed after the seal of entry {last.seq}: {p}" for p in check.changed]
        problems += check.problems
        return problems

    def _private_key(self) -> Any | None:
        from vigil.keys import PRIVATE_FILE, SigningKeyError, key_folder, load_private_key

        try:
            return load_private_key(key_folder(self.home) / PRIVATE_FILE)
        except SigningKeyError:  # none, unreadable, or needs a passphrase
            return None

    def _public_key(self) -> Any | None:
        from vigil.keys import PUBLIC_FILE, SigningKeyError, key_folder, load_public_key

        private = self._private_key()
        if private is not None:
            return private.public_key()
        try:
            return load_public_key(key_folder(self.home) / PUBLIC_FILE)
        except SigningKeyError:
            return None

    @property
    def _heads_file(self) -> Path:
        return self.home / "signed-heads.jsonl"

    def sign_head(
        self, case: Case, reason: str, actor: str | None = None, *, key: Any | None = None
    ) -> dict[str, Any] | None:
        """Sign the log's head with the signing key, if there is one; the signed head or None.

        ``key``: an Ed25519 private key already loaded (a referral's, perhaps unlocked
        with a passphrase); by default the one in ``VIGIL_HOME/keys/signing.pem``. The
        signature is kept twice: in the log (an ``audit.sign`` entry) and in
        ``signed-heads.jsonl`` beside the key, outside the database.
        """
        key = key if key is not None else self._private_key()
        entry = self.repo.audit_head(case)
        if key is None or entry is None:
            return None
        signed = {
            "case": case.name,
            "seq": entry.seq,
            "hash": entry.hash,
            "at": entry.at,
            "reason": reason,
            "signature": sign_head(key, case.name, entry),
            "signer": _fingerprint(key.public_key()),
        }
        self._heads_file.parent.mkdir(parents=True, exist_ok=True)
        with self._heads_file.open("ab") as out:
            out.write(canonical_json(signed) + b"\n")
        self.record(case, "audit.sign", signed, actor)
        return signed

    def last_signed_head(self, case: Case) -> dict[str, Any] | None:
        """The most recent signed head of the case's log (from the log itself), if any."""
        signs = [e for e in self.audit_log(case) if e.action == "audit.sign"]
        return dict(signs[-1].details) if signs else None

    def _kept_heads(self, case: Case) -> list[dict[str, Any]]:
        try:
            lines = self._heads_file.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        kept = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("case") == case.name:
                kept.append(record)
        return kept

    def verify_signatures(self, case: Case, entries: list[AuditEntry] | None = None) -> list[str]:
        """Problems with the signed heads: a bad signature, a signed head rewritten or cut."""
        entries = self.audit_log(case) if entries is None else entries
        by_seq = {e.seq: e for e in entries}
        public = self._public_key()
        problems: list[str] = []
        in_log = [e.details for e in entries if e.action == "audit.sign"]
        for where, heads in (
            ("in the log", in_log),
            ("kept beside the key", self._kept_heads(case)),
        ):
            for signed in heads:
                seq, digest = signed.get("seq"), signed.get("hash")
                label = f"signed head {seq} ({where})"
                if not isinstance(seq, int) or not isinstance(digest, str):
                    problems.append(f"{label}: malformed")
                    continue
                checkable = public is not None and signed.get("signer") == _fingerprint(public)
                if checkable and not head_signature_valid(
                    public, case.name, seq, digest, str(signed.get("signature"))
                ):
                    problems.append(f"{label}: signature does not verify with the signing key")
                found = by_seq.get(seq)
                if found is None:
                    problems.append(f"{label}: entry {seq} is missing (the log was cut short)")
                elif found.hash != digest:
                    problems.append(f"{label}: entry {seq} differs from the one signed (rewritten)")
        return problems


def _fingerprint(public_key: Any) -> str:
    """``SHA256:<hex>`` of the raw public key, as ``vigil keys`` prints it."""
    import hashlib

    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


class _Reread:
    """An iterable that reads the items again on every iteration (a seal check reads twice)."""

    def __init__(self, read: Any) -> None:
        self._read = read

    def __iter__(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        return iter(self._read())
