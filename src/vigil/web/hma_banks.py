"""HMA-compatible bank routes: banks, and the content in them, as HMA's curation blueprint.

A bank is a Vigil hash set; its content ids are small sequential numbers never handed
out twice (``vigil.services.content_ids``). Adding content stores only the signal
types HMA stores (a photo's ``pdq``, a video's MD5 as ``video_md5``), its metadata
under ``hma`` in the entry's metadata, its note as the entry's note. Deleting content
retires its id and disables the entry for ever; content of another bank than the path
names answers 404 (HMA would read, change and delete it).
"""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from vigil.errors import UnknownHashSetError, UsageError
from vigil.hashsets.model import HashSetInfo
from vigil.services.content_ids import content_ids
from vigil.services.hashsets import HashSets
from vigil.signals import SIGNAL_TYPES, signal_type
from vigil.web.auth import requirement
from vigil.web.errors import ApiError
from vigil.web.hma_hashing import HmaHasher
from vigil.web.hma_shapes import (
    BANK_NAME,
    CONTENT_TYPES,
    DISABLED,
    ENABLED,
    FIVE_YEARS,
    RATIO,
    bank_json,
    check_metadata,
    check_note,
    disable_ts,
    hma_signals,
    invalid,
    metadata_json,
    vigil_type,
)
from vigil.web.service import Service
from vigil.web.uploads import read_body, read_form, single_file


