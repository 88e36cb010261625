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

import hashlib
import random
import re
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from vigil.errors import UnknownHashSetError
from vigil.hashsets.model import HashSetInfo
from vigil.media.sniff import media_kind, sniff
from vigil.services.content_ids import content_ids
from vigil.services.hashsets import HashSets
from vigil.services.matcher import Finding, Matcher, Query
from vigil.signals import SIGNAL_TYPES, signal_type
from vigil.web.auth import requirement
from vigil.web.errors import ApiError
from vigil.web.fetch import fetch
from vigil.web.service import Service, parse_signal, upload_signals
from vigil.web.uploads import read_body, read_form, single_file

BANK_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
CONTENT_TYPES = ("photo", "video")
RATIO = "hma_enabled_ratio"
ENABLED, DISABLED = 1, 0
FIVE_YEARS = 5 * 365 * 86400
#: HMA's signal types, in the order it lists them.
HMA_TYPES = ("pdq", "video_md5")
#: What each content type is hashed to by default (HMA's), and what ``types=`` may add.
DEFAULT_TYPES = {"photo": ("pdq",), "video": ("video_md5",)}
EXTRA_TYPES = {"photo": ("md5", "sha1", "sha256"), "video": ("md5", "sha1", "sha256", "vpdq")}
_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}
_NOTE_MAX = 255
_META_KEYS = ("content_id", "content_uri", "json")


def vigil_type(name: str) -> str:
    """HMA's signal type names onto Vigil's (``video_md5`` is an MD5)."""
    return "md5" if name == "video_md5" else name


def hma_signals(signals: dict[str, str]) -> dict[str, str]:
    """An entry's hashes as HMA shows them: ``pdq`` and ``video_md5`` only."""
    out = {}
    if "pdq" in signals:
        out["pdq"] = signals["pdq"]
    if "md5" in signals:
        out["video_md5"] = signals["md5"]
    return out


def bank_json(info: HashSetInfo) -> dict[str, Any]:
    """HMA's BankConfig shape."""
    ratio = (info.attributes or {}).get(RATIO, 1.0)
    return {"matching_enabled_ratio": float(ratio), "name": info.name}


def invalid(loc: str, kind: str, msg: str, given: Any = None) -> ApiError:
    """HMA's answer to a request its schema refuses: 422 with a list of problems."""
    error = ApiError(422, "invalid_request", f"{loc}: {msg}")
    error.body = [{"type": kind, "loc": [loc], "msg": msg, "input": given}]  # type: ignore[attr-defined]
    return error


