"""HMA-compatible routes, answering as HMA's OpenMediaMatch blueprints do.

An HMA integration switches to Vigil by changing its base URL (and adding an API key
header, or running ``vigil serve --hma-open-routes``). Status codes, field names,
types and the signal types that appear are HMA's: a photo is hashed to ``pdq``, a
video to ``video_md5`` (the MD5 of the file), lookups by exact hash answer the
distance ``"-"``, missing or mistyped parameters answer 422 with a list of problems
(flask-openapi3's validation answer). Vigil's other signal types (md5, sha1, sha256,
vpdq) are there only when a request names them (``?types=``, ``signal_type=``); its
richer answers stay on ``/v1``. Every difference from HMA is listed once in
docs/service.md.

Mapping: an HMA bank is a Vigil hash set; a bank content id is a small sequential
number issued per entry and never reused (``vigil.services.content_ids``); HMA's
``video_md5`` is Vigil's ``md5``; a bank's ``matching_enabled_ratio`` lives in the
set's attributes. Errors are ``{"message": ...}`` as in HMA (plus ``error``).
"""

from __future__ import annotations

import random
import threading
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from vigil.services.content_ids import content_ids
from vigil.services.hashsets import HashSets
from vigil.services.matcher import Finding, Matcher, Query
from vigil.signals import SIGNAL_TYPES, signal_type
from vigil.web import hma_banks
from vigil.web.auth import requirement
from vigil.web.errors import ApiError
from vigil.web.hma_hashing import HmaHasher
from vigil.web.hma_shapes import (
    CONTENT_TYPES,
    HMA_TYPES,
    RATIO,
    bank_filter,
    flag,
    required,
    vigil_type,
)
from vigil.web.service import Service, parse_signal


