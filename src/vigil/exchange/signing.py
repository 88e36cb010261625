"""Signed feed batches: Ed25519 over the exact bytes of the batch, verified against a pinned key.

The publisher signs the batch's JSON text as sent; the subscriber verifies those bytes
before parsing them, against the public key pinned when the exchange was added, so
no re-serialisation can differ between the two. The batch names its feed, the cursor
it starts from and the subscriber's nonce: a batch of another feed, another cursor,
or an earlier request (a replay) is refused even though its signature is good.

The keys are those ``vigil keys generate`` makes (PEM, PKCS#8), read through
``vigil.keys``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vigil import keys
from vigil.exchange.base import ExchangeError

FORMAT = "vigil-feed/1"


def load_private(path: Path, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    """The publisher's private key; ExchangeError if missing or not Ed25519."""
    try:
        return keys.load_private_key(path, passphrase)
    except keys.SigningKeyError as exc:
        raise ExchangeError(f"signing key: {exc} (run vigil keys generate)") from exc


def parse_public(pem: bytes, where: str) -> Ed25519PublicKey:
    """A pinned public key from its PEM text."""
    try:
        return keys.parse_public_key(pem, where)
    except keys.SigningKeyError as exc:
        raise ExchangeError(str(exc), usage=True) from exc


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The PEM text of a key's public half."""
    return keys.public_pem(key).decode()


fingerprint = keys.fingerprint


def sign_batch(key: Ed25519PrivateKey, body: dict[str, Any]) -> dict[str, Any]:
    """The envelope sent: the batch as JSON text, its signature, the signer's fingerprint."""
    text = json.dumps({"format": FORMAT, **body}, ensure_ascii=False, separators=(",", ":"))
    return {
        "batch": text,
        "signature": base64.b64encode(key.sign(text.encode())).decode(),
        "key": fingerprint(key.public_key()),
    }


def verify_batch(
    envelope: Any, key: Ed25519PublicKey, *, feed: str, cursor: int, nonce: str, where: str
) -> dict[str, Any]:
    """The batch of a verified envelope; ExchangeError if tampered, foreign or replayed."""
    if not isinstance(envelope, dict) or not isinstance(envelope.get("batch"), str):
        raise ExchangeError(f"{where}: not a signed feed batch")
    try:
        signature = base64.b64decode(str(envelope.get("signature", "")), validate=True)
    except ValueError as exc:
        raise ExchangeError(f"{where}: the signature is not base64") from exc
    text = envelope["batch"]
    try:
        key.verify(signature, text.encode())
    except InvalidSignature as exc:
        raise ExchangeError(
            f"{where}: the batch's signature does not verify against the pinned key "
            f"{fingerprint(key)} (tampered, or signed by another key)"
        ) from exc
    body = json.loads(text)
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise ExchangeError(f"{where}: not a {FORMAT} batch")
    if body.get("feed") != feed:
        raise ExchangeError(f"{where}: the batch is of feed {body.get('feed')!r}, not {feed!r}")
    if body.get("cursor") != cursor or body.get("nonce") != nonce:
        raise ExchangeError(
            f"{where}: the batch answers another request (cursor {body.get('cursor')!r}, "
            f"asked {cursor}): refused as a replay"
        )
    return body
