"""``vigil refer CASE --to AGENCY --out PACKAGE.zip``: a signed referral package.

With ``--submit-to URL`` the package's CyberTipline report and files are then sent to
the CyberTipline Reporting API at URL (``vigil.refer.submit``; docs/referral.md).

Exit codes: 0 written (and submitted), 1 when it could not be written or the API
refused it (the report is retracted), 2 for usage errors (unknown case, a missing
signing key, invalid facts: a future incident date, a URL with white space, a missing
field that the chosen format requires; --submit-to without what it needs).
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from pathlib import Path

import typer

from vigil.cli.common import fail, open_case
from vigil.cli.keys_cmd import default_key, passphrase
from vigil.errors import UsageError
from vigil.refer.facts import FactsError, load_facts
from vigil.refer.referral import package_members
from vigil.refer.signing import PackageError, SigningKeyError, load_private_key, write_package
from vigil.refer.submit import CyberTiplineClient, SubmissionError, read_credentials, submit_package
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
    submit_to: str | None = typer.Option(
        None,
        "--submit-to",
        help="Then submit the report and files to the CyberTipline API at this URL (https).",
    ),
    credentials: Path | None = typer.Option(
        None, "--credentials", help="For --submit-to: a file (mode 600) holding USER:PASSWORD."
    ),
) -> None:
    """Write a signed package of hashes and facts that one agency sends another."""
    try:
        facts = load_facts(facts_file)
        signing_key = load_private_key(key or default_key(), passphrase(passphrase_file))
        client = (
            _client(submit_to, credentials, output_format, include_media) if submit_to else None
        )
    except (FactsError, SigningKeyError, UsageError) as exc:
        hint = "; create one with: vigil keys generate" if isinstance(exc, SigningKeyError) else ""
        fail("refer", f"{exc}{hint}", 2)
    with open_case("refer", case_name) as (cases, case):
        media = case_media(cases.items(case), profile=profile, matched_only=not all_media)
        try:
            signed_head = cases.sign_head(case, "refer", key=signing_key)
            members = package_members(
                case,
                media,
                facts,
                to,
                include_media=include_media,
                cybertip_xml=output_format == ReferFormat.cybertip_xml,
                profile=profile,
            )
            if signed_head is not None:  # the case's log as of this referral, signed
                members["audit-head.json"] = (json.dumps(signed_head, indent=2) + "\n").encode()
            write_package(out, members, signing_key, recipient=to)
        except (FactsError, PackageError) as exc:
            fail("refer", str(exc), 2)
        except OSError as exc:
            fail("refer", f"cannot write {out}: {exc.strerror}", 1)
        digest = hashlib.sha256(out.read_bytes()).hexdigest()
        details = {"to": to, "package": str(out), "sha256": digest, "files": len(media)}
        details.update(media_included=include_media, format=output_format.value)
        cases.record(case, "refer", details)
        typer.echo(f"{out}: {len(media)} files referred to {to}; sha256 {digest}")
        if client is not None:
            try:
                sent = submit_package(members, client)
            except (SubmissionError, UsageError) as exc:
                failed = {"url": client.base_url, "package_sha256": digest, "error": str(exc)}
                cases.record(case, "refer.submit-failed", failed)
                fail("refer", f"submission failed: {exc}", 1)
            done = {"url": client.base_url, "package_sha256": digest}
            done.update(report_id=sent.report_id, files=sent.files)
            cases.record(case, "refer.submit", done)
            typer.echo(
                f"submitted to {client.base_url}: CyberTipline report {sent.report_id}, "
                f"{len(sent.files)} files"
            )


def _client(
    url: str, credentials: Path | None, output_format: ReferFormat, include_media: bool
) -> CyberTiplineClient:
    """The API client for --submit-to, once the options it needs are all there."""
    if output_format != ReferFormat.cybertip_xml:
        raise UsageError("--submit-to needs --format cybertip-xml")
    if not include_media:
        raise UsageError("--submit-to needs --include-media: the report carries its files")
    if credentials is None:
        raise UsageError("--submit-to needs --credentials FILE (USER:PASSWORD, mode 600)")
    return CyberTiplineClient(url, *read_credentials(credentials))
