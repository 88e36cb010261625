"""Uploads read into memory with a size cap, parsed without touching the disk.

Starlette's own form parser spools files over 1 MiB to a temporary file; uploads to
this service must never be written to disk, so the body is read (up to the cap) and
the multipart parts are collected in memory with python-multipart's push parser.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from vigil.web.errors import ApiError

#: RFC 2046 allows boundaries of 1 to 70 characters; python-multipart fails on long ones.
MAX_BOUNDARY = 70


@dataclass
class Part:
    """One part of a multipart body."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytearray = field(default_factory=bytearray)


@dataclass
class Form:
    """A parsed multipart form: files and plain fields."""

    files: list[Part]
    fields: dict[str, str]

    def json_field(self, name: str) -> Any:
        """A field holding JSON, parsed; 400 naming the field if it is not JSON."""
        raw = self.fields.get(name)
        if raw is None or raw == "":
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(400, "bad_request", f"form field {name!r} must be valid JSON") from None


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(
            413,
            "too_large",
            f"request body of {int(declared):,} bytes is over the limit of {limit:,}",
        )
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise ApiError(413, "too_large", f"request body is over the limit of {limit:,} bytes")
    return bytes(chunks)


#: How deep JSON may nest. The routes' bodies nest three levels at most; Python's own
#: parser would raise RecursionError (a 500) on ``[`` x 100,000.
MAX_JSON_DEPTH = 64


def parse_json(raw: bytes) -> Any:
    """Parse a JSON body; 400 if it is not JSON or nests deeper than ``MAX_JSON_DEPTH``."""
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise ApiError(
            400, "bad_request", f"request body nests JSON deeper than {MAX_JSON_DEPTH} levels"
        )
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "bad_request", f"request body is not valid JSON: {exc}") from None


def json_depth(raw: bytes) -> int:
    """The deepest nesting of brackets in ``raw`` outside strings (a quick upper bound)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return 0
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    return deepest
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


async def read_json(request: Request, limit: int) -> Any:
    """The JSON body (any JSON value); 400 if it is not JSON, 413 if too large."""
    return parse_json(await read_body(request, limit))


async def read_form(request: Request, limit: int) -> Form:
    """A multipart/form-data body, in memory; 400 naming what is wrong with it."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise ApiError(400, "bad_request", "expected a multipart/form-data upload")
    if len(params[b"boundary"]) > MAX_BOUNDARY:
        raise ApiError(
            400, "bad_request", f"multipart boundary longer than {MAX_BOUNDARY} characters"
        )
    raw = await read_body(request, limit)
    parts: list[Part] = []
    headers: dict[bytes, bytes] = {}
    state: dict[str, Any] = {"field": b"", "value": b""}

    def on_part_begin() -> None:
        headers.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        headers[state["field"].lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        _, disp = parse_options_header(headers.get(b"content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        filename = disp.get(b"filename")
        ctype_part = headers.get(b"content-type")
        parts.append(
            Part(
                name,
                filename.decode("utf-8", "replace") if filename is not None else None,
                ctype_part.decode("latin-1") if ctype_part else None,
            )
        )

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1].data += data[start:end]

    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
        },
    )
    try:
        parser.write(raw)
        parser.finalize()
    except Exception as exc:
        raise ApiError(400, "bad_request", f"malformed multipart body: {exc}") from None
    files = [p for p in parts if p.filename is not None]
    fields = {p.name: p.data.decode("utf-8", "replace") for p in parts if p.filename is None}
    return Form(files, fields)


def single_file(form: Form, names: tuple[str, ...] | None = None) -> Part:
    """The one uploaded file (optionally under one of ``names``); 400 otherwise."""
    files = form.files
    if not files:
        raise ApiError(400, "bad_request", "no file in the upload (send it as a multipart file)")
    if len(files) > 1:
        raise ApiError(400, "bad_request", "only one file allowed per request")
    if names is not None and files[0].name not in names:
        raise ApiError(
            400,
            "bad_request",
            f"no such content_type: {files[0].name!r} (use one of {', '.join(names)})",
        )
    return files[0]
