"""HMA-compatible routes, with HMA's request and response shapes.

An HMA integration switches to Vigil by changing its base URL (and adding an API key
header). Request and response shapes follow HMA's
OpenMediaMatch blueprints; every difference is listed in docs/service.md.

Mapping: an HMA bank is a Vigil hash set; a bank content id is the entry's global id
(``set_id << 32 | entry_no``); a bank's ``matching_enabled_ratio`` lives in the set's
attributes (``hma_enabled_ratio``). HMA's ``video_md5`` is accepted as a name for the
MD5 of a video file. Errors are ``{"message": ...}`` as in HMA (plus ``error``).
"""

from __future__ import annotations

import random
import re
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from vigil.errors import UnknownHashSetError
from vigil.hashsets.model import HashSetInfo
from vigil.media.sniff import media_kind
from vigil.services.catalog import entry_id, split_entry_id
from vigil.services.hashsets import HashSets
from vigil.services.matcher import Finding, Matcher, Query
from vigil.signals import SIGNAL_TYPES, signal_type
from vigil.web.auth import requirement
from vigil.web.errors import ApiError
from vigil.web.service import (
    Service,
    log_query,
    parse_signal,
    upload_signals,
)
from vigil.web.uploads import read_form, read_json, single_file

BANK_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
CONTENT_TYPES = ("photo", "video")
RATIO = "hma_enabled_ratio"
ENABLED, DISABLED = 1, 0
FIVE_YEARS = 5 * 365 * 86400


def _hma_type(name: str) -> str:
    """HMA's signal type names onto Vigil's (``video_md5`` is an MD5)."""
    return "md5" if name == "video_md5" else name


def bank_json(info: HashSetInfo) -> dict[str, Any]:
    """HMA's BankConfig shape."""
    ratio = (info.attributes or {}).get(RATIO, 1.0)
    return {"matching_enabled_ratio": float(ratio), "name": info.name}


def _banks(param: str | None) -> set[str] | None:
    return {b for b in param.split(",") if b} if param else None


