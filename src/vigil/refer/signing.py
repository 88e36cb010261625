"""Ed25519 keys, signed zip packages, and their verification member by member.

A package is a zip whose ``manifest.json`` lists every other member with its size and
SHA-256, and whose ``manifest.sig`` is the Ed25519 signature of the manifest's exact
bytes. The signer's public key travels inside (``signer.pub``) for convenience, but a
recipient verifies against a key it already trusts (``--key``): without it, a valid
signature proves nothing about who signed (anyone can re-sign a package with a key of
their own), so verification says "signature valid, signer not verified" and fails.
The manifest ties the package to one sending: a random ``package_id``, the ``created``
time and the ``recipient``, which ``vigil verify --expect-recipient`` checks, so an
old package, or one made for another agency, is not taken for this one.

Verification does not stop at the first problem: it names every member that was
changed, added or removed, and says whether the signature holds, because an examiner
must know exactly what was altered. Duplicate member names (a way to show one content
to one tool and another to the next) are refused. Written with ``cryptography``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vigil.errors import VigilError
from vigil.fsutil import atomic_path
from vigil.keys import (
    SigningKeyError,
    fingerprint,
    generate_key,
    load_private_key,
    load_public_key,
    parse_public_key,
    public_pem,
)

__all__ = [
    "PackageError",
    "SigningKeyError",
    "fingerprint",
    "generate_key",
    "load_private_key",
    "load_public_key",
    "public_pem",
    "verify_package",
    "write_package",
]

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "signer.pub"
MANIFEST_FORMAT = "vigil-package-manifest/1"
_RESERVED = frozenset({MANIFEST, SIGNATURE, PUBLIC_KEY})


class PackageError(VigilError):
    """A package cannot be written (bad member name, unwritable folder)."""


def write_package(
    out: Path,
    members: dict[str, bytes],
    key: Ed25519PrivateKey,
    *,
    recipient: str | None = None,
) -> dict[str, object]:
    """Write a signed zip of ``members`` (name -> bytes) atomically; return the manifest.

    The manifest names the package (a random id), its creation time and ``recipient``.
    """
    for name in members:
        if name in _RESERVED or not name or name.startswith("/") or ".." in name.split("/"):
            raise PackageError(f"invalid package member name {name!r}")
    manifest = {
        "format": MANIFEST_FORMAT,
        "package_id": str(uuid.uuid4()),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "recipient": recipient,
        "signer": fingerprint(key.public_key()),
        "files": [
            {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in sorted(members.items())
        ],
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    signature = base64.b64encode(key.sign(manifest_bytes)) + b"\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        atomic_path(out, suffix=".zip") as tmp,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z,
    ):
        z.writestr(MANIFEST, manifest_bytes)
        z.writestr(SIGNATURE, signature)
        z.writestr(PUBLIC_KEY, public_pem(key))
        for name, data in sorted(members.items()):
            z.writestr(name, data)
    return manifest


@dataclass
class Verification:
    """What verifying a package found."""

    signature_valid: bool = False
    trusted_key: bool = False  # verified against a key given by the recipient
    signer: str | None = None
    package_id: str | None = None
    created: str | None = None
    recipient: str | None = None
    expected_recipient: str | None = None
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Signature holds and every member is exactly as the manifest says."""
        return self.signature_valid and not (
            self.changed or self.added or self.removed or self.problems
        )

    @property
    def recipient_ok(self) -> bool:
        """The package was made for the expected recipient (True when none is expected)."""
        return self.expected_recipient is None or self.recipient == self.expected_recipient

    @property
    def verified(self) -> bool:
        """Valid, signed by the key the recipient trusts, and made for the one expected."""
        return self.valid and self.trusted_key and self.recipient_ok

    def lines(self) -> list[str]:
        """A human report, one finding a line."""
        if self.signature_valid and not self.trusted_key:
            state = "valid, signer not verified"
        else:
            state = "valid" if self.signature_valid else "BAD"
        out = [f"signature: {state}" + (f" ({self.signer})" if self.signer else "")]
        if self.signature_valid and not self.trusted_key:
            out.append(
                "warning: signature valid, signer not verified: checked against the key "
                "inside the package only, which anyone can make; pass --key with the "
                "sender's public key"
            )
        if self.package_id or self.created or self.recipient:
            out.append(f"package: {self.package_id or 'no id'}, created {self.created or '?'}")
            out.append(f"for: {self.recipient or 'no recipient named'}")
        if not self.recipient_ok:
            out.append(
                "problem: the manifest names no recipient"
                if self.recipient is None
                else f"problem: made for {self.recipient!r}, not {self.expected_recipient!r}"
            )
        out += [f"changed: {n}" for n in self.changed]
        out += [f"added: {n}" for n in self.added]
        out += [f"removed: {n}" for n in self.removed]
        out += [f"problem: {p}" for p in self.problems]
        if self.verified:
            out.append("VALID")
        elif self.valid and self.recipient_ok:
            out.append("NOT VERIFIED (intact, but the signer is not verified: pass --key)")
        else:
            out.append("NOT VALID")
        return out


def verify_package(
    path: Path, key: Ed25519PublicKey | None = None, *, expect_recipient: str | None = None
) -> Verification:
    """Check a package's signature, every member against its manifest, and its recipient."""
    result = Verification(trusted_key=key is not None, expected_recipient=expect_recipient)
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        result.problems.append(f"not a readable zip: {exc}")
        return result
    with archive:
        names = [i.filename for i in archive.infolist()]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        result.problems += [f"member name appears more than once: {n}" for n in duplicates]
        manifest_bytes = _read(archive, MANIFEST, result)
        signature = _read(archive, SIGNATURE, result)
        if manifest_bytes is None:
            return result
        if key is None:
            embedded = _read(archive, PUBLIC_KEY, result)
            if embedded is not None:
                try:
                    key = parse_public_key(embedded, PUBLIC_KEY)
                except SigningKeyError as exc:
                    result.problems.append(str(exc))
        if key is not None and signature is not None:
            result.signer = fingerprint(key)
            try:
                key.verify(base64.b64decode(signature, validate=False), manifest_bytes)
                result.signature_valid = True
            except (InvalidSignature, ValueError):
                result.signature_valid = False
        try:
            manifest = json.loads(manifest_bytes)
            listed = {f["name"]: f for f in manifest["files"]}
            for name in ("package_id", "created", "recipient"):
                value = manifest.get(name)
                setattr(result, name, value if isinstance(value, str) else None)
        except (ValueError, KeyError, TypeError) as exc:
            result.problems.append(f"manifest is not readable: {exc}")
            return result
        present = [n for n in dict.fromkeys(names) if n not in _RESERVED]
        result.added = sorted(n for n in present if n not in listed)
        result.removed = sorted(n for n in listed if n not in names)
        for name in sorted(n for n in present if n in listed):
            data = _read(archive, name, result, report=False)
            expected = listed[name]
            if (
                data is None
                or len(data) != expected.get("size")
                or hashlib.sha256(data).hexdigest() != expected.get("sha256")
            ):
                result.changed.append(name)
    return result


def _read(
    archive: zipfile.ZipFile, name: str, result: Verification, *, report: bool = True
) -> bytes | None:
    try:
        return archive.read(name)
    except KeyError:
        if report:
            result.problems.append(f"{name} is missing")
    except Exception as exc:  # a corrupted member: CRC or decompression error
        if report:
            result.problems.append(f"{name} cannot be read: {exc}")
    return None
