"""Signed packages: every kind of tampering is detected and named."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from vigil.refer.signing import (
    MANIFEST,
    SIGNATURE,
    SigningKeyError,
    fingerprint,
    generate_key,
    load_private_key,
    load_public_key,
    public_pem,
    verify_package,
    write_package,
)

MEMBERS = {
    "referral.json": b'{"incident": "benign test"}\n',
    "hashes.csv": b"md5,sha256\n" + b"a" * 32 + b"," + b"b" * 64 + b"\n",
    "vics.json": b'{"value": []}\n',
}


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path]:
    key = generate_key(tmp_path / "key.pem")
    (tmp_path / "key.pub").write_bytes(public_pem(key))
    package = tmp_path / "package.zip"
    write_package(package, MEMBERS, key)
    return package, tmp_path / "key.pub"


def rewrite(src: Path, dst: Path, change: dict[str, bytes | None], add: dict[str, bytes]) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename in change:
                replacement = change[info.filename]
                if replacement is None:
                    continue
                data = replacement
            zout.writestr(info.filename, data)
        for name, data in add.items():
            zout.writestr(name, data)


def flip(data: bytes, at: int = 0) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_an_untouched_package_is_valid(signed: tuple[Path, Path]) -> None:
    package, pub = signed
    result = verify_package(package, load_public_key(pub))
    assert result.valid and result.trusted_key
    assert result.signer == fingerprint(load_public_key(pub))
    assert result.lines()[-1] == "VALID"


def test_without_a_key_the_embedded_key_is_used_with_a_warning(signed: tuple[Path, Path]) -> None:
    result = verify_package(signed[0])
    assert result.valid and not result.trusted_key
    assert any(line.startswith("warning:") for line in result.lines())


@pytest.mark.parametrize("member", sorted(MEMBERS))
@pytest.mark.parametrize("at", [0, -1])
def test_a_flipped_byte_in_any_member_is_named(
    signed: tuple[Path, Path], tmp_path: Path, member: str, at: int
) -> None:
    package, pub = signed
    changed = tmp_path / "changed.zip"
    rewrite(package, changed, {member: flip(MEMBERS[member], at)}, {})
    result = verify_package(changed, load_public_key(pub))
    assert not result.valid and result.signature_valid
    assert result.changed == [member] and not result.added and not result.removed


def test_a_flipped_byte_in_the_signature(signed: tuple[Path, Path], tmp_path: Path) -> None:
    package, pub = signed
    with zipfile.ZipFile(package) as z:
        signature = z.read(SIGNATURE)
    for at in range(0, len(signature) - 2, 7):  # every few base64 characters
        bad = (
            signature[:at]
            + (b"A" if signature[at : at + 1] != b"A" else b"B")
            + signature[at + 1 :]
        )
        changed = tmp_path / f"sig{at}.zip"
        rewrite(package, changed, {SIGNATURE: bad}, {})
        result = verify_package(changed, load_public_key(pub))
        assert not result.signature_valid and not result.valid, at


def test_a_changed_manifest_breaks_the_signature(signed: tuple[Path, Path], tmp_path: Path) -> None:
    package, pub = signed
    with zipfile.ZipFile(package) as z:
        manifest = z.read(MANIFEST)
    changed = tmp_path / "manifest.zip"
    rewrite(package, changed, {MANIFEST: manifest.replace(b'"size": 14', b'"size": 15')}, {})
    assert not verify_package(changed, load_public_key(pub)).signature_valid


def test_added_and_removed_members(signed: tuple[Path, Path], tmp_path: Path) -> None:
    package, pub = signed
    changed = tmp_path / "changed.zip"
    rewrite(package, changed, {"vics.json": None}, {"extra.txt": b"slipped in"})
    result = verify_package(changed, load_public_key(pub))
    assert result.signature_valid and not result.valid
    assert (result.added, result.removed, result.changed) == (["extra.txt"], ["vics.json"], [])


def test_missing_signature_and_duplicate_names(signed: tuple[Path, Path], tmp_path: Path) -> None:
    package, pub = signed
    changed = tmp_path / "nosig.zip"
    rewrite(package, changed, {SIGNATURE: None}, {})
    result = verify_package(changed, load_public_key(pub))
    assert not result.valid and f"{SIGNATURE} is missing" in result.problems
    dup = tmp_path / "dup.zip"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate we make on purpose
        rewrite(package, dup, {}, {"hashes.csv": b"another content"})
    result = verify_package(dup, load_public_key(pub))
    assert "member name appears more than once: hashes.csv" in result.problems


def test_another_signers_key_is_refused(signed: tuple[Path, Path], tmp_path: Path) -> None:
    other = generate_key(tmp_path / "other.pem")
    result = verify_package(signed[0], other.public_key())
    assert not result.signature_valid and not result.valid


def test_a_corrupted_zip_is_reported(signed: tuple[Path, Path], tmp_path: Path) -> None:
    data = signed[0].read_bytes()
    broken = tmp_path / "broken.zip"
    broken.write_bytes(data[: len(data) // 2])
    result = verify_package(broken)
    assert not result.valid and result.problems


def test_keys(tmp_path: Path) -> None:
    key = generate_key(tmp_path / "k.pem", passphrase=b"benign passphrase")
    with pytest.raises(SigningKeyError, match="refusing to overwrite"):
        generate_key(tmp_path / "k.pem")
    with pytest.raises(SigningKeyError):
        load_private_key(tmp_path / "k.pem")  # needs the passphrase
    loaded = load_private_key(tmp_path / "k.pem", b"benign passphrase")
    assert fingerprint(loaded.public_key()) == fingerprint(key.public_key())
    with pytest.raises(SigningKeyError, match="cannot read public key"):
        load_public_key(tmp_path / "missing.pub")
    (tmp_path / "junk.pub").write_text("not a key")
    with pytest.raises(SigningKeyError, match="not a readable PEM key"):
        load_public_key(tmp_path / "junk.pub")
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
