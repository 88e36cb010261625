"""Hashing for the HMA routes: a photo to ``pdq``, a video to ``video_md5``, as HMA does.

From an upload (multipart field ``photo`` or ``video``) or from a URL (fetched under
``vigil.web.fetch``'s rules, the content sniffed). ``types=`` may ask for Vigil's other
signal types too (md5, sha1, sha256, vpdq). A video's MD5 needs no decoding, so a
``video`` field holding any bytes is hashed, as HMA hashes it; a ``photo`` must decode
as an image (415 or 422 otherwise: HMA answers 500).
"""

from __future__ import annotations

import hashlib

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from vigil.media.sniff import media_kind, sniff
from vigil.web.errors import ApiError
from vigil.web.fetch import fetch
from vigil.web.hma_shapes import CONTENT_TYPES, DEFAULT_TYPES, EXTRA_TYPES, vigil_type
from vigil.web.service import Service, upload_signals
from vigil.web.uploads import read_form, single_file


class HmaHasher:
    """Hashes uploads and URLs for the HMA routes of one service."""

    def __init__(self, service: Service) -> None:
        """Use ``service``'s limits and fetch policy."""
        self.service = service
        self.policy = service.config.fetch_policy()

    def selected(self, content_type: str, types: str | None) -> list[str]:
        """The signal types to compute: HMA's default, or those ``types`` names."""
        if types is None:
            return list(DEFAULT_TYPES[content_type])
        allowed = DEFAULT_TYPES[content_type] + EXTRA_TYPES[content_type]
        names = [t.strip() for t in types.split(",") if t.strip()]
        for name in names:
            if name not in allowed:
                raise ApiError(
                    400, "bad_request", f"signal type '{name}' doesn't exist or is disabled"
                )
        if not names:
            raise ApiError(400, "bad_request", "empty signal type selection")
        return names

    async def hash_bytes(self, data: bytes, content_type: str, types: str | None) -> dict[str, str]:
        """Hash content held in memory as HMA would (a photo's PDQ, a video's MD5)."""
        names = self.selected(content_type, types)
        digests_only = all(n in ("video_md5", "md5", "sha1", "sha256") for n in names)
        if content_type == "video" and digests_only:
            record_signals = {
                "md5": hashlib.md5(data).hexdigest(),
                "sha1": hashlib.sha1(data).hexdigest(),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        else:
            record = await self.service.hash_data("upload", data)
            kind = media_kind(record.type or "")
            wanted = "an image" if content_type == "photo" else "a video"
            if kind != wanted.split()[1] and (content_type == "photo" or "vpdq" in names):
                raise ApiError(
                    400,
                    "bad_request",
                    f"the {content_type} upload is not {wanted} (its content is {record.type})",
                )
            record_signals = upload_signals(record)
        out: dict[str, str] = {}
        for name in names:
            value = record_signals.get(vigil_type(name))
            if value:
                out[name] = value
        return out

    async def hash_form(self, request: Request, types: str | None) -> dict[str, str]:
        """Hash the one file of a multipart body, sent as ``photo`` or ``video``."""
        form = await read_form(request, self.service.config.max_upload_bytes)
        if not form.files:
            raise ApiError(400, "bad_request", "Missing multipart/form-data file upload")
        part = single_file(form)
        if part.name not in CONTENT_TYPES:
            raise ApiError(400, "bad_request", f"no such content_type: '{part.name}'")
        return await self.hash_bytes(bytes(part.data), part.name, types)

    async def hash_url(
        self, url: str, content_type: str | None, types: str | None
    ) -> dict[str, str]:
        """Fetch ``url`` (the rules of ``vigil.web.fetch``) and hash what it holds."""
        if not self.service.config.fetch:
            raise ApiError(
                400, "bad_request", "URL fetching is turned off here (VIGIL_SERVE_FETCH=0)"
            )
        fetched = await run_in_threadpool(fetch, url, self.policy)
        if content_type is None:
            kind = media_kind(sniff(fetched.data[:4096]))
            if kind is None:
                raise ApiError(
                    400,
                    "bad_request",
                    f"unsupported url ContentType: '{fetched.content_type}', if you know the "
                    "expected type, provide it with the content_type query param",
                )
            content_type = "photo" if kind == "image" else "video"
        elif content_type not in CONTENT_TYPES:
            raise ApiError(400, "bad_request", f"no such content_type: '{content_type}'")
        return await self.hash_bytes(fetched.data, content_type, types)