def build(service: Service) -> APIRouter:
    """The HMA-compatible router over ``service``."""
    router = APIRouter(tags=["HMA-compatible"])
    matcher = Depends(requirement(service.keys, service.buckets, "matcher"))
    curator = Depends(requirement(service.keys, service.buckets, "curator"))
    limit = service.config.max_upload_bytes

    async def lookup(
        kind: str,
        value: str,
        banks: set[str] | None,
        request: Request,
        *,
        key: Any,
        route: str,
        coinflip: bool = True,
        restrict: set[str] | None = None,
    ) -> tuple[dict[str, list[dict[str, Any]]], list[Finding]]:
        """Match one hash; log what matched (in ``restrict`` banks, if given)."""
        name, canonical = parse_signal(_hma_type(kind), value)
        snap = service.snapshot()
        if Matcher(snap, None, snap.sets).surely_no_match(name, canonical):
            return {}, []

        def work() -> list[Finding]:  # one thread hop: match, then log
            with service.pool.store() as store:
                hits = Matcher(snap, store, snap.sets).match(
                    Query.of_hash(name, canonical)
                )
            if restrict is not None:
                hits = [h for h in hits if h.info.name in restrict]
            if hits:
                service.record(key, route, {name: canonical}, hits)
            return hits

        hits = await run_in_threadpool(work)
        return _by_bank(hits, banks, request, coinflip), hits

    def _by_bank(
        hits: list[Finding], banks: set[str] | None, request: Request, coinflip: bool
    ) -> dict[str, list[dict[str, Any]]]:
        bypass = request.query_params.get("bypass_coinflip", "false") == "true" or not coinflip
        flip = 0.0 if bypass else random.Random(request.query_params.get("seed")).random()
        out: dict[str, list[dict[str, Any]]] = {}
        for hit in hits:
            if banks is not None and hit.info.name not in banks:
                continue
            if float((hit.info.attributes or {}).get(RATIO, 1.0)) < flip:
                continue
            out.setdefault(hit.info.name, []).append(
                {"bank_content_id": hit.entry_id, "distance": str(hit.distance)}
            )
        return out

    # -- status and hashing ----------------------------------------------------------

    @router.get("/status", response_class=PlainTextResponse, summary="HMA status")
    def status(key: Any = matcher) -> PlainTextResponse:
        """``I-AM-ALIVE`` when the index is loaded and fresh, else 503 as HMA does."""
        if service.refresher.snapshot is None:
            return PlainTextResponse("INDEX-NOT-LOADED", 503)
        if service.refresher.age() > service.config.stale_seconds:
            return PlainTextResponse("INDEX-STALE", 503)
        return PlainTextResponse("I-AM-ALIVE")

    async def _hash_form(request: Request) -> tuple[dict[str, str], Any]:
        part = single_file(await read_form(request, limit), CONTENT_TYPES)
        record = await service.hash_upload(part)
        kind = media_kind(record.type or "")
        if (part.name == "photo") != (kind == "image"):
            raise ApiError(
                400, "bad_request", f"the {part.name} upload is not a {part.name} ({record.type})"
            )
        signals = upload_signals(record)
        if kind == "video" and "md5" in signals:
            signals = {"video_md5": signals["md5"], **signals}
        wanted = request.query_params.get("types")
        if wanted:
            names = [t.strip() for t in wanted.split(",") if t.strip()]
            bad = [t for t in names if t not in signals]
            if bad:
                raise ApiError(
                    400, "bad_request", f"signal type '{bad[0]}' doesn't exist or is disabled"
                )
            signals = {t: signals[t] for t in names}
        return signals, record

    @router.get("/h/hash", summary="HMA: hash a URL (refused)")
    def hash_get(key: Any = matcher) -> None:
        """Refused: the service never fetches URLs; upload the bytes to POST /h/hash."""
        raise ApiError(
            400,
            "bad_request",
            "url hashing is not supported: Vigil does not fetch URLs "
            "(upload the file to POST /h/hash)",
        )

    @router.post("/h/hash", summary="HMA: hash an upload")
    async def hash_post(request: Request, key: Any = matcher) -> dict[str, str]:
        """Multipart field ``photo`` or ``video``; answers signal type -> hash."""
        signals, _ = await _hash_form(request)
        return signals

    # -- matching --------------------------------------------------------------------

    @router.get("/m/lookup", summary="HMA: look up a hash", response_model=None)
    async def lookup_get(request: Request, key: Any = matcher) -> JSONResponse:
        """``signal_type`` and ``signal``; answers bank -> [{bank_content_id, distance}]."""
        params = request.query_params
        if params.get("url"):
            raise ApiError(
                400,
                "bad_request",
                "url lookups are not supported: Vigil does not "
                "fetch URLs (upload the file to POST /m/lookup)",
            )
        kind, signal = params.get("signal_type"), params.get("signal")
        if not kind or not signal:
            raise ApiError(
                400, "bad_request", "Either url or both signal and signal_type are required"
            )
        found, _ = await lookup(
            kind, signal, _banks(params.get("banks")), request, key=key, route="/m/lookup"
        )
        return JSONResponse(found)

    @router.post("/m/lookup", summary="HMA: hash and look up an upload")
    async def lookup_post(request: Request, key: Any = matcher) -> dict[str, Any]:
        """Multipart ``photo`` or ``video``; answers signal type -> bank -> matches."""
        signals, record = await _hash_form(request)
        banks = _banks(request.query_params.get("banks"))

        def work() -> dict[str, Any]:
            snap = service.snapshot()
            with service.pool.store() as store:
                hits = Matcher(snap, store, snap.sets).match(Query.of(record))
            service.record(key, "/m/lookup", log_query(record), hits)
            out: dict[str, Any] = {}
            for name in signals:
                mine = [h for h in hits if h.signal_type == _hma_type(name)]
                out[name] = _by_bank(mine, banks, request, True)
            return out

        return await run_in_threadpool(work)

    @router.get("/m/raw_lookup", summary="HMA: raw index lookup")
    async def raw_lookup(request: Request, key: Any = matcher) -> dict[str, Any]:
        """``{"matches": [ids]}`` (or with distances); disabled entries are left out."""
        params = request.query_params
        kind, signal = params.get("signal_type"), params.get("signal")
        if not kind or not signal:
            raise ApiError(400, "bad_request", "signal and signal_type are required")
        with_distance = params.get("include_distance", "false").lower() in ("true", "1")
        _, hits = await lookup(
            kind,
            signal,
            None,
            request,
            key=key,
            route="/m/raw_lookup",
            coinflip=False,
            restrict=_banks(params.get("banks")),
        )
        if with_distance:
            return {
                "matches": [
                    {"bank_content_id": h.entry_id, "distance": str(h.distance)} for h in hits
                ]
            }
        return {"matches": [h.entry_id for h in hits]}

    @router.post("/m/compare", summary="HMA: compare pairs of hashes")
    async def compare(request: Request, key: Any = matcher) -> dict[str, Any]:
        """``{type: [h1, h2]}`` -> ``{type: [matched, {"distance": d}]}``."""
        data = await read_json(request, service.config.max_json_bytes)
        if not isinstance(data, dict):
            raise ApiError(400, "bad_request", "Request input was not a dict")
        out: dict[str, Any] = {}
        for kind, pair in data.items():
            if not isinstance(pair, list):
                raise ApiError(400, "bad_request", f"Comparison hashes for {kind} was not a list")
            if len(pair) != 2:
                raise ApiError(400, "bad_request", "Comparison hash list length must be exactly 2")
            name = _hma_type(kind)
            if name not in SIGNAL_TYPES or name == "vpdq":
                raise ApiError(400, "unknown_signal_type", f"No such SignalType '{kind}'")
            try:
                left, right = (parse_signal(name, str(v))[1] for v in pair)
            except ApiError as exc:
                raise ApiError(400, "invalid_hash", f"Invalid {kind} hash: {exc.message}") from None
            st = signal_type(name)
            distance = st.distance(left, right)
            out[kind] = [st.matches(left, right), {"distance": distance}]
        return out

    @router.get("/m/index/status", summary="HMA: index status")
    def index_status(request: Request, key: Any = matcher) -> dict[str, Any]:
        """Per signal type: present, built_to (Unix time), size."""
        snap = service.snapshot()
        built = int(snap.built_at)
        status = {
            "pdq": {"present": True, "built_to": built, "size": len(snap.pdq)},
            "vpdq": {"present": True, "built_to": built, "size": len(snap.vpdq)},
        }
        for kind in ("md5", "sha1", "sha256"):
            status[kind] = {"present": True, "built_to": built, "size": -1}
        wanted = request.query_params.get("signal_type")
        if wanted is not None:
            if wanted not in status:
                raise ApiError(400, "bad_request", f"No such signal type '{wanted}'")
            return {wanted: status[wanted]}
        return status

    # -- banks -----------------------------------------------------------------------

    @router.get("/c/banks", summary="HMA: list banks")
    def banks(key: Any = matcher) -> list[dict[str, Any]]:
        """Every set as an HMA BankConfig."""
        with service.pool.store() as store:
            return [bank_json(i) for i in HashSets(store).list()]

    def _ratio(data: dict[str, Any]) -> float | None:
        if data.get("enabled_ratio") is not None:
            value = data["enabled_ratio"]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ApiError(400, "bad_request", "enabled_ratio must be a number from 0 to 1")
            return float(value)
        if data.get("enabled") is not None:
            return 1.0 if data["enabled"] else 0.0
        return None

    @router.post("/c/banks", summary="HMA: create a bank", status_code=201)
    async def bank_create(request: Request, key: Any = curator) -> JSONResponse:
        """``{"name": "UPPER_CASE", "enabled_ratio"?, "enabled"?}`` -> 201 BankConfig."""
        data = await read_json(request, service.config.max_json_bytes)
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise ApiError(400, "bad_request", "name is required")
        name = data["name"]
        if not BANK_NAME.fullmatch(name):
            raise ApiError(400, "bad_request", "Bank names must be UPPER_WITH_UNDERSCORE")
        ratio = _ratio(data)

        def work() -> HashSetInfo:
            with service.pool.store() as store:
                if HashSets(store).get(name) is not None:
                    raise ApiError(403, "conflict", "Bank already exists")
                return HashSets(store).create_set(
                    name,
                    attributes={RATIO: 1.0 if ratio is None else ratio},
                    provenance=f"vigil serve HMA API (key {key.name})",
                )

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
        data = await read_json(request, service.config.max_json_bytes)
        if not isinstance(data, dict):
            raise ApiError(400, "bad_request", "this endpoint expects a JSON object")
        new_name = data.get("name")
        if new_name is not None and (
            not isinstance(new_name, str) or not BANK_NAME.fullmatch(new_name)
        ):
            raise ApiError(400, "bad_request", "Bank names must be UPPER_WITH_UNDERSCORE")
        ratio = _ratio(data)

        def work() -> HashSetInfo:
            with service.pool.store() as store:
                info = HashSets(store).get(bank_name)
                if info is None:
                    raise ApiError(404, "not_found", "Bank not found")
                curation = HashSets(store)
                if ratio is not None:
                    info = curation.update_attributes(bank_name, {RATIO: ratio})
                if new_name is not None and new_name != bank_name:
                    if HashSets(store).get(new_name) is not None:
                        raise ApiError(403, "conflict", "Bank name already exists")
                    info = curation.rename_set(bank_name, new_name)
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

    def _add(bank: str, signals: dict[str, str], note: Any, metadata: Any) -> dict[str, Any]:
        if not signals:
            raise ApiError(400, "bad_request", "No signals given")
        if note is not None and note != "" and not isinstance(note, str):
            raise ApiError(400, "bad_request", "note should be a string")
        if isinstance(note, str) and len(note) > 255:
            raise ApiError(400, "bad_request", "note must be at most 255 characters")
        if metadata is not None and not isinstance(metadata, dict):
            raise ApiError(400, "bad_request", "metadata should be a json object")
        stored: dict[str, str] = {}
        for kind, value in signals.items():
            name = _hma_type(kind)
            if name not in SIGNAL_TYPES:
                raise ApiError(400, "unknown_signal_type", f"No such signal type {kind}")
            if not isinstance(value, str):
                raise ApiError(400, "invalid_hash", f"Invalid {kind} signal: not a string")
            try:
                stored[name] = signal_type(name).validate(value)
            except Exception as exc:
                raise ApiError(400, "invalid_hash", f"Invalid {kind} signal: {exc}") from None
        with service.pool.store() as store:
            if HashSets(store).get(bank) is None:
                raise ApiError(404, "not_found", f"bank '{bank}' not found")
            info, entry_no = HashSets(store).add_entry(
                bank, stored, note=note or None, metadata=metadata
            )
        service.changed()
        returned = {k: stored[_hma_type(k)] for k in signals}
        return {"id": entry_id(int(info.id or 0), entry_no), "signals": returned}

    @router.post("/c/bank/{bank_name}/signal", summary="HMA: add a hash to a bank")
    async def bank_add_signal(
        bank_name: str, request: Request, key: Any = curator
    ) -> dict[str, Any]:
        """``{"pdq": "...", "note"?: "..."}`` -> ``{"id": N, "signals": {...}}``."""
        data = await read_json(request, service.config.max_json_bytes)
        if not isinstance(data, dict):
            raise ApiError(400, "bad_request", "this endpoint expects a JSON object")
        note = data.pop("note", None)
        return await run_in_threadpool(_add, bank_name, data, note, None)

    @router.post("/c/bank/{bank_name}/content", summary="HMA: add an upload to a bank")
    async def bank_add_content(
        bank_name: str, request: Request, key: Any = curator
    ) -> dict[str, Any]:
        """Multipart ``photo``/``video`` with form fields ``metadata`` (JSON) and ``note``."""
        if request.query_params.get("url"):
            raise ApiError(
                400, "bad_request", "url uploads are not supported: Vigil does not fetch URLs"
            )
        with service.pool.store() as store:
            if HashSets(store).get(bank_name) is None:
                raise ApiError(404, "not_found", f"bank '{bank_name}' not found")
        form = await read_form(request, limit)
        metadata = form.json_field("metadata")
        note = form.fields.get("note")
        part = single_file(form, CONTENT_TYPES)
        record = await service.hash_upload(part)
        signals = upload_signals(record)
        return await run_in_threadpool(_add, bank_name, signals, note, metadata)

    def _content(bank_name: str, content_id: int) -> tuple[HashSetInfo, int]:
        set_id, entry_no = split_entry_id(content_id)
        with service.pool.store() as store:
            info = HashSets(store).get(bank_name)
        if info is None:
            raise ApiError(404, "not_found", f"bank '{bank_name}' not found")
        if info.id != set_id:
            raise ApiError(404, "not_found", f"content '{content_id}' not found")
        return info, entry_no

    def _content_json(info: HashSetInfo, entry: dict[str, Any], signals: bool) -> dict[str, Any]:
        until = entry["disabled_until"]
        ts = ENABLED if not entry["disabled"] else DISABLED if until is None else int(until)
        out: dict[str, Any] = {
            "id": entry_id(int(info.id or 0), entry["entry"]),
            "disable_until_ts": ts,
            "original_media_uri": None,
            "bank": bank_json(info),
        }
        if signals:
            out["signals"] = entry["signals"]
        if entry["metadata"]:
            out["metadata"] = entry["metadata"]
        if entry["note"]:
            out["note"] = entry["note"]
        return out

    @router.get("/c/bank/{bank_name}/content/{content_id}", summary="HMA: show bank content")
    def content_get(
        bank_name: str, content_id: int, request: Request, key: Any = matcher
    ) -> dict[str, Any]:
        """One content item; ``include_signals=true`` adds its hashes."""
        info, entry_no = _content(bank_name, content_id)
        with service.pool.store() as store:
            try:
                entry = HashSets(store).entry(bank_name, entry_no)
            except UnknownHashSetError:
                raise ApiError(404, "not_found", f"content '{content_id}' not found") from None
        signals = request.query_params.get("include_signals", "false").lower() == "true"
        return _content_json(info, entry, signals)

    @router.put("/c/bank/{bank_name}/content/{content_id}", summary="HMA: disable bank content")
    async def content_update(
        bank_name: str, content_id: int, request: Request, key: Any = curator
    ) -> dict[str, Any]:
        """``disable_until_ts``: 1 enabled, 0 disabled, else a Unix time it is disabled until."""
        info, entry_no = _content(bank_name, content_id)
        data = await read_json(request, service.config.max_json_bytes)
        if not isinstance(data, dict):
            raise ApiError(400, "bad_request", "this endpoint expects a JSON object")
        raw = data.get("disable_until_ts")

        def work() -> dict[str, Any]:
            with service.pool.store() as store:
                curation = HashSets(store)
                try:
                    entry = curation.entry(bank_name, entry_no)
                    if raw is not None:
                        try:
                            ts = int(raw)
                        except (TypeError, ValueError):
                            raise ApiError(
                                400, "bad_request", "disable_until_ts must be an integer"
                            ) from None
                        if ts < 0:
                            raise ApiError(
                                400,
                                "bad_request",
                                "disable_until_ts must be a non-negative integer",
                            )
                        if ts > time.time() + FIVE_YEARS:
                            raise ApiError(
                                400,
                                "bad_request",
                                "disable_until_ts must be less than 5 years in the future",
                            )
                        disabled = ts != ENABLED and (ts == DISABLED or ts > time.time())
                        until = None if ts == DISABLED else float(ts)
                        entry = curation.set_disabled(
                            bank_name, entry_no, disabled, until, key.name
                        )
                except UnknownHashSetError:
                    raise ApiError(404, "not_found", f"content '{content_id}' not found") from None
            return entry

        entry = await run_in_threadpool(work)
        await run_in_threadpool(service.changed)
        return _content_json(info, entry, False)

    return router
