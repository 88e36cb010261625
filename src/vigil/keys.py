"""Ed25519 signing keys: made, read and shown in one place.

Three things sign with the key that ``vigil keys generate`` makes: referral packages
(``vigil.refer.signing``), the head of a case's audit log (``vigil.services.cases``)
and exchange feed batches (``vigil.exchange.signing``). They come at different
stages, so the key handling lives here, in the foundation, and each says what a
missing or wrong key means for it. Written with ``cryptography``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vigil.errors import VigilError
from vigil.fsutil import atomic_write

PRIVATE_FILE = "signing.pem"
PUBLIC_FILE = "signing.pub"


class SigningKeyError(VigilError):
    """A key file is missing, unreadable, of the wrong type, or needs another passphrase."""


def key_folder(home: Path) -> Path:
    """Where ``vigil keys`` keeps the keys under a VIGIL_HOME."""
    return home / "keys"


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """``SHA256:<hex>`` of the raw 32-byte public key: what to compare out of band."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


def generate_key(private_path: Path, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    """Create a private key file (PEM, PKCS#8, encrypted with ``passphrase`` if given).

    Refuses to overwrite an existing key: losing a signing key cannot be undone.
    """
    if private_path.exists():
        raise SigningKeyError(f"{private_path} exists: refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    encryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(private_path, pem, mode=0o600)
    return key


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The public key as PEM (SubjectPublicKeyInfo), to hand to recipients."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private_key(path: Path, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    """Read a private key file; SigningKeyError says what is wrong with it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"cannot read private key {path}: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError as exc:
        raise SigningKeyError(f"private key {path}: {exc}") from exc
    except ValueError as exc:
        raise SigningKeyError(f"private key {path} is not a readable PEM key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"private key {path} is not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read a public key file (PEM); SigningKeyError says what is wrong with it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"cannot read public key {path}: {exc.strerror}") from exc
    return parse_public_key(data, str(path))


def parse_public_key(data: bytes, where: str) -> Ed25519PublicKey:
    """A public key from its PEM bytes; ``where`` names it in errors."""
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise SigningKeyError(f"public key {where} is not a readable PEM key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"public key {where} is not an Ed25519 key")
    return key