def build(service: Service, hasher: HmaHasher) -> APIRouter:
    """The bank routes over ``service``."""
    router = APIRouter(tags=["HMA-compatible"])
    open_routes = service.config.hma_open_routes
    matcher = Depends(
        requirement(service.keys, service.buckets, "matcher", open_routes=open_routes)
    )
    curator = Depends(
        requirement(service.keys, service.buckets, "curator", open_routes=open_routes)
    )

    @router.get("/c/banks", summary="HMA: list banks")
    def banks(key: Any = matcher) -> list[dict[str, Any]]:
        """Every set as an HMA BankConfig."""
        with service.pool.store() as store:
            return [bank_json(i) for i in HashSets(store).list()]

    def ratio_of(data: dict[str, Any]) -> float | None:
        value = data.get("enabled_ratio")
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise invalid(
                    "enabled_ratio", "float_type", "Input should be a valid number", value
                )
            try:
                number = float(value)
            except ValueError:
                raise invalid(
                    "enabled_ratio", "float_parsing", "Input should be a valid number", value
                ) from None
            if number != number or number in (float("inf"), float("-inf")):
                raise invalid("enabled_ratio", "finite_number", "Input should be finite", value)
            return number
        enabled = data.get("enabled")
        if enabled is not None:
            if not isinstance(enabled, bool):
                raise invalid("enabled", "bool_type", "Input should be a valid boolean", enabled)
            return 1.0 if enabled else 0.0
        return None

    async def json_object(request: Request) -> dict[str, Any]:
        data = await service.read_json(request)
        if not isinstance(data, dict):
            raise invalid("body", "model_type", "Input should be a valid dictionary", data)
        return data

    @router.post("/c/banks", summary="HMA: create a bank", status_code=201)
    async def bank_create(request: Request, key: Any = curator) -> JSONResponse:
        """``{"name": "UPPER_CASE", "enabled_ratio"?, "enabled"?}`` -> 201 BankConfig."""
        data = await json_object(request)
        name = data.get("name")
        if name is None:
            raise invalid("name", "missing", "Field required", data)
        if not isinstance(name, str):
            raise invalid("name", "string_type", "Input should be a valid string", name)
        ratio = ratio_of(data)
        if not BANK_NAME.fullmatch(name):
            raise ApiError(400, "bad_request", "Bank names must be UPPER_WITH_UNDERSCORE")

        def work() -> HashSetInfo:
            with service.pool.store() as store:
                if HashSets(store).get(name) is not None:
                    raise ApiError(403, "conflict", "Bank already exists")
                try:
                    return HashSets(store).create_set(
                        name,
                        attributes={RATIO: 1.0 if ratio is None else ratio},
                        provenance=f"vigil serve HMA API (key {key.name})",
                    )
                except UsageError:
                    if HashSets(store).get(name) is None:
                        raise
                    # another creator won the race since the check above: HMA's answer
                    raise ApiError(403, "conflict", "Bank already exists") from None

        info = await run_in_threadpool(work)
        await run_in_threadpool(service.changed)
        return JSONResponse(bank_json(info), 201)

    @router.get("/c/bank/{bank_name}", summary="HMA: show a bank")
    def bank_show(bank_name: str, key: Any = matcher) -> dict[str, Any]:
        """One bank's BankConfig (404 as HMA)."""
        with service.pool.store() as store:
            info = HashSets(store).get(bank_name)
        if info is None:
            raise ApiError(404, "not_found", f"bank '{bank_name}' not found")
        return bank_json(info)

    @router.put("/c/bank/{bank_name}", summary="HMA: update a bank")
    async def bank_update(bank_name: str, request: Request, key: Any = curator) -> dict[str, Any]:
        """Rename (``name``) and/or set ``enabled`` / ``enabled_ratio``."""
        data = await json_object(request)
        new_name = data.get("name")
        if new_name is not None and not isinstance(new_name, str):
            raise invalid("name", "string_type", "Input should be a valid string", new_name)
        ratio = ratio_of(data)

        def work() -> HashSetInfo:
            with service.pool.store() as store:
                sets = HashSets(store)
                info = sets.get(bank_name)
                if info is None:
                    raise ApiError(404, "not_found", "Bank not found")
                if new_name is not None and not BANK_NAME.fullmatch(new_name):
                    raise ApiError(400, "bad_request", "Bank names must be UPPER_WITH_UNDERSCORE")
                if ratio is not None:
                    info = sets.update_attributes(bank_name, {RATIO: ratio})
                if new_name is not None and new_name != bank_name:
                    if sets.get(new_name) is not None:
                        raise ApiError(403, "conflict", "Bank name already exists")
                    info = sets.rename_set(bank_name, new_name)
                return info

        info = await run_in_threadpool(work)
        await run_in_threadpool(service.changed)
        return bank_json(info)

    @router.delete("/c/bank/{bank_name}", summary="HMA: delete a bank")
    def bank_delete(bank_name: str, key: Any = curator) -> dict[str, str]:
        """Delete the bank and its content (``Done`` even if there was none, as HMA)."""
        with service.pool.store() as store:
            HashSets(store).delete_set(bank_name)
        service.changed()
        return {"message": "Done"}

    # -- bank content ----------------------------------------------------------------

    def bank_or_404(bank_name: str) -> HashSetInfo:
        with service.pool.store() as store:
            info = HashSets(store).get(bank_name)
        if info is None:
            raise ApiError(404, "not_found", f"bank '{bank_name}' not found")
        return info

    def add(
        bank: str, signals: dict[str, Any], note: str | None, metadata: dict[str, Any] | None
    ) -> dict[str, Any]:
        if not signals:
            raise ApiError(400, "bad_request", "No signals given")
        stored: dict[str, str] = {}
        shown: dict[str, str] = {}
        for kind, value in signals.items():
            name = vigil_type(kind)
            if name not in SIGNAL_TYPES:
                raise ApiError(400, "unknown_signal_type", f"No such signal type {kind}")
            try:
                if not isinstance(value, str):
                    raise ValueError("not a string")
                stored[name] = signal_type(name).validate(value)
            except Exception as exc:
                raise ApiError(400, "invalid_hash", f"Invalid {kind} signal: {exc}") from None
            shown[kind] = stored[name]
        with service.pool.store() as store:
            sets = HashSets(store)
            if sets.get(bank) is None:
                raise ApiError(404, "not_found", f"bank '{bank}' not found")
            extra = {"hma": metadata} if metadata else None
            info, entry_no = sets.add_entry(bank, stored, note=note, metadata=extra)
            cid = content_ids(store).assign(int(info.id or 0), entry_no)
        service.changed()
        return {"id": cid, "signals": shown}

    @router.post("/c/bank/{bank_name}/signal", summary="HMA: add hashes to a bank")
    async def bank_add_signal(
        bank_name: str, request: Request, key: Any = curator
    ) -> dict[str, Any]:
        """``{"pdq": "...", "note"?: "..."}`` -> ``{"id": N, "signals": {...}}``."""
        bank_or_404(bank_name)
        data = await service.read_json(request)
        if not isinstance(data, dict):
            raise ApiError(400, "bad_request", "this endpoint expects a JSON object")
        note = check_note(data.pop("note", None))
        return await run_in_threadpool(add, bank_name, data, note, None)

    @router.post("/c/bank/{bank_name}/content", summary="HMA: add media to a bank")
    async def bank_add_content(
        bank_name: str, request: Request, key: Any = curator
    ) -> dict[str, Any]:
        """``?url=`` (with a JSON body of ``metadata``, ``note``) or a multipart upload."""
        await run_in_threadpool(bank_or_404, bank_name)
        params = request.query_params
        ctype = request.headers.get("content-type", "")
        metadata: Any = None
        note: Any = None
        hashes: dict[str, str] | None = None
        if ctype.startswith("multipart/form-data"):
            form = await read_form(request, service.config.max_upload_bytes)
            metadata = form.json_field("metadata")
            note = form.fields.get("note")
            metadata, note = check_metadata(metadata), check_note(note)
            if not params.get("url") and form.files:
                part = single_file(form)
                if part.name not in CONTENT_TYPES:
                    raise ApiError(400, "bad_request", f"no such content_type: '{part.name}'")
                hashes = await hasher.hash_bytes(bytes(part.data), part.name, params.get("types"))
        else:
            raw = await read_body(request, service.config.max_json_bytes)
            if raw.strip() and ctype.startswith("application/json"):
                data = service.parse_json(raw)
                if isinstance(data, dict):
                    metadata, note = data.get("metadata"), data.get("note")
            metadata, note = check_metadata(metadata), check_note(note)
        if params.get("url"):
            hashes = await hasher.hash_url(
                params["url"], params.get("content_type"), params.get("types")
            )
        if hashes is None:
            raise ApiError(
                400, "bad_request", "Neither `url` nor multipart file upload was received"
            )
        return await run_in_threadpool(add, bank_name, hashes, note, metadata)

    def content(bank_name: str, content_id: int) -> tuple[HashSetInfo, int, dict[str, Any]]:
        """The bank, entry number and entry of a content id in that bank; 404 otherwise."""
        with service.pool.store() as store:
            sets = HashSets(store)
            info = sets.get(bank_name)
            if info is None:
                raise ApiError(404, "not_found", f"bank '{bank_name}' not found")
            where = content_ids(store).locate(content_id)
            if where is None or where[0] != info.id:
                raise ApiError(404, "not_found", f"content '{content_id}' not found")
            try:
                entry = sets.entry(info.name, where[1])
            except UnknownHashSetError:
                raise ApiError(404, "not_found", f"content '{content_id}' not found") from None
        return info, where[1], entry

    def content_id_of(raw: str) -> int:
        if not re.fullmatch(r"[0-9]{1,18}", raw):
            raise ApiError(404, "not_found", f"content '{raw}' not found")
        return int(raw)

    def user_metadata(entry: dict[str, Any]) -> dict[str, Any] | None:
        stored = (entry.get("metadata") or {}).get("hma") if entry.get("metadata") else None
        return stored or None

    @router.get("/c/bank/{bank_name}/content/{content_id}", summary="HMA: show bank content")
    def content_get(
        bank_name: str, content_id: str, request: Request, key: Any = matcher
    ) -> dict[str, Any]:
        """One content item; ``include_signals=true`` adds its hashes."""
        cid = content_id_of(content_id)
        info, _, entry = content(bank_name, cid)
        params = request.query_params
        out: dict[str, Any] = {
            "id": cid,
            "disable_until_ts": disable_ts(entry),
            "original_media_uri": None,
            "bank": bank_json(info),
        }
        if params.get("include_signals", "false").lower() == "true":
            signals = hma_signals(entry["signals"])
            if signals:
                out["signals"] = signals
        stored = user_metadata(entry)
        if params.get("include_metadata", "true").lower() == "true" and stored:
            out["metadata"] = metadata_json(stored)
        if entry.get("note"):
            out["note"] = entry["note"]
        return out

    @router.put("/c/bank/{bank_name}/content/{content_id}", summary="HMA: update bank content")
    async def content_update(
        bank_name: str, content_id: str, request: Request, key: Any = curator
    ) -> dict[str, Any]:
        """``disable_until_ts`` (1 enabled, 0 disabled, else a Unix time) and ``note``."""
        cid = content_id_of(content_id)
        await run_in_threadpool(content, bank_name, cid)
        data = await service.read_json(request)
        if not isinstance(data, dict):
            raise ApiError(400, "bad_request", "this endpoint expects a JSON object")
        ts: int | None = None
        if "disable_until_ts" in data:
            raw = data["disable_until_ts"]
            try:
                if isinstance(raw, float) and raw != raw:
                    raise ValueError
                ts = int(raw)
            except (TypeError, ValueError, OverflowError):
                raise ApiError(400, "bad_request", f"Invalid int: '{raw}'") from None
            if ts < 0:
                raise ApiError(
                    400, "bad_request", "disable_until_ts must be a non-negative integer"
                )
            if ts > time.time() + FIVE_YEARS:
                raise ApiError(
                    400, "bad_request", "disable_until_ts must be less than 5 years in the future"
                )
        note_given = "note" in data
        note = check_note(data.get("note"))

        def work() -> dict[str, Any]:
            info, entry_no, entry = content(bank_name, cid)
            with service.pool.store() as store:
                sets = HashSets(store)
                if ts is not None:
                    if ts == ENABLED:
                        entry = sets.set_disabled(info.name, entry_no, False, None, key.name)
                    else:
                        until = None if ts == DISABLED else float(ts)
                        entry = sets.set_disabled(info.name, entry_no, True, until, key.name)
                if note_given:
                    content_ids(store).set_note(int(info.id or 0), entry_no, note)
                    entry = sets.entry(info.name, entry_no)
            return {
                "id": cid,
                "disable_until_ts": disable_ts(entry),
                "collab_metadata": {},
                "original_media_uri": None,
                "bank": bank_json(info),
                "user_metadata": user_metadata(entry),
                "note": entry.get("note") or None,
            }

        out = await run_in_threadpool(work)
        await run_in_threadpool(service.changed)
        return out

    @router.delete("/c/bank/{bank_name}/content/{content_id}", summary="HMA: delete bank content")
    async def content_delete(bank_name: str, content_id: str, key: Any = curator) -> dict[str, Any]:
        """Retire the content id and stop matching the entry: ``{"deleted": 1}`` (0 if none)."""
        info = await run_in_threadpool(bank_or_404, bank_name)
        if not re.fullmatch(r"[0-9]{1,18}", content_id):
            return {"deleted": 0}

        def work() -> int:
            with service.pool.store() as store:
                return content_ids(store).retire(int(content_id), int(info.id or 0), key.name)

        deleted = await run_in_threadpool(work)
        if deleted:
            await run_in_threadpool(service.changed)
        return {"deleted": deleted}

    return router