def build(service: Service) -> APIRouter:
    """The HMA-compatible routers over ``service``: hashing, matching, banks."""
    router = APIRouter(tags=["HMA-compatible"])
    matcher = Depends(
        requirement(
            service.keys, service.buckets, "matcher", open_routes=service.config.hma_open_routes
        )
    )
    hasher = HmaHasher(service)
    counts: dict[str, Any] = {}
    recounting = threading.Lock()

    @router.get("/h/hash", summary="HMA: hash the media at a URL")
    async def hash_get(request: Request, key: Any = matcher) -> dict[str, str]:
        """``url`` (required), ``content_type`` (photo/video; sniffed), ``types``."""
        params = request.query_params
        url = required(params, "url")
        return await hasher.hash_url(url, params.get("content_type"), params.get("types"))

    @router.post("/h/hash", summary="HMA: hash an upload")
    async def hash_post(request: Request, key: Any = matcher) -> dict[str, str]:
        """Multipart field ``photo`` or ``video``; answers signal type -> hash."""
        return await hasher.hash_form(request, request.query_params.get("types"))

    # -- matching --------------------------------------------------------------------

    def match_hits(name: str, canonical: str, key: Any, route: str, log: Any) -> list[Finding]:
        snap = service.snapshot()
        if Matcher(snap, None, snap.sets).surely_no_match(name, canonical):
            return []
        with service.pool.store() as store:
            hits = Matcher(snap, store, snap.sets).match(Query.of_hash(name, canonical))
        if hits:
            service.record(key, route, log or {name: canonical}, hits)
        return hits

    def with_ids(hits: list[Finding]) -> list[tuple[Finding, int]]:
        """Each hit with its HMA content id (issued now if the entry has none)."""
        if not hits:
            return []
        keys = [(int(h.info.id or 0), h.entry_no) for h in hits]
        with service.pool.store() as store:
            ids = content_ids(store).assign_many(keys)
            live = content_ids(store).known(keys)
        return [(h, ids[k]) for h, k in zip(hits, keys, strict=True) if k in live]

    def distance(hit: Finding) -> str:
        return str(hit.distance) if hit.signal_type in ("pdq", "vpdq") else "-"

    def by_bank(
        hits: list[tuple[Finding, int]], banks: set[str] | None, seed: str | None, bypass: bool
    ) -> dict[str, list[dict[str, Any]]]:
        flip = 0.0 if bypass else random.Random(seed).random()
        out: dict[str, list[dict[str, Any]]] = {}
        for hit, cid in hits:
            if banks is not None and hit.info.name not in banks:
                continue
            if float((hit.info.attributes or {}).get(RATIO, 1.0)) < flip:
                continue
            out.setdefault(hit.info.name, []).append(
                {"bank_content_id": cid, "distance": distance(hit)}
            )
        return out

    def checked(kind: str, value: str) -> tuple[str, str]:
        name = vigil_type(kind)
        if name not in SIGNAL_TYPES:
            raise ApiError(400, "unknown_signal_type", f"No such SignalType '{kind}'")
        return parse_signal(name, value)

    async def lookup_many(
        signals: dict[str, str], request: Request, key: Any, log: Any = None
    ) -> dict[str, Any]:
        params = request.query_params
        banks = bank_filter(params.get("banks"))
        bypass = flag(params, "bypass_coinflip")
        seed = params.get("seed")
        checked_signals = {st: checked(st, v) for st, v in signals.items()}

        def work() -> dict[str, Any]:
            out: dict[str, Any] = {}
            for st, (name, canonical) in checked_signals.items():
                hits = match_hits(name, canonical, key, "/m/lookup", log)
                out[st] = by_bank(with_ids(hits), banks, seed, bypass)
            return out

        return await run_in_threadpool(work)

    @router.get("/m/lookup", summary="HMA: look up a hash or the media at a URL")
    async def lookup_get(request: Request, key: Any = matcher) -> dict[str, Any]:
        """``signal_type`` and ``signal``, or ``url``: bank -> [{bank_content_id, distance}]."""
        params = request.query_params
        flag(params, "bypass_coinflip")
        url = params.get("url")
        kind, signal = params.get("signal_type"), params.get("signal")
        if url:
            hashes = await hasher.hash_url(url, params.get("content_type"), params.get("types"))
            log = {"url": url} if service.config.log_urls else None
            found = await lookup_many(hashes, request, key, log)
            if kind is not None:
                return dict(found.get(kind, {}))
            return found
        if not signal or not kind:
            raise ApiError(
                400, "bad_request", "Either url or both signal and signal_type are required"
            )
        found = await lookup_many({kind: signal}, request, key)
        return dict(found[kind])

    @router.post("/m/lookup", summary="HMA: hash and look up an upload")
    async def lookup_post(request: Request, key: Any = matcher) -> dict[str, Any]:
        """Multipart ``photo`` or ``video``; answers signal type -> bank -> matches."""
        hashes = await hasher.hash_form(request, request.query_params.get("types"))
        return await lookup_many(hashes, request, key)

    @router.get("/m/raw_lookup", summary="HMA: raw index lookup")
    async def raw_lookup(request: Request, key: Any = matcher) -> dict[str, Any]:
        """``{"matches": [ids]}`` (or with distances); disabled entries are left out."""
        params = request.query_params
        signal = required(params, "signal")
        kind = required(params, "signal_type")
        with_distance = flag(params, "include_distance")
        banks = bank_filter(params.get("banks"))
        name, canonical = checked(kind, signal)

        def work() -> list[tuple[Finding, int]]:
            hits = match_hits(name, canonical, key, "/m/raw_lookup", None)
            return [(h, c) for h, c in with_ids(hits) if banks is None or h.info.name in banks]

        hits = await run_in_threadpool(work)
        if with_distance:
            return {"matches": [{"bank_content_id": c, "distance": distance(h)} for h, c in hits]}
        return {"matches": [c for _, c in hits]}

    @router.post("/m/compare", summary="HMA: compare pairs of hashes")
    async def compare(request: Request, key: Any = matcher) -> dict[str, Any]:
        """``{type: [h1, h2]}`` -> ``{type: [matched, {"distance": d}]}`` (exact types: ``{}``)."""
        data = await service.read_json(request)
        if not isinstance(data, dict):
            raise ApiError(400, "bad_request", "Request input was not a dict")
        out: dict[str, Any] = {}
        for kind, pair in data.items():
            if not isinstance(pair, list):
                raise ApiError(400, "bad_request", f"Comparison hashes for {kind} was not a list")
            if len(pair) != 2:
                raise ApiError(400, "bad_request", "Comparison hash list length must be exactly 2")
            name = vigil_type(kind)
            if name not in SIGNAL_TYPES or name == "vpdq":
                raise ApiError(400, "unknown_signal_type", f"No such SignalType '{kind}'")
            try:
                left, right = (parse_signal(name, v if isinstance(v, str) else "")[1] for v in pair)
            except ApiError as exc:
                raise ApiError(400, "invalid_hash", f"Invalid {kind} hash: {exc.message}") from None
            st = signal_type(name)
            if name == "pdq":
                out[kind] = [st.matches(left, right), {"distance": st.distance(left, right)}]
            else:
                out[kind] = [left == right, {}]
        return out

    def recount(version: str) -> None:
        try:
            totals: dict[str, int] = {}
            with service.pool.store() as store:
                sets = HashSets(store)
                for info in sets.list():
                    by_type, _ = sets.counts(info.name)
                    for t, n in by_type.items():
                        totals[t] = totals.get(t, 0) + int(n)
            counts.update(version=version, totals=totals)
        finally:
            recounting.release()

    def index_sizes() -> dict[str, int]:
        """Hashes of each type: PDQ from the snapshot, exact types counted in the store.

        Counting the exact types reads every set (seconds at 10 M entries), so after a
        change the last count is answered while a thread counts again, as HMA answers
        its last index build's size; only the very first call waits for a count.
        """
        snap = service.snapshot()
        if "totals" not in counts:
            recounting.acquire()
            recount(snap.version)
        elif counts["version"] != snap.version and recounting.acquire(blocking=False):
            threading.Thread(target=recount, args=(snap.version,), daemon=True).start()
        totals = dict(counts["totals"])
        totals["pdq"] = len(snap.pdq)
        totals["vpdq"] = len(snap.vpdq)
        totals["video_md5"] = totals.get("md5", 0)
        return totals

    def statuses(request: Request) -> tuple[dict[str, int], int, list[str]]:
        wanted = request.query_params.get("signal_type")
        names = list(HMA_TYPES)
        if wanted is not None:
            if vigil_type(wanted) not in SIGNAL_TYPES:
                raise ApiError(400, "bad_request", f"No such signal type '{wanted}'")
            names = [wanted]
        snap = service.snapshot()
        return index_sizes(), int(snap.built_at), names

    @router.get("/m/index/status", summary="HMA: index status")
    async def index_status(request: Request, key: Any = matcher) -> dict[str, Any]:
        """Per signal type: present, built_to (Unix time), size."""
        sizes, built, names = await run_in_threadpool(statuses, request)
        return {n: {"present": True, "built_to": built, "size": sizes.get(n, 0)} for n in names}

    # -- configuration ---------------------------------------------------------------

    @router.get("/c/signal_type", summary="HMA: signal types")
    def signal_types(key: Any = matcher) -> list[dict[str, Any]]:
        """HMA's signal types, always enabled here."""
        return [{"name": n, "enabled_ratio": 1.0} for n in HMA_TYPES]

    @router.get("/c/signal_type/index", summary="HMA: index build status per signal type")
    async def signal_type_index(request: Request, key: Any = matcher) -> dict[str, Any]:
        """db_size, index_size, index_out_of_date, newest_db_item, index_built_to."""
        sizes, built, names = await run_in_threadpool(statuses, request)
        return {
            n: {
                "db_size": sizes.get(n, 0),
                "index_size": sizes.get(n, 0),
                "index_out_of_date": False,
                "newest_db_item": built,
                "index_built_to": built,
            }
            for n in names
        }

    @router.get("/c/content_type", summary="HMA: content types")
    def content_types(key: Any = matcher) -> list[dict[str, Any]]:
        """Photo and video, both enabled."""
        return [{"name": n, "enabled": True} for n in CONTENT_TYPES]

    # -- banks -----------------------------------------------------------------------

    router.include_router(hma_banks.build(service, hasher))
    return router
