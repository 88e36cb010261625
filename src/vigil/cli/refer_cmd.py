"""``vigil refer CASE --to AGENCY --out PACKAGE.zip``: a signed referral package.

Exit codes: 0 written, 1 when it could not be written, 2 for usage errors (unknown
case, a missing signing key, invalid facts: a future incident date, a URL with white
space, a missing field that the chosen format requires).
"""

from __future__ import annotations

import getpass
import hashlib
from enum import StrEnum
from pathlib import Path

import typer

from vigil.cli.common import fail, open_case
from vigil.cli.keys_cmd import default_key, passphrase
from vigil.refer.facts import FactsError, load_facts
from vigil.refer.referral import package_members
from vigil.refer.signing import PackageError, SigningKeyError, load_private_key, write_package
from vigil.report.case_export import DEFAULT_PROFILE, case_media


class ReferFormat(StrEnum):
    """What the package holds besides referral.json."""

    json = "json"
    cybertip_xml = "cybertip-xml"


def refer_command(
    case_name: str = typer.Argument(..., help="The case."),
    to: str = typer.Option(..., "--to", help="The receiving agency."),
    out: Path = typer.Option(..., "--out", "-o", help="The package to write (a .zip)."),
    facts_file: Path | None = typer.Option(
        None, "--facts", help="The examiner's facts (TOML or JSON; docs/referral.md)."
    ),
    output_format: ReferFormat = typer.Option(
        ReferFormat.json, "--format", help="json, or cybertip-xml to add NCMEC's XML."
    ),
    include_media: bool = typer.Option(
        False, "--include-media", help="Also put the media in the package (off by default)."
    ),
    all_media: bool = typer.Option(
        False, "--all-media", help="Refer every media item, not only matched ones."
    ),
    profile: str = typer.Option(DEFAULT_PROFILE, "--profile", help="Category profile."),
    key: Path | None = typer.Option(None, "--key", help="Signing key (default: in VIGIL_HOME)."),
    passphrase_file: Path | None = typer.Option(None, "--passphrase-file"),
) -> None:
    """Write a signed package of hashes and facts that one agency sends another."""
    try:
        facts = load_facts(facts_file)
        signing_key = load_private_key(key or default_key(), passphrase(passphrase_file))
    except (FactsError, SigningKeyError) as exc:
        hint = "; create one with: vigil keys generate" if isinstance(exc, SigningKeyError) else ""
        fail("refer", f"{exc}{hint}", 2)
    with open_case("refer", case_name) as (store, case):
        media = case_media(store.cases.items(case), profile=profile, matched_only=not all_media)
        try:
            members = package_members(
                case,
                media,
                facts,
                to,
                include_media=include_media,
                cybertip_xml=output_format == ReferFormat.cybertip_xml,
                profile=profile,
            )
            write_package(out, members, signing_key)
        except (FactsError, PackageError) as exc:
            fail("refer", str(exc), 2)
        except OSError as exc:
            fail("refer", f"cannot write {out}: {exc.strerror}", 1)
        digest = hashlib.sha256(out.read_bytes()).hexdigest()
        details = {"to": to, "package": str(out), "sha256": digest, "files": len(media)}
        details.update(media_included=include_media, format=output_format.value)
        store.cases.audit(case, getpass.getuser(), "refer", details)
    typer.echo(f"{out}: {len(media)} files referred to {to}; sha256 {digest}")
