"""Vigil's own routes, under /v1: hashing, matching, batches, hash sets, index status.

Every match answer lists findings in one shape (``Finding.to_json``): hash set,
kind, entry number and id, signal type, distance, category. Writes go through
``vigil.store.curation`` and poke the refresher, so this process sees them at once and
every other process within its poll interval.
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from vigil.errors import UsageError
from vigil.hashsets.model import HashSetInfo, HashSetKind
from vigil.services.access import ApiKey, actions, api_keys
from vigil.services.hashsets import HashSets
from vigil.services.matcher import Finding, Matcher, MatchOptions
from vigil.services.matcher import Query as MatchQuery
from vigil.web.auth import requirement
from vigil.web.errors import ApiError
from vigil.web.service import (
    Service,
    log_query,
    parse_signal,
    upload_signals,
)
from vigil.web.uploads import read_form, single_file

#: An entry number in a path: 0 to 2**32 - 1 (larger ones cannot exist; see catalog ids).
EntryNo = Annotated[int, Path(ge=0, le=0xFFFFFFFF)]


class SignalQuery(BaseModel):
    """One hash to match."""

    signal_type: str = Field(description="md5, sha1, sha256, pdq or vpdq")
    signal: str = Field(description="the hash (hex; vPDQ as reference lines joined by ';')")


class BatchRequest(BaseModel):
    """Up to 10,000 hashes, matched against the chosen sets (all when empty)."""

    queries: list[SignalQuery]
    hashsets: list[str] = []


class HashSetCreate(BaseModel):
    """A new, empty hash set."""

    name: str
    kind: HashSetKind = HashSetKind.alert
    pdq_threshold: int | None = Field(None, ge=0, le=128)
    description: str | None = None


class HashSetUpdate(BaseModel):
    """Rename a set and/or change its PDQ threshold (null: back to 31)."""

    name: str | None = None
    pdq_threshold: int | None = Field(None, ge=0, le=128)
    clear_pdq_threshold: bool = False


class EntryCreate(BaseModel):
    """An entry given by its hashes."""

    signals: dict[str, str] = Field(description="signal type -> hash, e.g. {'pdq': '...'}")
    category: str | None = None
    note: str | None = Field(None, max_length=1000)
    metadata: dict[str, Any] | None = None


class DisableRequest(BaseModel):
    """Disable an entry for ever, or until a time (ISO 8601 or Unix seconds)."""

    until: datetime | float | None = None


class KeyCreate(BaseModel):
    """A new API key."""

    name: str
    role: str = "matcher"
    rate_per_second: float | None = Field(None, gt=0)


def set_json(info: HashSetInfo) -> dict[str, Any]:
    """A hash set as the API shows it."""
    attributes = info.attributes or {}
    return {
        "name": info.name,
        "kind": str(info.kind),
        "entries": info.entry_count,
        "pdq_threshold": attributes.get("pdq_threshold"),
        "category_profile": info.category_profile,
        "provenance": info.provenance,
        "source_format": info.source_format,
        "imported_at": info.imported_at.isoformat() if info.imported_at else None,
        "description": attributes.get("description"),
    }


def _until(value: datetime | float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ApiError(400, "bad_request", "until needs a time zone (e.g. ...Z)")
        stamp = value.timestamp()
    else:
        stamp = float(value)
    if not math.isfinite(stamp) or stamp <= time.time():
        raise ApiError(400, "bad_request", "until must be a time in the future")
    return stamp


def build(service: Service) -> APIRouter:
    """The /v1 router over ``service``."""
    router = APIRouter(prefix="/v1")
    matcher = Depends(requirement(service.keys, service.buckets, "matcher"))
    curator = Depends(requirement(service.keys, service.buckets, "curator"))
    admin = Depends(requirement(service.keys, service.buckets, "admin"))
    limit = service.config.max_upload_bytes

    # -- hashing and matching --------------------------------------------------------

    @router.post("/hash", tags=["matching"], summary="Hash an upload")
    async def hash_upload(
        request: Request, *, key: ApiKey = matcher, dihedral: bool = False
    ) -> dict[str, Any]:
        """Hash one uploaded image or video (multipart, any field name); nothing is stored."""
        part = single_file(await read_form(request, limit))
        record = await service.hash_upload(part, dihedral=dihedral)
        out = record.to_json()
        out.pop("path", None)
        out["signals"] = upload_signals(record)
        return out

    @router.post("/match", tags=["matching"], summary="Match an upload")
    async def match_upload(
        request: Request,
        *,
        key: ApiKey = matcher,
        hashsets: str | None = None,
        dihedral: bool = False,
    ) -> dict[str, Any]:
        """Hash an upload and match it against the sets (comma-separated; all by default)."""
        part = single_file(await read_form(request, limit))
        record = await service.hash_upload(part, dihedral=dihedral)
        names = hashsets.split(",") if hashsets else None

        def work() -> dict[str, Any]:
            snap = service.snapshot()
            sets = snap.select(names)
            with service.pool.store() as store:
                hits = Matcher(snap, store, sets, MatchOptions(dihedral=dihedral)).match(
                    MatchQuery.of(record)
                )
            event = service.record(key, "/v1/match", log_query(record), hits)
            return {
                "signals": upload_signals(record),
                "pdq_quality": record.pdq_quality,
                "matches": [h.to_api() for h in hits],
                "event_id": event,
            }

        return await run_in_threadpool(work)

    @router.get("/match", tags=["matching"], summary="Match a hash", response_model=None)
    async def match_hash(
        *,
        key: ApiKey = matcher,
        signal_type: str,
        signal: str,
        hashsets: str | None = None,
    ) -> JSONResponse:
        """Match one hash given as ``signal_type`` and ``signal``."""
        kind, canonical = parse_signal(signal_type, signal)
        snap = service.snapshot()
        sets = snap.select(hashsets.split(",") if hashsets else None)
        if Matcher(snap, None, sets).surely_no_match(kind, canonical):
            return JSONResponse({"matches": [], "event_id": None})

        def work() -> dict[str, Any]:
            with service.pool.store() as store:
                matcher = Matcher(snap, store, sets)
                hits = matcher.match(MatchQuery.of_hash(kind, canonical))
            event = service.record(key, "/v1/match", {kind: canonical}, hits)
            return {"matches": [h.to_api() for h in hits], "event_id": event}

        return JSONResponse(await run_in_threadpool(work))

    @router.post(
        "/match/batch", tags=["matching"], summary="Match many hashes", response_model=None
    )
    def match_batch(*, key: ApiKey = matcher, body: BatchRequest) -> JSONResponse:
        """Match up to 10,000 hashes; a bad hash gets an ``error`` in its own result.

        The answer is plain JSON already: it goes out as a ``JSONResponse``, skipping
        FastAPI's ``jsonable_encoder`` walk over 10,000 results.
        """
        if len(body.queries) > service.config.max_batch:
            raise ApiError(
                413,
                "batch_too_large",
                f"batch of {len(body.queries):,} hashes is over the limit of "
                f"{service.config.max_batch:,}",
            )
        snap = service.snapshot()
        sets = snap.select(body.hashsets)
        results: list[dict[str, Any]] = [{} for _ in body.queries]
        pdq_at: list[int] = []
        pdq_values: list[str] = []
        acted: list[Finding] = []
        with service.pool.store() as store:
            for i, q in enumerate(body.queries):
                try:
                    kind, canonical = parse_signal(q.signal_type, q.signal)
                except ApiError as exc:
                    results[i] = {"index": i, "error": exc.message, "matches": []}
                    continue
                if kind == "pdq":
                    pdq_at.append(i)
                    pdq_values.append(canonical)
                    continue
                matcher = Matcher(snap, store, sets)
                hits = matcher.match(MatchQuery.of_hash(kind, canonical))
                acted += hits
                results[i] = {"index": i, "matches": [h.to_api() for h in hits]}
            found = Matcher(snap, store, sets).match_pdq_many(pdq_values)
        for i, hits in zip(pdq_at, found, strict=True):
            acted += hits
            results[i] = {"index": i, "matches": [h.to_api() for h in hits]}
        event = service.record(key, "/v1/match/batch", {"batch": len(body.queries)}, acted)
        return JSONResponse({"results": results, "event_id": event})

    # -- hash sets -------------------------------------------------------------------

    @router.get("/hashsets", tags=["hash sets"], summary="List hash sets")
    def list_sets(*, key: ApiKey = matcher) -> list[dict[str, Any]]:
        """Every hash set."""
        with service.pool.store() as store:
            return [set_json(i) for i in HashSets(store).list()]

    @router.post("/hashsets", tags=["hash sets"], summary="Create a hash set", status_code=201)
    def create_set(*, key: ApiKey = curator, body: HashSetCreate) -> dict[str, Any]:
        """Create an empty set (409 if the name is taken)."""
        attributes: dict[str, Any] = {}
        if body.pdq_threshold is not None:
            attributes["pdq_threshold"] = body.pdq_threshold
        if body.description:
            attributes["description"] = body.description
        with service.pool.store() as store:
            curation = HashSets(store)
            if HashSets(store).get(body.name) is not None:
                raise ApiError(409, "conflict", f"a hash set named {body.name!r} exists")
            info = curation.create_set(
                body.name, body.kind, attributes, provenance=f"vigil serve (key {key.name})"
            )
        service.changed()
        return set_json(info)

    @router.get("/hashsets/{name}", tags=["hash sets"], summary="Show a hash set")
    def show_set(*, key: ApiKey = matcher, name: str) -> dict[str, Any]:
        """One set, with its counts by hash type and category."""
        with service.pool.store() as store:
            info = HashSets(store).require(name)
            by_type, categories = HashSets(store).counts(name)
        return {
            **set_json(info),
            "by_type": by_type,
            "categories": {str(k): v for k, v in categories.items()},
        }

    @router.patch("/hashsets/{name}", tags=["hash sets"], summary="Rename or re-threshold")
    def update_set(*, key: ApiKey = curator, name: str, body: HashSetUpdate) -> dict[str, Any]:
        """Rename the set and/or set its PDQ threshold."""
        with service.pool.store() as store:
            curation = HashSets(store)
            info = HashSets(store).require(name)
            if body.pdq_threshold is not None or body.clear_pdq_threshold:
                info = curation.update_attributes(name, {"pdq_threshold": body.pdq_threshold})
            if body.name is not None and body.name != name:
                if HashSets(store).get(body.name) is not None:
                    raise ApiError(409, "conflict", f"a hash set named {body.name!r} exists")
                info = curation.rename_set(name, body.name)
        service.changed()
        return set_json(info)

    @router.delete("/hashsets/{name}", tags=["hash sets"], summary="Delete a hash set")
    def delete_set(*, key: ApiKey = curator, name: str) -> dict[str, Any]:
        """Delete the set and its entries."""
        with service.pool.store() as store:
            HashSets(store).require(name)
            HashSets(store).delete_set(name)
        service.changed()
        return {"deleted": name}

    # -- entries ---------------------------------------------------------------------

    def _add(
        name: str,
        signals: dict[str, str],
        category: str | None,
        note: str | None,
        metadata: dict[str, Any] | None,
    ) -> dict[str, Any]:
        canonical = dict(parse_signal(k, v) for k, v in signals.items())
        if not canonical:
            raise ApiError(400, "bad_request", "no signals given")
        with service.pool.store() as store:
            curation = HashSets(store)
            _, entry_no = curation.add_entry(
                name, canonical, category=category, note=note, metadata=metadata
            )
            entry = curation.entry(name, entry_no)
        service.changed()
        return entry

    @router.post(
        "/hashsets/{name}/entries",
        tags=["hash sets"],
        summary="Add an entry by hash",
        status_code=201,
    )
    def add_entry(*, key: ApiKey = curator, name: str, body: EntryCreate) -> dict[str, Any]:
        """Add one entry given by its hashes, with a category, a note and metadata."""
        return _add(name, body.signals, body.category, body.note, body.metadata)

    @router.post(
        "/hashsets/{name}/entries/upload",
        tags=["hash sets"],
        summary="Add an entry by upload",
        status_code=201,
    )
    async def add_upload(request: Request, *, key: ApiKey = curator, name: str) -> dict[str, Any]:
        """Hash an upload and add its hashes (form fields: category, note, metadata as JSON)."""
        form = await read_form(request, limit)
        part = single_file(form)
        metadata = form.json_field("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise ApiError(400, "bad_request", "metadata must be a JSON object")
        note = form.fields.get("note") or None
        if note is not None and len(note) > 1000:
            raise ApiError(400, "bad_request", "note must be at most 1000 characters")
        record = await service.hash_upload(part)
        return await run_in_threadpool(
            _add, name, upload_signals(record), form.fields.get("category") or None, note, metadata
        )

    @router.get("/hashsets/{name}/entries/{entry}", tags=["hash sets"], summary="Show an entry")
    def show_entry(*, key: ApiKey = matcher, name: str, entry: EntryNo) -> dict[str, Any]:
        """One entry: hashes, category, note, metadata, disabled state."""
        with service.pool.store() as store:
            return HashSets(store).entry(name, entry)

    @router.post(
        "/hashsets/{name}/entries/{entry}/disable", tags=["hash sets"], summary="Disable an entry"
    )
    def disable_entry(
        *, key: ApiKey = curator, name: str, entry: EntryNo, body: DisableRequest | None = None
    ) -> dict[str, Any]:
        """Stop matching an entry, for ever or until a time."""
        until = _until(body.until if body else None)
        with service.pool.store() as store:
            out = HashSets(store).set_disabled(name, entry, True, until, key.name)
        service.changed()
        return out

    @router.post(
        "/hashsets/{name}/entries/{entry}/enable", tags=["hash sets"], summary="Enable an entry"
    )
    def enable_entry(*, key: ApiKey = curator, name: str, entry: EntryNo) -> dict[str, Any]:
        """Match a disabled entry again."""
        with service.pool.store() as store:
            out = HashSets(store).set_disabled(name, entry, False, None, key.name)
        service.changed()
        return out

    # -- status, log, keys -----------------------------------------------------------

    @router.get("/index/status", tags=["status"], summary="Index status")
    def index_status(*, key: ApiKey = matcher) -> dict[str, Any]:
        """What is loaded, how big, how fresh."""
        snap = service.snapshot()
        return {
            "version": snap.version,
            "built_at": datetime.fromtimestamp(snap.built_at).astimezone().isoformat(),
            "poll_age_seconds": round(service.refresher.age(), 3),
            "fresh": service.refresher.age() < service.config.stale_seconds,
            "refreshes": service.refresher.refreshes,
            "last_error": service.refresher.last_error,
            "hashsets": len(snap.sets),
            "disabled_entries": len(snap.disabled),
            "pdq": {
                "entries": len(snap.pdq),
                "delta": snap.pdq.delta_size,
                "bytes": snap.pdq.nbytes(),
            },
            "vpdq": {"videos": len(snap.vpdq)},
        }

    @router.get("/matchlog", tags=["status"], summary="Latest matches (admin)")
    def match_log(
        *, key: ApiKey = admin, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[dict[str, Any]]:
        """Who asked, what matched, when: the latest rows of the match log."""
        with service.pool.store() as store:
            return actions(store).match_log(limit)

    @router.get("/apikeys", tags=["keys"], summary="List API keys (admin)")
    def list_keys(*, key: ApiKey = admin) -> list[dict[str, Any]]:
        """Every key's name, role and dates; never a key."""
        with service.pool.store() as store:
            return [k.to_json() for k in api_keys(store).list()]

    @router.post("/apikeys", tags=["keys"], summary="Create an API key (admin)", status_code=201)
    def create_key(*, key: ApiKey = admin, body: KeyCreate) -> dict[str, Any]:
        """Create a key; the answer is the only time it is shown."""
        with service.pool.store() as store:
            try:
                secret = api_keys(store).create(body.name, body.role, body.rate_per_second)
            except UsageError as exc:
                raise ApiError(400, "bad_request", str(exc)) from None
        return {"name": body.name, "role": body.role, "key": secret}

    @router.delete("/apikeys/{name}", tags=["keys"], summary="Revoke an API key (admin)")
    def revoke_key(*, key: ApiKey = admin, name: str) -> dict[str, Any]:
        """Revoke a key (within a few seconds in every process)."""
        with service.pool.store() as store:
            if not api_keys(store).revoke(name):
                raise ApiError(404, "not_found", f"no live API key named {name!r}")
        return {"revoked": name}

    return router