def flag(params: Any, name: str, default: bool = False) -> bool:
    """A boolean query parameter as pydantic reads one (422 when it is not one)."""
    raw = params.get(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise invalid(name, "bool_parsing", "Input should be a valid boolean", raw)


def required(params: Any, name: str) -> str:
    """A query parameter HMA's schema requires (422 when missing)."""
    value = params.get(name)
    if value is None:
        raise invalid(name, "missing", "Field required", dict(params))
    return str(value)


def check_note(note: Any) -> str | None:
    """HMA's note rule: empty is none; a string of at most 255 characters."""
    if not note:
        return None
    if not isinstance(note, str):
        raise ApiError(400, "bad_request", "note should be a string")
    if len(note) > _NOTE_MAX:
        raise ApiError(400, "bad_request", f"note must be at most {_NOTE_MAX} characters")
    return note


def check_metadata(raw: Any) -> dict[str, Any] | None:
    """HMA's metadata rule: an object of ``content_id``, ``content_uri`` (text) and ``json``."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ApiError(400, "bad_request", "metadata should be a json object")
    raw = {k: v for k, v in raw.items() if k != "collab"}
    extra = sorted(set(raw) - set(_META_KEYS))
    if extra:
        raise ApiError(
            400, "bad_request", f"Invalid metadata: {extra[0]}: Extra inputs are not permitted"
        )
    for key in ("content_id", "content_uri"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise ApiError(
                400, "bad_request", f"Invalid metadata: {key}: Input should be a valid string"
            )
    if raw.get("json") is not None and not isinstance(raw["json"], dict):
        raise ApiError(
            400, "bad_request", "Invalid metadata: json: Input should be a valid dictionary"
        )
    kept = {k: raw[k] for k in _META_KEYS if raw.get(k) is not None}
    return kept or None


def metadata_json(stored: dict[str, Any]) -> dict[str, Any]:
    """Stored metadata as HMA's GET shows it (every field, null where unset)."""
    return {
        "content_id": stored.get("content_id"),
        "content_uri": stored.get("content_uri"),
        "json": stored.get("json"),
        "collab": None,
    }


def disable_ts(entry: dict[str, Any]) -> int:
    """HMA's ``disable_until_ts``: 1 enabled, 0 disabled, else the time it is disabled until."""
    until = entry.get("disabled_until")
    if until is None:
        return DISABLED if entry["disabled"] else ENABLED
    return int(until)


def _banks(param: str | None) -> set[str] | None:
    return set(param.split(",")) if param else None


def build(service: Service) -> APIRouter:
    """The HMA-compatible router over ``service``."""
    router = APIRouter(tags=["HMA-compatible"])
    open_routes = service.config.hma_open_routes
    matcher = Depends(
        requirement(service.keys, service.buckets, "matcher", open_routes=open_routes)
    )
    curator = Depends(
        requirement(service.keys, service.buckets, "curator", open_routes=open_routes)
    )
    limit = service.config.max_upload_bytes
    policy = service.config.fetch_policy()
    counts: dict[str, Any] = {}

    # -- hashing ---------------------------------------------------------------------

    def selected(content_type: str, types: str | None) -> list[str]:
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

    async def hash_bytes(data: bytes, content_type: str, types: str | None) -> dict[str, str]:
        """Hash content held in memory as HMA would (a photo's PDQ, a video's MD5)."""
        names = selected(content_type, types)
        digests_only = all(n in ("video_md5", "md5", "sha1", "sha256") for n in names)
        if content_type == "video" and digests_only:
            record_signals = {
                "md5": hashlib.md5(data).hexdigest(),
                "sha1": hashlib.sha1(data).hexdigest(),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        else:
            record = await service.hash_data("upload", data)
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

    async def hash_form(request: Request, types: str | None) -> dict[str, str]:
        form = await read_form(request, limit)
        if not form.files:
            raise ApiError(400, "bad_request", "Missing multipart/form-data file upload")
        part = single_file(form)
        if part.name not in CONTENT_TYPES:
            raise ApiError(400, "bad_request", f"no such content_type: '{part.name}'")
        return await hash_bytes(bytes(part.data), part.name, types)

    async def hash_url(url: str, content_type: str | None, types: str | None) -> dict[str, str]:
        if not service.config.fetch:
            raise ApiError(
                400, "bad_request", "URL fetching is turned off here (VIGIL_SERVE_FETCH=0)"
            )
        fetched = await run_in_threadpool(fetch, url, policy)
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
        return await hash_bytes(fetched.data, content_type, types)

    @router.get("/h/hash", summary="HMA: hash the media at a URL")
    async def hash_get(request: Request, key: Any = matcher) -> dict[str, str]:
        """``url`` (required), ``content_type`` (photo/video; sniffed), ``types``."""
        params = request.query_params
        url = required(params, "url")
        return await hash_url(url, params.get("content_type"), params.get("types"))

    @router.post("/h/hash", summary="HMA: hash an upload")
    async def hash_post(request: Request, key: Any = matcher) -> dict[str, str]:
        """Multipart field ``photo`` or ``video``; answers signal type -> hash."""
        return await hash_form(request, request.query_params.get("types"))

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
        banks = _banks(params.get("banks"))
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
            hashes = await hash_url(url, params.get("content_type"), params.get("types"))
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
        hashes = await hash_form(request, request.query_params.get("types"))
        return await lookup_many(hashes, request, key)

    @router.get("/m/raw_lookup", summary="HMA: raw index lookup")
    async def raw_lookup(request: Request, key: Any = matcher) -> dict[str, Any]:
        """``{"matches": [ids]}`` (or with distances); disabled entries are left out."""
        params = request.query_params
        signal = required(params, "signal")
        kind = required(params, "signal_type")
        with_distance = flag(params, "include_distance")
        banks = _banks(params.get("banks"))
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

    def index_sizes() -> dict[str, int]:
        """Hashes of each exact type in the store, counted once per store version."""
        snap = service.snapshot()
        if counts.get("version") != snap.version:
            totals: dict[str, int] = {}
            with service.pool.store() as store:
                sets = HashSets(store)
                for info in sets.list():
                    by_type, _ = sets.counts(info.name)
                    for t, n in by_type.items():
                        totals[t] = totals.get(t, 0) + int(n)
            counts.update(version=snap.version, totals=totals)
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
            form = await read_form(request, limit)
            metadata = form.json_field("metadata")
            note = form.fields.get("note")
            metadata, note = check_metadata(metadata), check_note(note)
            if not params.get("url") and form.files:
                part = single_file(form)
                if part.name not in CONTENT_TYPES:
                    raise ApiError(400, "bad_request", f"no such content_type: '{part.name}'")
                hashes = await hash_bytes(bytes(part.data), part.name, params.get("types"))
        else:
            raw = await read_body(request, service.config.max_json_bytes)
            if raw.strip() and ctype.startswith("application/json"):
                data = service.parse_json(raw)
                if isinstance(data, dict):
                    metadata, note = data.get("metadata"), data.get("note")
            metadata, note = check_metadata(metadata), check_note(note)
        if params.get("url"):
            hashes = await hash_url(params["url"], params.get("content_type"), params.get("types"))
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
