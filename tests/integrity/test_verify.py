"""Finding 9: a package re-signed by anyone does not pass ``vigil verify`` without --key;
the manifest ties a package to an id, a time and a recipient (``--expect-recipient``);
the service's key cache compares a real stored hash, not a digest with itself.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.cli_runner import vigil
from vigil.refer.signing import MANIFEST, generate_key, public_pem, write_package

MEMBERS = {"referral.json": b'{"incident": "benign test"}\n', "hashes.csv": b"md5\n"}


def _package(tmp_path: Path, name: str = "sender", recipient: str | None = "Partner") -> Path:
    key = generate_key(tmp_path / f"{name}.pem")
    (tmp_path / f"{name}.pub").write_bytes(public_pem(key))
    out = tmp_path / f"{name}.zip"
    write_package(out, MEMBERS, key, recipient=recipient)
    return out


def test_without_a_key_a_valid_signature_is_not_enough(tmp_path: Path) -> None:
    forged = _package(tmp_path, "anyone")  # re-signed by someone else entirely
    out = vigil("verify", str(forged), home=tmp_path / "home")
    assert out.returncode == 1, out.stdout
    assert "signature valid, signer not verified" in out.stdout
    trusted = vigil("verify", str(forged), "--key", str(tmp_path / "anyone.pub"),
                    home=tmp_path / "home")  # fmt: skip
    assert trusted.returncode == 0, trusted.stdout


def test_the_manifest_names_the_package_its_time_and_recipient(tmp_path: Path) -> None:
    package = _package(tmp_path)
    with zipfile.ZipFile(package) as z:
        manifest = json.loads(z.read(MANIFEST))
    assert manifest["recipient"] == "Partner"
    assert len(manifest["package_id"]) == 36 and manifest["created"].startswith("20")
    key = str(tmp_path / "sender.pub")
    home = tmp_path / "home"
    ok = vigil("verify", str(package), "--key", key, "--expect-recipient", "Partner", home=home)
    assert ok.returncode == 0, ok.stdout
    assert manifest["package_id"] in ok.stdout and "for: Partner" in ok.stdout
    other = vigil("verify", str(package), "--key", key, "--expect-recipient", "Other", home=home)
    assert other.returncode == 1 and "made for 'Partner', not 'Other'" in other.stdout


def test_a_package_without_a_recipient_fails_an_expected_one(tmp_path: Path) -> None:
    package = _package(tmp_path, recipient=None)
    out = vigil("verify", str(package), "--key", str(tmp_path / "sender.pub"),
                "--expect-recipient", "Partner", home=tmp_path / "home")  # fmt: skip
    assert out.returncode == 1 and "names no recipient" in out.stdout


def test_the_key_cache_compares_the_stored_hash(tmp_path: Path) -> None:
    from vigil.store import open_store
    from vigil.store.apikeys import ApiKeyRepository
    from vigil.web.auth import KeyCache
    from vigil.web.pool import StorePool

    url = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    with open_store(url) as store:
        key = ApiKeyRepository(store.db).create("k", "matcher")
    pool = StorePool(url)
    try:
        cache = KeyCache(pool)
        cache.reload()
        # Looked up by the key's public prefix, then compared with the stored hash: the
        # cache is not keyed by the secret's own digest (a comparison of it with itself).
        assert set(cache._keys) == {key[:10]}
        assert cache.check(key) is not None and cache.check(key[:10] + "x" * 40) is None
    finally:
        pool.close()
