"""``vigil verify-image``: the acquisition hash check of a disk image.

Recomputes the MD5 and SHA-1 of an image's media (an E01 through libewf, every
segment; a raw image as it is) and compares them with the hashes the acquisition
stored in the E01. With ``--case`` the outcome goes to that case's audit log
(``image.verify``). Exit codes: 0 verified (or, for a raw image, hashed: there is no
stored hash to compare), 1 mismatch or unreadable, 2 usage errors.
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path

import typer

from vigil.cli.common import fail, open_case
from vigil.media.sources.ewf import verify


class VerifyFormat(StrEnum):
    """How to read the image."""

    auto = "auto"
    raw = "raw"
    ewf = "ewf"


def verify_image_command(
    image: Path = typer.Argument(..., help="The image (its first segment: x.E01, x.001, x.dd)."),
    image_format: VerifyFormat = typer.Option(
        VerifyFormat.auto, "--image-format", help="raw or ewf (default: from content)."
    ),
    case_name: str | None = typer.Option(
        None, "--case", "-c", help="Record the outcome in this case's audit log."
    ),
    examiner: str | None = typer.Option(None, "--examiner", help="Who verifies (audit log)."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Recompute a disk image's MD5/SHA-1 and compare them with the E01's stored ones."""
    if not os.path.isfile(image):
        fail("verify-image", f"no such file: {image}", 2)
    fmt = None if image_format == VerifyFormat.auto else image_format.value
    result = verify(image.absolute(), fmt)
    if case_name is not None:
        with open_case("verify-image", case_name) as (cases, case):
            cases.record(case, "image.verify", result.to_json(), examiner)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    else:
        typer.echo(f"{result.path}: {result.verdict}")
        typer.echo(
            f"  format {result.format}, {result.size:,} bytes, {len(result.segments)} segment(s)"
        )
        for name in ("md5", "sha1"):
            stored = result.stored.get(name, "(none stored)")
            computed = result.computed.get(name, "(not computed)")
            typer.echo(f"  {name.upper():4} stored   {stored}")
            typer.echo(f"  {name.upper():4} computed {computed}")
        if result.error:
            typer.echo(f"  error: {result.error}")
    raise typer.Exit(0 if result.verdict in ("verified", "no stored hash") else 1)
